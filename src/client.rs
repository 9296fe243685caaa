//! The workspace client: configuration, credentials and the services it reaches.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::oauth::OAuthContext;
use crate::auth::{CredentialsProvider, OAuthM2mCredentials, PatCredentials, chain};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, may_carry_credentials, normalize_host};
use crate::error::{Error, Result};
use crate::pipeline::{Pipeline, PipelineParts};
use crate::retry::RetryPolicy;
use crate::secret::SecretString;
use crate::sharing::SharedLimits;
use crate::stub::{self, DynTokenManagement, DynTokens};
use crate::tls::{DEFAULT_CONNECT_TIMEOUT, http_client};

/// A client of one Databricks workspace.
///
/// ```no_run
/// # async fn example() -> databricks_tokens::Result<()> {
/// use databricks_tokens::WorkspaceClient;
/// let w = WorkspaceClient::builder().host("https://example.cloud.databricks.com").token("dapi...").build()?;
/// let created = w.tokens().create().comment("ci").send().await?;
/// for info in w.tokens().list().send().await? {
///     println!("{} {:?}", info.token_id, info.comment);
/// }
/// # Ok(()) }
/// ```
///
/// Cheap to clone: clones share the connection pool, the credentials, the rate limiter and the retry
/// budget. Building one does no network I/O.
#[derive(Clone)]
pub struct WorkspaceClient {
    /// Everything the client holds, behind one reference count: every builder holds a clone of the client,
    /// so a clone is one atomic increment (no allocation, no other shared counter touched per call).
    inner: Arc<ClientInner>,
}

#[derive(Clone)]
struct ClientInner {
    /// The stubs the calls go to, when the client was given them; else the pipeline answers the calls
    /// (`crate::tokens` and `crate::token_management` implement the stub traits over it).
    tokens_stub: Option<Arc<dyn DynTokens>>,
    token_management_stub: Option<Arc<dyn DynTokenManagement>>,
    /// The pipeline of a client of a workspace (`None` for a client of stubs).
    pipeline: Option<Pipeline>,
    host: String,
    user_agent: String,
    auth_type: String,
    clock: Arc<dyn Clock>,
    /// The client's retry policy (the pipeline holds its own copy), for calls made of several requests.
    retry: RetryPolicy,
}

impl fmt::Debug for WorkspaceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceClient")
            .field("host", &self.inner.host)
            .field("user_agent", &self.inner.user_agent)
            .field("auth_type", &self.inner.auth_type)
            .finish_non_exhaustive()
    }
}

impl WorkspaceClient {
    /// Starts building a client from explicit values only (no environment, no config file).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment and `~/.databrickscfg`, as Python's `WorkspaceClient()`.
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::WorkspaceClient::from_env()?;
    /// # Ok(()) }
    /// ```
    ///
    /// See [`crate::config`] for where it looks and in which order. No network I/O happens here.
    pub fn from_env() -> Result<Self> {
        Self::from_config(&Config::from_env()?)
    }

    /// A client of a resolved [`Config`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::{WorkspaceClient, config::Config};
    /// let w = WorkspaceClient::from_config(&Config::builder().profile("prod").build()?)?;
    /// # Ok(()) }
    /// ```
    pub fn from_config(config: &Config) -> Result<Self> {
        Self::builder().config(config).build()
    }

    /// The normalised workspace URL.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// A client whose calls go to `stub` instead of a workspace: for tests of code that takes a
    /// `WorkspaceClient` (see [`crate::stub`]).
    ///
    /// ```
    /// #[derive(Debug)]
    /// struct Nothing;
    /// impl databricks_tokens::stub::Tokens for Nothing {}
    /// let w = databricks_tokens::WorkspaceClient::from_stub(Nothing);
    /// assert_eq!(w.auth_type(), "stub");
    /// ```
    pub fn from_stub(stub: impl stub::Tokens + 'static) -> Self {
        Self {
            inner: Arc::new(ClientInner {
                tokens_stub: Some(Arc::new(stub)),
                token_management_stub: Some(Arc::new(stub::Unimplemented)),
                pipeline: None,
                host: "stub://".to_owned(),
                user_agent: String::new(),
                auth_type: "stub".to_owned(),
                clock: Arc::new(SystemClock),
                retry: RetryPolicy::default(),
            }),
        }
    }

    /// This client with its Token Management calls going to `stub` (see [`stub::TokenManagement`]).
    ///
    /// ```
    /// # #[derive(Debug)] struct NoTokens;
    /// # impl databricks_tokens::stub::Tokens for NoTokens {}
    /// #[derive(Debug)]
    /// struct NotAnAdmin;
    /// impl databricks_tokens::stub::TokenManagement for NotAnAdmin {}
    /// let w = databricks_tokens::WorkspaceClient::from_stub(NoTokens).with_token_management_stub(NotAnAdmin);
    /// ```
    pub fn with_token_management_stub(mut self, stub: impl stub::TokenManagement + 'static) -> Self {
        Arc::make_mut(&mut self.inner).token_management_stub = Some(Arc::new(stub));
        self
    }

