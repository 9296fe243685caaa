//! The seed lifecycle from synchronous code, with the blocking client (feature `blocking`).
//!
//! `cargo run --example blocking --features local-workspace,blocking`
//!
//! It starts the built-in local workspace on loopback in a thread of its own (a server needs a runtime),
//! then runs create, list, rename and revoke with plain blocking calls.

use std::time::Duration;

use databricks_tokens::blocking::WorkspaceClient;
use databricks_tokens::local::LocalWorkspace;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The local workspace serves on its own runtime; the blocking client brings its own.
    let server = tokio::runtime::Runtime::new()?;
    let ws = server.block_on(LocalWorkspace::start())?;
    let w = WorkspaceClient::new(ws.client()?)?;

    let created = w.tokens().create().comment("blocking: ci job").lifetime(Duration::from_secs(300)).send()?;
    println!("created {} (secret value: {} characters, shown to nobody)", created.token_id(), created.token_value().expose().len());
    w.tokens().update(created.token_id()).comment("blocking: ci job (renamed)").send()?;
    for token in w.tokens().list().send()? {
        println!("listed  {} {:?}", token.token_id, token.comment.as_deref().unwrap_or_default());
    }
    w.tokens().delete(created.token_id()).send()?;
    println!("revoked {}; {} token(s) left", created.token_id(), w.tokens().list().send()?.len());
    Ok(())
}
