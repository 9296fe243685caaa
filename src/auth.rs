//! Where the credentials of every request come from.
//!
//! A [`CredentialsProvider`] returns the headers that authenticate a request. The crate ships
//! [`PatCredentials`] (a personal access token sent as `Authorization: Bearer ...`) and
//! [`OAuthM2mCredentials`] (a service principal's OAuth client-credentials grant); plug in your own source
//! (a vault, a sidecar) by implementing the trait.

use std::fmt::{self, Debug};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::{BoxFuture, Clock, SystemClock};
use crate::config::may_carry_credentials;
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// A header name and its secret value, as a provider returns them.
pub type AuthHeader = (String, SecretString);

/// A source of request credentials.
///
/// ```
/// use databricks_tokens::auth::{AuthHeader, CredentialsProvider};
/// use databricks_tokens::{clock::BoxFuture, Result, SecretString};
///
/// #[derive(Debug)]
/// struct FromVault;
///
/// impl CredentialsProvider for FromVault {
///     fn auth_type(&self) -> &str { "vault" }
///     fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>> {
///         Box::pin(async { Ok(vec![("Authorization".into(), SecretString::new("Bearer from-the-vault"))]) })
///     }
/// }
/// ```
///
/// `headers` is called before every attempt; cache inside the provider. After a 401 the client calls
/// [`CredentialsProvider::invalidate`] and, when it returns `true`, replays the request once with fresh
/// headers.
pub trait CredentialsProvider: Send + Sync + Debug {
    /// The name sent in the `User-Agent` as `auth/<name>`, e.g. `pat`, `oauth-m2m`.
    fn auth_type(&self) -> &str;
    /// The headers to add to a request.
    fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>>;
    /// Drops cached credentials after the server refused them; returns whether fresh ones may differ
    /// (and so whether one replay is worth it). The default: nothing to refresh.
    fn invalidate(&self) -> bool {
        false
    }
}

/// A personal access token: `Authorization: Bearer <token>`.
///
/// ```
/// use databricks_tokens::auth::PatCredentials;
/// let pat = PatCredentials::new("dapi-example");
/// assert_eq!(format!("{pat:?}"), "PatCredentials { token: SecretString(***) }");
/// ```
#[derive(Debug, Clone)]
pub struct PatCredentials {
    token: SecretString,
}

impl PatCredentials {
    /// Wraps a personal access token.
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self { token: token.into() }
    }
}

impl CredentialsProvider for PatCredentials {
    fn auth_type(&self) -> &str {
        "pat"
    }
    fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>> {
        let value = SecretString::new(format!("Bearer {}", self.token.expose()));
        Box::pin(async move { Ok(vec![("Authorization".to_owned(), value)]) })
    }
}

/// How long one discovery or token request may take.
const OAUTH_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How early a cached OAuth token is refreshed before it expires.
pub const OAUTH_REFRESH_MARGIN: Duration = Duration::from_secs(40);

/// OAuth machine-to-machine credentials of a service principal.
///
/// ```
/// use databricks_tokens::auth::{CredentialsProvider, OAuthM2mCredentials};
/// let sp = OAuthM2mCredentials::new("https://example.cloud.databricks.com", "client-id", "client-secret");
/// assert_eq!(sp.auth_type(), "oauth-m2m");
/// assert!(!format!("{sp:?}").contains("client-secret"));
/// ```
///
/// The token endpoint is discovered at `{host}/oidc/.well-known/oauth-authorization-server`; the token is
/// obtained with the client-credentials grant (`scope=all-apis`, HTTP Basic), cached, and refreshed
/// [`OAUTH_REFRESH_MARGIN`] before it expires. Concurrent callers with a cold or stale cache wait for one
/// refresh. Building it does no network I/O; the first request does.
pub struct OAuthM2mCredentials {
    host: String,
    client_id: String,
    client_secret: SecretString,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    allow_insecure_http: bool,
    token_endpoint: Mutex<Option<String>>,
    cached: Mutex<Option<CachedToken>>,
    refresh: tokio::sync::Mutex<()>,
}

struct CachedToken {
    header: SecretString,
    expires_at: Instant,
}

