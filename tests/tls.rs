//! The shared TLS set-up reads the platform's roots and verifies every certificate with them: a server the
//! platform trusts is reached, one it does not is refused. With `rustls` (the default) the roots are read at
//! the first certificate verified, not when a client is built; with `native-tls` (OpenSSL) when the first
//! client is built. `cargo test` checks the default; `.ci/run` also runs this file with `native-tls` alone.
//!
//! The platform's roots here are `tests/fixtures/tls/ca.pem`, through `SSL_CERT_FILE`, which both stacks read
//! on Linux; it is set in a test binary of its own, with one test.
#![cfg(any(feature = "rustls", feature = "native-tls"))]

use std::path::PathBuf;
use std::time::Duration;

use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

/// An HTTPS server on loopback presenting `cert` that answers every request with an empty token list
/// (served with the platform's TLS library, so that the client's rustls is checked against another stack).
async fn https_server(cert: &str, key: &str) -> u16 {
    let read = |name: &str| std::fs::read(fixture(name)).expect("fixture");
    let identity = native_tls::Identity::from_pkcs8(&read(cert), &read(key)).expect("identity");
    let acceptor = tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).expect("acceptor"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"token_infos":[]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn client(port: u16) -> WorkspaceClient {
    WorkspaceClient::builder()
        .host(format!("https://localhost:{port}"))
        .token("dapi-tls-test")
        .retry_policy(RetryPolicy::default().with_max_attempts(1).with_timeout(Duration::from_secs(10)))
        .build()
        .expect("client")
}

/// Names `tests/fixtures/tls/ca.pem` as the platform's roots.
fn trust_the_test_ca() {
    // SAFETY: this binary has one test, and no other thread exists yet that could read the environment
    // (no request has been sent, so no resolver thread has started).
    unsafe {
        std::env::set_var("SSL_CERT_FILE", fixture("ca.pem"));
    }
}

#[tokio::test]
async fn the_platform_roots_are_read_and_enforced() {
    let trusted = https_server("localhost.pem", "localhost.key").await;
    let untrusted = https_server("untrusted.pem", "untrusted.key").await;
    // With rustls, the clients are built before the roots are named: building one must not read them.
    #[cfg(not(feature = "rustls"))]
    trust_the_test_ca();
    let (to_trusted, to_untrusted) = (client(trusted), client(untrusted));
    #[cfg(feature = "rustls")]
    trust_the_test_ca();

    let listed = to_trusted.tokens().list().send().await.expect("a certificate the platform roots sign is accepted");
    assert!(listed.is_empty());

    let refused = to_untrusted.tokens().list().send().await.expect_err("a self-signed certificate is refused");
    assert_eq!(refused.kind(), ErrorKind::Transport, "{refused:?}");
    let chain = std::iter::successors(Some(&refused as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
    assert!(!chain.contains("dapi-tls-test"), "{chain}");
}
