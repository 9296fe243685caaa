//! The account client: the account's workspaces (the account Workspaces API, generated from
//! `spec/workspaces.json`), and a [`WorkspaceClient`] for any of them with the account's credentials.
//!
//! ```no_run
//! # async fn example() -> databricks_tokens::Result<()> {
//! use databricks_tokens::AccountClient;
//!
//! // DATABRICKS_HOST=https://accounts.cloud.databricks.com, DATABRICKS_ACCOUNT_ID, and an account-level
//! // credential (DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET of an account admin service principal, ...).
//! let a = AccountClient::from_env()?;
//! for workspace in a.workspaces().list().send().await? {
//!     if !workspace.is_running() {
//!         continue; // only RUNNING workspaces answer API calls
//!     }
//!     let w = a.workspace_client(&workspace)?; // same credentials, the workspace's own host and token
//!     let tokens = w.token_management().list().send().await?;
//!     println!("{}: {} tokens", workspace.workspace_id, tokens.len());
//! }
//! # Ok(()) }
//! ```
//!
//! # The account host and its credentials
//!
//! The host is the account console's (`https://accounts.cloud.databricks.com` on AWS,
//! `https://accounts.azuredatabricks.net` on Azure, `https://accounts.gcp.databricks.com` on Google Cloud;
//! any host in tests) and the account id comes from `DATABRICKS_ACCOUNT_ID` or the profile's `account_id`
//! ([`crate::config`]). The credential chain is the workspace client's, at account level:
//! - `oauth-m2m` gets its tokens from `{host}/oidc/accounts/{account_id}/v1/token` (host metadata, when the
//!   host serves it, names the OIDC root instead, `{account_id}` filled in);
//! - `databricks-cli` runs `databricks auth token --host <host> --account-id <account_id>` (or
//!   `--profile`);
//! - the OIDC federation methods use the account id as the default audience;
//! - the Azure and Google methods and `basic` work as at workspace level.
//!
//! A personal access token (`pat`) is a workspace credential: the account API does not take it, and an
//! account client configured with one is refused when it is built, saying so.
//!
//! # Workspace clients
//!
//! [`AccountClient::workspace_client`] builds a client of one workspace as the Python SDK's
//! `get_workspace_client` does: the host is `https://{deployment_name}{dns_zone}`, the DNS zone being the
//! account host's cloud's (`.cloud.databricks.com`, `.azuredatabricks.net`, `.gcp.databricks.com`,
//! `.cloud.databricks.us`, `.databricks.azure.us`, `.databricks.azure.cn`; `.cloud.databricks.com` for any
//! other host); an Azure workspace's resource id (from `azure_workspace_info`) is carried, and
//! `X-Databricks-Workspace-Id` names the workspace. The credentials are the account's, authenticating anew
//! against the workspace (an OAuth service principal gets its token from the workspace's own endpoint,
//! once per workspace client, refreshed when it expires). A custom provider
//! ([`AccountClientBuilder::credentials`]) is used as it is.
//!
//! How a deployment name becomes a URL can be changed: [`AccountClientBuilder::workspace_url_template`]
//! (`"http://127.0.0.1:8080/ws/{deployment_name}"`, how the local account's workspaces are reached) or
//! [`AccountClientBuilder::workspace_url_resolver`] (any function of the [`Workspace`]).
//!
//! # One pool, one rate limit, one retry budget
//!
//! The workspace clients share the account client's HTTP connection pool and TLS set-up, its rate limit
//! ([`AccountClientBuilder::rate_limit`]: at most that many requests a second from the account client and
//! every workspace client it derived, together) and its retry budget (the shared budget of
//! [`crate::RetryPolicy`]: when many workspaces keep failing, the run stops retrying together instead of
//! multiplying the load). A fleet run over a thousand workspaces opens connections as it needs them from
//! one pool, and never sends faster than the one limit.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::WorkspaceClient;
use crate::auth::oauth::OAuthContext;
use crate::auth::{CredentialsProvider, OAuthM2mCredentials, chain};
use crate::clock::{Clock, SystemClock};
use crate::config::{AuthType, Config, may_carry_credentials, normalize_host};
use crate::error::{Error, Result};
use crate::pipeline::{Pipeline, PipelineParts};
use crate::retry::RetryPolicy;
use crate::secret::SecretString;
use crate::sharing::SharedLimits;
use crate::tls::{DEFAULT_CONNECT_TIMEOUT, http_client};

