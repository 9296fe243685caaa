//! The path every call takes: headers, credentials, rate limit, retries, timeouts, tracing, errors.
//!
//! The generated request functions (`calls::<operation>`, one per operation of a spec) build a [`Request`]
//! and hand it, with the operation's entry of the operation table and the call's options, to
//! [`Pipeline::call`]. The call's state ([`CallState`]: its policy, attempts, elapsed time, what the
//! attempts learnt) is a local of that call, passed by `&mut` to the preparation, the attempt loop and the
//! decoding; the limits and the secrets a response carried travel as arguments and return values. No
//! task-local, no hook.
//!
//! The path of a call that succeeds at once is kept short: the credentials of a provider whose headers
//! never change are built once per client, the URLs of fixed paths are parsed once per client, the span is
//! only made when a subscriber wants it, the attempt timeout arms a timer only when the attempt has to wait,
//! and the spare copy each attempt keeps for a retry shares the request's body (bytes) instead of copying it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;
use tracing::Instrument;

use crate::auth::CredentialsProvider;
use crate::clock::Clock;
use crate::decode::{Decode, LoggedBody, too_large};
use crate::error::{ApiError, Error, Result};
use crate::operation::Operation;
use crate::rate_limit::RateLimiter;
use crate::redact::{self, KnownSecrets};
use crate::retry::{Endpoint, MIN_ATTEMPT, Outcome, Retrier, RetryBudget, RetryPolicy, Stop, Verdict};
use crate::secret::HasSecrets;
use crate::sharing::{SharedLimits, rate_limiter};
use crate::stub::RequestOptions;

/// State shared by a client and its clones: what every call of the client goes through.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// The HTTP client (connection pool) of the workspace client and its clones.
    http: reqwest::Client,
    credentials: Arc<dyn CredentialsProvider>,
    /// The credentials of a provider whose headers never change, built once (see
    /// [`CredentialsProvider::static_headers`]).
    static_credentials: Option<Vec<(HeaderName, HeaderValue)>>,
    /// The workspace URL, parsed once; `base_path` is its path without a trailing `/`.
    base_url: reqwest::Url,
    base_path: String,
    /// The URL of each fixed path of the spec's operations, parsed once.
    fixed_urls: Vec<(&'static str, reqwest::Url)>,
    retry: RetryPolicy,
    retry_budget: Arc<RetryBudget>,
    clock: Arc<dyn Clock>,
    rate_limiter: Option<RateLimiter>,
    user_agent: HeaderValue,
    workspace_id: Option<HeaderValue>,
    max_response_size: u64,
    secrets: Arc<KnownSecrets>,
}

/// Everything [`Pipeline::new`] needs.
pub(crate) struct PipelineParts {
    pub http: reqwest::Client,
    pub credentials: Arc<dyn CredentialsProvider>,
    /// The workspace URL (the base of every request's URL).
    pub base_url: reqwest::Url,
    pub retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    pub rate_limit: Option<f64>,
    pub product: (String, String),
    pub workspace_id: Option<String>,
    pub max_response_size: u64,
    /// A rate limiter and retry budget shared with other clients (an account's, a fleet run's); the
    /// default shares nothing: this client's own, from `rate_limit` and `retry`.
    pub shared: SharedLimits,
    /// The client's retry budget when its token requests spend from it too; else made from `shared`.
    pub retry_budget: Option<Arc<RetryBudget>>,
}

