//! Runs a local workspace as a standalone server, for curl, the Python SDK or any other client.
//!
//! ```sh
//! cargo run --example local_workspace --features local-workspace -- --port 8080 --token dapi-local
//! curl -H 'Authorization: Bearer dapi-local' http://127.0.0.1:8080/api/2.0/token/list
//! ```
//!
//! Options (`--help` or `-h` prints them; each builder method of `LocalWorkspace` has one):
//! - `--port N` (default: a free port), `--token T` (bootstrap credential of `local-user`, an admin),
//!   `--quota N`, `--max-lifetime SECONDS` (the longest lifetime a create may ask for; default 10 years).
//! - `--admin NAME=TOKEN`: a workspace admin (Token Management, token permissions); `--user NAME=TOKEN`: a
//!   user who is not. Both repeatable.
//! - `--client-id ID --client-secret SECRET`: a service principal for OAuth M2M (client credentials at
//!   `/oidc/v1/token`); repeat the pair for more than one. `--admin-client-id ID --client-secret SECRET`: one
//!   that is a workspace admin.
//! - `--group NAME=MEMBER[,MEMBER...]`: a group of users and service principals, for the token permissions'
//!   `group_name` (repeatable; the members of `admins` are admins).
//! - `--access-token-lifetime SECONDS`: how long issued OAuth access tokens live (default 3600).
//! - `--trust-issuer ISS`: trusts a test OIDC issuer named `ISS` with a fresh HS256 key, for token exchange
//!   (repeatable). With `--oidc-jwt-out FILE`, writes to `FILE` (mode 0600) a JWT of the last such issuer for
//!   subject `--oidc-subject SUB` (default `oidc-user@local`), audience the token endpoint, valid one hour:
//!   use it with the SDKs' `file-oidc` authentication. Only the file's path is printed.
//!   `--trust-issuer-pem ISS=ALG:FILE` trusts an issuer by its PEM public key (`ALG`: `RS256`, `ES256` or
//!   `EdDSA`); `--accept-audience AUD` accepts federated JWTs for another audience.
//! - `--accept-bearer-jwt AUD`: takes a trusted issuer's JWTs for `AUD` directly as `Authorization: Bearer`,
//!   as Azure takes Entra ID tokens; `--require-jwt-header HEADER=AUD` and `--require-header HEADER=VALUE`
//!   require the headers that go with them.
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

use databricks_tokens::local::{DEFAULT_BOOTSTRAP_TOKEN, JwtAlgorithm, LocalWorkspace, OidcIssuer, TrustedIssuer};

const USAGE: &str = "usage: local_workspace [OPTIONS]

Runs a local workspace (the Tokens and Token Management APIs, OAuth) on 127.0.0.1 until interrupted.

Options:
  --port N                          listen on this port (default: a free one)
  --token TOKEN                     the bootstrap credential of local-user, an admin
  --quota N                         tokens a principal may hold at once (default 600)
  --max-lifetime SECONDS            the longest lifetime a create may ask for (default 10 years)
  --admin NAME=TOKEN                a workspace admin (repeatable)
  --user NAME=TOKEN                 a user who is not an admin (repeatable)
  --client-id ID --client-secret SECRET
                                    a service principal for OAuth M2M (repeatable)
  --admin-client-id ID --client-secret SECRET
                                    a service principal that is a workspace admin (repeatable)
  --group NAME=MEMBER[,MEMBER...]   a group of users and service principals (repeatable)
  --access-token-lifetime SECONDS   how long issued OAuth access tokens live (default 3600)
  --trust-issuer ISS                trusts a test OIDC issuer with a fresh key (repeatable)
  --oidc-jwt-out FILE               writes a JWT of the last --trust-issuer to FILE (mode 0600)
  --oidc-subject SUB                the subject of that JWT (default oidc-user@local)
  --trust-issuer-pem ISS=ALG:FILE   trusts an issuer by its PEM public key; ALG: RS256, ES256 or EdDSA
  --accept-audience AUD             also accepts federated JWTs for this audience (repeatable)
  --accept-bearer-jwt AUD           takes trusted JWTs for AUD as Authorization: Bearer (repeatable)
  --require-jwt-header HEADER=AUD   bearer-JWT requests also carry HEADER with a JWT for AUD
  --require-header HEADER=VALUE     bearer-JWT requests also carry HEADER with exactly VALUE
  -h, --help                        prints this help