pub use crate::generated::workspaces::types::{AzureWorkspaceInfo, Workspace};
pub use crate::wire::WorkspaceStatus;

/// A client of a Databricks account: its workspaces, and workspace clients with its credentials.
///
/// ```no_run
/// # async fn example() -> databricks_tokens::Result<()> {
/// use databricks_tokens::AccountClient;
/// let a = AccountClient::builder()
///     .host("https://accounts.cloud.databricks.com")
///     .account_id("0d4c6a2e-...")
///     .oauth_m2m("client-id", "client-secret")
///     .rate_limit(20.0) // for the account client and every workspace client it derives, together
///     .build()?;
/// let workspaces = a.workspaces().list().send().await?;
/// # Ok(()) }
/// ```
///
/// Cheap to clone: clones share the connection pool, the credentials, the rate limiter and the retry
/// budget. Building one does no network I/O. See [the module](self).
#[derive(Clone)]
pub struct AccountClient {
    pipeline: Pipeline,
    host: String,
    account_id: String,
    user_agent: String,
    auth_type: String,
    derive: Arc<Derive>,
}

/// What a workspace client is derived with.
struct Derive {
    credentials: AccountCredentials,
    /// The account's rate limit, retry budget, HTTP client and clock.
    limits: SharedLimits,
    retry: RetryPolicy,
    product: Option<(String, String)>,
    allow_insecure_http: bool,
    max_response_size: Option<u64>,
    urls: WorkspaceUrls,
    dns_zone: &'static str,
}

/// The account's credentials, as a workspace client re-creates them.
#[derive(Debug, Clone)]
enum AccountCredentials {
    OAuthM2m { client_id: String, client_secret: SecretString },
    Config(Box<Config>),
    Provider(Arc<dyn CredentialsProvider>),
}

/// A function of a workspace giving its URL.
type Resolver = Arc<dyn Fn(&Workspace) -> Option<String> + Send + Sync>;

/// How a workspace's URL is found.
#[derive(Clone)]
enum WorkspaceUrls {
    /// `https://{deployment_name}{dns_zone}`, as the Python SDK's `get_workspace_client`.
    DnsZone,
    /// A template with `{deployment_name}` and `{workspace_id}`.
    Template(String),
    /// A function of the workspace.
    Resolver(Resolver),
}

impl fmt::Debug for WorkspaceUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DnsZone => f.write_str("DnsZone"),
            Self::Template(t) => f.debug_tuple("Template").field(t).finish(),
            Self::Resolver(_) => f.write_str("Resolver(..)"),
        }
    }
}

impl fmt::Debug for AccountClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountClient")
            .field("host", &self.host)
            .field("account_id", &self.account_id)
            .field("auth_type", &self.auth_type)
            .field("workspace_urls", &self.derive.urls)
            .finish_non_exhaustive()
    }
}

/// The cloud DNS zones of the account hosts, as the Python SDK's environments list them: the zone of
/// the first whose suffix the account host ends with.
const DNS_ZONES: &[&str] = &[
    ".dev.databricks.com",
    ".staging.cloud.databricks.com",
    ".cloud.databricks.us",
    ".cloud.databricks.mil",
    ".cloud.databricks.com",
    ".dev.azuredatabricks.net",
    ".staging.azuredatabricks.net",
    ".azuredatabricks.net",
    ".databricks.azure.us",
    ".databricks.azure.cn",
    ".dev.gcp.databricks.com",
    ".staging.gcp.databricks.com",
    ".gcp.databricks.com",
];

/// The DNS zone of the workspaces of the account at `host` (a normalised URL): `.cloud.databricks.com`
/// for a host of no known cloud, as the Python SDK defaults to AWS.
fn dns_zone(host: &str) -> &'static str {
    let name = reqwest::Url::parse(host).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)).unwrap_or_default();
    // Azure's government and China account hosts have their workspaces under another zone.
    match name.as_str() {
        "accounts.azuredatabricks.us" => return ".databricks.azure.us",
        "accounts.azuredatabricks.cn" => return ".databricks.azure.cn",
        _ => {}
    }
    DNS_ZONES.iter().find(|zone| name.ends_with(*zone)).copied().unwrap_or(".cloud.databricks.com")
}

