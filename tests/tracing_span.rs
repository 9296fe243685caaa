//! Each call is one `tracing` span with operation, method, path, status, attempts and duration.

mod common;

use common::Capture;
use databricks_tokens::RetryPolicy;
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "current_thread")]
async fn each_call_has_a_span_with_operation_status_and_attempts() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, and alone in this test binary: a thread-scoped subscriber races with tracing's global
    // callsite-interest cache when other tests run on other threads.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).with_priority(1).mount(&server).await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).with_priority(2).mount(&server).await;
    let (w, _) = common::client(&server.uri(), RetryPolicy::default());
    w.tokens().list().send().await.unwrap();

    let out = capture.text();
    let line = out.lines().find(|l| l.contains("close")).unwrap_or_else(|| panic!("no span closed: {out}"));
    for field in ["operation=\"list_tokens\"", "method=\"GET\"", "path=\"/api/2.0/token/list\"", "status=200", "attempts=2", "duration_ms="]
    {
        assert!(line.contains(field), "{field} missing in {line}");
    }
}