impl Pipeline {
    /// A pipeline; a rate limiter shared in `parts.shared` replaces the client's own limit, and a shared
    /// retry budget pays every retry too.
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
        let rate_limiter = match parts.shared.rate_limiter() {
            Some(shared) => Some(shared.clone()),
            None => rate_limiter(parts.rate_limit)?,
        };
        let retry_budget = parts.retry_budget.unwrap_or_else(|| parts.shared.client_budget(parts.retry.shared_budget()));
        let secrets = Arc::new(KnownSecrets::default());
        let static_credentials = parts.credentials.static_headers().and_then(|headers| {
            // A header that does not convert is reported by the per-call path, as for any provider.
            headers
                .into_iter()
                .map(|(name, value)| {
                    let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                    let mut header = HeaderValue::from_str(value.expose()).ok()?;
                    header.set_sensitive(true);
                    secrets.remember_credential(credential_of(value.expose()));
                    Some((name, header))
                })
                .collect::<Option<Vec<_>>>()
        });
        let base_url = parts.base_url;
        let base_path = base_url.path().trim_end_matches('/').to_owned();
        let mut shared = Shared {
            http: parts.http,
            credentials: parts.credentials,
            static_credentials,
            fixed_urls: Vec::new(),
            base_url,
            base_path,
            retry_budget,
            retry: parts.retry,
            clock: parts.clock,
            rate_limiter,
            user_agent,
            workspace_id,
            max_response_size: parts.max_response_size,
            secrets,
        };
        shared.fixed_urls =
            crate::operation::every().filter(|op| !op.path.contains('{')).map(|op| (op.path, shared.join(op.path))).collect();
        Ok(Self(Arc::new(shared)))
    }

    /// The URL of a fixed path (`/api/2.0/token/list`): what the generated operations send to.
    pub(crate) fn url(&self, path: &'static str) -> reqwest::Url {
        match self.0.fixed_urls.iter().find(|(p, _)| *p == path) {
            Some((_, url)) => url.clone(),
            None => self.0.join(path),
        }
    }

    /// The `User-Agent` this client sends.
    pub(crate) fn user_agent(&self) -> &str {
        self.0.user_agent.to_str().unwrap_or_default()
    }

    /// The name of the credentials provider in use.
    pub(crate) fn auth_type(&self) -> &str {
        self.0.credentials.auth_type()
    }

    /// Before the first attempt: the credentials of a provider whose credentials may change (fetched once
    /// per call, into `call`), and the first wait of the rate limit.
    async fn prepare(&self, call: &mut CallState) -> Result<()> {
        let shared = &*self.0;
        if shared.static_credentials.is_none() {
            call.credentials = Some(self.fetch_credentials().await?);
        }
        if shared.rate_limiter.is_some() {
            self.rate_limit(call.start, call.budget).await?;
        }
        Ok(())
    }

    /// Waits for the rate limit, unless the wait would end past the call's `budget` from `start`.
    async fn rate_limit(&self, start: Instant, budget: Duration) -> Result<()> {
        let Some(limiter) = &self.0.rate_limiter else { return Ok(()) };
        let clock = self.0.clock.as_ref();
        let remaining = start.checked_add(budget).map_or(Duration::MAX, |d| d.saturating_duration_since(clock.now()));
        if limiter.acquire_within(clock, remaining).await {
            Ok(())
        } else {
            Err(Error::timeout(format!(
                "the rate limit would delay the request past the call's retry budget of {:.1} s",
                budget.as_secs_f64()
            )))
        }
    }

    /// The headers of a provider whose credentials may change, for one call.
    async fn fetch_credentials(&self) -> Result<Vec<(HeaderName, HeaderValue)>> {
        let mut headers = Vec::new();
        for (name, value) in self.0.credentials.headers().await? {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::auth(format!("credentials provider returned an invalid header name {name:?}")))?;
            let exposed = value.expose();
            self.0.secrets.remember_credential(credential_of(exposed));
            let mut value = HeaderValue::from_str(exposed)
                .map_err(|_| Error::auth(format!("credentials provider returned an invalid value for header {name}")))?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        Ok(headers)
    }

    /// The pipeline's headers: `User-Agent`, the workspace id, the credentials (the client's fixed ones, or
    /// those fetched for this call).
    fn add_headers(&self, request: &mut reqwest::Request, fetched: &Option<Vec<(HeaderName, HeaderValue)>>) {
        let shared = &*self.0;
        let headers = request.headers_mut();
        headers.insert(reqwest::header::USER_AGENT, shared.user_agent.clone());
        if let Some(id) = &shared.workspace_id {
            headers.insert(HeaderName::from_static("x-databricks-workspace-id"), id.clone());
        }
        for (name, value) in shared.static_credentials.iter().chain(fetched).flatten() {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// The attempt loop of one call: what it learns goes into `call`.
    async fn execute(&self, call: &mut CallState, mut request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
        let shared = &*self.0;
        let client = &shared.http;
        let mut credentials = call.credentials.take();
        let mut now = call.start;
        let start = now;
        let retry = call.policy.as_ref().unwrap_or(&shared.retry);
        // A budget too large for an Instant means no budget.
        let deadline = start.checked_add(retry.timeout());
        let idempotent = retry.is_idempotent(call.operation);
        let logging = tracing::enabled!(tracing::Level::DEBUG);
        let mut attempt = 0u32;
        let mut retrier =
            Retrier::new(retry, Endpoint::Api, shared.clock.as_ref(), start, idempotent).with_shared_budget(&shared.retry_budget);
        loop {
            attempt += 1;
            // A copy for a retry, made before the pipeline's own headers go in: it holds the URL and the
            // generated headers (static values); a body is shared, not copied.
            let spare = request.try_clone();
            self.add_headers(&mut request, &credentials);
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
            let attempt_timeout = retry.attempt_timeout().min(remaining).max(MIN_ATTEMPT.min(retry.attempt_timeout()));
            // The attempt's deadline on the runtime's timer (real time, whatever the client's clock).
            let attempt_deadline = tokio::time::Instant::now().checked_add(attempt_timeout);
            if logging {
                let body = request
                    .body()
                    .and_then(|b| b.as_bytes())
                    .map(|b| redact::body_for_log(&b[..b.len().min(redact::MAX_LOGGED_BODY)], b.len(), &shared.secrets))
                    .unwrap_or_default();
                tracing::debug!(attempt, method = %request.method(), url = %request.url(), body = %body, "request");
            }
            let sent = crate::decode::until(attempt_deadline, client.execute(request)).await;
            let result = match sent {
                Some(result) => result,
                None => Err(crate::decode::body_error(std::io::Error::from(std::io::ErrorKind::TimedOut))),
            };
            let result = result.map(|response| {
                if logging {
                    tracing::debug!(attempt, status = response.status().as_u16(), "response");
                    LoggedBody::wrap(response, &shared.secrets)
                } else {
                    response
                }
            });
            now = shared.clock.now();
            call.attempts = attempt;
            call.elapsed = now.saturating_duration_since(start);
            call.idempotent = idempotent;
            call.body_deadline = attempt_deadline;
            call.status = result.as_ref().ok().map(|r| r.status().as_u16());
            // A failure after the request was sent: it may have been processed.
            call.maybe_processed |= matches!(&result, Err(e) if !e.is_connect());

            let status = result.as_ref().map(|r| r.status().as_u16()).ok();
            let verdict = match &result {
                Ok(r) => {
                    let retry_after = r.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
                    retrier.decide(Outcome::Status(r.status().as_u16()), retry_after, spare.is_some(), || shared.credentials.invalidate())
                }
                Err(e) => retrier.decide(Outcome::of_transport(e), None, spare.is_some(), || false),
            };
            let (delay, again) = match (verdict, spare) {
                (Verdict::Retry(delay), Some(again)) => {
                    match &result {
                        Ok(_) => tracing::debug!(attempt, ?status, delay_ms = delay.as_millis() as u64, "retrying"),
                        Err(e) => {
                            tracing::debug!(attempt, error = %e, delay_ms = delay.as_millis() as u64, "retrying after a transport failure")
                        }
                    }
                    (delay, again)
                }
                (Verdict::ReplayWithFreshCredentials, Some(again)) => {
                    match self.fetch_credentials().await {
                        Ok(fresh) => credentials = Some(fresh),
                        Err(e) => {
                            call.error = Some(e);
                            return result;
                        }
                    }
                    tracing::debug!(attempt, "replaying once with fresh credentials after 401");
                    (Duration::ZERO, again)
                }
                // The retrier sends again only what can be sent again.
                (verdict, _) => {
                    let stop = if let Verdict::Return(stop) = verdict { stop } else { Stop::NotReplayable };
                    if stop == Stop::BudgetSpent {
                        call.budget_exhausted = true;
                    }
                    tracing::debug!(attempt, ?status, "{}", stop.describe());
                    return result;
                }
            };
            shared.clock.sleep(delay).await;
            now = shared.clock.now();
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
            if let Some(limiter) = &shared.rate_limiter
                && !limiter.acquire_within(shared.clock.as_ref(), remaining).await
            {
                tracing::debug!(attempt, ?status, "not retried: the rate limit would delay the attempt past the retry budget");
                call.budget_exhausted = true;
                return result;
            }
            now = shared.clock.now();
            drop(result);
            request = again;
        }
    }
}

impl Shared {
    /// `path` under the workspace URL.
    fn join(&self, path: &str) -> reqwest::Url {
        let mut url = self.base_url.clone();
        if self.base_path.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{}{path}", self.base_path));
        }
        url
    }
}