impl AccountClient {
    /// Starts building a client from explicit values only (no environment, no config file).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let a = databricks_tokens::AccountClient::builder()
    ///     .host("accounts.cloud.databricks.com")
    ///     .account_id("acc-1")
    ///     .oauth_m2m("client-id", "client-secret")
    ///     .build()?;
    /// assert_eq!(a.host(), "https://accounts.cloud.databricks.com");
    /// # Ok(()) }
    /// ```
    pub fn builder() -> AccountClientBuilder {
        AccountClientBuilder::default()
    }

    /// A client configured from the environment and `~/.databrickscfg` (`DATABRICKS_HOST`,
    /// `DATABRICKS_ACCOUNT_ID`, the credentials), as Python's `AccountClient()`.
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let a = databricks_tokens::AccountClient::from_env()?;
    /// # Ok(()) }
    /// ```
    ///
    /// A configuration whose credentials are a personal access token is refused: the account API does not
    /// take one.
    pub fn from_env() -> Result<Self> {
        Self::builder().config(&Config::from_env()?).build()
    }

    /// The normalised account host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The authentication method in use, by its official name (`oauth-m2m`, `databricks-cli`, ...).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let a = databricks_tokens::AccountClient::builder().host("accounts.cloud.databricks.com").account_id("a")
    ///     .oauth_m2m("id", "secret").build()?;
    /// assert_eq!(a.auth_type(), "oauth-m2m");
    /// # Ok(()) }
    /// ```
    pub fn auth_type(&self) -> &str {
        &self.auth_type
    }

    /// The `User-Agent` header this client (and the workspace clients it derives) sends.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The account Workspaces API: list and get the account's workspaces.
    ///
    /// ```no_run
    /// # async fn example(a: databricks_tokens::AccountClient) -> databricks_tokens::Result<()> {
    /// let running: Vec<_> = a.workspaces().list().send().await?.into_iter().filter(|w| w.is_running()).collect();
    /// # Ok(()) }
    /// ```
    pub fn workspaces(&self) -> Workspaces {
        Workspaces::new(self.clone())
    }

    /// The pipeline the generated builders send through (always there: an account client has no stub).
    pub(crate) fn pipeline(&self) -> Option<&Pipeline> {
        Some(&self.pipeline)
    }

    /// The URL of a workspace: from its deployment name and the account's DNS zone, or as the builder's
    /// template or resolver says.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::account::Workspace;
    /// let a = databricks_tokens::AccountClient::builder().host("https://accounts.azuredatabricks.net").account_id("a")
    ///     .oauth_m2m("id", "secret").build()?;
    /// let ws = Workspace::new(42).set_deployment_name("adb-42.7");
    /// assert_eq!(a.workspace_url(&ws)?, "https://adb-42.7.azuredatabricks.net");
    /// # Ok(()) }
    /// ```
    ///
    /// A workspace without a deployment name (the template or the default needs one), or a URL that does
    /// not parse, is a [`crate::ErrorKind::Config`] error naming the workspace.
    pub fn workspace_url(&self, workspace: &Workspace) -> Result<String> {
        let id = workspace.workspace_id;
        let deployment = || {
            workspace
                .deployment_name
                .as_deref()
                .filter(|d| !d.is_empty())
                .ok_or_else(|| Error::config(format!("workspace {id} has no deployment_name: its URL cannot be derived")))
        };
        let url = match &self.derive.urls {
            WorkspaceUrls::DnsZone => format!("https://{}{}", deployment()?, self.derive.dns_zone),
            WorkspaceUrls::Template(t) => {
                let url = t.replace("{workspace_id}", &id.to_string());
                if url.contains("{deployment_name}") { url.replace("{deployment_name}", deployment()?) } else { url }
            }
            WorkspaceUrls::Resolver(resolve) => {
                resolve(workspace).ok_or_else(|| Error::config(format!("the workspace URL resolver has no URL for workspace {id}")))?
            }
        };
        normalize_host(&url).map_err(|e| Error::config(format!("workspace {id}: {}", e.message())))
    }

