//! The path every call takes: headers, credentials, rate limit, retries, timeouts, tracing, errors.
//!
//! The generated client calls progenitor's `ClientHooks`: `pre` sets the telemetry headers and the
//! credentials, `exec` runs the attempt loop. [`run`] wraps each generated call: it gives the call a
//! private [`CallState`] (attempt count, elapsed time, an error found on the way) and turns progenitor's
//! result into this crate's [`Error`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use progenitor_client::{ClientHooks, OperationInfo, ResponseValue};
use reqwest::header::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::auth::CredentialsProvider;
use crate::clock::Clock;
use crate::decode::{ResponseBody, too_large};
use crate::error::{ApiError, Error, Result};
use crate::generated;
use crate::operation::Operation;
use crate::rate_limit::RateLimiter;
use crate::redact::{self, KnownSecrets};
use crate::retry::{RetryBudget, RetryPolicy, is_retryable_status, parse_retry_after};
use crate::stub::RequestOptions;

/// State shared by a client and its clones, held by the generated `Client`.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    credentials: Arc<dyn CredentialsProvider>,
    retry: RetryPolicy,
    retry_budget: RetryBudget,
    clock: Arc<dyn Clock>,
    rate_limiter: Option<RateLimiter>,
    user_agent: HeaderValue,
    workspace_id: Option<HeaderValue>,
    max_response_size: u64,
    secrets: Arc<KnownSecrets>,
}

/// Everything [`Pipeline::new`] needs.
pub(crate) struct PipelineParts {
    pub credentials: Arc<dyn CredentialsProvider>,
    pub retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    pub rate_limit: Option<f64>,
    pub product: (String, String),
    pub workspace_id: Option<String>,
    pub max_response_size: u64,
}