/// The credential proper of an `Authorization` value (after `Bearer `/`Basic `), to scrub it by value
/// wherever it shows up.
fn credential_of(value: &str) -> &str {
    value.split_once(' ').map_or(value, |(_, credential)| credential)
}

/// One request of an operation, as a generated request function builds it.
pub(crate) struct Request<'a> {
    /// The values of the path template's `{parameters}`, in order, not yet encoded.
    pub(crate) path: &'a [&'a str],
    /// The query parameters that have a value.
    pub(crate) query: Vec<(&'static str, String)>,
    /// The JSON body, serialized.
    pub(crate) body: Option<Vec<u8>>,
}

/// A request body as JSON.
pub(crate) fn json_body<B: Serialize>(operation: &Operation, body: &B) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| Error::invalid_request(format!("{}: the request body does not serialize: {e}", operation.id)))
}

/// The state of one call, owned by it and lent to its steps: the preparation, the attempts, the decoding.
#[derive(Debug)]
pub(crate) struct CallState {
    /// What the spec says about the operation.
    operation: &'static Operation,
    /// This call's retry policy, when its options override the client's.
    policy: Option<RetryPolicy>,
    start: Instant,
    attempts: u32,
    elapsed: Duration,
    /// An error found on the way that the result of the attempts does not tell (a refresh that failed).
    error: Option<Error>,
    /// Whether the operation is safe to repeat.
    idempotent: bool,
    /// An attempt failed after its request was sent: it may have been processed.
    maybe_processed: bool,
    /// The status of the last attempt's response, when one arrived.
    status: Option<u16>,
    /// The retry budget (or the rate limit within it) stopped the retries.
    budget_exhausted: bool,
    /// The call's retry budget.
    budget: Duration,
    /// The credentials fetched for this call (a provider whose credentials may change).
    credentials: Option<Vec<(HeaderName, HeaderValue)>>,
    /// When the last attempt's time is up (its body must have arrived by then).
    body_deadline: Option<tokio::time::Instant>,
}

