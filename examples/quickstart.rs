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
use databricks_tokens::types::{CreateTokenRequest, PublicTokenInfo, UpdateTokenRequest};

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
    let lifetime = Duration::from_secs(300);
    let created = w
        .tokens()
        .create(CreateTokenRequest {
            comment: Some("quickstart: ci job".into()),
            lifetime_seconds: Some((lifetime.as_secs() as i64).into()),
            ..Default::default()
        })
        .await?;
    let id = created.token_info.token_id.clone().unwrap_or_default();
    let secret = created.token_value.expose().len();
    println!("   created {} (secret value: {} characters, shown to nobody)", short(&id), secret);

    println!("\n2. List my tokens");
    print_table(&w.tokens().list().await?);

    println!("\n3. Rename it (update_mask=comment)");
    let token = PublicTokenInfo { comment: Some("quickstart: ci job (renamed)".into()), ..Default::default() };
    w.tokens().update(&id, UpdateTokenRequest { token, update_mask: "comment".into() }).await?;
    print_table(&w.tokens().list().await?);

    println!("\n4. Revoke it");
    w.tokens().delete(&id).await?;
    let left = w.tokens().list().await?;
    println!("   revoked {}; {} token(s) left", short(&id), left.len());

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
        println!("   {:<14} {:<32} {:>12}", short(t.token_id.as_deref().unwrap_or("?")), t.comment.as_deref().unwrap_or(""), expires);
    }
}