impl Pipeline {
    pub(crate) fn new(parts: PipelineParts) -> Result<Self> {
        let (product, product_version) = parts.product;
        let user_agent = format!(
            "{product}/{product_version} databricks-tokens-rs/{} rust/{} os/{} auth/{}",
            env!("CARGO_PKG_VERSION"),
            env!("DATABRICKS_TOKENS_RUSTC_VERSION"),
            std::env::consts::OS,
            parts.credentials.auth_type()
        );
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::config(format!("the product name and version must be visible ASCII: {product:?}/{product_version:?}")))?;
        let workspace_id = parts
            .workspace_id
            .map(|id| HeaderValue::from_str(&id).map_err(|_| Error::config(format!("workspace_id {id:?} is not a valid header value"))))
            .transpose()?;
        let rate_limiter = match parts.rate_limit {
            Some(r) if r.is_finite() && r > 0.0 => Some(RateLimiter::new(r)),
            Some(r) => return Err(Error::config(format!("rate_limit must be a positive number of requests per second, got {r}"))),
            None => None,
        };
        Ok(Self(Arc::new(Shared {
            credentials: parts.credentials,
            retry_budget: RetryBudget::new(parts.retry.shared_budget()),
            retry: parts.retry,
            clock: parts.clock,
            rate_limiter,
            user_agent,
            workspace_id,
            max_response_size: parts.max_response_size,
            secrets: Arc::default(),
        })))
    }

    /// The `User-Agent` this client sends.
    pub(crate) fn user_agent(&self) -> &str {
        self.0.user_agent.to_str().unwrap_or_default()
    }

    /// The name of the credentials provider in use.
    pub(crate) fn auth_type(&self) -> &str {
        self.0.credentials.auth_type()
    }

    /// The `pre` hook: telemetry headers, credentials, and the first wait of the rate limit. A failure is
    /// kept for [`run`] to report.
    async fn prepare(&self, request: &mut reqwest::Request, info: &OperationInfo) -> std::result::Result<(), String> {
        let shared = &self.0;
        let state = CallState::current();
        let start = shared.clock.now();
        let mut budget = shared.retry.timeout();
        if let Some(state) = &state {
            let mut facts = state.facts();
            facts.start = Some(start);
            let policy = facts.options.effective_retry(&shared.retry);
            let policy = policy.as_ref().unwrap_or(&shared.retry);
            budget = policy.timeout();
            facts.budget = budget;
            facts.idempotent = idempotent(policy, facts.operation, info.operation_id);
            facts.secrets = Some(Arc::clone(&shared.secrets));
        }
        let headers = request.headers_mut();
        // progenitor adds `api-version`; the Databricks SDKs send no such header.
        headers.remove("api-version");
        headers.insert(reqwest::header::USER_AGENT, shared.user_agent.clone());
        if let Some(id) = &shared.workspace_id {
            headers.insert(HeaderName::from_static("x-databricks-workspace-id"), id.clone());
        }
        let prepared = match self.set_credentials(request).await {
            Ok(()) => self.rate_limit(start.checked_add(budget)).await,
            Err(e) => Err(e),
        };
        prepared.map_err(|e| {
            let message = e.to_string();
            if let Some(state) = &state {
                state.set_error(e);
            }
            message
        })
    }

    /// Waits for the rate limit, unless the wait would end past `deadline`.
    async fn rate_limit(&self, deadline: Option<Instant>) -> Result<()> {
        let Some(limiter) = &self.0.rate_limiter else { return Ok(()) };
        let clock = self.0.clock.as_ref();
        let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(clock.now()));
        if limiter.acquire_within(clock, remaining).await {
            Ok(())
        } else {
            Err(Error::timeout(format!(
                "the rate limit would delay the request past the retry budget of {:.1} s",
                self.0.retry.timeout().as_secs_f64()
            )))
        }
    }

    async fn set_credentials(&self, request: &mut reqwest::Request) -> Result<()> {
        for (name, value) in self.0.credentials.headers().await? {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::auth(format!("credentials provider returned an invalid header name {name:?}")))?;
            let exposed = value.expose();
            // The credential proper (after `Bearer `/`Basic `), to scrub it by value wherever it shows up.
            self.0.secrets.remember(exposed.split_once(' ').map_or(exposed, |(_, credential)| credential));
            let mut value = HeaderValue::from_str(exposed)
                .map_err(|_| Error::auth(format!("credentials provider returned an invalid value for header {name}")))?;
            value.set_sensitive(true);
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }

    /// The attempt loop of one call.
    async fn execute(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &self.0;
        let state = CallState::current();
        let (start, per_call, operation) = match &state {
            Some(state) => {
                let facts = state.facts();
                (facts.start, facts.options.effective_retry(&shared.retry), facts.operation)
            }
            None => (None, None, None),
        };
        let start = start.unwrap_or_else(|| shared.clock.now());
        let retry = per_call.as_ref().unwrap_or(&shared.retry);
        // A budget too large for an Instant means no budget.
        let deadline = start.checked_add(retry.timeout());
        let idempotent = idempotent(retry, operation, info.operation_id);
        let logging = tracing::enabled!(tracing::Level::DEBUG);
        let mut attempt = 0u32;
        let mut retries = 0u32;
        let mut replayed_after_401 = false;
        loop {
            attempt += 1;
            let spare = request.try_clone();
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(shared.clock.now()));
            *request.timeout_mut() = Some(retry.attempt_timeout().min(remaining).max(MIN_ATTEMPT.min(retry.attempt_timeout())));
            if logging {
                let body = request
                    .body()
                    .and_then(|b| b.as_bytes())
                    .map(|b| redact::body_for_log(&b[..b.len().min(redact::MAX_LOGGED_BODY)], b.len(), &shared.secrets))
                    .unwrap_or_default();
                tracing::debug!(attempt, method = %request.method(), url = %request.url(), body = %body, "request");
            }
            let result = client.execute(request).await.map(|response| {
                if logging {
                    tracing::debug!(attempt, status = response.status().as_u16(), "response");
                }
                ResponseBody::wrap(response, shared.max_response_size, logging.then_some(&shared.secrets))
            });
            if let Some(state) = &state {
                let mut facts = state.facts();
                facts.attempts = attempt;
                facts.elapsed = shared.clock.now().saturating_duration_since(start);
                // A failure after the request was sent: it may have been processed.
                facts.maybe_processed |= matches!(&result, Err(e) if !e.is_connect());
            }

            let decision = match &result {
                Ok(r) if r.status() == 401 && !replayed_after_401 && shared.credentials.invalidate() => {
                    Decision::ReplayWithFreshCredentials
                }
                Ok(r) if is_retryable_status(r.status().as_u16()) => {
                    let hinted = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, shared.clock.system_now()));
                    Decision::Retry(hinted.map_or_else(|| retry.backoff(retries), |d| d.min(retry.max_retry_after())))
                }
                Ok(_) => Decision::Return,
                // The connection was never made: nothing reached the server, safe for every operation.
                Err(e) if e.is_connect() => Decision::Retry(retry.backoff(retries)),
                // Sent, maybe processed: only operations that are safe to repeat.
                Err(_) if idempotent => Decision::Retry(retry.backoff(retries)),
                Err(_) => Decision::Return,
            };
            let status = result.as_ref().map(|r| r.status().as_u16()).ok();
            let delay = match decision {
                Decision::Return => {
                    if retries == 0 && result.as_ref().is_ok_and(|r| r.status().is_success()) {
                        shared.retry_budget.refund_success();
                    }
                    tracing::debug!(attempt, ?status, "done");
                    return result;
                }
                // One replay after a 401, whatever the retry policy: bounded by `replayed_after_401`.
                Decision::ReplayWithFreshCredentials => Duration::ZERO,
                Decision::Retry(delay) => {
                    let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(shared.clock.now()));
                    if attempt >= retry.max_attempts() {
                        tracing::debug!(attempt, ?status, "not retried: attempts exhausted");
                        return result;
                    }
                    // Spend the budget: the last wait ends at the deadline, then the call times out. An attempt
                    // needs some time of its own: less than MIN_ATTEMPT left is no time for one.
                    if remaining <= MIN_ATTEMPT {
                        tracing::debug!(attempt, ?status, "not retried: the retry budget is spent");
                        if let Some(state) = &state {
                            state.facts().budget_exhausted = true;
                        }
                        return result;
                    }
                    let timed_out = matches!(&result, Err(e) if e.is_timeout());
                    if !shared.retry_budget.try_spend(timed_out) {
                        tracing::debug!(attempt, ?status, "not retried: the client's shared retry budget is empty");
                        return result;
                    }
                    delay.min(remaining - MIN_ATTEMPT)
                }
            };
            let Some(mut again) = spare else {
                tracing::debug!(attempt, ?status, "not retried: the request body cannot be replayed");
                return result;
            };
            if decision == Decision::ReplayWithFreshCredentials {
                replayed_after_401 = true;
                if let Err(e) = self.set_credentials(&mut again).await {
                    if let Some(state) = &state {
                        state.set_error(e);
                    }
                    return result;
                }
                tracing::debug!(attempt, "replaying once with fresh credentials after 401");
            } else {
                retries += 1;
                match &result {
                    Ok(_) => tracing::debug!(attempt, ?status, delay_ms = delay.as_millis() as u64, "retrying"),
                    Err(e) => {
                        tracing::debug!(attempt, error = %e, delay_ms = delay.as_millis() as u64, "retrying after a transport failure")
                    }
                }
            }
            shared.clock.sleep(delay).await;
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(shared.clock.now()));
            if let Some(limiter) = &shared.rate_limiter
                && !limiter.acquire_within(shared.clock.as_ref(), remaining).await
            {
                tracing::debug!(attempt, ?status, "not retried: the rate limit would delay the attempt past the retry budget");
                if let Some(state) = &state {
                    state.facts().budget_exhausted = true;
                }
                return result;
            }
            drop(result);
            request = again;
        }
    }
}

