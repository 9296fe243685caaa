//! The seed lifecycle: create a token, list, rename it through a field mask, revoke it.
//!
//! `cargo run --example quickstart` with `DATABRICKS_HOST` and `DATABRICKS_TOKEN` set.

use databricks_tokens::WorkspaceClient;
use databricks_tokens::types::{CreateTokenRequest, PublicTokenInfo, UpdateTokenRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (Ok(host), Ok(token)) = (std::env::var("DATABRICKS_HOST"), std::env::var("DATABRICKS_TOKEN")) else {
        eprintln!("set DATABRICKS_HOST and DATABRICKS_TOKEN to run the demo against a workspace");
        std::process::exit(2);
    };
    let w = WorkspaceClient::builder().host(host).token(token).product("quickstart", env!("CARGO_PKG_VERSION")).build()?;
    let created = w
        .tokens()
        .create(CreateTokenRequest { comment: Some("quickstart".into()), lifetime_seconds: Some(300.into()), ..Default::default() })
        .await?;
    let id = created.token_info.and_then(|i| i.token_id).unwrap_or_default();
    println!("created {id}");
    for info in w.tokens().list().await? {
        println!("{:<40} {}", info.token_id.unwrap_or_default(), info.comment.unwrap_or_default());
    }
    let token = PublicTokenInfo { comment: Some("quickstart (renamed)".into()), ..Default::default() };
    w.tokens().update(&id, UpdateTokenRequest { token, update_mask: "comment".into() }).await?;
    w.tokens().delete(&id).await?;
    println!("revoked {id}");
    Ok(())
}