    /// A client of `workspace` with the account's credentials, sharing this client's connection pool, TLS
    /// set-up, rate limit and retry budget.
    ///
    /// ```no_run
    /// # async fn example(a: databricks_tokens::AccountClient) -> databricks_tokens::Result<()> {
    /// for workspace in a.workspaces().list().send().await?.iter().filter(|w| w.is_running()) {
    ///     let w = a.workspace_client(workspace)?;
    ///     let every_token = w.token_management().list().send().await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// No network I/O happens here: the workspace client authenticates on its first call (an OAuth service
    /// principal asks the workspace's token endpoint once, then reuses the token until it expires). Build
    /// one per workspace and reuse it. See [the module](self#workspace-clients) for how the host is found.
    pub fn workspace_client(&self, workspace: &Workspace) -> Result<WorkspaceClient> {
        self.workspace_client_sharing(workspace, &self.derive.limits)
    }

    /// A fleet run's limits for this account's workspace clients: the run's retry budget, the run's rate
    /// limit or else the account's, the account's connection pool and clock.
    pub(crate) fn run_limits(&self, run: &SharedLimits) -> SharedLimits {
        run.clone().over(&self.derive.limits)
    }

    /// [`AccountClient::workspace_client`] with `limits` (the account's, or a fleet run's).
    pub(crate) fn workspace_client_sharing(&self, workspace: &Workspace, limits: &SharedLimits) -> Result<WorkspaceClient> {
        let d = &self.derive;
        let host = self.workspace_url(workspace)?;
        let workspace_id = workspace.workspace_id.to_string();
        let mut builder = WorkspaceClient::builder()
            .host(host.clone())
            .retry_policy(d.retry.clone())
            .allow_insecure_http(d.allow_insecure_http)
            .workspace_id(workspace_id.clone())
            .shared_limits(limits);
        if let Some((name, version)) = &d.product {
            builder = builder.product(name.clone(), version.clone());
        }
        if let Some(size) = d.max_response_size {
            builder = builder.max_response_size(size);
        }
        builder = match &d.credentials {
            AccountCredentials::OAuthM2m { client_id, client_secret } => builder.oauth_m2m(client_id.clone(), client_secret.clone()),
            AccountCredentials::Config(config) => {
                let config = config.for_workspace(&host, Some(workspace_id), azure_resource_id(workspace))?;
                // `config()` takes the rate limit and timeouts of the configuration; the shared ones win.
                builder.config(&config).retry_policy(d.retry.clone())
            }
            AccountCredentials::Provider(provider) => builder.provider(Arc::clone(provider)),
        };
        builder.build()
    }
}

/// The Azure resource id of a workspace with `azure_workspace_info`, as the Python SDK builds it.
fn azure_resource_id(workspace: &Workspace) -> Option<String> {
    let info = workspace.azure_workspace_info.as_ref()?;
    Some(format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Databricks/workspaces/{}",
        info.subscription_id.as_deref().unwrap_or_default(),
        info.resource_group.as_deref().unwrap_or_default(),
        workspace.workspace_name.as_deref().unwrap_or_default()
    ))
}

impl Workspace {
    /// Whether its status is `RUNNING`: only running workspaces answer API calls.
    ///
    /// ```
    /// use databricks_tokens::account::{Workspace, WorkspaceStatus};
    /// assert!(Workspace::new(1).set_workspace_status(WorkspaceStatus::Running).is_running());
    /// assert!(!Workspace::new(1).set_workspace_status(WorkspaceStatus::Provisioning).is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.workspace_status == Some(WorkspaceStatus::Running)
    }

    /// Its Azure resource id (`/subscriptions/.../workspaces/<name>`), when it is an Azure workspace.
    ///
    /// ```
    /// use databricks_tokens::account::{AzureWorkspaceInfo, Workspace};
    /// let info = AzureWorkspaceInfo::new().set_subscription_id("s").set_resource_group("rg");
    /// let ws = Workspace::new(1).set_workspace_name("w").set_azure_workspace_info(info);
    /// assert_eq!(ws.azure_resource_id().as_deref(), Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/w"));
    /// ```
    pub fn azure_resource_id(&self) -> Option<String> {
        azure_resource_id(self)
    }
}

pub use service::Workspaces;

/// The service struct the generated builders of `spec/workspaces.json` hang their methods on
/// (`x-rust-service`): a module of its own, which the generated code names, so that it does not depend on
/// the module that uses the generated code.
pub(crate) mod service {
    use super::AccountClient;