/// Whether an attempt of the operation may be repeated after it may have reached the server: the
/// policy's override, else the spec's `x-databricks-idempotent` (from the operation table).
fn idempotent(policy: &RetryPolicy, operation: Option<&Operation>, operation_id: &str) -> bool {
    policy.idempotent_override(operation_id).or(operation.map(|op| op.idempotent)).unwrap_or_else(|| policy.is_idempotent(operation_id))
}

/// The least time an attempt is given: with less of the budget left, the call ends instead.
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decision {
    /// Hand the result to the caller.
    Return,
    /// Wait, then send the same request again.
    Retry(Duration),
    /// Send it again at once with fresh credentials (once per call, after a 401).
    ReplayWithFreshCredentials,
}

/// Routes a generated client's calls through the [`Pipeline`] it holds.
macro_rules! pipeline_hooks {
    ($client:ty) => {
        impl ClientHooks<Pipeline> for $client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &OperationInfo,
            ) -> std::result::Result<(), progenitor_client::Error<E>> {
                self.inner.prepare(request, info).await.map_err(progenitor_client::Error::Custom)
            }

            async fn exec(&self, request: reqwest::Request, info: &OperationInfo) -> reqwest::Result<reqwest::Response> {
                self.inner.execute(&self.client, request, info).await
            }
        }
    };
}