impl fmt::Debug for OAuthM2mCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthM2mCredentials")
            .field("host", &self.host)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl OAuthM2mCredentials {
    /// Credentials for the service principal `client_id` of the workspace at `host` (normalised URL).
    pub fn new(host: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        Self::with_http(host, client_id, client_secret, reqwest::Client::new())
    }

    /// The same, sharing a workspace client's connection pool.
    pub(crate) fn with_http(
        host: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            host: host.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            http,
            clock: Arc::new(SystemClock),
            allow_insecure_http: false,
            token_endpoint: Mutex::new(None),
            cached: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// Uses this token endpoint instead of discovering it.
    pub fn with_token_endpoint(self, url: impl Into<String>) -> Self {
        *self.token_endpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(url.into());
        self
    }

    /// Uses this clock for token expiry (inject one in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Allows sending the client secret over plain `http://` to a host that is not loopback.
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    fn cached_header(&self) -> Option<SecretString> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let fresh_until = |t: &CachedToken| t.expires_at.checked_sub(OAUTH_REFRESH_MARGIN);
        cached.as_ref().filter(|t| fresh_until(t).is_some_and(|until| self.clock.now() < until)).map(|t| t.header.clone())
    }

    /// Refuses to send the client secret anywhere but https (or loopback http, or where the user opted in).
    fn check_token_endpoint(&self, url: &str) -> Result<()> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| Error::auth(format!("oauth-m2m: the token endpoint {url:?} is not a URL: {e}")))?;
        if !may_carry_credentials(&parsed, self.allow_insecure_http) {
            return Err(Error::auth(format!(
                "oauth-m2m: refusing to send the client secret to {url}: the token endpoint must use https:// \
                 (or opt in with ClientBuilder::allow_insecure_http(true))"
            )));
        }
        Ok(())
    }

    async fn token_endpoint(&self) -> Result<String> {
        if let Some(url) = self.token_endpoint.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(url);
        }
        #[derive(serde::Deserialize)]
        struct Discovery {
            token_endpoint: Option<String>,
        }
        let url = format!("{}/oidc/.well-known/oauth-authorization-server", self.host);
        let response = self
            .http
            .get(&url)
            .timeout(OAUTH_REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| Error::auth(format!("oauth-m2m: could not reach {url}")).with_source(e.without_url()))?;
        let status = response.status().as_u16();
        let body =
            response.bytes().await.map_err(|e| Error::auth(format!("oauth-m2m: reading {url} failed")).with_source(e.without_url()))?;
        if !(200..300).contains(&status) {
            let api = crate::error::ApiError::from_body(status, &body);
            return Err(Error::auth(format!("oauth-m2m: token endpoint discovery at {url} failed: {api}")));
        }
        let endpoint = serde_json::from_slice::<Discovery>(&body)
            .ok()
            .and_then(|d| d.token_endpoint)
            .ok_or_else(|| Error::auth(format!("oauth-m2m: {url} did not name a token_endpoint")))?;
        *self.token_endpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(endpoint.clone());
        Ok(endpoint)
    }

    async fn fetch(&self) -> Result<CachedToken> {
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: Option<SecretString>,
            token_type: Option<String>,
            expires_in: Option<crate::wire::Int64>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let endpoint = self.token_endpoint().await?;
        self.check_token_endpoint(&endpoint)?;
        let requested_at = self.clock.now();
        let response = self
            .http
            .post(&endpoint)
            .timeout(OAUTH_REQUEST_TIMEOUT)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
            .send()
            .await
            .map_err(|e| Error::auth(format!("oauth-m2m: could not reach the token endpoint {endpoint}")).with_source(e.without_url()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::auth(format!("oauth-m2m: reading the token response of {endpoint} failed")).with_source(e.without_url()))?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let reason = match &parsed {
                Some(TokenResponse { error: Some(e), error_description, .. }) => {
                    format!("{e}{}", error_description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())
                }
                _ => crate::error::ApiError::from_body(status, &body).message().to_owned(),
            };
            return Err(Error::auth(format!(
                "oauth-m2m: the token endpoint {endpoint} refused client {} (HTTP {status}): {reason}",
                self.client_id
            )));
        }
        let Some(TokenResponse { access_token: Some(token), token_type, expires_in, .. }) = parsed else {
            return Err(Error::auth(format!("oauth-m2m: the token endpoint {endpoint} answered without an access_token")));
        };
        // A lifetime the server got wrong (absent, negative, absurd) is clamped: refreshing early is harmless.
        let lifetime = expires_in.map(i64::from).filter(|s| *s > 0).map_or(Duration::from_secs(300), |s| Duration::from_secs(s as u64));
        let lifetime = lifetime.min(Duration::from_secs(24 * 3600));
        let token_type = token_type.filter(|t| !t.is_empty()).unwrap_or_else(|| "Bearer".to_owned());
        Ok(CachedToken {
            header: SecretString::new(format!("{token_type} {}", token.expose())),
            expires_at: requested_at.checked_add(lifetime).unwrap_or(requested_at),
        })
    }
}

impl CredentialsProvider for OAuthM2mCredentials {
    fn auth_type(&self) -> &str {
        "oauth-m2m"
    }

    fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>> {
        Box::pin(async move {
            if let Some(header) = self.cached_header() {
                return Ok(vec![("Authorization".to_owned(), header)]);
            }
            let _one_refresh_at_a_time = self.refresh.lock().await;
            if let Some(header) = self.cached_header() {
                return Ok(vec![("Authorization".to_owned(), header)]);
            }
            let fresh = self.fetch().await?;
            let header = fresh.header.clone();
            *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
            Ok(vec![("Authorization".to_owned(), header)])
        })
    }

    fn invalidate(&self) -> bool {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
        true
    }
}