    /// The account Workspaces API: its methods (`list`, `get`) and their builders are generated from
    /// `spec/workspaces.json`.
    ///
    /// ```no_run
    /// # async fn example(a: databricks_tokens::AccountClient) -> databricks_tokens::Result<()> {
    /// let all = a.workspaces().list().send().await?; // every workspace, whatever its status, in one page
    /// let one = a.workspaces().get(1234567890).send().await?; // an unknown id is Error::is_not_found
    /// # Ok(()) }
    /// ```
    #[derive(Clone, Debug)]
    pub struct Workspaces {
        client: AccountClient,
    }

    impl Workspaces {
        pub(super) fn new(client: AccountClient) -> Self {
            Self { client }
        }

        /// The client the generated builders own a clone of.
        pub(crate) fn client(&self) -> &AccountClient {
            &self.client
        }
    }
}

pub use crate::generated::workspaces::builders::{GetWorkspace, ListWorkspaces};

/// Builds an [`AccountClient`].
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::AccountClient;
/// let a = AccountClient::builder()
///     .host("https://accounts.cloud.databricks.com")
///     .account_id("acc-1")
///     .oauth_m2m("client-id", "client-secret")
///     .rate_limit(20.0)
///     .workspace_url_template("https://{deployment_name}.example.internal")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Default)]
#[must_use]
pub struct AccountClientBuilder {
    host: Option<String>,
    account_id: Option<String>,
    credentials: Option<AccountCredentials>,
    retry: Option<RetryPolicy>,
    clock: Option<Arc<dyn Clock>>,
    rate_limit: Option<f64>,
    product: Option<(String, String)>,
    allow_insecure_http: bool,
    connect_timeout: Option<Duration>,
    max_response_size: Option<u64>,
    urls: Option<WorkspaceUrls>,
}

impl fmt::Debug for AccountClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountClientBuilder")
            .field("host", &self.host)
            .field("account_id", &self.account_id)
            .field("credentials", &self.credentials)
            .field("rate_limit", &self.rate_limit)
            .field("workspace_urls", &self.urls)
            .finish_non_exhaustive()
    }
}

