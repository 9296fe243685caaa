//! Retries, backoff, Retry-After, budgets and per-attempt timeouts, with injected time (see `RetryPolicy`).

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use databricks_tokens::{ErrorKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, drop_after_request_server, refused_address};

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// `status` for the first `times` requests, then 200 `{}`.
async fn flaky(status: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(status.clone()).up_to_n_times(times).with_priority(1).mount(&server).await;
    Mock::given(method("POST")).respond_with(status).up_to_n_times(times).with_priority(1).mount(&server).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_info": {"token_id": "t1"}, "token_value": "dapi-created"})))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn unavailable_twice_then_ok_is_retried_with_bounded_backoff() {
    let server = flaky(ResponseTemplate::new(503), 2).await;
    let (w, clock) = client(&server.uri(), RetryPolicy::default());
    assert!(w.tokens().list().send().await.unwrap().is_empty());
    assert_eq!(requests(&server).await, 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[0] <= Duration::from_secs(1) && sleeps[1] <= Duration::from_secs(2), "{sleeps:?}");
}

#[tokio::test]
async fn create_is_retried_after_429_honouring_retry_after() {
    let server = flaky(ResponseTemplate::new(429).insert_header("retry-after", "2"), 1).await;
    let (w, clock) = client(&server.uri(), RetryPolicy::default());
    w.tokens().create().send().await.unwrap();
    assert_eq!(requests(&server).await, 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(6));
    let server = flaky(ResponseTemplate::new(503).insert_header("retry-after", when.as_str()), 1).await;
    let (w, clock) = client(&server.uri(), RetryPolicy::default());
    w.tokens().list().send().await.unwrap();
    let slept = clock.sleeps()[0];
    assert!(slept >= Duration::from_secs(4) && slept <= Duration::from_secs(6), "{slept:?}");
}

#[tokio::test]
async fn retry_after_is_bounded() {
    let server = flaky(ResponseTemplate::new(429).insert_header("retry-after", "86400"), 1).await;
    let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(30));
    let (w, clock) = client(&server.uri(), policy);
    w.tokens().list().send().await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(30)]);
}

