//! OAuth against the workspace: endpoint discovery, token requests with retries, and the two grants the
//! crate uses — client credentials (`oauth-m2m`) and RFC 8693 token exchange (the OIDC federation
//! providers).
//!
//! Discovery, as the official SDKs do it: `discovery_url` when set; else host metadata
//! (`{host}/.well-known/databricks-config`, best effort) names the OIDC root, whose
//! `/.well-known/oauth-authorization-server` names the token endpoint; without host metadata the root is
//! `{host}/oidc`. Token and discovery requests go through the crate's one retry loop (`crate::retry`) as
//! idempotent requests to a token endpoint: retried on 429, 502, 503, 504 and transport failures, honouring
//! `Retry-After`, with the API's backoff, for at most a minute.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::refresh::{Now, Refreshing, Token, TokenSource};
use crate::clock::{BoxFuture, Clock, SystemClock};
use crate::config::may_carry_credentials;
use crate::error::{ApiError, Error, Result};
use crate::retry::{Endpoint, Outcome, Retrier, RetryBudget, RetryPolicy, Stop, Verdict};
use crate::secret::SecretString;

/// How long one discovery or token request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long token and discovery requests are retried in all, as the Go SDK's token sources do.
pub const TOKEN_ENDPOINT_RETRY_BUDGET: Duration = Duration::from_secs(60);

/// The grant type of RFC 8693 token exchange.
pub(crate) const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type of a JWT.
pub(crate) const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// What an OAuth flow needs to reach the workspace's authorization server.
#[derive(Clone)]
pub(crate) struct OAuthContext {
    pub(crate) host: String,
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) allow_insecure_http: bool,
    pub(crate) discovery_url: Option<String>,
    pub(crate) account_id: Option<String>,
    /// An account client's context: without host metadata the OIDC root is
    /// `{host}/oidc/accounts/{account_id}`, and the default audience of federated JWTs the account id.
    pub(crate) account_host: bool,
    /// The retry budget the token requests spend from too: the client's, when it shares limits (a fleet
    /// run's or an account's), so that a failing region stops asking for tokens as it stops calling.
    pub(crate) retry_budget: Option<Arc<RetryBudget>>,
}

impl fmt::Debug for OAuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthContext").field("host", &self.host).field("discovery_url", &self.discovery_url).finish_non_exhaustive()
    }
}

impl OAuthContext {
    pub(crate) fn new(host: &str, http: reqwest::Client) -> Self {
        Self {
            host: host.trim_end_matches('/').to_owned(),
            http,
            clock: Arc::new(SystemClock),
            allow_insecure_http: false,
            discovery_url: None,
            account_id: None,
            account_host: false,
            retry_budget: None,
        }
    }