    /// The `User-Agent` header this client sends.
    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    /// The authentication method in use, by its official name (`pat`, `oauth-m2m`, `databricks-cli`, ...;
    /// a custom provider's own name). It is also sent in the `User-Agent` as `auth/<name>`.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::WorkspaceClient::builder().host("https://example.cloud.databricks.com").token("dapi-x").build()?;
    /// assert_eq!(w.auth_type(), "pat");
    /// # Ok(()) }
    /// ```
    pub fn auth_type(&self) -> &str {
        &self.inner.auth_type
    }

    /// The clock this client measures time with.
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// The client's retry policy and clock, for calls made of several requests.
    pub(crate) fn retry_and_clock(&self) -> (&RetryPolicy, &dyn Clock) {
        (&self.inner.retry, self.inner.clock.as_ref())
    }

    /// The Tokens stub this client was given, if any (`WorkspaceClient::stub` answers with the pipeline
    /// otherwise).
    pub(crate) fn given_tokens_stub(&self) -> Option<&dyn DynTokens> {
        self.inner.tokens_stub.as_deref()
    }

    /// The Token Management stub this client was given, if any.
    pub(crate) fn given_token_management_stub(&self) -> Option<&dyn DynTokenManagement> {
        self.inner.token_management_stub.as_deref()
    }

    /// The pipeline of a client of a workspace; `None` for a client of stubs.
    pub(crate) fn pipeline(&self) -> Option<&Pipeline> {
        self.inner.pipeline.as_ref()
    }
}

/// Builds a [`WorkspaceClient`].
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use std::time::Duration;
/// use databricks_tokens::{RetryPolicy, WorkspaceClient};
/// let w = WorkspaceClient::builder()
///     .host("example.cloud.databricks.com")
///     .token("dapi-example")
///     .retry_policy(RetryPolicy::default().with_timeout(Duration::from_secs(60)))
///     .rate_limit(15.0)
///     .product("token-janitor", "1.2.0")
///     .build()?;
/// assert_eq!(w.host(), "https://example.cloud.databricks.com");
/// assert!(w.user_agent().starts_with("token-janitor/1.2.0 databricks-tokens-rs/"));
/// # Ok(()) }
/// ```
///
/// Credentials are refused over plain `http://` to a host that is not loopback unless
/// [`ClientBuilder::allow_insecure_http`] says otherwise.
#[derive(Default)]
#[must_use]
pub struct ClientBuilder {
    host: Option<String>,
    credentials: Option<CredentialsSpec>,
    retry: Option<RetryPolicy>,
    clock: Option<Arc<dyn Clock>>,
    rate_limit: Option<f64>,
    product: Option<(String, String)>,
    workspace_id: Option<String>,
    allow_insecure_http: bool,
    connect_timeout: Option<Duration>,
    max_response_size: Option<u64>,
    /// What this client shares with others (an account's, a fleet run's): rate limit, retry budget, and
    /// perhaps the HTTP client and clock.
    shared: SharedLimits,
}

