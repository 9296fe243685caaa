//! The seed lifecycle and Token Management from synchronous code, with the blocking client (feature
//! `blocking`).
//!
//! `cargo run --example blocking --features local-workspace,blocking`
//!
//! It starts the built-in local workspace on loopback on a runtime of its own (a server needs one), then
//! runs create, list, rename and revoke with plain blocking calls; then, as the workspace's admin, lists
//! every token, grants a service principal `CAN_USE` and gives it an on-behalf-of token, renames that token
//! with `from_diff`, and audits and revokes.

use std::time::Duration;

use databricks_tokens::admin::{AuditOptions, RevokePlan};
use databricks_tokens::blocking::WorkspaceClient;
use databricks_tokens::local::LocalWorkspace;
use databricks_tokens::types::token_management::TokenPermissionLevel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The local workspace serves on its own runtime; the blocking client runs its calls on a thread of its own.
    let server = tokio::runtime::Runtime::new()?;
    let ws = server.block_on(LocalWorkspace::builder().service_principal("ci-sp", "ci-sp-secret").start())?;
    let w = WorkspaceClient::new(ws.client()?)?; // the workspace's bootstrap admin

    let created = w.tokens().create().comment("blocking: ci job").lifetime(Duration::from_secs(300)).send()?;
    println!("created {} (secret value: {} characters, shown to nobody)", created.token_id(), created.token_value().expose().len());
    w.tokens().update(created.token_id()).comment("blocking: ci job (renamed)").send()?;
    for token in w.tokens().list().send()? {
        println!("listed  {} {:?}", token.token_id, token.comment.as_deref().unwrap_or_default());
    }
    w.tokens().delete(created.token_id()).send()?;
    println!("revoked {}; {} token(s) left", created.token_id(), w.tokens().list().send()?.len());

    // Token Management: every token of the workspace, and tokens for a service principal.
    let tm = w.token_management();
    tm.update_permissions().grant_service_principal("ci-sp", TokenPermissionLevel::CanUse).send()?;
    let obo = tm.create_obo_token("ci-sp").comment("ci-sp: nightly").lifetime(Duration::from_secs(3600)).send()?;
    println!("on-behalf-of token {} for ci-sp (owner id {:?})", obo.token_id(), obo.token_info().owner_id.map(i64::from));
    let current = tm.get(obo.token_id()).send()?;
    let renamed = tm.update(obo.token_id()).from_diff(&current, &current.clone().set_comment("ci-sp: nightly (audited)"))?.send()?;
    println!("renamed {} to {:?}", renamed.token_id, renamed.comment.as_deref().unwrap_or_default());
    let audit = w.audit_tokens(AuditOptions::default())?;
    println!("audit: {} token(s) in the workspace, {} never expiring", audit.summary.total, audit.summary.never_expiring);
    let sp_id = ws.principal_id("ci-sp").ok_or("ci-sp is a principal of the workspace")?;
    let report = w.revoke_tokens(RevokePlan::owned_by(sp_id))?;
    println!("revoked {:?}; {} token(s) left in the workspace", report.revoked, tm.list().send()?.len());
    Ok(())
}