impl CallState {
    fn new(operation: &'static Operation, policy: Option<RetryPolicy>, client: &RetryPolicy, start: Instant) -> Self {
        let budget = policy.as_ref().unwrap_or(client).timeout();
        Self {
            operation,
            policy,
            start,
            attempts: 0,
            elapsed: Duration::ZERO,
            error: None,
            idempotent: false,
            maybe_processed: false,
            status: None,
            budget_exhausted: false,
            budget,
            credentials: None,
            body_deadline: None,
        }
    }
}

impl Pipeline {
    /// Sends one request of `operation` with this call's options and decodes its JSON answer: what every
    /// generated request function calls.
    pub(crate) async fn call<T: Decode + HasSecrets>(
        &self,
        operation: &'static Operation,
        request: Request<'_>,
        options: RequestOptions,
    ) -> Result<T> {
        let read = |response, limit, deadline| crate::decode::decode_body::<T>(response, limit, deadline);
        self.send(operation, request, options, true, read, crate::decode::from_slice::<T>).await
    }

    /// [`Pipeline::call`] of an operation whose answer has no content.
    pub(crate) async fn call_empty(&self, operation: &'static Operation, request: Request<'_>, options: RequestOptions) -> Result<()> {
        let read = |_response, _limit, _deadline| std::future::ready(Ok(Ok(())));
        self.send(operation, request, options, false, read, |_| Ok(())).await
    }

