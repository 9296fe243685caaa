//! Runs a local workspace as a standalone server, for curl, the Python SDK or any other client.
//!
//! ```sh
//! cargo run --example local_workspace --features local-workspace -- --port 8080 --token dapi-local
//! curl -H 'Authorization: Bearer dapi-local' http://127.0.0.1:8080/api/2.0/token/list
//! ```
//!
//! Options:
//! - `--port N` (default: a free port), `--token T` (bootstrap credential of `local-user`, an admin),
//!   `--quota N`.
//! - `--admin NAME=TOKEN`: a workspace admin (Token Management, token permissions); `--user NAME=TOKEN`: a
//!   user who is not. Both repeatable.
//! - `--client-id ID --client-secret SECRET`: a service principal for OAuth M2M (client credentials at
//!   `/oidc/v1/token`); repeat the pair for more than one.
//! - `--access-token-lifetime SECONDS`: how long issued OAuth access tokens live (default 3600).
//! - `--trust-issuer ISS`: trusts a test OIDC issuer named `ISS` with a fresh HS256 key, for token exchange
//!   (repeatable). With `--oidc-jwt-out FILE`, writes to `FILE` (mode 0600) a JWT of the last such issuer for
//!   subject `--oidc-subject SUB` (default `oidc-user@local`), audience the token endpoint, valid one hour:
//!   use it with the SDKs' `file-oidc` authentication. Only the file's path is printed.
//!
//! It prints `listening on http://127.0.0.1:<port>` and serves until interrupted.
//!
//! ```sh
//! cargo run --example local_workspace --features local-workspace -- \
//!     --client-id ci-sp --client-secret sp-secret --trust-issuer https://issuer.example --oidc-jwt-out /tmp/jwt
//! cargo run --example local_workspace --features local-workspace -- --admin root=dapi-root --user alice=dapi-alice
//! curl -H 'Authorization: Bearer dapi-root' http://127.0.0.1:8080/api/2.0/token-management/tokens
//! ```

use std::time::Duration;

use databricks_tokens::local::{DEFAULT_BOOTSTRAP_TOKEN, LocalWorkspace, OidcIssuer};

const USAGE: &str = "usage: local_workspace [--port N] [--token TOKEN] [--quota N] \
[--admin NAME=TOKEN]... [--user NAME=TOKEN]... [--client-id ID --client-secret SECRET]... [--access-token-lifetime SECONDS] \
[--trust-issuer ISS]... [--oidc-jwt-out FILE [--oidc-subject SUB]]";

fn usage(problem: &str) -> ! {
    eprintln!("local_workspace: {problem}\n{USAGE}");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value.parse().unwrap_or_else(|_| usage(&format!("{flag} takes a number, not {value:?}")))
}

/// `NAME=TOKEN`, both non-empty. The token is never echoed.
fn name_and_token(flag: &str, value: String) -> (String, String) {
    match value.split_once('=') {
        Some((name, token)) if !name.is_empty() && !token.is_empty() => (name.to_owned(), token.to_owned()),
        _ => usage(&format!("{flag} takes NAME=TOKEN")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = LocalWorkspace::builder();
    let mut token = DEFAULT_BOOTSTRAP_TOKEN.to_owned();
    let mut pending_client: Option<String> = None;
    let mut issuer: Option<OidcIssuer> = None;
    let (mut jwt_out, mut subject) = (None, "oidc-user@local".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        builder = match flag.as_str() {
            "--port" => builder.port(number(&flag, &value)),
            "--quota" => builder.quota(number(&flag, &value)),
            "--token" => {
                token = value;
                builder.bootstrap_token(token.clone())
            }
            "--admin" => {
                let (name, token) = name_and_token(&flag, value);
                builder.admin(name, token)
            }
            "--user" => {
                let (name, token) = name_and_token(&flag, value);
                builder.user(name, token)
            }
            "--client-id" if pending_client.is_none() => {
                pending_client = Some(value);
                builder
            }
            "--client-id" => usage("each --client-id needs its --client-secret before the next"),
            "--client-secret" => match pending_client.take() {
                Some(id) => builder.service_principal(id, value),
                None => usage("--client-secret must follow its --client-id"),
            },
            "--access-token-lifetime" => builder.access_token_lifetime(Duration::from_secs(number(&flag, &value))),
            "--trust-issuer" => {
                let trusted = OidcIssuer::new(value)?;
                let builder = builder.trust_issuer(&trusted);
                issuer = Some(trusted);
                builder
            }
            "--oidc-jwt-out" => {
                jwt_out = Some(value);
                builder
            }
            "--oidc-subject" => {
                subject = value;
                builder
            }
            _ => usage(&format!("unknown option {flag}")),
        };
    }
    if pending_client.is_some() {
        usage("--client-id needs a --client-secret");
    }
    let ws = builder.start().await?;
    if let Some(path) = jwt_out {
        let Some(issuer) = &issuer else { usage("--oidc-jwt-out needs a --trust-issuer") };
        let jwt = issuer.mint(&subject, &ws.token_endpoint(), Duration::from_secs(3600));
        write_private(&path, jwt.expose())?;
        println!("oidc jwt for {subject} written to {path}");
    }
    println!("listening on {}", ws.url());
    println!("bootstrap token: pass it with DATABRICKS_TOKEN or Authorization: Bearer ({} characters)", token.len());
    tokio::signal::ctrl_c().await?;
    ws.stop().await;
    Ok(())
}

/// Writes a secret to a new file only its owner can read (an existing one is replaced, not reused with its
/// permissions).
fn write_private(path: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
