//! OAuth machine-to-machine against loopback discovery, token and API endpoints.

mod common;

use std::time::Duration;

use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CLIENT_ID: &str = "sp-client-id";
const CLIENT_SECRET: &str = "sp-client-secret-#1";
const BASIC: &str = "Basic c3AtY2xpZW50LWlkOnNwLWNsaWVudC1zZWNyZXQtIzE=";

/// A workspace whose discovery and token endpoints work, and whose API answers `api_status`.
async fn workspace(api_status: u16, expires_in: u64) -> MockServer {
    let server = MockServer::start().await;
    let token_endpoint = format!("{}/oidc/v1/token", server.uri());
    Mock::given(method("GET"))
        .and(path("/oidc/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issuer": server.uri(), "token_endpoint": token_endpoint})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "eyJ-access-token-value", "token_type": "Bearer", "expires_in": expires_in}))
        })
        .mount(&server)
        .await;
    Mock::given(path("/api/2.0/token/list")).respond_with(ResponseTemplate::new(api_status).set_body_json(json!({}))).mount(&server).await;
    server
}

async fn count(server: &MockServer, p: &str) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == p).count()
}

fn client(server: &MockServer, clock: &common::FakeClock) -> WorkspaceClient {
    WorkspaceClient::builder()
        .host(server.uri())
        .oauth_m2m(CLIENT_ID, CLIENT_SECRET)
        .clock(clock.clone())
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap()
}

#[tokio::test]
async fn fifty_concurrent_calls_with_a_cold_cache_make_one_token_request() {
    let server = workspace(200, 3600).await;
    let clock = common::FakeClock::default();
    let w = client(&server, &clock);
    let calls = (0..50).map(|_| {
        let w = w.clone();
        async move { w.tokens().list().send().await.unwrap() }
    });
    futures::future::join_all(calls).await;
    assert_eq!(count(&server, "/oidc/.well-known/oauth-authorization-server").await, 1);
    assert_eq!(count(&server, "/oidc/v1/token").await, 1);
    assert_eq!(count(&server, "/api/2.0/token/list").await, 50);

    let requests = server.received_requests().await.unwrap();
    let token_request = requests.iter().find(|r| r.url.path() == "/oidc/v1/token").unwrap();
    assert_eq!(token_request.headers.get("authorization").unwrap(), BASIC);
    assert_eq!(std::str::from_utf8(&token_request.body).unwrap(), "grant_type=client_credentials&scope=all-apis");
    assert_eq!(token_request.headers.get("content-type").unwrap(), "application/x-www-form-urlencoded");
    for api in requests.iter().filter(|r| r.url.path() == "/api/2.0/token/list") {
        assert_eq!(api.headers.get("authorization").unwrap(), "Bearer eyJ-access-token-value");
        assert!(api.headers.get("user-agent").unwrap().to_str().unwrap().ends_with("auth/oauth-m2m"));
    }
}

#[tokio::test]
async fn a_token_is_refreshed_40_seconds_before_it_expires() {
    let server = workspace(200, 3600).await;
    let clock = common::FakeClock::default();
    let w = client(&server, &clock);
    w.tokens().list().send().await.unwrap();
    clock.advance(Duration::from_secs(3600 - 41));
    w.tokens().list().send().await.unwrap();
    assert_eq!(count(&server, "/oidc/v1/token").await, 1, "still fresh 41 s before expiry");
    clock.advance(Duration::from_secs(2));
    w.tokens().list().send().await.unwrap();
    assert_eq!(count(&server, "/oidc/v1/token").await, 2, "refreshed 39 s before expiry, not later");
    assert_eq!(count(&server, "/oidc/.well-known/oauth-authorization-server").await, 1, "discovery is cached");
}

#[tokio::test]
async fn a_token_endpoint_failure_is_a_clear_auth_error() {
    let server = MockServer::start().await;
    common::mount_oidc_discovery(&server).await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "invalid_client", "error_description": "Client authentication failed"})),
        )
        .mount(&server)
        .await;
    let w = client(&server, &common::FakeClock::default());
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    let text = err.to_string();
    assert!(text.contains("refused client sp-client-id (HTTP 401): invalid_client: Client authentication failed"), "{text}");
    assert!(!format!("{text} {err:?}").contains(CLIENT_SECRET));
    assert_eq!(count(&server, "/api/2.0/token/list").await, 0, "no API call without credentials");
}

#[tokio::test]
async fn discovery_without_a_token_endpoint_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    let w = client(&server, &common::FakeClock::default());
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("token endpoint discovery at"), "{err}");
}

#[tokio::test]
async fn a_revoked_token_is_replayed_once_then_the_error_is_returned() {
    let server = workspace(401, 3600).await;
    let clock = common::FakeClock::default();
    let w = client(&server, &clock);
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err:?}");
    assert_eq!(count(&server, "/api/2.0/token/list").await, 2, "one replay, not a loop");
    assert_eq!(count(&server, "/oidc/v1/token").await, 2, "the replay used a fresh token");
    assert_eq!(err.attempts(), 2);
    assert!(clock.sleeps().iter().all(|d| d.is_zero()));
}

#[tokio::test]
async fn the_client_secret_never_goes_to_a_remote_plain_http_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_endpoint": "http://login.example.com/oidc/v1/token"})))
        .mount(&server)
        .await;
    let w = client(&server, &common::FakeClock::default());
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("refusing to send the client secret to http://login.example.com"), "{err}");
}

#[tokio::test]
async fn the_401_replay_is_part_of_authentication_not_of_retrying() {
    let server = workspace(401, 3600).await;
    let w = WorkspaceClient::builder()
        .host(server.uri())
        .oauth_m2m(CLIENT_ID, CLIENT_SECRET)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.is_unauthenticated());
    assert_eq!(count(&server, "/api/2.0/token/list").await, 2, "one replay even with retries disabled");
}

#[tokio::test]
async fn an_absurd_expires_in_is_clamped_not_a_panic() {
    let server = workspace(200, u64::MAX / 2).await;
    let clock = common::FakeClock::default();
    let w = client(&server, &clock);
    w.tokens().list().send().await.unwrap();
    clock.advance(Duration::from_secs(24 * 3600));
    w.tokens().list().send().await.unwrap();
    assert_eq!(count(&server, "/oidc/v1/token").await, 2, "refreshed after at most a day");
}

#[tokio::test]
async fn the_standalone_provider_is_built_with_a_result_and_authenticates() {
    let server = workspace(200, 3600).await;
    // `new` answers with a Result (its HTTP client may fail to build), not a panic.
    let sp = databricks_tokens::auth::OAuthM2mCredentials::new(server.uri(), CLIENT_ID, CLIENT_SECRET).unwrap();
    let w = WorkspaceClient::builder().host(server.uri()).credentials(sp).retry_policy(RetryPolicy::disabled()).build().unwrap();
    w.tokens().list().send().await.unwrap();
    assert_eq!(count(&server, "/oidc/v1/token").await, 1);
    let requests = server.received_requests().await.unwrap();
    let api = requests.iter().find(|r| r.url.path() == "/api/2.0/token/list").unwrap();
    assert_eq!(api.headers.get("authorization").unwrap(), "Bearer eyJ-access-token-value");
}