pipeline_hooks!(generated::Client);
pipeline_hooks!(generated::token_management::Client);
#[cfg(test)]
pipeline_hooks!(generated::paginated_fixture::Client);

tokio::task_local! {
    static CALL: Arc<CallState>;
}

/// What the hooks learn about one call, for [`run`] to report.
#[derive(Default)]
pub(crate) struct CallState {
    inner: Mutex<CallFacts>,
}

#[derive(Default)]
struct CallFacts {
    operation_id: &'static str,
    /// What the spec says about the operation.
    operation: Option<&'static Operation>,
    options: RequestOptions,
    start: Option<Instant>,
    attempts: u32,
    elapsed: Duration,
    error: Option<Error>,
    /// Whether the operation is safe to repeat.
    idempotent: bool,
    /// An attempt failed after its request was sent: it may have been processed.
    maybe_processed: bool,
    /// The retry budget (or the rate limit within it) stopped the retries.
    budget_exhausted: bool,
    /// The call's retry budget.
    budget: Duration,
    secrets: Option<Arc<KnownSecrets>>,
}

impl CallState {
    fn current() -> Option<Arc<Self>> {
        CALL.try_with(Arc::clone).ok()
    }
    fn facts(&self) -> std::sync::MutexGuard<'_, CallFacts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn set_error(&self, error: Error) {
        self.facts().error = Some(error);
    }
}

/// Records that a successful response did not decode; returns the message for progenitor's error. The
/// recorded error is what [`run`] reports.
pub(crate) fn decode_failed(message: String) -> String {
    if let Some(state) = CallState::current() {
        let operation_id = state.facts().operation_id;
        state.set_error(Error::unexpected_response(format!("{operation_id}: the response does not decode: {message}")));
    }
    message
}

/// Remembers a secret that a response carried (a new token's value) for the call's client.
pub(crate) fn remember_secret(secret: &str) {
    if let Some(state) = CallState::current()
        && let Some(secrets) = &state.facts().secrets
    {
        secrets.remember(secret);
    }
}