    /// Refuses to send a credential anywhere but https (or loopback http, or where the user opted in).
    pub(crate) fn check_secure(&self, auth_type: &str, what: &str, url: &str) -> Result<()> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::auth(format!("{auth_type}: {url:?} is not a URL: {e}")))?;
        if !may_carry_credentials(&parsed, self.allow_insecure_http) {
            return Err(Error::auth(format!(
                "{auth_type}: refusing to send {what} to {url}: it must use https:// \
                 (or opt in with ClientBuilder::allow_insecure_http(true))"
            )));
        }
        Ok(())
    }

    /// Sends a request built by `build`, retrying what a token endpoint may answer transiently, and
    /// returns the status and the body. `describe` names the request in errors (never a secret).
    pub(crate) async fn send(
        &self,
        auth_type: &str,
        describe: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes)> {
        let (status, _, body) = self.send_with(auth_type, describe, Attempts::default(), build).await?;
        Ok((status, body))
    }

    /// [`OAuthContext::send`] with a per-attempt timeout and transport-failure policy of its own; also
    /// returns the response headers.
    pub(crate) async fn send_with(
        &self,
        auth_type: &str,
        describe: &str,
        attempts: Attempts,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes)> {
        // The one retry loop of the crate (see `crate::retry`), with the token endpoints' budget; a token
        // request is idempotent.
        let policy = RetryPolicy::default().with_timeout(TOKEN_ENDPOINT_RETRY_BUDGET).with_attempt_timeout(attempts.timeout);
        let start = self.clock.now();
        let mut retrier = Retrier::new(&policy, Endpoint::Token, self.clock.as_ref(), start, true);
        if let Some(budget) = &self.retry_budget {
            retrier = retrier.spending_from(budget);
        }
        loop {
            let (outcome, result) = match build().timeout(attempts.timeout).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    match response.bytes().await {
                        Ok(body) => (Outcome::Status(status), Ok((status, headers, body))),
                        // The answer was on its way: the request was sent.
                        Err(e) => (
                            Outcome::Sent { timed_out: e.is_timeout() },
                            Err(Error::auth(format!("{auth_type}: reading {describe} failed")).with_source(e.without_url())),
                        ),
                    }
                }
                Err(e) if !attempts.retry_transport_failures => {
                    let what = if e.is_timeout() { "did not answer in time" } else { "could not be reached" };
                    return Err(Error::auth(format!("{auth_type}: {describe} {what}")).with_source(e.without_url()));
                }
                Err(e) => (
                    Outcome::of_transport(&e),
                    Err(Error::auth(format!("{auth_type}: could not reach {describe}")).with_source(e.without_url())),
                ),
            };
            let retry_after = result.as_ref().ok().and_then(|(_, headers, _)| headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok());
            // No credentials to refresh: a token request is how they are obtained.
            match retrier.decide(outcome, retry_after, true, || false) {
                Verdict::Retry(delay) => {
                    tracing::debug!(auth_type, what = describe, ?outcome, delay_ms = delay.as_millis() as u64, "retrying");
                    self.clock.sleep(delay).await;
                }
                verdict => {
                    if let Verdict::Return(stop) = verdict
                        && stop != Stop::Final
                    {
                        tracing::debug!(auth_type, what = describe, ?outcome, attempts = retrier.attempts(), "{}", stop.describe());
                    }
                    let elapsed = self.clock.now().saturating_duration_since(start);
                    return result.map_err(|e| e.with_attempts(retrier.attempts(), elapsed));
                }
            }
        }
    }

    /// GETs a JSON document.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, auth_type: &str, url: &str) -> Result<std::result::Result<T, String>> {
        let get = || self.http.get(url).header(reqwest::header::ACCEPT, "application/json");
        let (status, headers, body) = self.send_with(auth_type, url, Attempts::default(), get).await?;
        let location = headers.get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
        if (300..400).contains(&status) && location.is_some_and(|l| l.contains("error=private-link-validation-error")) {
            // As the pipeline reports the API's own private-link redirect.
            return Ok(Err(format!(
                "HTTP {status}: the workspace refused the request through private link (PRIVATE_LINK_VALIDATION_ERROR): check that \
                 this network may reach the workspace"
            )));
        }
        if !(200..300).contains(&status) {
            return Ok(Err(ApiError::from_body(status, &body).to_string()));
        }
        Ok(serde_json::from_slice(&body).map_err(|e| format!("not the expected JSON: {e}")))
    }

    /// Host metadata, best effort: `None` (and a DEBUG line) on any failure.
    async fn host_metadata(&self, auth_type: &str) -> Option<HostMetadata> {
        let url = format!("{}/.well-known/databricks-config", self.host);
        match self.get_json::<HostMetadata>(auth_type, &url).await {
            Ok(Ok(metadata)) => Some(metadata),
            Ok(Err(why)) => {
                tracing::debug!(url, why, "no host metadata");
                None
            }
            Err(e) => {
                tracing::debug!(url, error = %e, "no host metadata");
                None
            }
        }
    }

    /// The OIDC root without host metadata: `{host}/oidc`, or `{host}/oidc/accounts/{account_id}` for an
    /// account client.
    fn default_oidc_root(&self, account_id: Option<&str>) -> String {
        match (self.account_host, account_id) {
            (true, Some(id)) => format!("{}/oidc/accounts/{id}", self.host),
            _ => format!("{}/oidc", self.host),
        }
    }

    /// The token endpoint, discovered as the official SDKs do, and the default OIDC audience that host
    /// metadata names, if any.
    pub(crate) async fn discover_token_endpoint(&self, auth_type: &str) -> Result<Discovered> {
        let mut audience = None;
        let discovery = match &self.discovery_url {
            Some(url) => url.clone(),
            None => {
                let metadata = self.host_metadata(auth_type).await;
                audience = metadata.as_ref().and_then(|m| m.token_federation_default_oidc_audiences.as_ref()?.first().cloned());
                let account_id = self.account_id.clone().or_else(|| metadata.as_ref().and_then(|m| m.account_id.clone()));
                let root = match metadata.and_then(|m| m.oidc_endpoint) {
                    Some(root) => match (root.contains("{account_id}"), account_id.clone()) {
                        (false, _) => root,
                        (true, Some(id)) => root.replace("{account_id}", &id),
                        (true, None) => self.default_oidc_root(account_id.as_deref()),
                    },
                    None => self.default_oidc_root(account_id.as_deref()),
                };
                format!("{}/.well-known/oauth-authorization-server", root.trim_end_matches('/'))
            }
        };
        #[derive(serde::Deserialize)]
        struct Discovery {
            token_endpoint: Option<String>,
        }
        match self.get_json::<Discovery>(auth_type, &discovery).await? {
            Ok(Discovery { token_endpoint: Some(token_endpoint) }) if !token_endpoint.is_empty() => {
                Ok(Discovered { token_endpoint, audience })
            }
            Ok(_) => Err(Error::auth(format!("{auth_type}: {discovery} did not name a token_endpoint"))),
            Err(why) => Err(Error::auth(format!("{auth_type}: token endpoint discovery at {discovery} failed: {why}"))),
        }
    }

    /// POSTs a token request and reads the token, or a clear error naming `who` was refused.
    pub(crate) async fn request_token(
        &self,
        auth_type: &str,
        endpoint: &str,
        who: &str,
        basic: Option<(&str, &SecretString)>,
        form: &[(&str, &str)],
        requested_at: Now,
    ) -> Result<Token> {
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: Option<SecretString>,
            token_type: Option<String>,
            expires_in: Option<crate::wire::Int64>,
        }
        let body = self.post_form(auth_type, endpoint, who, basic, form).await?;
        let describe = format!("the token endpoint {endpoint}");
        let Ok(TokenResponse { access_token: Some(token), token_type, expires_in }) = serde_json::from_slice(&body) else {
            return Err(Error::auth(format!("{auth_type}: {describe} answered without an access_token")));
        };
        if token.is_empty() {
            return Err(Error::auth(format!("{auth_type}: {describe} answered without an access_token")));
        }
        let lifetime = expires_in.map(i64::from).and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs);
        Ok(Token::new(&token, token_type.as_deref(), requested_at, lifetime))
    }

    /// POSTs a form to a token endpoint and returns the body of a 2xx answer; any other answer is an
    /// error naming `who` was refused and why (RFC 6749 `error` and `error_description`, without
    /// Microsoft Entra ID's trace and correlation ids, with its `error_uri`).
    pub(crate) async fn post_form(
        &self,
        auth_type: &str,
        endpoint: &str,
        who: &str,
        basic: Option<(&str, &SecretString)>,
        form: &[(&str, &str)],
    ) -> Result<bytes::Bytes> {
        let describe = format!("the token endpoint {endpoint}");
        let (status, body) = self
            .send(auth_type, &describe, || {
                let request = self.http.post(endpoint).header(reqwest::header::ACCEPT, "application/json").form(form);
                match basic {
                    Some((id, secret)) => request.basic_auth(id, Some(secret.expose())),
                    None => request,
                }
            })
            .await?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let reason = oauth_reason(status, &body);
        Err(Error::auth(format!("{auth_type}: {describe} refused {who} (HTTP {status}): {reason}")))
    }
}

