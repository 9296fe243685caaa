//! Runs a local workspace as a standalone server, for curl, the Python SDK or any other client.
//!
//! ```sh
//! cargo run --example local_workspace --features local-workspace -- --port 8080 --token dapi-local
//! curl -H 'Authorization: Bearer dapi-local' http://127.0.0.1:8080/api/2.0/token/list
//! ```
//!
//! Options: `--port N` (default: a free port), `--token T` (bootstrap credential), `--quota N`.
//! It prints `listening on http://127.0.0.1:<port>` and serves until interrupted.

use databricks_tokens::local::{DEFAULT_BOOTSTRAP_TOKEN, LocalWorkspace};

fn usage() -> ! {
    eprintln!("usage: local_workspace [--port N] [--token TOKEN] [--quota N]");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = LocalWorkspace::builder();
    let mut token = DEFAULT_BOOTSTRAP_TOKEN.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        builder = match flag.as_str() {
            "--port" => builder.port(value.parse().unwrap_or_else(|_| usage())),
            "--quota" => builder.quota(value.parse().unwrap_or_else(|_| usage())),
            "--token" => {
                token = value;
                builder.bootstrap_token(token.clone())
            }
            _ => usage(),
        };
    }
    let ws = builder.start().await?;
    println!("listening on {}", ws.url());
    println!("bootstrap token: pass it with DATABRICKS_TOKEN or Authorization: Bearer ({} characters)", token.len());
    tokio::signal::ctrl_c().await?;
    ws.stop().await;
    Ok(())
}
