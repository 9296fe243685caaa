//! The one error type of the crate, and the parser that turns any error response into it.
//!
//! Every failure — an error response whatever its body, a transport failure, a response that does not
//! decode, a bad argument, a configuration problem — is an [`Error`]. An error response keeps its HTTP
//! status, its Databricks error code, its message, its parsed `details`, and the request id when the
//! server sent one. [`Error::kind`] classifies it first by error code, then by HTTP status, as the
//! official SDKs do, so `RESOURCE_DOES_NOT_EXIST` and a bare 404 are both [`ErrorKind::NotFound`].
//!
//! Bodies are parsed in this order: empty; JSON `{"error_code", "message", "details"}` (a numeric code
//! too); legacy JSON `{"error": "..."}`; text `CODE: message`; an HTML page (`<pre>`, then `<title>`);
//! anything else kept raw and truncated.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::redact::{KnownSecrets, truncate};

/// The most bytes of an unparseable body kept in a message.
pub const MAX_RAW_BODY: usize = 512;

/// The most bytes of a server's error message an error keeps.
pub const MAX_ERROR_MESSAGE: usize = 4096;

/// The most bytes of a request id an error keeps.
pub const MAX_REQUEST_ID: usize = 256;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in classes a program can act on.
///
/// ```
/// use databricks_tokens::{ApiError, Error, ErrorKind};
/// let e = Error::from(ApiError::new(404, Some("RESOURCE_DOES_NOT_EXIST"), "no such token"));
/// assert_eq!(e.kind(), ErrorKind::NotFound);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400, `INVALID_PARAMETER_VALUE`, `INVALID_STATE`, `QUOTA_EXCEEDED` (400).
    BadRequest,
    /// 401: missing, invalid, expired or revoked credentials.
    Unauthenticated,
    /// 403, or a private-link validation failure.
    PermissionDenied,
    /// 404 or `RESOURCE_DOES_NOT_EXIST`.
    NotFound,
    /// 409, `ABORTED`, `ALREADY_EXISTS`, `RESOURCE_ALREADY_EXISTS`.
    ResourceConflict,
    /// 429, `RESOURCE_EXHAUSTED`, `REQUEST_LIMIT_EXCEEDED`.
    TooManyRequests,
    /// 499.
    Cancelled,
    /// 500, `UNKNOWN`, `DATA_LOSS`.
    InternalError,
    /// 501.
    NotImplemented,
    /// 503.
    TemporarilyUnavailable,
    /// 504.
    DeadlineExceeded,
    /// An error response of another status.
    OtherStatus,
    /// The request could not be sent or the response not received (connection refused, reset, TLS...).
    Transport,
    /// A request attempt or the overall retry budget ran out of time.
    Timeout,
    /// A successful response whose body does not decode, or that makes no sense.
    Decode,
    /// The caller's input was refused before anything was sent.
    InvalidRequest,
    /// The client configuration is incomplete or contradictory.
    Config,
    /// Credentials could not be obtained (for example the OAuth token endpoint failed).
    Auth,
    /// An operation of a test stub that the test did not implement (see `crate::stub`).
    NotImplementedByStub,
    /// A lookup that should find one resource found several.
    Ambiguous,
    /// The server answered with a redirect (3xx), which this client never follows: the request body and
    /// credentials go nowhere but the workspace. [`Error::status`] and the message name the status and the
    /// `Location`.
    Redirect,
    /// A response body was larger than the client's limit (`ClientBuilder::max_response_size`); the
    /// connection was dropped.
    ResponseTooLarge,
}

impl ErrorKind {
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "INVALID_STATE" | "INVALID_PARAMETER_VALUE" => Self::BadRequest,
            "RESOURCE_DOES_NOT_EXIST" => Self::NotFound,
            "ABORTED" | "ALREADY_EXISTS" | "RESOURCE_ALREADY_EXISTS" => Self::ResourceConflict,
            "RESOURCE_EXHAUSTED" | "REQUEST_LIMIT_EXCEEDED" => Self::TooManyRequests,
            "UNKNOWN" | "DATA_LOSS" => Self::InternalError,
            _ => return None,
        })
    }

    fn from_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            409 => Self::ResourceConflict,
            429 => Self::TooManyRequests,
            499 => Self::Cancelled,
            500 => Self::InternalError,
            501 => Self::NotImplemented,
            503 => Self::TemporarilyUnavailable,
            504 => Self::DeadlineExceeded,
            _ => Self::OtherStatus,
        }
    }
}