/// The reason in a token endpoint's error answer: RFC 6749 `error: error_description` (without Microsoft
/// Entra ID's trace and correlation ids, at most 1000 characters) with its `error_uri`, else the body's
/// message as [`ApiError`](crate::error::ApiError) reads it.
pub(crate) fn oauth_reason(status: u16, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorResponse {
        error: Option<String>,
        error_description: Option<String>,
        error_uri: Option<String>,
    }
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(ErrorResponse { error: Some(e), error_description, error_uri }) => {
            let description = error_description.as_deref().map(without_trace_ids).filter(|d| !d.is_empty());
            let mut reason = format!("{e}{}", description.map(|d| format!(": {d}")).unwrap_or_default());
            if let Some(uri) = error_uri.filter(|u| u.starts_with("https://")) {
                reason = format!("{}. See {uri}", reason.trim_end_matches('.'));
            }
            reason
        }
        _ => ApiError::from_body(status, body).message().to_owned(),
    }
}

/// An error description without the trace and correlation ids and timestamp Microsoft Entra ID appends
/// (`...\r\nTrace ID: ...\r\nCorrelation ID: ...`), as the Go SDK trims it.
fn without_trace_ids(description: &str) -> String {
    let cut = description.find("Trace ID").map_or(description, |at| &description[..at]);
    crate::redact::truncate(cut.trim_end_matches(|c: char| c.is_whitespace() || c == '.'), 1000)
}