impl AccountClientBuilder {
    /// The account host, e.g. `https://accounts.cloud.databricks.com`; `https://` is assumed when there is
    /// no scheme.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// The account id.
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }
    /// Authenticates as a service principal with OAuth machine-to-machine, against the account's token
    /// endpoint (`{host}/oidc/accounts/{account_id}/v1/token`) and each workspace's.
    pub fn oauth_m2m(mut self, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        self.credentials = Some(AccountCredentials::OAuthM2m { client_id: client_id.into(), client_secret: client_secret.into() });
        self
    }
    /// Authenticates with any credentials provider, for the account and, as it is, for every workspace.
    pub fn credentials(mut self, provider: impl CredentialsProvider + 'static) -> Self {
        self.credentials = Some(AccountCredentials::Provider(Arc::new(provider)));
        self
    }
    /// Takes host, account id, credentials, rate limit and timeouts from a resolved [`Config`] (values set
    /// on the builder before win for host and account id).
    pub fn config(mut self, config: &Config) -> Self {
        self.host = self.host.or_else(|| Some(config.host().to_owned()));
        self.account_id = self.account_id.or_else(|| config.account_id().map(str::to_owned));
        self.credentials = Some(AccountCredentials::Config(Box::new(config.clone())));
        if let Some(rate) = config.rate_limit() {
            self.rate_limit = Some(rate);
        }
        self.retry = Some(config.apply_timeouts(self.retry.take().unwrap_or_default()));
        self
    }
    /// How failed attempts are retried, by this client and the workspace clients it derives; its shared
    /// budget is one for all of them.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// The clock used for retries, budgets, rate limits and token expiry (inject one in tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }
    /// At most this many requests a second from this client, its clones and every workspace client it
    /// derives, together.
    pub fn rate_limit(mut self, requests_per_second: f64) -> Self {
        self.rate_limit = Some(requests_per_second);
        self
    }
    /// Your product's name and version, first in the `User-Agent`. Default `unknown/0.0.0`.
    pub fn product(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.product = Some((name.into(), version.into()));
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
    /// The largest response body accepted, in bytes, by this client and its workspace clients.
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_size = Some(bytes);
        self
    }
    /// Workspace URLs from a template instead of the cloud's DNS zone: `{deployment_name}` and
    /// `{workspace_id}` are replaced.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::{AccountClient, account::Workspace};
    /// let a = AccountClient::builder().host("http://127.0.0.1:8080").account_id("a").oauth_m2m("id", "s")
    ///     .workspace_url_template("http://127.0.0.1:8080/ws/{deployment_name}")
    ///     .build()?;
    /// let ws = Workspace::new(7).set_deployment_name("dev-7");
    /// assert_eq!(a.workspace_url(&ws)?, "http://127.0.0.1:8080/ws/dev-7");
    /// # Ok(()) }
    /// ```
    pub fn workspace_url_template(mut self, template: impl Into<String>) -> Self {
        self.urls = Some(WorkspaceUrls::Template(template.into()));
        self
    }
    /// Workspace URLs from a function of the workspace (`None`: no URL, an error naming the workspace).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::{AccountClient, account::Workspace};
    /// let a = AccountClient::builder().host("accounts.cloud.databricks.com").account_id("a").oauth_m2m("id", "s")
    ///     .workspace_url_resolver(|ws: &Workspace| Some(format!("https://ws-{}.example.internal", ws.workspace_id)))
    ///     .build()?;
    /// assert_eq!(a.workspace_url(&Workspace::new(7))?, "https://ws-7.example.internal");
    /// # Ok(()) }
    /// ```
    pub fn workspace_url_resolver(mut self, resolve: impl Fn(&Workspace) -> Option<String> + Send + Sync + 'static) -> Self {
        self.urls = Some(WorkspaceUrls::Resolver(Arc::new(resolve)));
        self
    }

    /// Builds the client. No network I/O happens here.
    ///
    /// Fails with [`crate::ErrorKind::Config`] without a host, an account id or credentials, with
    /// credentials that are a personal access token (a workspace credential), or to send credentials over
    /// plain `http://` to a host that is not loopback without [`AccountClientBuilder::allow_insecure_http`].
    pub fn build(self) -> Result<AccountClient> {
        let host = normalize_host(self.host.as_deref().ok_or_else(|| {
            Error::config("no account host configured: set it to https://accounts.cloud.databricks.com (or your cloud's)")
        })?)?;
        let account_id = self.account_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            Error::config(
                "no account_id configured: set DATABRICKS_ACCOUNT_ID, account_id in the profile, or AccountClientBuilder::account_id",
            )
        })?;
        let credentials = self
            .credentials
            .ok_or_else(|| Error::config("no credentials configured: set an OAuth service principal or a credentials provider"))?;
        let pat = match &credentials {
            AccountCredentials::Config(config) => crate::auth::select(config)? == AuthType::Pat,
            AccountCredentials::Provider(provider) => provider.auth_type() == AuthType::Pat.as_str(),
            AccountCredentials::OAuthM2m { .. } => false,
        };
        if pat {
            return Err(Error::config(
                "pat: a personal access token is a workspace credential and the account API does not take it; authenticate the account \
                 client with OAuth (a service principal's client_id and client_secret, databricks-cli, OIDC federation) or an Azure or \
                 Google identity",
            ));
        }
        let url = reqwest::Url::parse(&host).map_err(|e| Error::config(format!("host {host:?}: {e}")))?;
        if !may_carry_credentials(&url, self.allow_insecure_http) {
            return Err(Error::config(format!(
                "refusing to send credentials over plain http:// to {host}: use https://, or opt in with \
                 AccountClientBuilder::allow_insecure_http(true)"
            )));
        }
        let http = http_client(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .map_err(|e| Error::config("the HTTP client could not be built").with_source(e))?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let retry = self.retry.unwrap_or_default();
        let limits = SharedLimits::new(self.rate_limit, retry.shared_budget(), retry.shared_budget())?
            .with_transport(http.clone(), Arc::clone(&clock));
        // The account's own budget, which its token requests spend from too.
        let retry_budget = limits.client_budget(retry.shared_budget());
        let context = OAuthContext {
            clock: Arc::clone(&clock),
            allow_insecure_http: self.allow_insecure_http,
            account_id: Some(account_id.clone()),
            account_host: true,
            retry_budget: Some(Arc::clone(&retry_budget)),
            ..OAuthContext::new(&host, http.clone())
        };
        let provider: Arc<dyn CredentialsProvider> = match &credentials {
            AccountCredentials::OAuthM2m { client_id, client_secret } => {
                Arc::new(OAuthM2mCredentials::with_context(context, client_id.clone(), client_secret.clone()))
            }
            AccountCredentials::Config(config) => chain::provider(config, context)?,
            AccountCredentials::Provider(p) => Arc::clone(p),
        };
        let pipeline = Pipeline::new(PipelineParts {
            http: http.clone(),
            credentials: provider,
            base_url: url,
            retry: retry.clone(),
            clock: Arc::clone(&clock),
            rate_limit: None,
            product: self.product.clone().unwrap_or_else(|| ("unknown".to_owned(), "0.0.0".to_owned())),
            workspace_id: None,
            max_response_size: self.max_response_size.unwrap_or(crate::decode::DEFAULT_MAX_RESPONSE_SIZE),
            shared: limits.clone(),
            retry_budget: Some(retry_budget),
        })?;
        let (user_agent, auth_type) = (pipeline.user_agent().to_owned(), pipeline.auth_type().to_owned());
        let dns_zone = dns_zone(&host);
        Ok(AccountClient {
            pipeline,
            host,
            account_id,
            user_agent,
            auth_type,
            derive: Arc::new(Derive {
                credentials,
                limits,
                retry,
                product: self.product,
                allow_insecure_http: self.allow_insecure_http,
                max_response_size: self.max_response_size,
                urls: self.urls.unwrap_or(WorkspaceUrls::DnsZone),
                dns_zone,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_zones_follow_the_account_host() {
        assert_eq!(dns_zone("https://accounts.cloud.databricks.com"), ".cloud.databricks.com");
        assert_eq!(dns_zone("https://accounts.azuredatabricks.net"), ".azuredatabricks.net");
        assert_eq!(dns_zone("https://accounts.gcp.databricks.com"), ".gcp.databricks.com");
        assert_eq!(dns_zone("https://accounts.cloud.databricks.us"), ".cloud.databricks.us");
        assert_eq!(dns_zone("https://accounts-dod.cloud.databricks.mil"), ".cloud.databricks.mil");
        assert_eq!(dns_zone("https://accounts.azuredatabricks.us"), ".databricks.azure.us");
        assert_eq!(dns_zone("http://127.0.0.1:8080"), ".cloud.databricks.com");
    }

    #[test]
    fn a_workspace_configuration_drops_the_accounts_and_carries_the_azure_resource_id() {
        let account = Config::builder()
            .host("https://accounts.azuredatabricks.net")
            .account_id("acc-1")
            .azure_client_id("app")
            .azure_client_secret("azure-secret")
            .azure_tenant_id("tenant")
            .discovery_url("https://accounts.azuredatabricks.net/oidc/accounts/acc-1/.well-known/oauth-authorization-server")
            .token_audience("acc-1")
            .env_vars(Vec::<(String, String)>::new())
            .build()
            .unwrap();
        let info = AzureWorkspaceInfo::new().set_subscription_id("sub").set_resource_group("rg");
        let ws = Workspace::new(7).set_workspace_name("analytics").set_deployment_name("adb-7.1").set_azure_workspace_info(info);
        let config = account.for_workspace("https://adb-7.1.azuredatabricks.net", Some("7".to_owned()), ws.azure_resource_id()).unwrap();
        assert_eq!(config.host(), "https://adb-7.1.azuredatabricks.net");
        assert_eq!(config.auth_type(), account.auth_type());
        assert_eq!(
            config.azure_workspace_resource_id(),
            Some("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/analytics")
        );
        assert_eq!((config.workspace_id(), config.account_id()), (Some("7"), None));
        assert_eq!(
            (config.discovery_url(), config.token_audience()),
            (None, None),
            "the account's OAuth endpoints are not the workspace's"
        );
        assert_eq!(config.azure_client_secret().map(|s| s.expose().to_owned()).as_deref(), Some("azure-secret"));
    }

    #[test]
    fn unknown_statuses_are_kept() {
        for known in WorkspaceStatus::KNOWN.into_iter().chain(["SOMETHING_NEW"]) {
            assert_eq!(WorkspaceStatus::from_wire(known).as_str(), known);
        }
        assert_eq!(WorkspaceStatus::from_wire("SOMETHING_NEW"), WorkspaceStatus::Unknown("SOMETHING_NEW".to_owned()));
    }
}
