//! `Error::is_retryable` answers what the attempt loop did: a walk over every `ErrorKind` and the
//! interesting statuses and transport failures, for an idempotent operation (list) and one that is not
//! (create), over real HTTP on loopback. Each row checks that the loop retried (or not) as the rule says,
//! and that the error the client returned says the same.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use databricks_tokens::stub;
use databricks_tokens::workflows::TokenWorkflows;
use databricks_tokens::{Error, ErrorKind, RetryPolicy, WorkspaceClient};
use serde_json::json;
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{FakeClock, TOKEN, drop_after_request_server, raw_server, refused_address};

/// Attempts at most, so that "retried" shows as three requests.
const ATTEMPTS: u32 = 3;

fn policy() -> RetryPolicy {
    RetryPolicy::default().with_max_attempts(ATTEMPTS).with_backoff(Duration::ZERO, Duration::ZERO)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    /// `list_tokens`: idempotent.
    List,
    /// `create_token`: not idempotent.
    Create,
}

/// How a row makes its call fail.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// The API answers every request with this status and body.
    Status(u16, &'static str),
    /// Nothing listens: the connection is refused.
    Refused,
    /// The server reads the request, then closes the connection without answering.
    DroppedAfterSending,
    /// The server answers after the attempt's time is up.
    AttemptTimeout,
    /// The API answers 503 until the call's time budget is spent (unlimited attempts).
    BudgetSpent,
    /// 200 with a body that does not decode.
    UndecodableSuccess,
    /// A redirect, never followed.
    Redirect,
    /// 200 with a body larger than the client's limit.
    TooLarge,
    /// Input refused before anything is sent.
    InvalidInput,
    /// A client that cannot be built.
    Config,
    /// OAuth M2M whose token endpoint refuses the client.
    TokenRefused,
    /// OAuth M2M whose token endpoint stays unavailable (its own loop retries it, within its budget).
    TokenUnavailable,
    /// OAuth M2M whose token the API refuses: replayed once with fresh credentials, not retried.
    Unauthenticated401,
    /// A stub that does not implement the operation.
    Stub,
    /// A lookup by comment that finds two tokens.
    Ambiguous,
}

struct Row {
    scenario: Scenario,
    op: Op,
    kind: ErrorKind,
    /// Whether the loop should retry: the rule of `RetryPolicy`.
    retried: bool,
}

/// What a row's call came to: the error and how many requests reached the API (attempts, replays
/// included).
struct Seen {
    error: Error,
    requests: usize,
    /// Requests the first attempt takes before any retry: 2 when a 401 is replayed, 0 when nothing is
    /// sent.
    first: usize,
}

async fn api_requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path().starts_with("/api/")).count()
}

fn pat_client(uri: &str, policy: RetryPolicy) -> WorkspaceClient {
    WorkspaceClient::builder().host(uri).token(TOKEN).retry_policy(policy).clock(FakeClock::default()).build().unwrap()
}

async fn call(w: &WorkspaceClient, op: Op) -> Error {
    match op {
        Op::List => w.tokens().list().send().await.map(drop),
        Op::Create => w.tokens().create().comment("walk").send().await.map(drop),
    }
    .expect_err("the call fails")
}

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(template).mount(&server).await;
    server
}

/// A workspace with OAuth discovery, whose token endpoint answers `token` and whose API answers `api`.
async fn oauth_workspace(token: ResponseTemplate, api: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    common::mount_oidc_discovery(&server).await;
    Mock::given(method("POST")).and(path("/oidc/v1/token")).respond_with(token).mount(&server).await;
    Mock::given(path_regex("^/api/")).respond_with(api).mount(&server).await;
    server
}

fn m2m_client(server: &MockServer) -> WorkspaceClient {
    WorkspaceClient::builder()
        .host(server.uri())
        .oauth_m2m("walk-client", "walk-secret")
        .retry_policy(policy())
        .clock(FakeClock::default())
        .build()
        .unwrap()
}

fn access_token() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"access_token": "eyJ-walk", "token_type": "Bearer", "expires_in": 3600}))
}

#[derive(Debug)]
struct Empty;
impl stub::Tokens for Empty {}

