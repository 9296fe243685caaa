//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use databricks_tokens::{RetryPolicy, WorkspaceClient};

pub const TOKEN: &str = "dapi-test-credential-0123456789";

/// A client of `uri` with a PAT, a fake clock and the given retry policy.
pub fn client(uri: &str, retry: RetryPolicy) -> (WorkspaceClient, FakeClock) {
    let clock = FakeClock::default();
    let w = WorkspaceClient::builder().host(uri).token(TOKEN).retry_policy(retry).clock(clock.clone()).build().expect("client builds");
    (w, clock)
}

pub use databricks_tokens::clock::FakeClock;

/// A server on loopback that reads each request whole, counts it, then closes the connection without
/// answering: the request reached the server, the client cannot know whether it was processed.
pub async fn drop_after_request_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    serve_raw(None).await
}

/// A server on loopback that answers every request with `answer` (raw HTTP/1.1 bytes, written as they
/// are, then the connection is closed), after reading the request whole. Counts the requests.
pub async fn raw_server(answer: Vec<u8>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    serve_raw(Some(answer)).await
}

/// Reads each request whole and counts it, then writes `answer` (if any) and closes the connection.
async fn serve_raw(answer: Option<Vec<u8>>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let counter = Arc::clone(&counter);
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            counter.fetch_add(1, Ordering::SeqCst);
                            if let Some(answer) = answer.as_ref() {
                                let _ = stream.write_all(answer).await;
                                let _ = stream.flush().await;
                                // Keep the connection a moment so that a body cut short is seen as such.
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            return; // dropping the stream closes the connection
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// An address on loopback where nothing listens: connecting is refused.
pub fn refused_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// Runs `check` on every row of a table, then fails once if any row failed, listing every failing row with
/// its panic message: one wrong row does not hide the others. `name` labels a row in that list, and two
/// rows with one name fail too (a failure must point at one row).
pub fn check_every_row<R>(rows: impl IntoIterator<Item = R>, name: impl Fn(&R) -> String, check: impl Fn(R)) {
    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    let mut count = 0;
    for row in rows {
        count += 1;
        let label = name(&row);
        if !names.insert(label.clone()) {
            failures.push(format!("- {label}: another row has this name"));
        }
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(row))) {
            let message = match (panic.downcast_ref::<String>(), panic.downcast_ref::<&str>()) {
                (Some(message), _) => message.clone(),
                (None, Some(message)) => (*message).to_owned(),
                (None, None) => "(a panic without a message)".to_owned(),
            };
            failures.push(format!("- {label}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{} of {count} rows failed:\n{}", failures.len(), failures.join("\n"));
}

/// Collects formatted tracing output, as a `tracing_subscriber` writer.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes an executable `databricks` into `dir` that runs `script` with `/bin/sh`, padded past 1 MiB so
/// that it is not taken for the legacy Python CLI.
pub fn fake_cli(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    write_executable(&dir.join("databricks"), &format!("#!/bin/sh\n{script}\nexit 0\n# {}\n", "x".repeat(1 << 20)))
}

/// Writes an executable `databricks` under 1 MiB: what the legacy Python CLI looks like.
pub fn legacy_cli(dir: &std::path::Path) -> std::path::PathBuf {
    write_executable(&dir.join("databricks"), "#!/bin/sh\necho legacy\n")
}

fn write_executable(path: &std::path::Path, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    // Written under another name and renamed, so that no thread of this test process holds it open for
    // writing when it is run.
    let staging = path.with_extension("partial");
    std::fs::write(&staging, text).unwrap();
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&staging, path).unwrap();
    path.to_owned()
}

/// Writes an executable `az` into `dir` that runs `script` with `/bin/sh` (no padding: only the
/// Databricks CLI is told from its legacy predecessor by size).
pub fn fake_az(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    write_executable(&dir.join("az"), &format!("#!/bin/sh\n{script}\n"))
}

/// The test service account's private key (PKCS#8 PEM), from `tests/fixtures/google/`.
pub const GOOGLE_SA_PRIVATE_KEY: &str = include_str!("../fixtures/google/sa-private.pem");
/// Its public half, which the fake Google token endpoint verifies assertions with.
pub const GOOGLE_SA_PUBLIC_KEY: &str = include_str!("../fixtures/google/sa-public.pem");

/// A service-account JSON key for `email` whose `token_uri` is `token_uri`.
pub fn google_key_json(email: &str, token_uri: &str) -> String {
    google_key_json_with(email, token_uri, GOOGLE_SA_PRIVATE_KEY)
}

/// A service-account JSON key with another private key.
pub fn google_key_json_with(email: &str, token_uri: &str, private_key: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "test-key-id",
        "private_key": private_key,
        "client_email": email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    })
    .to_string()
}

/// Serves OAuth discovery on `server` (`GET /oidc/.well-known/oauth-authorization-server`), naming
/// `<server>/oidc/v1/token` as the token endpoint.
pub async fn mount_oidc_discovery(server: &wiremock::MockServer) {
    let token_endpoint = format!("{}/oidc/v1/token", server.uri());
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/oidc/.well-known/oauth-authorization-server"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token_endpoint": token_endpoint })))
        .mount(server)
        .await;
}