/// One `google.rpc` detail of an error response.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::{ApiError, ErrorDetail};
/// // A stub's answer in a test of your own code; the client parses these from the server's responses.
/// let e = ApiError::new(429, Some("REQUEST_LIMIT_EXCEEDED"), "slow down")
///     .with_details(vec![ErrorDetail::RetryInfo { retry_delay: Some(Duration::from_secs(2)) }]);
/// assert!(matches!(e.details()[0], ErrorDetail::RetryInfo { .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// `google.rpc.ErrorInfo`: why, in machine-readable terms.
    ErrorInfo {
        /// UPPER_SNAKE reason.
        reason: String,
        /// The service that produced the error.
        domain: String,
        /// More facts, by key.
        metadata: BTreeMap<String, String>,
    },
    /// `google.rpc.RequestInfo`: which request failed.
    RequestInfo {
        /// The server's id of the request; quote it to Databricks support.
        request_id: String,
        /// Opaque serving data.
        serving_data: String,
    },
    /// `google.rpc.RetryInfo`: when to retry.
    RetryInfo {
        /// How long to wait, when the server said.
        retry_delay: Option<Duration>,
    },
    /// `google.rpc.DebugInfo`.
    DebugInfo {
        /// Stack entries.
        stack_entries: Vec<String>,
        /// Free text.
        detail: String,
    },
    /// `google.rpc.QuotaFailure`.
    QuotaFailure {
        /// (subject, description) pairs.
        violations: Vec<(String, String)>,
    },
    /// `google.rpc.PreconditionFailure`.
    PreconditionFailure {
        /// (type, subject, description) triples.
        violations: Vec<(String, String, String)>,
    },
    /// `google.rpc.BadRequest`.
    BadRequest {
        /// (field, description) pairs.
        field_violations: Vec<(String, String)>,
    },
    /// `google.rpc.ResourceInfo`.
    ResourceInfo {
        /// Kind of resource.
        resource_type: String,
        /// Its name.
        resource_name: String,
        /// Its owner.
        owner: String,
        /// Free text.
        description: String,
    },
    /// `google.rpc.Help`.
    Help {
        /// (description, url) pairs.
        links: Vec<(String, String)>,
    },
    /// A detail of a kind this crate does not parse, kept as sent.
    Other(serde_json::Value),
}

impl ErrorDetail {
    fn parse(raw: serde_json::Value) -> Self {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Any {
            #[serde(rename = "@type")]
            type_url: String,
            reason: String,
            domain: String,
            metadata: BTreeMap<String, String>,
            request_id: String,
            serving_data: String,
            retry_delay: Option<String>,
            stack_entries: Vec<String>,
            detail: String,
            violations: Vec<Violation>,
            field_violations: Vec<Violation>,
            resource_type: String,
            resource_name: String,
            owner: String,
            description: String,
            links: Vec<Link>,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Violation {
            #[serde(rename = "type")]
            kind: String,
            subject: String,
            field: String,
            description: String,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Link {
            description: String,
            url: String,
        }
        let Ok(a) = Any::deserialize(&raw) else { return Self::Other(raw) };
        let kind = a.type_url.rsplit('.').next().unwrap_or_default();
        if !a.type_url.starts_with("type.googleapis.com/google.rpc.") {
            return Self::Other(raw);
        }
        match kind {
            "ErrorInfo" => Self::ErrorInfo { reason: a.reason, domain: a.domain, metadata: a.metadata },
            "RequestInfo" => Self::RequestInfo { request_id: a.request_id, serving_data: a.serving_data },
            "RetryInfo" => Self::RetryInfo { retry_delay: a.retry_delay.as_deref().and_then(parse_proto_duration) },
            "DebugInfo" => Self::DebugInfo { stack_entries: a.stack_entries, detail: a.detail },
            "QuotaFailure" => Self::QuotaFailure { violations: a.violations.into_iter().map(|v| (v.subject, v.description)).collect() },
            "PreconditionFailure" => {
                Self::PreconditionFailure { violations: a.violations.into_iter().map(|v| (v.kind, v.subject, v.description)).collect() }
            }
            "BadRequest" => {
                Self::BadRequest { field_violations: a.field_violations.into_iter().map(|v| (v.field, v.description)).collect() }
            }
            "ResourceInfo" => Self::ResourceInfo {
                resource_type: a.resource_type,
                resource_name: a.resource_name,
                owner: a.owner,
                description: a.description,
            },
            "Help" => Self::Help { links: a.links.into_iter().map(|l| (l.description, l.url)).collect() },
            _ => Self::Other(raw),
        }
    }
}

/// `"1.5s"` → 1.5 s.
fn parse_proto_duration(s: &str) -> Option<Duration> {
    let secs: f64 = s.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// An error response of the Databricks REST API: status, code, message, details.
///
/// ```
/// use databricks_tokens::ApiError;
/// // A stub's answer in a test of your own code; the client parses these from the server's responses
/// // (an HTML error page from a proxy included: a 502's title becomes `BAD_GATEWAY`, "502 Bad Gateway").
/// let e = ApiError::new(404, Some("RESOURCE_DOES_NOT_EXIST"), "Token t1 does not exist.");
/// assert_eq!(e.status(), 404);
/// assert_eq!(e.error_code(), Some("RESOURCE_DOES_NOT_EXIST"));
/// assert_eq!(e.message(), "Token t1 does not exist.");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    status: u16,
    error_code: Option<String>,
    message: String,
    details: Vec<ErrorDetail>,
    request_id: Option<String>,
    /// Whether `error_code` came from the server (and so may classify), not from the body parser.
    code_from_server: bool,
}

impl ApiError {
    /// Builds an error response by hand, for example in a test of your own code.
    pub fn new(status: u16, error_code: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            status,
            error_code: error_code.map(str::to_owned),
            message: message.into(),
            details: Vec::new(),
            request_id: None,
            code_from_server: true,
        }
    }

    /// Parses an error response body of any shape (JSON, the legacy `{"error": ...}`, an HTML page, raw
    /// text); never fails. Crate-private but for the feature `test-util`, for tests of the parser.
    ///
    /// ```
    /// # #[cfg(feature = "test-util")] {
    /// use databricks_tokens::ApiError;
    /// let e = ApiError::from_body(502, b"<html><head><title>502 Bad Gateway</title></head></html>");
    /// assert_eq!((e.error_code(), e.message()), (Some("BAD_GATEWAY"), "502 Bad Gateway"));
    /// # }
    /// ```
    #[cfg(feature = "test-util")]
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        parse_body(status, body)
    }

