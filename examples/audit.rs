//! A workspace admin's audit: every token with its owner, age, expiry and last use, a summary, then the
//! unused ones revoked in dry-run mode (nothing is revoked).
//!
//! `cargo run --example audit --features local-workspace,test-util`
//!
//! With no credentials: it starts the built-in local workspace with two users and a service principal,
//! lets them create tokens, moves the workspace's clock (and the admin client's) 120 days on while one
//! token keeps being used, and audits. It never prints a token's secret value.

use std::time::Duration;

use databricks_tokens::WorkspaceClient;
use databricks_tokens::admin::{AuditOptions, RevokePlan, TokenAdminWorkflows};
use databricks_tokens::clock::FakeClock;
use databricks_tokens::local::LocalWorkspace;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ws = LocalWorkspace::builder()
        .user("alice@example.com", "dapi-alice-login")
        .user("bob@example.com", "dapi-bob-login")
        .service_principal("sp-nightly-etl", "sp-secret")
        .start()
        .await?;
    println!("Started the built-in local workspace at {} (admin: the bootstrap user)", ws.url());
    let as_user = |token: &str| WorkspaceClient::builder().host(ws.url()).token(token.to_owned()).build();
    // The admin's client measures time on a clock that moves with the workspace's.
    let clock = FakeClock::default();
    let admin = WorkspaceClient::builder().host(ws.url()).token(ws.bootstrap_token().clone()).clock(clock.clone()).build()?;

    // Users create tokens; the admin mints an on-behalf-of token for the service principal.
    let alice = as_user("dapi-alice-login")?;
    let laptop = alice.tokens().create().comment("alice: laptop").send().await?;
    alice.tokens().create().comment("alice: notebook job").lifetime(200 * DAY).send().await?;
    as_user("dapi-bob-login")?.tokens().create().comment("bob: dashboard").lifetime(125 * DAY).send().await?;
    admin.token_management().create_obo_token("sp-nightly-etl").comment("nightly etl").lifetime(365 * DAY).send().await?;

    // 120 days later; alice's laptop token was used today.
    ws.advance_clock(120 * DAY);
    clock.advance(120 * DAY);
    as_user(laptop.token_value().expose())?.tokens().list().send().await?;

    println!("\nAudit (unused: 90 days without use; expiring soon: within 7 days)");
    let audit = admin.audit_tokens(AuditOptions::default()).await?;
    println!("   {:<20} {:<22} {:>5} {:>11} {:>8}", "OWNER", "COMMENT", "AGE", "EXPIRES IN", "UNUSED");
    for row in &audit.rows {
        let expires = row.expires_in_days.map_or_else(|| "never".to_owned(), |d| format!("{d} d"));
        let unused = row.unused_days.map_or_else(|| "?".to_owned(), |d| format!("{d} d"));
        let flag = if row.unused {
            " unused"
        } else if row.expiring_soon {
            " expiring"
        } else {
            ""
        };
        println!(
            "   {:<20} {:<22} {:>3} d {:>11} {:>8}{flag}",
            row.owner,
            row.comment.as_deref().unwrap_or(""),
            row.age_days.unwrap_or(0),
            expires,
            unused
        );
    }
    let s = &audit.summary;
    println!(
        "   {} tokens; by owner {:?}; {} expiring soon, {} never expiring, {} unused",
        s.total, s.by_owner, s.expiring_soon, s.never_expiring, s.unused
    );

    println!("\nRevoke the tokens unused for 90 days (dry run)");
    let preview = admin.revoke_tokens(RevokePlan::unused_for(90 * DAY).dry_run()).await?;
    for token in &preview.selected {
        println!("   would revoke {:<22} (owner id {})", token.comment.as_deref().unwrap_or(""), token.owner_id.map_or(0, i64::from));
    }
    let left = admin.token_management().list().send().await?.len();
    println!("   dry run: {} selected, {} revoked; {left} tokens still in the workspace", preview.selected.len(), preview.revoked.len());
    assert!(preview.revoked.is_empty() && left == audit.summary.total, "a dry run revokes nothing");
    ws.stop().await;
    Ok(())
}
