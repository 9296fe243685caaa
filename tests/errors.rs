//! The error model (the module doc of `src/error.rs`): every body shape, every classification row, details, request ids.

mod common;

use databricks_tokens::limits::MAX_RAW_BODY;
use databricks_tokens::{ApiError, Error, ErrorDetail, ErrorKind, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Row {
    status: u16,
    body: &'static str,
    kind: ErrorKind,
    code: Option<&'static str>,
    message: &'static str,
}

const fn row(status: u16, body: &'static str, kind: ErrorKind, code: Option<&'static str>, message: &'static str) -> Row {
    Row { status, body, kind, code, message }
}

#[test]
fn every_body_shape_and_classification_row() {
    use ErrorKind::*;
    let rows = [
        // Body shapes, in the order they are tried.
        row(404, "", NotFound, None, "Not Found"),
        row(503, "  \n", TemporarilyUnavailable, None, "Service Unavailable"),
        row(404, r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"gone"}"#, NotFound, Some("RESOURCE_DOES_NOT_EXIST"), "gone"),
        row(403, r#"{"error_code":403,"message":"numeric code"}"#, PermissionDenied, Some("403"), "numeric code"),
        row(400, r#"{"error_code":"INVALID_PARAMETER_VALUE"}"#, BadRequest, Some("INVALID_PARAMETER_VALUE"), "Bad Request"),
        row(500, r#"{"error":"legacy message"}"#, InternalError, None, "legacy message"),
        row(401, "UNAUTHENTICATED: Invalid access token.", Unauthenticated, Some("UNAUTHENTICATED"), "Invalid access token."),
        row(401, "401 UNAUTHENTICATED: Invalid access token.", Unauthenticated, Some("UNAUTHENTICATED"), "Invalid access token."),
        row(
            502,
            "<html><body><pre>upstream connect error</pre><title>x</title></body></html>",
            OtherStatus,
            Some("BAD_GATEWAY"),
            "upstream connect error",
        ),
        row(
            504,
            "<!DOCTYPE html><html><head><title>504 Gateway Time-out</title></head></html>",
            DeadlineExceeded,
            Some("GATEWAY_TIMEOUT"),
            "504 Gateway Time-out",
        ),
        row(418, "something else entirely", OtherStatus, Some("UNKNOWN"), "something else entirely"),
        // A code the parser made up does not classify: a bare 404 with text is still "not found".
        row(404, "no such thing here", NotFound, Some("UNKNOWN"), "no such thing here"),
        row(500, r#"["json", "but not an object"]"#, InternalError, Some("UNKNOWN"), r#"["json", "but not an object"]"#),
        // Classification by code first...
        row(400, r#"{"error_code":"INVALID_STATE","message":"m"}"#, BadRequest, Some("INVALID_STATE"), "m"),
        row(500, r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"m"}"#, NotFound, Some("RESOURCE_DOES_NOT_EXIST"), "m"),
        row(400, r#"{"error_code":"ABORTED","message":"m"}"#, ResourceConflict, Some("ABORTED"), "m"),
        row(400, r#"{"error_code":"ALREADY_EXISTS","message":"m"}"#, ResourceConflict, Some("ALREADY_EXISTS"), "m"),
        row(400, r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"m"}"#, ResourceConflict, Some("RESOURCE_ALREADY_EXISTS"), "m"),
        row(400, r#"{"error_code":"RESOURCE_EXHAUSTED","message":"m"}"#, TooManyRequests, Some("RESOURCE_EXHAUSTED"), "m"),
        row(400, r#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"m"}"#, TooManyRequests, Some("REQUEST_LIMIT_EXCEEDED"), "m"),
        row(400, r#"{"error_code":"UNKNOWN","message":"m"}"#, InternalError, Some("UNKNOWN"), "m"),
        row(400, r#"{"error_code":"DATA_LOSS","message":"m"}"#, InternalError, Some("DATA_LOSS"), "m"),
        // ...then by status; codes outside the table keep their text.
        row(400, r#"{"error_code":"QUOTA_EXCEEDED","message":"m"}"#, BadRequest, Some("QUOTA_EXCEEDED"), "m"),
        row(403, r#"{"error_code":"PERMISSION_DENIED","message":"m"}"#, PermissionDenied, Some("PERMISSION_DENIED"), "m"),
        row(404, r#"{"error_code":"NOT_FOUND","message":"m"}"#, NotFound, Some("NOT_FOUND"), "m"),
        row(401, r#"{"error_code":"UNAUTHENTICATED","message":"m"}"#, Unauthenticated, Some("UNAUTHENTICATED"), "m"),
        row(409, "", ResourceConflict, None, "Conflict"),
        row(429, "", TooManyRequests, None, "Too Many Requests"),
        row(499, "", Cancelled, None, "Unknown Status"),
        row(500, "", InternalError, None, "Internal Server Error"),
        row(501, "", NotImplemented, None, "Not Implemented"),
        row(503, "", TemporarilyUnavailable, None, "Service Unavailable"),
        row(504, "", DeadlineExceeded, None, "Gateway Timeout"),
        row(400, "", BadRequest, None, "Bad Request"),
        row(401, "", Unauthenticated, None, "Unauthorized"),
        row(403, "", PermissionDenied, None, "Forbidden"),
    ];
    for r in rows {
        let api = ApiError::from_body(r.status, r.body.as_bytes());
        let ctx = format!("{} {:?}", r.status, r.body);
        assert_eq!(api.status(), r.status, "{ctx}");
        assert_eq!(api.kind(), r.kind, "{ctx}");
        assert_eq!(api.error_code(), r.code, "{ctx}");
        assert_eq!(api.message(), r.message, "{ctx}");
        let err = Error::from(api);
        assert_eq!(err.kind(), r.kind, "{ctx}");
        assert!(!err.to_string().contains('\n'), "Display is one line: {err}");
    }
}

#[test]
fn predicates_follow_the_classification() {
    let e = |status, body: &str| Error::from(ApiError::from_body(status, body.as_bytes()));
    assert!(e(404, "").is_not_found());
    assert!(e(400, r#"{"error_code":"RESOURCE_DOES_NOT_EXIST"}"#).is_not_found());
    assert!(e(400, r#"{"error_code":"QUOTA_EXCEEDED","message":"m"}"#).is_quota_exceeded());
    assert!(!e(400, r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"m"}"#).is_quota_exceeded());
    assert!(e(401, "").is_unauthenticated());
    assert!(e(403, "").is_permission_denied());
    assert!(e(409, "").is_resource_conflict());
    assert!(e(429, "").is_too_many_requests() && e(429, "").is_retryable());
    assert!(e(503, "").is_retryable());
    assert!(!e(400, "").is_retryable() && !e(500, "").is_retryable());
    assert!(e(500, "").is_server_error());
    assert!(Error::timeout("t").is_timeout() && Error::timeout("t").is_retryable());
}

#[test]
fn a_raw_body_is_truncated() {
    let long = "x".repeat(10 * MAX_RAW_BODY);
    let api = ApiError::from_body(500, long.as_bytes());
    assert!(api.message().len() < 2 * MAX_RAW_BODY, "{}", api.message().len());
    assert!(api.message().ends_with(&format!("({} bytes in all)", long.len())));
    // Truncation never splits a character.
    let wide = "é".repeat(MAX_RAW_BODY);
    assert!(ApiError::from_body(500, wide.as_bytes()).message().starts_with("éé"));
}

#[test]
fn details_of_every_google_rpc_kind_are_parsed_and_unknown_ones_kept() {
    let body = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad","details":[
      {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"BAD_MASK","domain":"tokens","metadata":{"path":"owner"}},
      {"@type":"type.googleapis.com/google.rpc.RequestInfo","request_id":"req-123","serving_data":"sd"},
      {"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.5s"},
      {"@type":"type.googleapis.com/google.rpc.DebugInfo","stack_entries":["a","b"],"detail":"d"},
      {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"subject":"user","description":"600 tokens"}]},
      {"@type":"type.googleapis.com/google.rpc.PreconditionFailure","violations":[{"type":"TOS","subject":"s","description":"d"}]},
      {"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"update_mask","description":"unknown path"}]},
      {"@type":"type.googleapis.com/google.rpc.ResourceInfo","resource_type":"token","resource_name":"abc","owner":"u","description":"d"},
      {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"docs","url":"https://docs.databricks.com"}]},
      {"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en","message":"kept raw"},
      {"no_type":true}
    ]}"#;
    let api = ApiError::from_body(400, body.as_bytes());
    let d = api.details();
    assert_eq!(d.len(), 11);
    assert!(matches!(&d[0], ErrorDetail::ErrorInfo { reason, metadata, .. } if reason == "BAD_MASK" && metadata["path"] == "owner"));
    assert!(matches!(&d[1], ErrorDetail::RequestInfo { request_id, .. } if request_id == "req-123"));
    assert_eq!(d[2], ErrorDetail::RetryInfo { retry_delay: Some(std::time::Duration::from_millis(1500)) });
    assert!(matches!(&d[3], ErrorDetail::DebugInfo { stack_entries, .. } if stack_entries.len() == 2));
    assert!(matches!(&d[4], ErrorDetail::QuotaFailure { violations } if violations[0].1 == "600 tokens"));
    assert!(matches!(&d[5], ErrorDetail::PreconditionFailure { violations } if violations[0].0 == "TOS"));
    assert!(matches!(&d[6], ErrorDetail::BadRequest { field_violations } if field_violations[0].0 == "update_mask"));
    assert!(matches!(&d[7], ErrorDetail::ResourceInfo { resource_name, .. } if resource_name == "abc"));
    assert!(matches!(&d[8], ErrorDetail::Help { links } if links[0].1 == "https://docs.databricks.com"));
    assert!(matches!(&d[9], ErrorDetail::Other(v) if v["message"] == "kept raw"));
    assert!(matches!(&d[10], ErrorDetail::Other(_)));
    assert_eq!(api.request_id(), Some("req-123"));
    assert_eq!(api.retry_delay(), Some(std::time::Duration::from_millis(1500)));
}

#[test]
fn users_can_build_errors_for_their_own_tests() {
    let e = Error::from(ApiError::new(404, Some("RESOURCE_DOES_NOT_EXIST"), "no such token").with_request_id("r-1"));
    assert!(e.is_not_found());
    assert_eq!(e.request_id(), Some("r-1"));
    assert_eq!(e.to_string(), "RESOURCE_DOES_NOT_EXIST (HTTP 404): no such token [request id r-1]");
    let io = std::io::Error::other("boom");
    let t = Error::transport("could not connect", io);
    assert!(t.is_transport());
    assert_eq!(std::error::Error::source(&t).map(|s| s.to_string()).as_deref(), Some("boom"));
}

#[tokio::test]
async fn the_request_id_header_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("x-request-id", "abc-123")
                .set_body_string(r#"{"error_code":"INTERNAL_ERROR","message":"oops"}"#),
        )
        .mount(&server)
        .await;
    let (w, _) = common::client(&server.uri(), RetryPolicy::disabled());
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.request_id(), Some("abc-123"));
    assert!(err.to_string().contains("[request id abc-123]"), "{err}");
}

#[tokio::test]
async fn a_private_link_login_redirect_is_permission_denied() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token/list"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/login.html?error=private-link-validation-error"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/login.html"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
        .mount(&server)
        .await;
    let (w, _) = common::client(&server.uri(), RetryPolicy::disabled());
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert_eq!(err.error_code(), Some("PRIVATE_LINK_VALIDATION_ERROR"));
    assert!(err.to_string().contains("private link"), "{err}");
}