/// How [`OAuthContext::send_with`] makes each attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempts {
    /// How long one attempt may take.
    pub(crate) timeout: Duration,
    /// Whether a transport failure (refused, reset, timed out) is retried; a metadata server that is not
    /// there should fail fast instead.
    pub(crate) retry_transport_failures: bool,
}

impl Default for Attempts {
    fn default() -> Self {
        Self { timeout: REQUEST_TIMEOUT, retry_transport_failures: true }
    }
}

/// `/.well-known/databricks-config`: what a host says about itself. (Its `workspace_id` is not used:
/// this client reaches one workspace by its host, and sends `X-Databricks-Workspace-Id` only when
/// configured.)
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct HostMetadata {
    oidc_endpoint: Option<String>,
    account_id: Option<String>,
    token_federation_default_oidc_audiences: Option<Vec<String>>,
}

/// What discovery found.
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    pub(crate) token_endpoint: String,
    /// The first of host metadata's `token_federation_default_oidc_audiences`.
    pub(crate) audience: Option<String>,
}

/// Where a flow's token endpoint comes from: given, or discovered once.
#[derive(Debug, Default)]
pub(crate) struct TokenEndpoint(Mutex<Option<Discovered>>);

impl TokenEndpoint {
    fn given(url: String) -> Self {
        Self(Mutex::new(Some(Discovered { token_endpoint: url, audience: None })))
    }

    pub(crate) async fn get(&self, context: &OAuthContext, auth_type: &str) -> Result<Discovered> {
        if let Some(found) = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(found);
        }
        let found = context.discover_token_endpoint(auth_type).await?;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(found.clone());
        Ok(found)
    }
}

/// The client-credentials grant of a service principal.
struct ClientCredentials {
    context: OAuthContext,
    client_id: String,
    client_secret: SecretString,
    endpoint: TokenEndpoint,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("host", &self.context.host)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl TokenSource for ClientCredentials {
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            let endpoint = self.endpoint.get(&self.context, "oauth-m2m").await?.token_endpoint;
            self.context.check_secure("oauth-m2m", "the client secret", &endpoint)?;
            let who = format!("client {}", self.client_id);
            let form = [("grant_type", "client_credentials"), ("scope", "all-apis")];
            self.context.request_token("oauth-m2m", &endpoint, &who, Some((&self.client_id, &self.client_secret)), &form, now).await
        })
    }
}

