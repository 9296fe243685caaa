//! The seed lifecycle: create a token with a comment and a lifetime, list, rename it through a field mask,
//! revoke it.
//!
//! `cargo run --example quickstart --features local-workspace`
//!
//! With `DATABRICKS_HOST` set (and credentials in the environment or `~/.databrickscfg`) it runs against that
//! workspace; without, it starts the built-in local workspace on loopback and says so. It never prints a
//! token's secret value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use databricks_tokens::WorkspaceClient;
use databricks_tokens::local::LocalWorkspace;
use databricks_tokens::types::PublicTokenInfo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut local = None;
    let w = if std::env::var_os("DATABRICKS_HOST").is_some() {
        let w = WorkspaceClient::from_env()?;
        println!("Using the workspace at {} (authenticated with {})", w.host(), w.auth_type());
        w
    } else {
        let ws = LocalWorkspace::start().await?;
        println!("No DATABRICKS_HOST set: started the built-in local workspace at {}", ws.url());
        let w = ws.client()?;
        local = Some(ws);
        w
    };

    println!("\n1. Create a token for a CI job (5 minutes)");
    let created = w.tokens().create().comment("quickstart: ci job").lifetime(Duration::from_secs(300)).send().await?;
    let id = created.token_id();
    let secret = created.token_value().expose().len();
    println!("   created {} (secret value: {} characters, shown to nobody)", short(id), secret);

    println!("\n2. List my tokens");
    print_table(&w.tokens().list().send().await?);

    println!("\n3. Rename it (update_mask=comment)");
    w.tokens().update(id).comment("quickstart: ci job (renamed)").send().await?;
    print_table(&w.tokens().list().send().await?);

    println!("\n4. Revoke it");
    w.tokens().delete(id).send().await?;
    let left = w.tokens().list().send().await?;
    println!("   revoked {}; {} token(s) left", short(id), left.len());

    if let Some(ws) = local {
        ws.stop().await;
    }
    Ok(())
}

fn short(id: &str) -> String {
    if id.len() > 12 { format!("{}…", &id[..12]) } else { id.to_owned() }
}

fn print_table(tokens: &[PublicTokenInfo]) {
    println!("   {:<14} {:<32} {:>12}", "TOKEN ID", "COMMENT", "EXPIRES IN");
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    for t in tokens {
        let expires = match t.expiry_time.map(i64::from) {
            Some(-1) => "never".to_owned(),
            Some(ms) => format!("{} s", (ms - now_ms).max(0) / 1000),
            None => "?".to_owned(),
        };
        println!("   {:<14} {:<32} {:>12}", short(&t.token_id), t.comment.as_deref().unwrap_or(""), expires);
    }
}