async fn run(scenario: Scenario, op: Op) -> Seen {
    let sent = |error: Error, requests: usize| Seen { error, requests, first: 1 };
    match scenario {
        Scenario::Status(status, body) => {
            let server = answering(ResponseTemplate::new(status).set_body_string(body)).await;
            let error = call(&pat_client(&server.uri(), policy()), op).await;
            sent(error, api_requests(&server).await)
        }
        Scenario::Refused => {
            let error = call(&pat_client(&refused_address(), policy()), op).await;
            // Nothing to count at a server: the client's own count.
            let attempts = error.attempts() as usize;
            sent(error, attempts)
        }
        Scenario::DroppedAfterSending => {
            let (uri, seen) = drop_after_request_server().await;
            let error = call(&pat_client(&uri, policy()), op).await;
            sent(error, seen.load(Ordering::SeqCst))
        }
        Scenario::AttemptTimeout => {
            let server = answering(ResponseTemplate::new(200).set_body_json(json!({})).set_delay(Duration::from_secs(5))).await;
            let error = call(&pat_client(&server.uri(), policy().with_attempt_timeout(Duration::from_millis(100))), op).await;
            sent(error, api_requests(&server).await)
        }
        Scenario::BudgetSpent => {
            let server = answering(ResponseTemplate::new(503)).await;
            let unlimited = RetryPolicy::default().with_timeout(Duration::from_secs(20));
            let error = call(&pat_client(&server.uri(), unlimited), op).await;
            sent(error, api_requests(&server).await)
        }
        Scenario::UndecodableSuccess => {
            let server = answering(ResponseTemplate::new(200).set_body_string("not json")).await;
            let error = call(&pat_client(&server.uri(), policy()), op).await;
            sent(error, api_requests(&server).await)
        }
        Scenario::Redirect => {
            let server = answering(ResponseTemplate::new(302).insert_header("location", "https://elsewhere.example/")).await;
            let error = call(&pat_client(&server.uri(), policy()), op).await;
            sent(error, api_requests(&server).await)
        }
        Scenario::TooLarge => {
            let server =
                answering(ResponseTemplate::new(200).set_body_string(format!("{{\"token_infos\":[],\"pad\":\"{}\"}}", "x".repeat(4096))))
                    .await;
            let w = WorkspaceClient::builder()
                .host(server.uri())
                .token(TOKEN)
                .retry_policy(policy())
                .max_response_size(1024)
                .clock(FakeClock::default())
                .build()
                .unwrap();
            let error = call(&w, op).await;
            sent(error, api_requests(&server).await)
        }
        Scenario::InvalidInput => {
            let server = answering(ResponseTemplate::new(200).set_body_json(json!({}))).await;
            let w = pat_client(&server.uri(), policy());
            let error = match op {
                Op::List => w.tokens().delete("").send().await.expect_err("an empty id is refused"),
                Op::Create => w.tokens().create().lifetime(Duration::from_millis(10)).send().await.map(drop).expect_err("refused"),
            };
            Seen { error, requests: api_requests(&server).await, first: 0 }
        }
        Scenario::Config => {
            let error = WorkspaceClient::builder().host("http://127.0.0.1:1").token(TOKEN).rate_limit(-1.0).build().expect_err("refused");
            Seen { error, requests: 0, first: 0 }
        }
        Scenario::TokenRefused => {
            let refused = ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client", "error_description": "no"}));
            let server = oauth_workspace(refused, ResponseTemplate::new(200).set_body_json(json!({}))).await;
            let error = call(&m2m_client(&server), op).await;
            Seen { error, requests: api_requests(&server).await, first: 0 }
        }
        Scenario::TokenUnavailable => {
            let server = oauth_workspace(ResponseTemplate::new(503), ResponseTemplate::new(200).set_body_json(json!({}))).await;
            let error = call(&m2m_client(&server), op).await;
            let token_requests = server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/oidc/v1/token").count();
            assert!(token_requests > 1, "the token endpoint's own loop retried its 503: {token_requests} requests");
            Seen { error, requests: api_requests(&server).await, first: 0 }
        }
        Scenario::Unauthenticated401 => {
            let server = oauth_workspace(access_token(), ResponseTemplate::new(401).set_body_json(json!({"message": "expired"}))).await;
            let error = call(&m2m_client(&server), op).await;
            Seen { error, requests: api_requests(&server).await, first: 2 }
        }
        Scenario::Stub => {
            let w = WorkspaceClient::from_stub(Empty);
            Seen { error: call(&w, op).await, requests: 0, first: 0 }
        }
        Scenario::Ambiguous => {
            let two = json!({"token_infos": [{"token_id": "a", "comment": "ci"}, {"token_id": "b", "comment": "ci"}]});
            let server = answering(ResponseTemplate::new(200).set_body_json(two)).await;
            let error = pat_client(&server.uri(), policy()).get_token_by_comment("ci").await.expect_err("two tokens");
            sent(error, api_requests(&server).await)
        }
    }
}