/// OAuth machine-to-machine credentials of a service principal.
///
/// ```
/// use databricks_tokens::auth::{CredentialsProvider, OAuthM2mCredentials};
/// let sp = OAuthM2mCredentials::new("https://example.cloud.databricks.com", "client-id", "client-secret")?;
/// assert_eq!(sp.auth_type(), "oauth-m2m");
/// assert!(!format!("{sp:?}").contains("client-secret"));
/// # Ok::<(), databricks_tokens::Error>(())
/// ```
///
/// The token endpoint is discovered (see [the module](crate::auth) for how); the token is obtained with
/// the client-credentials grant (`scope=all-apis`, HTTP Basic), cached, and refreshed
/// 40 s before it expires. Concurrent callers with a cold or stale
/// cache wait for one refresh. Building it does no network I/O; the first request does.
pub struct OAuthM2mCredentials {
    inner: Refreshing<ClientCredentials>,
}

impl fmt::Debug for OAuthM2mCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.inner.source();
        f.debug_struct("OAuthM2mCredentials")
            .field("host", &source.context.host)
            .field("client_id", &source.client_id)
            .field("client_secret", &source.client_secret)
            .finish_non_exhaustive()
    }
}

impl OAuthM2mCredentials {
    /// Credentials for the service principal `client_id` of the workspace at `host` (normalised URL).
    ///
    /// ```
    /// use databricks_tokens::auth::OAuthM2mCredentials;
    /// let sp = OAuthM2mCredentials::new("https://example.cloud.databricks.com", "client-id", "client-secret")?;
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    ///
    /// Its HTTP client is built like a workspace client's: no redirects, the process's shared TLS set-up.
    ///
    /// # Errors
    ///
    /// A [`Config`](crate::ErrorKind::Config) error when that HTTP client cannot be built (its TLS
    /// back end cannot start).
    pub fn new(host: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Result<Self> {
        let http = crate::tls::http_client(crate::tls::DEFAULT_CONNECT_TIMEOUT)
            .map_err(|e| Error::config("oauth-m2m: the HTTP client could not be built").with_source(e))?;
        Ok(Self::with_context(OAuthContext::new(&host.into(), http), client_id.into(), client_secret.into()))
    }

    pub(crate) fn with_context(context: OAuthContext, client_id: String, client_secret: SecretString) -> Self {
        let clock = Arc::clone(&context.clock);
        let source = ClientCredentials { context, client_id, client_secret, endpoint: TokenEndpoint::default() };
        Self { inner: Refreshing::new("oauth-m2m", source, clock) }
    }

    /// Uses this token endpoint instead of discovering it.
    pub fn token_endpoint(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.map_source(|s| s.endpoint = TokenEndpoint::given(url))
    }

    /// Uses this clock for token expiry and retry waits (inject one in tests).
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map_source(|s| s.context.clock = clock)
    }

    /// Allows sending the client secret over plain `http://` to a host that is not loopback.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::auth::OAuthM2mCredentials;
    /// let sp = OAuthM2mCredentials::new("https://example.cloud.databricks.com", "sp-id", "sp-secret")?
    ///     .token_endpoint("https://example.cloud.databricks.com/oidc/v1/token")
    ///     .allow_insecure_http(false);
    /// assert!(!format!("{sp:?}").contains("sp-secret"));
    /// # Ok(()) }
    /// ```
    pub fn allow_insecure_http(self, allow: bool) -> Self {
        self.map_source(|s| s.context.allow_insecure_http = allow)
    }

    fn map_source(self, change: impl FnOnce(&mut ClientCredentials)) -> Self {
        let mut source = self.inner.into_source();
        change(&mut source);
        let clock = Arc::clone(&source.context.clock);
        Self { inner: Refreshing::new("oauth-m2m", source, clock) }
    }
}

super::refresh::delegate_to_refreshing!(OAuthM2mCredentials);
