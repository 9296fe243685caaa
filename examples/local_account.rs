//! Runs a local account as a standalone server: the account API and N local workspaces on one port of
//! 127.0.0.1, for the Python SDK's `AccountClient` or any other client.
//!
//! ```sh
//! cargo run --example local_account --features local-workspace -- --port 8080 --workspaces 3 \
//!     --client-id fleet-sp --client-secret fleet-secret --tokens-per-workspace 2
//! ```
//!
//! Options (`--help` or `-h` prints them):
//! - `--port N` (default: a free port), `--account-id ID`, `--workspaces N` (default 1),
//!   `--tokens-per-workspace N` (tokens of `local-user` in each, default 0).
//! - `--client-id ID --client-secret SECRET`: the account's admin service principal (OAuth M2M at
//!   `/oidc/accounts/<account id>/v1/token`, and at each workspace's `/ws/<deployment name>/oidc/v1/token`).
//! - `--not-running N`: the workspace of index `N` is `PROVISIONING` (repeatable).
//!
//! It prints `listening on http://127.0.0.1:<port>`, `account id <id>` and
//! `workspace url template http://127.0.0.1:<port>/ws/{deployment_name}`, then serves until interrupted.

use databricks_tokens::local::LocalAccount;

const USAGE: &str = "usage: local_account [OPTIONS]

Runs a local account (the account Workspaces API, its OAuth, and N local workspaces) on 127.0.0.1 until
interrupted. Workspace <deployment name> is served under /ws/<deployment name>.

Options:
  --port N                          listen on this port (default: a free one)
  --account-id ID                   the account id
  --workspaces N                    how many workspaces (default 1)
  --tokens-per-workspace N          tokens of local-user in each workspace (default 0)
  --client-id ID --client-secret SECRET
                                    the account's admin service principal (admin of every workspace)
  --not-running N                   the workspace of index N is PROVISIONING (repeatable)
  -h, --help                        prints this";

fn usage(problem: &str) -> ! {
    eprintln!("error: {problem}\n\n{USAGE}");
    std::process::exit(2)
}

fn number(flag: &str, value: &str) -> usize {
    value.parse().unwrap_or_else(|_| usage(&format!("{flag} takes a number, not {value:?}")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = LocalAccount::builder();
    let mut args = std::env::args().skip(1);
    let (mut client_id, mut client_secret) = (None, None);
    let mut not_running = Vec::new();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        builder = match flag.as_str() {
            "--port" => builder.port(u16::try_from(number(&flag, &value)).unwrap_or_else(|_| usage("--port is at most 65535"))),
            "--account-id" => builder.account_id(value),
            "--workspaces" => builder.workspaces(number(&flag, &value)),
            "--tokens-per-workspace" => builder.tokens_per_workspace(number(&flag, &value)),
            "--client-id" => {
                client_id = Some(value);
                builder
            }
            "--client-secret" => {
                client_secret = Some(value);
                builder
            }
            "--not-running" => {
                not_running.push(number(&flag, &value));
                builder
            }
            _ => usage(&format!("unknown option {flag}")),
        };
    }
    builder = match (client_id, client_secret) {
        (Some(id), Some(secret)) => builder.service_principal(id, secret),
        (None, None) => builder,
        _ => usage("--client-id and --client-secret go together"),
    };
    let builder = builder.customize(move |index, ws| if not_running.contains(&index) { ws.status("PROVISIONING") } else { ws });
    let account = builder.start().await?;
    println!("listening on {}", account.url());
    println!("account id {}", account.account_id());
    println!("workspace url template {}", account.workspace_url_template());
    tokio::signal::ctrl_c().await?;
    account.stop().await;
    Ok(())
}