/// The credentials asked for, turned into a provider by [`ClientBuilder::build`].
#[derive(Debug)]
enum CredentialsSpec {
    Provider(Arc<dyn CredentialsProvider>),
    OAuthM2m {
        client_id: String,
        client_secret: SecretString,
    },
    /// The provider a resolved configuration selected (see [`crate::auth`]).
    FromConfig(Box<Config>),
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("host", &self.host)
            .field("credentials", &self.credentials)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The workspace URL; `https://` is assumed when there is no scheme.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Authenticates with a personal access token.
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.credentials = Some(CredentialsSpec::Provider(Arc::new(PatCredentials::new(token))));
        self
    }
    /// Authenticates as a service principal with OAuth machine-to-machine (client credentials).
    pub fn oauth_m2m(mut self, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        self.credentials = Some(CredentialsSpec::OAuthM2m { client_id: client_id.into(), client_secret: client_secret.into() });
        self
    }
    /// Authenticates with any credentials provider.
    pub fn credentials(mut self, provider: impl CredentialsProvider + 'static) -> Self {
        self.credentials = Some(CredentialsSpec::Provider(Arc::new(provider)));
        self
    }
    /// Takes host, credentials, workspace id, rate limit and timeouts from a resolved [`Config`].
    pub fn config(mut self, config: &Config) -> Self {
        self.host = Some(config.host().to_owned());
        self.credentials = Some(CredentialsSpec::FromConfig(Box::new(config.clone())));
        if let Some(id) = config.workspace_id() {
            self.workspace_id = Some(id.to_owned());
        }
        if let Some(rate) = config.rate_limit() {
            self.rate_limit = Some(rate);
        }
        self.retry = Some(config.apply_timeouts(self.retry.take().unwrap_or_default()));
        self
    }
    /// How failed attempts are retried; see [`RetryPolicy`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// The clock used for retries, budgets and rate limits (inject one in tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }
    /// At most this many requests a second from this client and its clones.
    pub fn rate_limit(mut self, requests_per_second: f64) -> Self {
        self.rate_limit = Some(requests_per_second);
        self
    }
    /// Your product's name and version, first in the `User-Agent`. Default `unknown/0.0.0`.
    pub fn product(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.product = Some((name.into(), version.into()));
        self
    }
    /// Sends `X-Databricks-Workspace-Id` with every request.
    pub fn workspace_id(mut self, id: impl Into<String>) -> Self {
        self.workspace_id = Some(id.into());
        self
    }
    /// Allows sending credentials over plain `http://` to a host that is not loopback.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }
    /// How long connecting may take. Default 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }
    /// The largest response body accepted, in bytes (default 64 MiB).
    /// A larger one fails with [`crate::ErrorKind::ResponseTooLarge`] and its connection is dropped.
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_size = Some(bytes);
        self
    }

    /// Shares a rate limiter and a retry budget with every client built with the same `limits`: a fleet
    /// run's ([`crate::fleet::Fleet::limits`]), or an account client's for the workspace clients it derives
    /// (which share its HTTP client and clock too).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::WorkspaceClient;
    /// use databricks_tokens::fleet::{Fleet, FleetOptions};
    /// let fleet = Fleet::new(FleetOptions::default().rate_limit(20.0))?;
    /// let w = WorkspaceClient::builder().host("https://a.cloud.databricks.com").token("dapi-x").shared_limits(fleet.limits()).build()?;
    /// # Ok(()) }
    /// ```
    ///
    /// The shared rate limit, when the run has one, replaces [`ClientBuilder::rate_limit`]. A retry is paid
    /// from the client's own budget (at most the run's per-workspace share) and from the run's, so one
    /// failing workspace cannot spend the others' retries, and a failing region stops retrying as a whole.
    /// Limits that carry an HTTP client (an account's) replace [`ClientBuilder::connect_timeout`]'s; their
    /// clock is used unless [`ClientBuilder::clock`] sets one.
    pub fn shared_limits(mut self, limits: &SharedLimits) -> Self {
        self.shared = limits.clone();
        self
    }

    /// Authenticates with a provider another client holds too.
    pub(crate) fn provider(mut self, provider: Arc<dyn CredentialsProvider>) -> Self {
        self.credentials = Some(CredentialsSpec::Provider(provider));
        self
    }

    /// Builds the client. No network I/O happens here.
    pub fn build(self) -> Result<WorkspaceClient> {
        let host = normalize_host(self.host.as_deref().ok_or_else(|| Error::config("no host configured: set the workspace URL"))?)?;
        let credentials =
            self.credentials.ok_or_else(|| Error::config("no credentials configured: set a token or a credentials provider"))?;
        let url = reqwest::Url::parse(&host).map_err(|e| Error::config(format!("host {host:?}: {e}")))?;
        if !may_carry_credentials(&url, self.allow_insecure_http) {
            return Err(Error::config(format!(
                "refusing to send credentials over plain http:// to {host}: use https://, or opt in with \
                 ClientBuilder::allow_insecure_http(true)"
            )));
        }
        let http = match self.shared.http() {
            Some(http) => http.clone(),
            None => http_client(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .map_err(|e| Error::config("the HTTP client could not be built").with_source(e))?,
        };
        let clock = self.clock.or_else(|| self.shared.clock().cloned()).unwrap_or_else(|| Arc::new(SystemClock));
        let retry = self.retry.unwrap_or_default();
        // A client sharing a retry budget (a fleet run's, an account's) pays its token requests' retries
        // from its budget too.
        let retry_budget = self.shared.shares_budget().then(|| self.shared.client_budget(retry.shared_budget()));
        let context = OAuthContext {
            clock: Arc::clone(&clock),
            allow_insecure_http: self.allow_insecure_http,
            retry_budget: retry_budget.clone(),
            ..OAuthContext::new(&host, http.clone())
        };
        let credentials: Arc<dyn CredentialsProvider> = match credentials {
            CredentialsSpec::Provider(p) => p,
            CredentialsSpec::OAuthM2m { client_id, client_secret } => {
                Arc::new(OAuthM2mCredentials::with_context(context, client_id, client_secret))
            }
            CredentialsSpec::FromConfig(config) => chain::provider(&config, context)?,
        };
        let pipeline = Pipeline::new(PipelineParts {
            http,
            credentials,
            base_url: url,
            retry: retry.clone(),
            clock: Arc::clone(&clock),
            rate_limit: self.rate_limit,
            product: self.product.unwrap_or_else(|| ("unknown".to_owned(), "0.0.0".to_owned())),
            workspace_id: self.workspace_id,
            max_response_size: self.max_response_size.unwrap_or(crate::decode::DEFAULT_MAX_RESPONSE_SIZE),
            shared: self.shared,
            retry_budget,
        })?;
        let (user_agent, auth_type) = (pipeline.user_agent().to_owned(), pipeline.auth_type().to_owned());
        Ok(WorkspaceClient {
            inner: Arc::new(ClientInner {
                tokens_stub: None,
                token_management_stub: None,
                pipeline: Some(pipeline),
                host,
                user_agent,
                auth_type,
                clock,
                retry,
            }),
        })
    }
}