    /// The call: its span, its state, its attempts, its answer read by `read` (a 200) or `parse` (another
    /// success status, and "not found means done"), its error made this crate's.
    async fn send<T, R, F>(
        &self,
        operation: &'static Operation,
        request: Request<'_>,
        options: RequestOptions,
        accepts_json: bool,
        read: R,
        parse: fn(&[u8]) -> std::result::Result<T, String>,
    ) -> Result<T>
    where
        T: HasSecrets,
        R: FnOnce(reqwest::Response, u64, Option<tokio::time::Instant>) -> F,
        F: Future<Output = reqwest::Result<std::result::Result<T, String>>>,
    {
        let span = tracing::info_span!(
            "databricks_tokens",
            service = operation.service,
            operation = operation.id,
            method = operation.method,
            path = tracing::field::Empty,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        if span.is_disabled() {
            return self.run(operation, request, options, accepts_json, read, parse, &span).await;
        }
        span.record("path", operation.fill(request.path));
        self.run(operation, request, options, accepts_json, read, parse, &span).instrument(span.clone()).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn run<T, R, F>(
        &self,
        operation: &'static Operation,
        request: Request<'_>,
        options: RequestOptions,
        accepts_json: bool,
        read: R,
        parse: fn(&[u8]) -> std::result::Result<T, String>,
        span: &tracing::Span,
    ) -> Result<T>
    where
        T: HasSecrets,
        R: FnOnce(reqwest::Response, u64, Option<tokio::time::Instant>) -> F,
        F: Future<Output = reqwest::Result<std::result::Result<T, String>>>,
    {
        let shared = &*self.0;
        let policy = options.effective_retry(&shared.retry);
        let mut call = CallState::new(operation, policy, &shared.retry, shared.clock.now());
        let outcome = self.attempts(&mut call, request, accepts_json).await;
        if !span.is_disabled() {
            span.record("attempts", call.attempts).record("duration_ms", call.elapsed.as_millis() as u64);
        }
        let id = operation.id;
        let result = match (call.error.take(), outcome) {
            (Some(error), _) | (None, Err(error)) => Err(error),
            (None, Ok(response)) if response.status() == 200 => {
                span.record("status", 200);
                match read(response, shared.max_response_size, call.body_deadline).await {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(message)) => Err(Error::unexpected_response(format!("{id}: the response does not decode: {message}"))),
                    Err(e) => Err(transport_error(id, e)),
                }
            }
            (None, Ok(response)) => unexpected(id, response, span, shared.max_response_size, call.body_deadline, parse).await,
        };
        let result = conclude(operation, result, call, &shared.secrets, parse);
        if let Ok(value) = &result {
            // The secrets an answer carries (a new token's value), whatever its success status: scrubbed by
            // value from what follows.
            value.secrets(&mut |secret| shared.secrets.remember_received(secret));
        }
        result
    }

    /// The request built, the call prepared, its attempts made: the last attempt's response.
    async fn attempts(&self, call: &mut CallState, request: Request<'_>, accepts_json: bool) -> Result<reqwest::Response> {
        let operation = call.operation;
        let mut url = if request.path.is_empty() {
            self.url(operation.path)
        } else {
            let encoded: Vec<String> = request.path.iter().map(|value| progenitor_client::encode_path(value)).collect();
            let encoded: Vec<&str> = encoded.iter().map(String::as_str).collect();
            self.0.join(&operation.fill(&encoded))
        };
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let method = reqwest::Method::from_bytes(operation.method.as_bytes())
            .map_err(|_| Error::invalid_request(format!("{}: the method {} is not valid", operation.id, operation.method)))?;
        let mut http = reqwest::Request::new(method, url);
        if accepts_json {
            http.headers_mut().insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
        }
        if let Some(body) = request.body {
            http.headers_mut().insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *http.body_mut() = Some(body.into());
        }
        self.prepare(call).await?;
        self.execute(call, http).await.map_err(|e| transport_error(operation.id, e))
    }
}

/// A response the call did not expect: another success status (decoded with `parse`), a redirect, or an
/// error of the API.
async fn unexpected<T>(
    operation_id: &str,
    response: reqwest::Response,
    span: &tracing::Span,
    limit: u64,
    deadline: Option<tokio::time::Instant>,
    parse: fn(&[u8]) -> std::result::Result<T, String>,
) -> Result<T> {
    let status = response.status().as_u16();
    span.record("status", status);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request_id = header("x-request-id");
    let location = header("location");
    let body = match crate::decode::read_body(response, limit, deadline).await {
        Ok(b) => b,
        Err(e) => return Err(transport_error(operation_id, e)),
    };
    if (200..300).contains(&status) {
        // A success status the spec does not list (201, 204...): decode it the same way.
        return parse(&body)
            .map_err(|m| Error::unexpected_response(format!("{operation_id}: the HTTP {status} response does not decode: {m}")));
    }
    if (300..400).contains(&status) {
        return Err(redirect(status, location.as_deref(), &body));
    }
    let api = ApiError::from_body(status, &body);
    Err(Error::from(match request_id {
        Some(id) => api.with_request_id(id),
        None => api,
    }))
}

/// The result of a call that did not succeed at once (`result`: its error, or what its unexpected response
/// decoded to), with what its facts say about it.
fn conclude<T>(
    operation: &'static Operation,
    result: Result<T>,
    facts: CallState,
    secrets: &KnownSecrets,
    parse: fn(&[u8]) -> std::result::Result<T, String>,
) -> Result<T> {
    let operation_id = operation.id;
    let error = match result {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    // A delete whose earlier attempt may have gone through: "not found" means it did.
    if facts.maybe_processed && error.is_not_found() && operation.not_found_means_done {
        tracing::debug!("an earlier attempt may have been processed: not found means done");
        return parse(b"{}").map_err(|m| Error::unexpected_response(format!("{operation_id}: an empty answer does not decode: {m}")));
    }
    let mut error = if facts.attempts > 0 { error.with_attempts(facts.attempts, facts.elapsed) } else { error };
    if let Some(status) = facts.status.filter(|s| (200..300).contains(s)) {
        // The server answered with success: it processed the request, whatever became of the body.
        error = error
            .context(format!("{operation_id}: HTTP {status} arrived, so the request was processed; its body did not"))
            .processed(facts.idempotent);
    } else if facts.maybe_processed && matches!(error.kind(), crate::ErrorKind::Transport | crate::ErrorKind::Timeout) {
        error = error.maybe_processed(facts.idempotent);
    }
    if facts.budget_exhausted && error.kind() != crate::ErrorKind::Timeout {
        error = error.budget_exhausted(facts.budget);
    }
    Err(error.scrub(secrets))
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
        Pipeline::new(parts()).unwrap()
    }

    fn parts() -> PipelineParts {
        PipelineParts {
            http: reqwest::Client::new(),
            credentials: Arc::new(PatCredentials::new("t")),
            base_url: reqwest::Url::parse("http://127.0.0.1:1").unwrap(),
            retry: RetryPolicy::default().with_max_attempts(5).with_backoff(Duration::ZERO, Duration::ZERO),
            clock: Arc::new(SystemClock),
            rate_limit: None,
            product: ("test".into(), "0".into()),
            workspace_id: None,
            max_response_size: crate::decode::DEFAULT_MAX_RESPONSE_SIZE,
            shared: Default::default(),
            retry_budget: None,
        }
    }

    async fn attempts_for(body: reqwest::Body) -> usize {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        let request = reqwest::Client::new().post(format!("{}/api/2.0/token/list", server.uri())).body(body).build().unwrap();
        let p = pipeline();
        let mut call = CallState::new(&crate::operation::LIST_TOKENS, None, &p.0.retry, p.0.clock.now());
        let response = p.execute(&mut call, request).await.unwrap();
        assert_eq!(response.status(), 503);
        server.received_requests().await.unwrap().len()
    }

    #[test]
    fn urls_parsed_once_are_the_urls_of_the_path() {
        for host in ["https://example.com", "http://127.0.0.1:8080", "https://example.com/prefix", "https://ex.com:8443/a/b"] {
            let p = Pipeline::new(PipelineParts { base_url: reqwest::Url::parse(host).unwrap(), ..parts() }).unwrap();
            for path in ["/api/2.0/token/list", "/api/2.0/token/create", "/api/2.0/not/in/the/spec"] {
                assert_eq!(p.url(path), reqwest::Url::parse(&format!("{host}{path}")).unwrap(), "{host} {path}");
            }
        }
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
