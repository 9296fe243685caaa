//! `ApiError::from_body` on any status and any body: it never panics, neither does showing the error,
//! and the message it keeps stays bounded.
//!
//! Input: the status in decimal on the first line, the body after it (`404\n{"error_code":...}`). A first
//! line that is not a number is folded into a status, so that every input exercises the parser.
#![no_main]

use std::time::Duration;

use databricks_tokens::limits::MAX_RAW_BODY;
use databricks_tokens::{ApiError, Error};
use libfuzzer_sys::fuzz_target;

/// What `truncate` appends to a cut body: `... (N bytes in all)`, N at most 20 digits.
const TRUNCATION_SUFFIX_MAX: usize = "... ( bytes in all)".len() + 20;
/// A message the parser makes up (a reason phrase such as "Network Authentication Required") is short.
const REASON_PHRASE_MAX: usize = 64;
/// The longest `retry_delay` a `RetryInfo` detail may ask for: the parser clamps to a day.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(86_400);

fuzz_target!(|data: &[u8]| {
    let (first_line, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let status = std::str::from_utf8(first_line)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .unwrap_or_else(|| first_line.iter().fold(0u16, |acc, &b| acc.wrapping_mul(31).wrapping_add(u16::from(b))));

    let api = ApiError::from_body(status, body);
    assert_eq!(api.status(), status);

    // The message is bounded: never longer than the body's text (a JSON or `CODE: message` body), else
    // made up or cut to MAX_RAW_BODY (an HTML page, a raw body).
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    let message = api.message();
    let made_up_or_cut = MAX_RAW_BODY + TRUNCATION_SUFFIX_MAX.max(REASON_PHRASE_MAX);
    assert!(
        message.len() <= trimmed.len().max(made_up_or_cut),
        "message of {} bytes from a body of {} bytes",
        message.len(),
        trimmed.len()
    );
    // A body that is neither a JSON object nor `CODE: message` is kept raw or as an HTML page's text: cut.
    if !trimmed.starts_with('{') && !trimmed.contains(": ") {
        assert!(message.len() <= made_up_or_cut, "a raw body's message of {} bytes is not cut to {MAX_RAW_BODY}", message.len());
    }
    if let Some(code) = api.error_code() {
        assert!(!code.is_empty(), "an empty error code is no code");
        assert!(code.len() <= trimmed.len().max(REASON_PHRASE_MAX));
    }
    if let Some(delay) = api.retry_delay() {
        assert!(delay <= MAX_RETRY_DELAY, "retry delay {delay:?} is not clamped");
    }
    let _ = api.request_id();
    let _ = format!("{api:?}");

    // The crate's error type shows it without panicking, and no longer than its parts.
    let error = Error::from(api.clone());
    let shown = error.to_string();
    let parts = api.error_code().map_or(0, str::len) + api.message().len() + api.request_id().map_or(0, str::len);
    assert!(shown.len() <= parts + 64, "{} bytes shown for {parts} bytes of parts", shown.len());
    assert_eq!(error.kind(), api.kind());
    assert_eq!(error.status(), Some(status));
    assert_eq!(error.message(), api.message());
    assert_eq!(error.error_code(), api.error_code());
    assert_eq!(error.request_id(), api.request_id());
    let _ = format!("{error:?}");
    let _ = (error.is_retryable(), error.is_not_found(), error.is_quota_exceeded(), error.is_server_error());
});
