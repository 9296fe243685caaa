//! User-Agent, workspace id, no stray headers, a tracing span per call, the plain-http guard, rate limits.

mod common;

use std::time::Duration;

use databricks_tokens::{ErrorKind, WorkspaceClient};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn ok_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    server
}

#[tokio::test]
async fn user_agent_names_the_product_and_workspace_id_is_sent_when_configured() {
    let server = ok_server().await;
    let w =
        WorkspaceClient::builder().host(server.uri()).token("t").product("janitor", "2.1.0").workspace_id("1234567890").build().unwrap();
    w.tokens().list().send().await.unwrap();
    w.tokens().delete("x").send().await.unwrap();
    for r in server.received_requests().await.unwrap() {
        let ua = r.headers.get("user-agent").unwrap().to_str().unwrap();
        let parts: Vec<&str> = ua.split(' ').collect();
        assert_eq!(parts.len(), 5, "{ua}");
        assert_eq!(parts[0], "janitor/2.1.0");
        assert_eq!(parts[1], concat!("databricks-tokens-rs/", env!("CARGO_PKG_VERSION")));
        assert!(parts[2].starts_with("rust/1."), "{ua}");
        assert_eq!(parts[3], format!("os/{}", std::env::consts::OS));
        assert_eq!(parts[4], "auth/pat");
        assert_eq!(r.headers.get("x-databricks-workspace-id").unwrap(), "1234567890");
        let allowed = ["accept", "authorization", "content-type", "content-length", "host", "user-agent", "x-databricks-workspace-id"];
        for name in r.headers.keys() {
            assert!(allowed.contains(&name.as_str()), "stray header {name}");
        }
    }
}

#[test]
fn credentials_are_not_sent_over_plain_http_to_a_remote_host() {
    let err = WorkspaceClient::builder().host("http://workspace.example.com").token("t").build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("allow_insecure_http(true)"), "{err}");
    WorkspaceClient::builder().host("http://workspace.example.com").token("t").allow_insecure_http(true).build().unwrap();
    for local in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
        WorkspaceClient::builder().host(local).token("t").build().unwrap();
    }
}

#[tokio::test]
async fn the_rate_limit_is_shared_by_clones() {
    let server = ok_server().await;
    let (w, clock) = {
        let clock = common::FakeClock::default();
        let w = WorkspaceClient::builder().host(server.uri()).token("t").rate_limit(4.0).clock(clock.clone()).build().unwrap();
        (w, clock)
    };
    let calls = (0..12).map(|_| {
        let w = w.clone();
        async move { w.tokens().list().send().await.unwrap() }
    });
    futures::future::join_all(calls).await;
    // 12 calls at 4/s with a burst of 4: the last 8 wait 0.25 s each in turn.
    assert!(clock.elapsed() >= Duration::from_secs(2), "{:?}", clock.elapsed());
    assert_eq!(server.received_requests().await.unwrap().len(), 12);
}

#[test]
fn a_bad_rate_limit_is_a_config_error() {
    for bad in [0.0, -1.0, f64::NAN] {
        let err = WorkspaceClient::builder().host("https://h").token("t").rate_limit(bad).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