#[tokio::test]
async fn the_time_budget_ends_the_retries_with_the_last_cause() {
    let server =
        flaky(ResponseTemplate::new(503).set_body_string(r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}"#), u64::MAX).await;
    let policy = RetryPolicy::default().with_timeout(Duration::from_secs(20));
    let (w, clock) = client(&server.uri(), policy);
    let err = w.tokens().list().send().await.unwrap_err();
    let sent = requests(&server).await;
    assert!(sent > 2, "{sent}");
    assert_eq!(err.attempts() as usize, sent);
    // A timeout that keeps the last cause: its status, code and message.
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!((err.status(), err.error_code()), (Some(503), Some("TEMPORARILY_UNAVAILABLE")));
    assert!(
        err.to_string().contains("the retry budget of 20.0 s ran out; the last attempt: TEMPORARILY_UNAVAILABLE (HTTP 503): busy"),
        "{err}"
    );
    // The budget is spent, not overrun.
    assert!(clock.elapsed() <= Duration::from_secs(20) && clock.elapsed() >= Duration::from_secs(19), "{:?}", clock.elapsed());
    assert_eq!(err.elapsed(), Some(clock.elapsed()));
    assert!(err.to_string().contains(&format!("after {sent} attempts")), "{err}");
}

#[tokio::test]
async fn max_attempts_and_disabled_policies() {
    let server = flaky(ResponseTemplate::new(503), u64::MAX).await;
    let (w, _) = client(&server.uri(), RetryPolicy::default().with_max_attempts(3));
    assert_eq!(w.tokens().list().send().await.unwrap_err().attempts(), 3);
    assert_eq!(requests(&server).await, 3);

    let server = flaky(ResponseTemplate::new(503), u64::MAX).await;
    let (w, clock) = client(&server.uri(), RetryPolicy::disabled());
    assert_eq!(w.tokens().list().send().await.unwrap_err().attempts(), 1);
    assert_eq!(requests(&server).await, 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn errors_that_are_not_transient_are_not_retried() {
    for status in [400, 401, 403, 404, 409, 500, 502] {
        let server = flaky(ResponseTemplate::new(status), u64::MAX).await;
        let (w, _) = client(&server.uri(), RetryPolicy::default());
        let err = w.tokens().list().send().await.unwrap_err();
        assert_eq!((err.status(), requests(&server).await), (Some(status), 1));
    }
}

#[tokio::test]
async fn a_create_whose_connection_drops_after_sending_is_never_repeated() {
    let (uri, processed) = drop_after_request_server().await;
    let (w, clock) = client(&uri, RetryPolicy::default());
    let err = w.tokens().create().comment("once").send().await.unwrap_err();
    assert_eq!(processed.load(Ordering::SeqCst), 1, "a second create could mint a second token");
    assert_eq!(err.attempts(), 1);
    assert!(err.is_transport(), "{err:?}");
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn idempotent_operations_are_retried_after_a_dropped_connection() {
    let (uri, processed) = drop_after_request_server().await;
    let (w, _) = client(&uri, RetryPolicy::default().with_max_attempts(3));
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(processed.load(Ordering::SeqCst), 3);
    assert_eq!(err.attempts(), 3);

    let err = w.tokens().delete("abc").send().await.unwrap_err();
    assert_eq!(processed.load(Ordering::SeqCst), 6);
    assert_eq!(err.attempts(), 3);
}

#[tokio::test]
async fn the_caller_can_declare_create_idempotent() {
    let (uri, processed) = drop_after_request_server().await;
    let policy = RetryPolicy::default().with_max_attempts(2).with_idempotent(&databricks_tokens::operation::CREATE_TOKEN, true);
    let (w, _) = client(&uri, policy);
    w.tokens().create().send().await.unwrap_err();
    assert_eq!(processed.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_create() {
    let (w, clock) = client(&refused_address(), RetryPolicy::default().with_max_attempts(3));
    let err = w.tokens().create().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.attempts(), 3);
    assert_eq!(clock.sleeps().len(), 2);
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn each_attempt_has_its_own_timeout() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let policy = RetryPolicy::default().with_attempt_timeout(Duration::from_millis(100)).with_max_attempts(2);
    let (w, _) = client(&server.uri(), policy.clone());
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 2);

    // A create that timed out may have been processed: it is not repeated.
    let (w, _) = client(&server.uri(), policy);
    let err = w.tokens().create().send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn absurd_durations_in_a_policy_do_not_panic() {
    let server = flaky(ResponseTemplate::new(503).insert_header("retry-after", "1"), 2).await;
    let policy = RetryPolicy::default()
        .with_timeout(Duration::MAX)
        .with_attempt_timeout(Duration::MAX)
        .with_max_retry_after(Duration::MAX)
        .with_backoff(Duration::MAX, Duration::MAX);
    let (w, clock) = client(&server.uri(), policy);
    w.tokens().list().send().await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 2]);
}

/// The retry budget a client and its clones share: a retry takes 5, a call that succeeds at its first
/// attempt gives 1 back (up to the capacity); an empty budget stops the retries of every clone.
#[tokio::test]
async fn the_shared_retry_budget_is_spent_by_retries_and_refilled_by_first_attempt_successes() {
    let server = MockServer::start().await;
    let policy = RetryPolicy::default().with_max_attempts(3).with_backoff(Duration::ZERO, Duration::ZERO).with_shared_budget(10);
    assert_eq!(policy.shared_budget(), 10);
    let (w, _) = client(&server.uri(), policy);
    let clone = w.clone();
    // Requests a failing list makes with the server answering `status`; the mocks and their log are reset.
    let attempts = |client: &databricks_tokens::WorkspaceClient, status: u16| {
        let (server, client) = (&server, client.clone());
        async move {
            server.reset().await;
            Mock::given(method("GET")).respond_with(ResponseTemplate::new(status).set_body_json(json!({}))).mount(server).await;
            let result = client.tokens().list().send().await;
            assert_eq!(result.is_ok(), status == 200, "{result:?}");
            requests(server).await
        }
    };
    assert_eq!(attempts(&w, 503).await, 3, "10 pays two retries");
    assert_eq!(attempts(&clone, 503).await, 1, "the clone shares the empty budget");
    for _ in 0..4 {
        assert_eq!(attempts(&clone, 200).await, 1);
    }
    assert_eq!(attempts(&w, 503).await, 1, "4 given back: not enough for a retry");
    assert_eq!(attempts(&w, 200).await, 1);
    assert_eq!(attempts(&w, 503).await, 2, "5 given back: one retry");
    for _ in 0..30 {
        attempts(&clone, 200).await;
    }
    assert_eq!(attempts(&w, 503).await, 3, "refilled to its capacity");
    assert_eq!(attempts(&w, 503).await, 1, "and no further");
}

#[tokio::test]
async fn an_idempotency_override_names_one_services_operation() {
    use databricks_tokens::operation::UPDATE_TOKEN;
    // The Tokens API's update_token declared unsafe to repeat: Token Management's update_token keeps the
    // spec's (idempotent), although both are "update_token".
    let (uri, processed) = drop_after_request_server().await;
    let policy = RetryPolicy::default().with_max_attempts(3).with_idempotent(&UPDATE_TOKEN, false);
    let (w, _) = client(&uri, policy);
    let err = w.tokens().update("abc").comment("c").send().await.unwrap_err();
    assert_eq!((processed.load(Ordering::SeqCst), err.attempts()), (1, 1));
    let err = w.token_management().update("abc").comment("c").send().await.unwrap_err();
    assert_eq!((processed.load(Ordering::SeqCst), err.attempts()), (4, 3));
}