    /// Parses an error response body of any shape; never fails (public with the feature `test-util`).
    #[cfg(not(feature = "test-util"))]
    pub(crate) fn from_body(status: u16, body: &[u8]) -> Self {
        parse_body(status, body)
    }

    /// Adds the request id the server sent (`x-request-id` header), cut to 256 bytes.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(truncate(&request_id.into(), MAX_REQUEST_ID));
        self
    }

    /// Replaces every known secret in the message with `***`.
    pub(crate) fn scrub(&mut self, secrets: &KnownSecrets) {
        self.message = secrets.scrub(&self.message);
    }

    /// Adds parsed details.
    pub fn with_details(mut self, details: Vec<ErrorDetail>) -> Self {
        self.details = details;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The Databricks error code (`RESOURCE_DOES_NOT_EXIST`, `QUOTA_EXCEEDED`, ...), when there is one.
    pub fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    /// The message for humans.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The parsed `details`.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.details
    }

    /// The request id: from the `x-request-id` header, else from a `RequestInfo` detail.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref().or_else(|| {
            self.details.iter().find_map(|d| match d {
                ErrorDetail::RequestInfo { request_id, .. } if !request_id.is_empty() => Some(request_id.as_str()),
                _ => None,
            })
        })
    }

    /// The delay a `RetryInfo` detail asks for.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::RetryInfo { retry_delay } => *retry_delay,
            _ => None,
        })
    }

    /// The class of this error: by error code first, then by HTTP status.
    ///
    /// A code the parser made up for a body without one (`UNKNOWN` for raw text, `BAD_GATEWAY` for an HTML
    /// page) does not classify: a bare 404 with a text body is still "not found".
    pub fn kind(&self) -> ErrorKind {
        self.error_code
            .as_deref()
            .filter(|_| self.code_from_server)
            .and_then(ErrorKind::from_code)
            .unwrap_or_else(|| ErrorKind::from_status(self.status))
    }

    fn with_synthesized_code(mut self) -> Self {
        self.code_from_server = false;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_code {
            Some(code) => write!(f, "{code} (HTTP {}): {}", self.status, self.message)?,
            None => write!(f, "HTTP {}: {}", self.status, self.message)?,
        }
        if let Some(id) = self.request_id() {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown Status")
}

fn upper_snake(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_ascii_uppercase).collect::<Vec<_>>().join("_")
}

fn parse_body(status: u16, body: &[u8]) -> ApiError {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return ApiError::new(status, None, reason_phrase(status));
    }
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let code = match obj.get("error_code") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let message = obj.get("message").and_then(|m| m.as_str()).map(str::to_owned);
        if code.is_some() || message.is_some() {
            let details = match obj.get("details") {
                Some(serde_json::Value::Array(items)) => items.iter().cloned().map(ErrorDetail::parse).collect(),
                _ => Vec::new(),
            };
            return ApiError {
                status,
                error_code: code,
                message: message.map_or_else(|| reason_phrase(status).to_owned(), |m| truncate(&m, MAX_ERROR_MESSAGE)),
                details,
                request_id: None,
                code_from_server: true,
            };
        }
        if let Some(legacy) = obj.get("error").and_then(|e| e.as_str()) {
            return ApiError::new(status, None, truncate(legacy, MAX_ERROR_MESSAGE));
        }
    }
    if let Some((code, message)) = parse_code_text(trimmed) {
        return ApiError::new(status, Some(code), truncate(message, MAX_ERROR_MESSAGE));
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body") {
        let between = |open: &str, close: &str| -> Option<String> {
            let start = lower.find(open)?;
            let content_start = start + lower[start..].find('>')? + 1;
            let end = content_start + lower[content_start..].find(close)?;
            let inner = trimmed[content_start..end].trim();
            (!inner.is_empty()).then(|| inner.to_owned())
        };
        let message =
            between("<pre", "</pre>").or_else(|| between("<title", "</title>")).unwrap_or_else(|| reason_phrase(status).to_owned());
        return ApiError::new(status, Some(&upper_snake(reason_phrase(status))), truncate(&message, MAX_RAW_BODY)).with_synthesized_code();
    }
    ApiError::new(status, Some("UNKNOWN"), truncate(trimmed, MAX_RAW_BODY)).with_synthesized_code()
}

/// `UNAUTHENTICATED: Invalid access token.` (optionally after an HTTP status number).
fn parse_code_text(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
    let (code, message) = rest.split_once(": ")?;
    let is_code = !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    is_code.then(|| (code, message.trim()))
}

/// An error of this crate.
///
/// ```
/// use databricks_tokens::{ApiError, Error};
/// let e = Error::from(ApiError::new(400, Some("QUOTA_EXCEEDED"), "too many tokens"));
/// assert!(e.is_quota_exceeded());
/// assert_eq!(e.status(), Some(400));
/// assert_eq!(e.to_string(), "QUOTA_EXCEEDED (HTTP 400): too many tokens");
/// ```
///
/// `Display` is one line a user can act on; [`std::error::Error::source`] keeps the underlying cause
/// (a transport error, a JSON error). Accessors expose the response facts; predicates classify it.
/// Nothing in it ever holds a secret.
///
/// The constructors ([`Error::config`], [`Error::auth`], [`Error::transport`], [`Error::timeout`], ...,
/// [`ApiError::new`] with `Error::from`) are for your own [`CredentialsProvider`](crate::auth::CredentialsProvider)
/// and for the answers of a [`stub`](crate::stub) in tests of your own code; the client builds its errors
/// from what the server sends.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    api: Option<ApiError>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    attempts: u32,
    elapsed: Option<Duration>,
    /// The request may have reached the server and been processed (a failure after it was sent).
    maybe_processed: bool,
    /// Repeating the call could do its work twice (an operation that is not idempotent, maybe processed).
    unsafe_to_repeat: bool,
    /// The server answered with a success status: the request was processed (its body was lost).
    processed: bool,
    /// The marker in the comment of a token an exactly-once create may have left behind.
    orphan_marker: Option<String>,
}