fn rows() -> Vec<Row> {
    use ErrorKind as K;
    use Op::{Create, List};
    use Scenario::*;
    let row = |scenario, op, kind, retried| Row { scenario, op, kind, retried };
    let mut rows = Vec::new();
    for op in [List, Create] {
        for (status, kind, retried) in [
            (400, K::BadRequest, false),
            (401, K::Unauthenticated, false),
            (403, K::PermissionDenied, false),
            (404, K::NotFound, false),
            (408, K::OtherStatus, false),
            (409, K::ResourceConflict, false),
            (429, K::TooManyRequests, true),
            (499, K::Cancelled, false),
            (500, K::InternalError, false),
            (501, K::NotImplemented, false),
            (502, K::OtherStatus, false),
            (503, K::TemporarilyUnavailable, true),
            (504, K::DeadlineExceeded, false),
        ] {
            rows.push(row(Status(status, ""), op, kind, retried));
        }
        // The status decides, not the error code: the loop sees only the status.
        rows.push(row(Status(400, r#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow"}"#), op, K::TooManyRequests, false));
        rows.push(row(Status(503, r#"{"error_code":"INVALID_STATE","message":"busy"}"#), op, K::BadRequest, true));
        // Nothing reached the server: safe for every operation.
        rows.push(row(Refused, op, K::Transport, true));
        // Maybe processed: only the idempotent list is repeated.
        rows.push(row(DroppedAfterSending, op, K::Transport, op == List));
        rows.push(row(AttemptTimeout, op, K::Timeout, op == List));
        rows.push(row(BudgetSpent, op, K::Timeout, true));
        rows.push(row(UndecodableSuccess, op, K::Decode, false));
        rows.push(row(Redirect, op, K::Redirect, false));
        rows.push(row(TooLarge, op, K::ResponseTooLarge, false));
        rows.push(row(InvalidInput, op, K::InvalidRequest, false));
        rows.push(row(TokenRefused, op, K::Auth, false));
        rows.push(row(TokenUnavailable, op, K::Auth, false));
        rows.push(row(Unauthenticated401, op, K::Unauthenticated, false));
        rows.push(row(Stub, op, K::NotImplementedByStub, false));
    }
    rows.push(row(Config, List, K::Config, false));
    rows.push(row(Ambiguous, List, K::Ambiguous, false));
    rows
}

/// One row: the loop did what the rule says, and the error says what the loop did.
async fn check(row: &Row) -> Result<(), String> {
    let Seen { error, requests, first } = run(row.scenario, row.op).await;
    let loop_retried = requests > first;
    let mut wrong = Vec::new();
    if error.kind() != row.kind {
        wrong.push(format!("kind {:?}, expected {:?}", error.kind(), row.kind));
    }
    if loop_retried != row.retried {
        wrong.push(format!("the loop sent {requests} requests (first attempt: {first}): retried={loop_retried}, expected {}", row.retried));
    }
    if loop_retried && row.scenario.retries_up_to_the_limit() && requests != ATTEMPTS as usize {
        wrong.push(format!("{requests} requests, expected {ATTEMPTS}"));
    }
    if error.is_retryable() != loop_retried {
        wrong.push(format!("is_retryable() = {} but the loop retried={loop_retried}", error.is_retryable()));
    }
    if wrong.is_empty() { Ok(()) } else { Err(format!("{}; the error: {error:?}", wrong.join("; "))) }
}

impl Scenario {
    /// Whether a retried call of this scenario stops at the policy's attempts (not at a time budget).
    fn retries_up_to_the_limit(self) -> bool {
        !matches!(self, Scenario::BudgetSpent)
    }
}

#[tokio::test]
async fn is_retryable_says_what_the_loop_did_for_every_error_kind_and_status() {
    let rows = rows();
    let mut failures = Vec::new();
    for row in &rows {
        if let Err(why) = check(row).await {
            failures.push(format!("- {:?} {:?}: {why}", row.scenario, row.op));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));

    // Every kind of error is walked (a kind added later must get a row here).
    let every_kind = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthenticated,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::ResourceConflict,
        ErrorKind::TooManyRequests,
        ErrorKind::Cancelled,
        ErrorKind::InternalError,
        ErrorKind::NotImplemented,
        ErrorKind::TemporarilyUnavailable,
        ErrorKind::DeadlineExceeded,
        ErrorKind::OtherStatus,
        ErrorKind::Transport,
        ErrorKind::Timeout,
        ErrorKind::Decode,
        ErrorKind::InvalidRequest,
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::NotImplementedByStub,
        ErrorKind::Ambiguous,
        ErrorKind::Redirect,
        ErrorKind::ResponseTooLarge,
    ];
    let missing: Vec<_> = every_kind.iter().filter(|k| !rows.iter().any(|r| r.kind == **k)).collect();
    assert!(missing.is_empty(), "kinds without a row: {missing:?}");
}

/// A success status whose body breaks off: the body is read after the attempt loop, so the loop cannot
/// retry it. `is_retryable` answers what the loop does with such an outcome (a failure after sending): yes
/// for the idempotent list, which the caller may repeat; never for a create, which was processed.
#[tokio::test]
async fn a_body_that_breaks_off_after_a_success_status_is_retryable_only_for_an_idempotent_operation() {
    let (uri, seen) = raw_server(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"tok".to_vec()).await;
    let w = pat_client(&uri, policy());
    let list = call(&w, Op::List).await;
    assert_eq!((list.kind(), seen.load(Ordering::SeqCst)), (ErrorKind::Transport, 1), "{list:?}");
    assert!(list.may_have_been_processed() && list.is_retryable(), "{list:?}");
    let create = call(&w, Op::Create).await;
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert!(create.may_have_been_processed() && !create.is_retryable(), "{create:?}");
}