";

fn usage(problem: &str) -> ! {
    eprintln!("local_workspace: {problem}\n{USAGE}");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value.parse().unwrap_or_else(|_| usage(&format!("{flag} takes a number, not {value:?}")))
}

/// `NAME=VALUE`, both non-empty (`form` says how the flag's value looks). The value is never echoed: it may
/// be a credential.
fn pair(flag: &str, form: &str, value: &str) -> (String, String) {
    match value.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => (name.to_owned(), value.to_owned()),
        _ => usage(&format!("{flag} takes {form}")),
    }
}

/// `ISS=ALG:FILE`: an issuer trusted by the PEM public key in `FILE`.
fn trusted_by_pem(flag: &str, value: &str) -> TrustedIssuer {
    let (issuer, key) = pair(flag, "ISS=ALG:FILE", value);
    let (algorithm, file) = key.split_once(':').unwrap_or_else(|| usage(&format!("{flag} takes ISS=ALG:FILE")));
    let algorithm = match algorithm.to_ascii_uppercase().as_str() {
        "RS256" => JwtAlgorithm::Rs256,
        "ES256" => JwtAlgorithm::Es256,
        "EDDSA" => JwtAlgorithm::EdDsa,
        _ => usage(&format!("{flag}: the algorithm is RS256, ES256 or EdDSA, not {algorithm:?}")),
    };
    let pem = std::fs::read(file).unwrap_or_else(|e| usage(&format!("{flag}: cannot read {file}: {e}")));
    TrustedIssuer::from_public_key_pem(issuer, algorithm, &pem).unwrap_or_else(|e| usage(&format!("{flag}: {e}")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = LocalWorkspace::builder();
    let mut token = DEFAULT_BOOTSTRAP_TOKEN.to_owned();
    // A --client-id or --admin-client-id waiting for its --client-secret: the id, and whether an admin.
    let mut pending_client: Option<(String, bool)> = None;
    let mut issuer: Option<OidcIssuer> = None;
    let (mut jwt_out, mut subject) = (None, "oidc-user@local".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            print!("{USAGE}");
            return Ok(());
        }
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        builder = match flag.as_str() {
            "--port" => builder.port(number(&flag, &value)),
            "--quota" => builder.quota(number(&flag, &value)),
            "--max-lifetime" => builder.max_lifetime(Duration::from_secs(number(&flag, &value))),
            "--token" => {
                token = value;
                builder.bootstrap_token(token.clone())
            }
            "--admin" => {
                let (name, token) = pair(&flag, "NAME=TOKEN", &value);
                builder.admin(name, token)
            }
            "--user" => {
                let (name, token) = pair(&flag, "NAME=TOKEN", &value);
                builder.user(name, token)
            }
            "--client-id" | "--admin-client-id" if pending_client.is_none() => {
                pending_client = Some((value, flag == "--admin-client-id"));
                builder
            }
            "--client-id" | "--admin-client-id" => usage("each client id needs its --client-secret before the next"),
            "--client-secret" => match pending_client.take() {
                Some((id, false)) => builder.service_principal(id, value),
                Some((id, true)) => builder.admin_service_principal(id, value),
                None => usage("--client-secret must follow its --client-id or --admin-client-id"),
            },
            "--group" => {
                let (name, members) = pair(&flag, "NAME=MEMBER[,MEMBER...]", &value);
                if members.split(',').any(str::is_empty) {
                    usage("--group takes NAME=MEMBER[,MEMBER...], without empty members");
                }
                builder.group(name, members.split(','))
            }
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
            "--trust-issuer-pem" => builder.trust_issuer(trusted_by_pem(&flag, &value)),
            "--accept-audience" => builder.accept_audience(value),
            "--accept-bearer-jwt" => builder.accept_bearer_jwt(value),
            "--require-jwt-header" => {
                let (header, audience) = pair(&flag, "HEADER=AUDIENCE", &value);
                builder.require_jwt_header(header, audience)
            }
            "--require-header" => {
                let (header, value) = pair(&flag, "HEADER=VALUE", &value);
                builder.require_header(header, value)
            }
            _ => usage(&format!("unknown option {flag}")),
        };
    }
    if pending_client.is_some() {
        usage("a client id needs its --client-secret");
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