impl Inner {
    fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            api: None,
            message: String::new(),
            source: None,
            attempts: 1,
            elapsed: None,
            maybe_processed: false,
            unsafe_to_repeat: false,
            processed: false,
            orphan_marker: None,
        }
    }
}

impl Error {
    fn with(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { inner: Box::new(Inner { message: message.into(), ..Inner::new(kind) }) }
    }

    /// The caller's input was refused before anything was sent.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::InvalidRequest, message)
    }

    /// The client configuration is incomplete or contradictory.
    pub fn config(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::Config, message)
    }

    /// Credentials could not be obtained.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::Auth, message)
    }

    /// A transport failure with its cause.
    pub fn transport(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::with(ErrorKind::Transport, message).with_source(source)
    }

    /// A time limit ran out.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::Timeout, message)
    }

    /// A successful response that makes no sense (for example a page token sent twice).
    pub fn unexpected_response(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::Decode, message)
    }

    /// A successful response whose body does not decode.
    pub fn decode(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::with(ErrorKind::Decode, message).with_source(source)
    }

    /// A resource was looked up and is not there (decided by this client, not sent by the server).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::NotFound, message)
    }

    /// A lookup that should find one resource found several.
    pub fn ambiguous(message: impl Into<String>) -> Self {
        Self::with(ErrorKind::Ambiguous, message)
    }

    /// The error a stub returns for a method the test did not implement; `method` names it with its trait,
    /// as in `Tokens::list` or `TokenManagement::get`.
    ///
    /// ```
    /// use databricks_tokens::Error;
    /// let err = Error::not_implemented_by_stub("TokenManagement::get");
    /// assert!(err.to_string().contains("implement stub::TokenManagement::get"));
    /// ```
    pub fn not_implemented_by_stub(method: &str) -> Self {
        let hint = match method.starts_with("TokenManagement::") {
            true => " and pass it to WorkspaceClient::with_token_management_stub",
            false => "",
        };
        Self::with(
            ErrorKind::NotImplementedByStub,
            format!("{method} is not implemented by this stub: implement stub::{method} in your test double{hint}"),
        )
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// The server answered with a redirect, which is never followed.
    pub(crate) fn redirect(api: ApiError, location: Option<&str>) -> Self {
        let location = location.map_or_else(|| "no Location".to_owned(), |l| truncate(l, MAX_RAW_BODY));
        let message = format!("HTTP {} redirect to {location} was not followed", api.status());
        Self { inner: Box::new(Inner { api: Some(api), message, ..Inner::new(ErrorKind::Redirect) }) }
    }

    /// A response body larger than `limit` bytes.
    pub(crate) fn response_too_large(operation_id: &str, limit: u64) -> Self {
        Self::with(
            ErrorKind::ResponseTooLarge,
            format!("{operation_id}: the response is larger than the limit of {limit} bytes (ClientBuilder::max_response_size)"),
        )
    }

    /// The retry budget ran out: a timeout that keeps the last cause (its response, or its source).
    pub(crate) fn budget_exhausted(mut self, budget: Duration) -> Self {
        let cause = self.text();
        self.inner.kind = ErrorKind::Timeout;
        self.inner.message = format!("the retry budget of {:.1} s ran out; the last attempt: {cause}", budget.as_secs_f64());
        self
    }

    /// Puts `context` before the message (the response's status, code and details are kept).
    pub(crate) fn context(mut self, context: impl std::fmt::Display) -> Self {
        let original = self.text();
        self.inner.message = format!("{context}: {original}");
        self
    }

    /// What `Display` shows, without the attempts.
    fn text(&self) -> String {
        match &self.inner.api {
            Some(api) if self.inner.message.is_empty() => api.to_string(),
            _ => self.inner.message.clone(),
        }
    }

    /// Marks a failure after the request was sent: it may have been processed. `idempotent` says whether
    /// repeating the operation is harmless.
    pub(crate) fn maybe_processed(mut self, idempotent: bool) -> Self {
        self.inner.maybe_processed = true;
        self.inner.unsafe_to_repeat = !idempotent;
        self
    }

    /// Marks a failure after the server answered with a success status: the request was processed.
    pub(crate) fn processed(mut self, idempotent: bool) -> Self {
        self.inner.processed = true;
        self.maybe_processed(idempotent)
    }

    /// Whether the server answered with a success status before the failure (the request was processed,
    /// not merely maybe).
    pub(crate) fn was_processed(&self) -> bool {
        self.inner.processed
    }

    /// An exactly-once create whose search for its own token failed: a token carrying `marker` in its
    /// comment may exist. Not retryable: repeating the call could leave a second one.
    pub(crate) fn with_possible_orphan(mut self, marker: &str, cleanup: &Error) -> Self {
        let original = self.text();
        self.inner.message = format!(
            "{original}; a token may have been created, and the search for it failed ({cleanup}): revoke the tokens whose comment \
             contains {marker}"
        );
        self.inner.maybe_processed = true;
        self.inner.unsafe_to_repeat = true;
        self.inner.orphan_marker = Some(marker.to_owned());
        self
    }

    /// An ambiguous failure whose every possible token was found and revoked: nothing of the call is left,
    /// so it may be repeated.
    pub(crate) fn cleaned_up(mut self, context: impl std::fmt::Display) -> Self {
        self = self.context(context);
        self.inner.maybe_processed = false;
        self.inner.unsafe_to_repeat = false;
        self.inner.processed = false;
        self
    }

    /// Replaces every known secret in the messages with `***`.
    pub(crate) fn scrub(mut self, secrets: &KnownSecrets) -> Self {
        self.inner.message = secrets.scrub(&self.inner.message);
        if let Some(api) = &mut self.inner.api {
            api.scrub(secrets);
        }
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32, elapsed: Duration) -> Self {
        self.inner.attempts = attempts.max(1);
        self.inner.elapsed = Some(elapsed);
        self
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The error response, when the server answered.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.inner.api.as_ref().map(ApiError::status)
    }

    /// The Databricks error code, when there is one.
    pub fn error_code(&self) -> Option<&str> {
        self.inner.api.as_ref().and_then(ApiError::error_code)
    }

    /// The message, without the code, status or attempt count.
    pub fn message(&self) -> &str {
        match &self.inner.api {
            Some(api) if self.inner.message.is_empty() => api.message(),
            _ => &self.inner.message,
        }
    }

    /// The parsed `details` of the error response.
    pub fn details(&self) -> &[ErrorDetail] {
        self.inner.api.as_ref().map_or(&[], ApiError::details)
    }

    /// The server's request id, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.api.as_ref().and_then(ApiError::request_id)
    }

    /// How many attempts were made (1 when the call was not retried).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// How long the call took, retries included, when it was sent.
    pub fn elapsed(&self) -> Option<Duration> {
        self.inner.elapsed
    }

    /// 404 or `RESOURCE_DOES_NOT_EXIST` (also `NOT_FOUND`).
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }
    /// `QUOTA_EXCEEDED`: the caller holds the maximum number of tokens.
    pub fn is_quota_exceeded(&self) -> bool {
        self.error_code() == Some("QUOTA_EXCEEDED")
    }
    /// 401.
    pub fn is_unauthenticated(&self) -> bool {
        self.kind() == ErrorKind::Unauthenticated
    }
    /// 403 or a private-link failure.
    pub fn is_permission_denied(&self) -> bool {
        self.kind() == ErrorKind::PermissionDenied
    }
    /// 409 or a conflict code.
    pub fn is_resource_conflict(&self) -> bool {
        self.kind() == ErrorKind::ResourceConflict
    }
    /// 400 or a bad-request code.
    pub fn is_bad_request(&self) -> bool {
        self.kind() == ErrorKind::BadRequest
    }
    /// 429 or a throttling code.
    pub fn is_too_many_requests(&self) -> bool {
        self.kind() == ErrorKind::TooManyRequests
    }
    /// 500-class server errors.
    pub fn is_server_error(&self) -> bool {
        self.status().is_some_and(|s| s >= 500)
    }
    /// A time limit ran out (per attempt or overall).
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }
    /// A transport failure.
    pub fn is_transport(&self) -> bool {
        self.kind() == ErrorKind::Transport
    }
    /// Whether trying the same call again may succeed *and* is safe: exactly what the client's own
    /// attempt loop retries (see [`RetryPolicy`](crate::RetryPolicy)), by the same rule.
    ///
    /// ```
    /// use databricks_tokens::{ApiError, Error};
    /// assert!(Error::from(ApiError::new(503, None, "busy")).is_retryable());
    /// assert!(!Error::from(ApiError::new(500, None, "oops")).is_retryable());
    /// ```
    ///
    /// An answer of 429 or 503 is retryable (whatever its error code: a 400 `REQUEST_LIMIT_EXCEEDED` is
    /// not), and so is a retry budget that ran out on one; a connection that could not be made is; a
    /// failure after the request was sent (a broken connection, an attempt that timed out) is only for an
    /// operation that is safe to repeat — not when it may have been processed by one that must not run
    /// twice (a create): see [`Error::may_have_been_processed`]. Nothing else is: other statuses,
    /// credentials that could not be obtained (their token endpoint was already retried), bad input,
    /// configuration, a body that does not decode, a redirect, a response too large.
    pub fn is_retryable(&self) -> bool {
        use crate::retry::{Endpoint, Outcome};
        let outcome = match (self.status(), self.kind()) {
            // An answer, or a retry budget that ran out on one (a timeout that keeps it).
            (Some(status), _) => Outcome::Status(status),
            (None, ErrorKind::Transport | ErrorKind::Timeout) if self.inner.maybe_processed => {
                Outcome::Sent { timed_out: self.kind() == ErrorKind::Timeout }
            }
            // Nothing was sent, or nothing that got an answer was processed.
            (None, ErrorKind::Transport | ErrorKind::Timeout) => Outcome::NotSent,
            _ => return false,
        };
        // `unsafe_to_repeat` is "maybe processed by an operation that is not idempotent"; it also marks an
        // exactly-once create that may have left a token behind, whatever its last answer. Only a failure
        // after sending depends on idempotency (the API's statuses do not), and such an error is marked
        // maybe processed, so `!unsafe_to_repeat` is the operation's idempotency wherever it matters.
        !self.inner.unsafe_to_repeat && crate::retry::is_retryable(Endpoint::Api, outcome, !self.inner.unsafe_to_repeat)
    }

    /// Whether the request may have reached the server and been processed although no usable answer came:
    /// the connection failed or timed out after the request was sent, or the server answered with a success
    /// status (then it *was* processed) and the body was lost or did not decode. For a create this means a
    /// token may exist that nobody received: [`CreateToken::exactly_once`](crate::tokens::CreateToken::exactly_once)
    /// resolves it.
    ///
    /// ```
    /// use databricks_tokens::{ApiError, Error};
    /// assert!(!Error::from(ApiError::new(503, None, "busy")).may_have_been_processed());
    /// ```
    pub fn may_have_been_processed(&self) -> bool {
        self.inner.maybe_processed
    }

    /// The marker in the comment of a token an exactly-once create may have left behind, when it could not
    /// make sure none was (its search or revoke kept failing): revoke the tokens whose comment contains it.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use databricks_tokens::workflows::{Cleanup, TokenWorkflows};
    /// if let Err(e) = w.tokens().create().comment("ci").exactly_once().send().await {
    ///     if let Some(marker) = e.orphan_marker().map(str::to_owned) {
    ///         w.cleanup_tokens(Cleanup::matching(move |t, _| t.comment.as_deref().is_some_and(|c| c.contains(&marker)))).await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Always `None` but for an error of an exactly-once create; such an error is never retryable.
    pub fn orphan_marker(&self) -> Option<&str> {
        self.inner.orphan_marker.as_deref()
    }
}

impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        let kind = api.kind();
        Self { inner: Box::new(Inner { api: Some(api), ..Inner::new(kind) }) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.inner.api, self.inner.message.is_empty()) {
            (Some(api), true) => api.fmt(f)?,
            _ => f.write_str(&self.inner.message)?,
        }
        if self.inner.attempts > 1 {
            write!(f, " (after {} attempts", self.inner.attempts)?;
            if let Some(e) = self.inner.elapsed {
                write!(f, " in {:.1}s", e.as_secs_f64())?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(api) = &self.inner.api {
            d.field("api", api);
        }
        if !self.inner.message.is_empty() || self.inner.api.is_none() {
            d.field("message", &self.inner.message);
        }
        if self.inner.maybe_processed {
            d.field("maybe_processed", &true);
        }
        if let Some(marker) = &self.inner.orphan_marker {
            d.field("orphan_marker", marker);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", &source.to_string());
        }
        d.field("attempts", &self.inner.attempts).field("elapsed", &self.inner.elapsed).finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> ApiError {
        ApiError::from_body(status, body.as_bytes())
    }

    #[test]
    fn retry_delays_are_non_negative_seconds_within_a_day() {
        let delay = |s: &str| parse_proto_duration(s);
        assert_eq!(delay("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(delay("0s"), Some(Duration::ZERO));
        assert_eq!(delay("100000s"), Some(Duration::from_secs(86_400)));
        for bad in ["-1s", "infs", "NaNs", "2", "s", "1.5ms"] {
            assert_eq!(delay(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_detail_outside_google_rpc_is_kept_as_sent() {
        let body = r#"{"error_code":"INVALID_STATE","message":"m","details":[
            {"@type":"type.googleapis.com/acme.ErrorInfo","reason":"R"},
            {"@type":5}
        ]}"#;
        let details = Error::from(api(400, body)).details().to_vec();
        assert_eq!(details.len(), 2);
        assert!(matches!(&details[0], ErrorDetail::Other(v) if v["reason"] == "R"), "{details:?}");
        assert!(matches!(&details[1], ErrorDetail::Other(v) if v["@type"] == 5), "{details:?}");
    }

    #[test]
    fn an_empty_request_id_is_none_and_the_header_wins() {
        let info = |id: &str| ErrorDetail::RequestInfo { request_id: id.to_owned(), serving_data: String::new() };
        let e = ApiError::new(500, None, "m").with_details(vec![info(""), info("from-detail")]);
        assert_eq!(e.request_id(), Some("from-detail"));
        assert_eq!(ApiError::new(500, None, "m").with_details(vec![info("")]).request_id(), None);
        assert_eq!(e.clone().with_request_id("from-header").request_id(), Some("from-header"));
        assert_eq!(Error::from(e).to_string(), "HTTP 500: m [request id from-detail]");
    }

    #[test]
    fn an_empty_error_code_is_no_code() {
        let e = api(404, r#"{"error_code":"","message":"gone"}"#);
        assert_eq!((e.error_code(), e.message(), e.kind()), (None, "gone", ErrorKind::NotFound));
        assert_eq!(e.to_string(), "HTTP 404: gone");
    }

    #[test]
    fn an_html_page_is_recognised_by_its_html_or_body_tag() {
        let e = api(503, "<html><head><title>Down for maintenance</title></head></html>");
        assert_eq!((e.error_code(), e.message()), (Some("SERVICE_UNAVAILABLE"), "Down for maintenance"));
        assert_eq!(e.kind(), ErrorKind::TemporarilyUnavailable);
        let e = api(502, "<body><pre> upstream reset </pre></body>");
        assert_eq!((e.error_code(), e.message()), (Some("BAD_GATEWAY"), "upstream reset"));
        // No `<pre>` nor `<title>`, or empty ones: the status's reason.
        let e = api(500, "<html><pre></pre></html>");
        assert_eq!((e.error_code(), e.message()), (Some("INTERNAL_SERVER_ERROR"), "Internal Server Error"));
    }

    #[test]
    fn text_is_a_code_and_a_message_only_with_an_upper_snake_code() {
        let e = api(500, "Internal error: the database is down");
        assert_eq!((e.error_code(), e.message()), (Some("UNKNOWN"), "Internal error: the database is down"));
        assert_eq!(e.kind(), ErrorKind::InternalError);
        let e = api(400, "QUOTA_EXCEEDED: too many tokens");
        assert_eq!((e.error_code(), e.message()), (Some("QUOTA_EXCEEDED"), "too many tokens"));
        assert!(Error::from(e).is_quota_exceeded());
        let e = api(400, ": no code");
        assert_eq!((e.error_code(), e.message()), (Some("UNKNOWN"), ": no code"));
    }

    #[test]
    fn known_secrets_are_scrubbed_from_the_response_and_the_context() {
        let secrets = KnownSecrets::default();
        secrets.remember_credential("dapi-0123456789");
        let e = Error::from(ApiError::new(400, Some("INVALID_PARAMETER_VALUE"), "token dapi-0123456789 is malformed"));
        let e = e.scrub(&secrets);
        assert_eq!(e.message(), "token *** is malformed");
        assert_eq!(e.api_error().map(ApiError::message), Some("token *** is malformed"));
        let e = Error::auth("the token dapi-0123456789 was refused").scrub(&secrets);
        assert_eq!(e.to_string(), "the token *** was refused");
    }

    #[test]
    fn context_goes_before_the_message_and_keeps_the_response() {
        let e = Error::from(ApiError::new(404, Some("RESOURCE_DOES_NOT_EXIST"), "gone"));
        assert_eq!(e.message(), "gone");
        let e = e.context("get_token").context("cleanup");
        assert_eq!(e.to_string(), "cleanup: get_token: RESOURCE_DOES_NOT_EXIST (HTTP 404): gone");
        assert_eq!(e.message(), "cleanup: get_token: RESOURCE_DOES_NOT_EXIST (HTTP 404): gone");
        assert_eq!((e.kind(), e.status(), e.error_code()), (ErrorKind::NotFound, Some(404), Some("RESOURCE_DOES_NOT_EXIST")));
        assert_eq!(Error::config("no host").context("build").message(), "build: no host");
    }

    #[test]
    fn a_retry_budget_that_ran_out_is_a_timeout_that_keeps_the_last_answer() {
        let e = Error::from(ApiError::new(503, None, "busy")).budget_exhausted(Duration::from_secs(30));
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.is_timeout() && e.is_retryable());
        assert_eq!(e.status(), Some(503));
        assert_eq!(e.to_string(), "the retry budget of 30.0 s ran out; the last attempt: HTTP 503: busy");
        let e = Error::from(ApiError::new(500, None, "oops")).budget_exhausted(Duration::from_secs(1));
        assert!(!e.is_retryable(), "a 500 is not retried, even at the end of a budget");
    }

    #[test]
    fn attempts_show_only_when_the_call_was_retried() {
        let e = || Error::from(ApiError::new(503, None, "busy"));
        assert_eq!(e().attempts(), 1);
        assert_eq!(e().elapsed(), None);
        let once = e().with_attempts(1, Duration::from_millis(200));
        assert_eq!(once.to_string(), "HTTP 503: busy");
        assert_eq!(once.elapsed(), Some(Duration::from_millis(200)));
        let thrice = e().with_attempts(3, Duration::from_millis(1500));
        assert_eq!(thrice.attempts(), 3);
        assert_eq!(thrice.to_string(), "HTTP 503: busy (after 3 attempts in 1.5s)");
        assert_eq!(e().with_attempts(0, Duration::ZERO).attempts(), 1);
    }

    #[test]
    fn a_failure_after_sending_is_retryable_only_when_repeating_is_safe() {
        let transport = || Error::transport("connection reset", std::io::Error::other("reset"));
        // Not sent (or nothing processed): retryable, not maybe processed.
        assert!(transport().is_retryable() && !transport().may_have_been_processed());
        assert!(!transport().was_processed());
        // Sent by an idempotent operation: retryable; by a create: not.
        let idempotent = transport().maybe_processed(true);
        assert!(idempotent.is_retryable() && idempotent.may_have_been_processed());
        let create = transport().maybe_processed(false);
        assert!(!create.is_retryable() && create.may_have_been_processed());
        let timed_out = Error::timeout("attempt timed out").maybe_processed(false);
        assert!(!timed_out.is_retryable());
        assert!(Error::timeout("attempt timed out").maybe_processed(true).is_retryable());
        // Answered with a success status: processed.
        let processed = transport().processed(false);
        assert!(processed.was_processed() && processed.may_have_been_processed() && !processed.is_retryable());
        assert!(transport().processed(true).is_retryable());
        // Cleaned up: nothing of the call is left, so it may be repeated.
        let cleaned = processed.cleaned_up("the token it created was revoked");
        assert!(!cleaned.was_processed() && !cleaned.may_have_been_processed() && cleaned.is_retryable());
        assert_eq!(cleaned.to_string(), "the token it created was revoked: connection reset");
    }

    #[test]
    fn a_possible_orphan_names_its_marker_and_is_never_retryable() {
        let cleanup = Error::from(ApiError::new(503, None, "busy"));
        let e = Error::timeout("create timed out").with_possible_orphan("[eo:abc]", &cleanup);
        assert_eq!(e.orphan_marker(), Some("[eo:abc]"));
        assert!(e.may_have_been_processed() && !e.is_retryable());
        assert_eq!(
            e.to_string(),
            "create timed out; a token may have been created, and the search for it failed (HTTP 503: busy): revoke the tokens \
             whose comment contains [eo:abc]"
        );
        assert_eq!(Error::timeout("t").orphan_marker(), None);
    }

    #[test]
    fn debug_shows_what_the_error_holds() {
        let from_api = Error::from(ApiError::new(404, None, "gone"));
        let debug = format!("{from_api:?}");
        assert!(debug.starts_with("Error { kind: NotFound, api: ApiError {"), "{debug}");
        assert!(!debug.contains("message: \"\"") && !debug.contains("maybe_processed"), "{debug}");
        let debug = format!("{:?}", from_api.context("get_token"));
        assert!(debug.contains("message: \"get_token: HTTP 404: gone\""), "{debug}");
        let transport = Error::transport("connection reset", std::io::Error::other("reset by peer")).maybe_processed(true);
        let debug = format!("{transport:?}");
        assert!(debug.contains("message: \"connection reset\""), "{debug}");
        assert!(debug.contains("maybe_processed: true") && debug.contains("source: \"reset by peer\""), "{debug}");
        assert!(debug.ends_with("attempts: 1, elapsed: None }"), "{debug}");
        let orphan = Error::timeout("t").with_possible_orphan("[eo:x]", &Error::timeout("u"));
        assert!(format!("{orphan:?}").contains("orphan_marker: \"[eo:x]\""), "{orphan:?}");
    }

    #[test]
    fn each_predicate_says_yes_to_its_class_only() {
        let status = |s: u16| Error::from(ApiError::new(s, None, "m"));
        type Predicate = fn(&Error) -> bool;
        let predicates: [(Predicate, u16); 6] = [
            (Error::is_not_found, 404),
            (Error::is_unauthenticated, 401),
            (Error::is_permission_denied, 403),
            (Error::is_resource_conflict, 409),
            (Error::is_bad_request, 400),
            (Error::is_too_many_requests, 429),
        ];
        for (predicate, yes) in predicates {
            for s in [400, 401, 403, 404, 409, 429, 500] {
                assert_eq!(predicate(&status(s)), s == yes, "{s} for the predicate of {yes}");
            }
        }
        assert!(status(500).is_server_error() && status(503).is_server_error());
        assert!(!status(499).is_server_error() && !Error::timeout("t").is_server_error());
        assert!(Error::timeout("t").is_timeout() && !status(504).is_timeout() && !Error::auth("a").is_timeout());
        let transport = Error::transport("t", std::io::Error::other("x"));
        assert!(transport.is_transport() && !Error::timeout("t").is_transport() && !status(503).is_transport());
        assert!(!status(400).is_quota_exceeded());
    }

    #[test]
    fn errors_built_here_say_what_they_are() {
        let cases = [
            (Error::invalid_request("bad comment"), ErrorKind::InvalidRequest),
            (Error::config("no host"), ErrorKind::Config),
            (Error::auth("no token"), ErrorKind::Auth),
            (Error::timeout("too slow"), ErrorKind::Timeout),
            (Error::unexpected_response("page token repeated"), ErrorKind::Decode),
            (Error::decode("bad json", std::io::Error::other("eof")), ErrorKind::Decode),
            (Error::not_found("no such token"), ErrorKind::NotFound),
            (Error::ambiguous("two tokens"), ErrorKind::Ambiguous),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(!e.message().is_empty() && e.to_string() == e.message(), "{e}");
            assert!(!e.is_retryable() || kind == ErrorKind::Timeout, "{e}");
            assert_eq!((e.status(), e.error_code(), e.request_id(), e.details().len()), (None, None, None, 0));
        }
        let stub = Error::not_implemented_by_stub("Tokens::list");
        assert_eq!(stub.kind(), ErrorKind::NotImplementedByStub);
        assert_eq!(stub.to_string(), "Tokens::list is not implemented by this stub: implement stub::Tokens::list in your test double");
        let stub = Error::not_implemented_by_stub("TokenManagement::get");
        assert!(stub.to_string().ends_with(" and pass it to WorkspaceClient::with_token_management_stub"), "{stub}");
    }

    #[test]
    fn a_redirect_names_its_status_and_location() {
        let e = Error::redirect(ApiError::new(302, None, "Found"), Some("https://elsewhere.example/login"));
        assert_eq!((e.kind(), e.status()), (ErrorKind::Redirect, Some(302)));
        assert_eq!(e.to_string(), "HTTP 302 redirect to https://elsewhere.example/login was not followed");
        assert!(!e.is_retryable());
        let e = Error::redirect(ApiError::new(307, None, "Temporary Redirect"), None);
        assert_eq!(e.message(), "HTTP 307 redirect to no Location was not followed");
    }

    #[test]
    fn a_response_too_large_names_the_operation_and_the_limit() {
        let e = Error::response_too_large("list_tokens", 1024);
        assert_eq!(e.kind(), ErrorKind::ResponseTooLarge);
        assert_eq!(e.to_string(), "list_tokens: the response is larger than the limit of 1024 bytes (ClientBuilder::max_response_size)");
        assert!(!e.is_retryable());
    }
}