/// Runs one generated call of `operation` (with this call's options; `path` is the template filled in)
/// and turns its outcome into this crate's result.
pub(crate) async fn run<T, F>(operation: &'static Operation, options: RequestOptions, path: &str, call: F) -> Result<T>
where
    T: DeserializeOwned,
    F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<()>>>,
{
    let operation_id = operation.id;
    let state =
        Arc::new(CallState { inner: Mutex::new(CallFacts { operation_id, operation: Some(operation), options, ..Default::default() }) });
    let span = tracing::info_span!(
        "databricks_tokens",
        operation = operation_id,
        method = operation.method,
        path,
        status = tracing::field::Empty,
        attempts = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let outcome = CALL.scope(Arc::clone(&state), call).instrument(span.clone()).await;
    let facts = std::mem::take(&mut *state.facts());
    span.record("attempts", facts.attempts).record("duration_ms", facts.elapsed.as_millis() as u64);
    let result = match (facts.error, outcome) {
        (Some(error), _) => Err(error),
        (None, Ok(value)) => {
            span.record("status", value.status().as_u16());
            Ok(value.into_inner())
        }
        (None, Err(e)) => convert_error(operation_id, e, &span).await,
    };
    let error = match result {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    // A delete whose earlier attempt may have gone through: "not found" means it did.
    if facts.maybe_processed && error.is_not_found() && operation.not_found_means_done {
        tracing::debug!("an earlier attempt may have been processed: not found means done");
        return serde_json::from_slice(b"{}").map_err(|e| Error::decode(format!("{operation_id}: an empty answer"), e));
    }
    let mut error = if facts.attempts > 0 { error.with_attempts(facts.attempts, facts.elapsed) } else { error };
    if facts.maybe_processed && matches!(error.kind(), crate::ErrorKind::Transport | crate::ErrorKind::Timeout) {
        error = error.maybe_processed(facts.idempotent);
    }
    if facts.budget_exhausted && error.kind() != crate::ErrorKind::Timeout {
        error = error.budget_exhausted(facts.budget);
    }
    Err(match &facts.secrets {
        Some(secrets) => error.scrub(secrets),
        None => error,
    })
}

async fn convert_error<T: DeserializeOwned>(operation_id: &str, error: progenitor_client::Error<()>, span: &tracing::Span) -> Result<T> {
    use progenitor_client::Error as P;
    Err(match error {
        P::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            span.record("status", status);
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let request_id = header("x-request-id");
            let location = header("location");
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => return Err(transport_error(operation_id, e)),
            };
            if (200..300).contains(&status) {
                // A success status the spec does not list (201, 204...): decode it the same way.
                return crate::decode::from_slice(&body)
                    .map_err(|m| Error::unexpected_response(format!("{operation_id}: the HTTP {status} response does not decode: {m}")));
            }
            if (300..400).contains(&status) {
                return Err(redirect(status, location.as_deref(), &body));
            }
            let api = ApiError::from_body(status, &body);
            Error::from(match request_id {
                Some(id) => api.with_request_id(id),
                None => api,
            })
        }
        // The body is not quoted: a successful response may carry a secret.
        P::InvalidResponsePayload(_, e) => Error::decode(format!("{operation_id}: the response does not decode: {e}"), e),
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => transport_error(operation_id, e),
        P::InvalidRequest(message) => Error::invalid_request(format!("{operation_id}: {message}")),
        P::Custom(message) => Error::invalid_request(format!("{operation_id}: {message}")),
        P::ErrorResponse(response) => Error::from(ApiError::new(response.status().as_u16(), None, "error response")),
    })
}

/// A redirect, never followed: the private-link login page is the workspace refusing this network;
/// anything else names where it pointed.
fn redirect(status: u16, location: Option<&str>, body: &[u8]) -> Error {
    if location.is_some_and(|l| l.contains("/login.html") && l.contains("error=private-link-validation-error")) {
        return Error::from(ApiError::new(
            403,
            Some("PRIVATE_LINK_VALIDATION_ERROR"),
            "the workspace refused the request through private link: check that this network may reach the workspace",
        ));
    }
    Error::redirect(ApiError::from_body(status, body), location)
}

fn transport_error(operation_id: &str, e: reqwest::Error) -> Error {
    if let Some(limit) = too_large(&e) {
        return Error::response_too_large(operation_id, limit);
    }
    let e = e.without_url();
    if e.is_timeout() {
        Error::timeout(format!("{operation_id}: the request timed out")).with_source(e)
    } else if e.is_connect() {
        Error::transport(format!("{operation_id}: could not connect to the workspace"), e)
    } else {
        Error::transport(format!("{operation_id}: the connection failed"), e)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::auth::PatCredentials;
    use crate::clock::SystemClock;

    fn pipeline() -> Pipeline {
        Pipeline::new(PipelineParts {
            credentials: Arc::new(PatCredentials::new("t")),
            retry: RetryPolicy::default().with_max_attempts(5).with_backoff(Duration::ZERO, Duration::ZERO),
            clock: Arc::new(SystemClock),
            rate_limit: None,
            product: ("test".into(), "0".into()),
            workspace_id: None,
            max_response_size: crate::decode::DEFAULT_MAX_RESPONSE_SIZE,
        })
        .unwrap()
    }

    async fn attempts_for(body: reqwest::Body) -> usize {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        let http = reqwest::Client::new();
        let request = http.post(format!("{}/api/2.0/token/list", server.uri())).body(body).build().unwrap();
        let response = pipeline().execute(&http, request, &OperationInfo { operation_id: "list_tokens" }).await.unwrap();
        assert_eq!(response.status(), 503);
        server.received_requests().await.unwrap().len()
    }

    #[tokio::test]
    async fn a_body_that_cannot_be_replayed_is_never_retried() {
        let chunks: Vec<std::result::Result<bytes::Bytes, std::io::Error>> = vec![Ok(bytes::Bytes::from_static(b"{}"))];
        let streaming = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
        assert_eq!(attempts_for(streaming).await, 1);
        // The same 503s with a buffered body are retried up to the policy's limit.
        assert_eq!(attempts_for(reqwest::Body::from("{}")).await, 5);
    }
}
