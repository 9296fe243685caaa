//! Client configuration resolved the way every Databricks tool resolves it.
//!
//! Sources, first match wins for each attribute: explicit values (the [`ConfigBuilder`]) → environment
//! variables → a profile of the config file (`~/.databrickscfg`, INI). Attribute names are the INI keys.
//!
//! | attribute | environment | INI key |
//! |---|---|---|
//! | host | `DATABRICKS_HOST` | `host` |
//! | token | `DATABRICKS_TOKEN` | `token` |
//! | username | `DATABRICKS_USERNAME` | `username` |
//! | password | `DATABRICKS_PASSWORD` | `password` |
//! | client_id | `DATABRICKS_CLIENT_ID` | `client_id` |
//! | client_secret | `DATABRICKS_CLIENT_SECRET` | `client_secret` |
//! | databricks_cli_path | `DATABRICKS_CLI_PATH` | `databricks_cli_path` |
//! | metadata_service_url | `DATABRICKS_METADATA_SERVICE_URL` | `metadata_service_url` |
//! | token_audience | `DATABRICKS_TOKEN_AUDIENCE` | `token_audience` |
//! | oidc_token_env | `DATABRICKS_OIDC_TOKEN_ENV` | `oidc_token_env` |
//! | oidc_token_filepath | `DATABRICKS_OIDC_TOKEN_FILEPATH` | `oidc_token_filepath` |
//! | discovery_url | `DATABRICKS_DISCOVERY_URL` | `discovery_url` |
//! | azure_workspace_resource_id | `DATABRICKS_AZURE_RESOURCE_ID` | `azure_workspace_resource_id` |
//! | azure_use_msi | `ARM_USE_MSI` | `azure_use_msi` |
//! | azure_client_id | `ARM_CLIENT_ID` | `azure_client_id` |
//! | azure_client_secret | `ARM_CLIENT_SECRET` | `azure_client_secret` |
//! | azure_tenant_id | `ARM_TENANT_ID` | `azure_tenant_id` |
//! | azure_environment | `ARM_ENVIRONMENT` | `azure_environment` |
//! | azure_login_endpoint | `DATABRICKS_AZURE_LOGIN_ENDPOINT` | `azure_login_endpoint` |
//! | azure_msi_endpoint | `DATABRICKS_AZURE_MSI_ENDPOINT` | `azure_msi_endpoint` |
//! | google_credentials | `GOOGLE_CREDENTIALS` | `google_credentials` |
//! | google_service_account | `DATABRICKS_GOOGLE_SERVICE_ACCOUNT` | `google_service_account` |
//! | google_token_endpoint | `DATABRICKS_GOOGLE_TOKEN_ENDPOINT` | `google_token_endpoint` |
//! | google_iam_endpoint | `DATABRICKS_GOOGLE_IAM_ENDPOINT` | `google_iam_endpoint` |
//! | gce_metadata_host | `GCE_METADATA_HOST` | `gce_metadata_host` |
//! | cloud | `DATABRICKS_CLOUD` | `cloud` |
//! | actions_id_token_request_url | `ACTIONS_ID_TOKEN_REQUEST_URL` | — |
//! | actions_id_token_request_token | `ACTIONS_ID_TOKEN_REQUEST_TOKEN` | — |
//! | profile | `DATABRICKS_CONFIG_PROFILE` | — |
//! | config_file | `DATABRICKS_CONFIG_FILE` | — |
//! | auth_type | `DATABRICKS_AUTH_TYPE` | `auth_type` |
//! | workspace_id | `DATABRICKS_WORKSPACE_ID` | `workspace_id` |
//! | account_id | `DATABRICKS_ACCOUNT_ID` | `account_id` |
//! | rate_limit | `DATABRICKS_RATE_LIMIT` | `rate_limit` |
//! | http_timeout_seconds | `DATABRICKS_HTTP_TIMEOUT_SECONDS` | `http_timeout_seconds` |
//! | retry_timeout_seconds | `DATABRICKS_RETRY_TIMEOUT_SECONDS` | `retry_timeout_seconds` |
//!
//! The profile: the explicit one (builder or `DATABRICKS_CONFIG_PROFILE`), else `[__settings__]
//! default_profile`, else `[DEFAULT]`. `[DEFAULT]` is **not** merged into other profiles, and
//! `__settings__` is never a profile. An explicit or `default_profile` profile that does not exist is an
//! error; a missing `[DEFAULT]` is not. A named profile whose config file does not exist is an error only
//! when the rest of the configuration is incomplete (as in the Python SDK). The file is not read at all
//! when no profile is named and a host or credentials are already set. Keys are case-insensitive (`HOST`
//! reads as `host`). Inline comments follow the Databricks CLI: whitespace then `#` or `;` starts a
//! comment; a `#` inside a value (a secret may hold one) is kept. Errors never quote the file's contents;
//! they list its profile names, leaving out any that is not well-formed (a malformed file can put a
//! secret into a section name).
//!
//! A configuration resolves attributes and nothing else: which credentials they select is
//! [`crate::auth::select`]'s choice (see [`crate::auth`] for the default chain and the `auth_type` names).
//! The `*_endpoint` and `gce_metadata_host` attributes move the cloud identity services (Entra ID, the
//! Azure instance metadata service, Google's token and IAM services, the GCE metadata server) elsewhere,
//! for tests against local fakes; unset, the official endpoints are used.
//!
//! Host normalisation follows the official SDKs: `https://` is added when there is no scheme, a trailing
//! `/` and the default port `:443` are dropped.
//!
//! Every error ends with a debug string of which attribute came from where, secrets as `***`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Where the unified-auth documentation lives; errors point there.
pub(crate) const UNIFIED_AUTH_DOCS: &str = "https://docs.databricks.com/en/dev-tools/auth.html#databricks-client-unified-authentication";

/// An authentication method this crate supports, by its official name.
///
/// ```
/// use databricks_tokens::config::AuthType;
/// assert_eq!("oauth-m2m".parse::<AuthType>().ok(), Some(AuthType::OAuthM2m));
/// assert_eq!(AuthType::DatabricksCli.to_string(), "databricks-cli");
/// assert_eq!("azure-cli".parse::<AuthType>().ok(), Some(AuthType::AzureCli));
/// ```
///
/// [`AuthType::CHAIN`] is the default chain's order. See [`crate::auth`] for what configures each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthType {
    /// A personal access token (`token`).
    Pat,
    /// A username and password (`username` + `password`).
    Basic,
    /// OAuth machine-to-machine for a service principal (`client_id` + `client_secret`).
    OAuthM2m,
    /// The Databricks CLI's login, through `databricks auth token`.
    DatabricksCli,
    /// A local metadata service (`metadata_service_url`).
    MetadataService,
    /// GitHub Actions' OIDC token exchanged for a workspace token.
    GitHubOidc,
    /// An OIDC token from an environment variable, exchanged for a workspace token.
    EnvOidc,
    /// An OIDC token from a file, exchanged for a workspace token.
    FileOidc,
    /// An Azure managed identity, from the instance metadata service (`azure_use_msi`).
    AzureMsi,
    /// An Azure service principal's secret (`azure_client_id` + `azure_client_secret`).
    AzureClientSecret,
    /// The Azure CLI's login, through `az account get-access-token`.
    AzureCli,
    /// A Google service account's JSON key (`google_credentials`).
    GoogleCredentials,
    /// A Google service account impersonated with application default credentials
    /// (`google_service_account`).
    GoogleId,
}

impl AuthType {
    /// The default chain, in the order the Go SDK tries it (without its `azure-devops-oidc` and
    /// `github-oidc-azure`, which this crate does not implement).
    pub const CHAIN: [AuthType; 13] = [
        Self::Pat,
        Self::Basic,
        Self::OAuthM2m,
        Self::DatabricksCli,
        Self::MetadataService,
        Self::GitHubOidc,
        Self::EnvOidc,
        Self::FileOidc,
        Self::AzureMsi,
        Self::AzureClientSecret,
        Self::AzureCli,
        Self::GoogleCredentials,
        Self::GoogleId,
    ];

    /// The name used by `auth_type` and in the `User-Agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pat => "pat",
            Self::Basic => "basic",
            Self::OAuthM2m => "oauth-m2m",
            Self::DatabricksCli => "databricks-cli",
            Self::MetadataService => "metadata-service",
            Self::GitHubOidc => "github-oidc",
            Self::EnvOidc => "env-oidc",
            Self::FileOidc => "file-oidc",
            Self::AzureMsi => "azure-msi",
            Self::AzureClientSecret => "azure-client-secret",
            Self::AzureCli => "azure-cli",
            Self::GoogleCredentials => "google-credentials",
            Self::GoogleId => "google-id",
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuthType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim();
        Self::CHAIN.into_iter().find(|a| a.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::CHAIN.iter().map(|a| a.as_str()).collect();
            Error::config(format!("auth_type {name:?} is not supported: use one of {}", names.join(", ")))
        })
    }
}

/// Where an attribute's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Set in code.
    Explicit,
    /// An environment variable.
    Env(&'static str),
    /// A profile of a config file.
    File {
        /// The file.
        path: PathBuf,
        /// The profile (INI section).
        profile: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit => f.write_str("explicit"),
            Self::Env(var) => write!(f, "env {var}"),
            Self::File { path, profile } => write!(f, "{} [{profile}]", path.display()),
        }
    }
}

/// One attribute: its INI key, its environment variable, whether it is secret, and the authentication
/// method it configures (for the "more than one method" check and for skipping the config file).
struct Attr {
    key: &'static str,
    env: &'static str,
    secret: bool,
    auth: Option<&'static str>,
}

const fn attr(key: &'static str, env: &'static str) -> Attr {
    Attr { key, env, secret: false, auth: None }
}

const fn auth(key: &'static str, env: &'static str, method: &'static str, secret: bool) -> Attr {
    Attr { key, env, secret, auth: Some(method) }
}

const ATTRS: &[Attr] = &[
    attr("host", "DATABRICKS_HOST"),
    auth("token", "DATABRICKS_TOKEN", "pat", true),
    auth("username", "DATABRICKS_USERNAME", "basic", false),
    auth("password", "DATABRICKS_PASSWORD", "basic", true),
    auth("client_id", "DATABRICKS_CLIENT_ID", "oauth", false),
    auth("client_secret", "DATABRICKS_CLIENT_SECRET", "oauth", true),
    attr("databricks_cli_path", "DATABRICKS_CLI_PATH"),
    auth("metadata_service_url", "DATABRICKS_METADATA_SERVICE_URL", "metadata-service", true),
    attr("token_audience", "DATABRICKS_TOKEN_AUDIENCE"),
    attr("oidc_token_env", "DATABRICKS_OIDC_TOKEN_ENV"),
    attr("oidc_token_filepath", "DATABRICKS_OIDC_TOKEN_FILEPATH"),
    attr("discovery_url", "DATABRICKS_DISCOVERY_URL"),
    auth("azure_workspace_resource_id", "DATABRICKS_AZURE_RESOURCE_ID", "azure", false),
    auth("azure_use_msi", "ARM_USE_MSI", "azure", false),
    auth("azure_client_id", "ARM_CLIENT_ID", "azure", false),
    auth("azure_client_secret", "ARM_CLIENT_SECRET", "azure", true),
    auth("azure_tenant_id", "ARM_TENANT_ID", "azure", false),
    attr("azure_environment", "ARM_ENVIRONMENT"),
    attr("azure_login_endpoint", "DATABRICKS_AZURE_LOGIN_ENDPOINT"),
    attr("azure_msi_endpoint", "DATABRICKS_AZURE_MSI_ENDPOINT"),
    auth("google_credentials", "GOOGLE_CREDENTIALS", "google", true),
    auth("google_service_account", "DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "google", false),
    attr("google_token_endpoint", "DATABRICKS_GOOGLE_TOKEN_ENDPOINT"),
    attr("google_iam_endpoint", "DATABRICKS_GOOGLE_IAM_ENDPOINT"),
    attr("gce_metadata_host", "GCE_METADATA_HOST"),
    attr("cloud", "DATABRICKS_CLOUD"),
    attr("actions_id_token_request_url", "ACTIONS_ID_TOKEN_REQUEST_URL"),
    Attr { key: "actions_id_token_request_token", env: "ACTIONS_ID_TOKEN_REQUEST_TOKEN", secret: true, auth: None },
    attr("profile", "DATABRICKS_CONFIG_PROFILE"),
    attr("config_file", "DATABRICKS_CONFIG_FILE"),
    attr("auth_type", "DATABRICKS_AUTH_TYPE"),
    attr("workspace_id", "DATABRICKS_WORKSPACE_ID"),
    attr("account_id", "DATABRICKS_ACCOUNT_ID"),
    attr("rate_limit", "DATABRICKS_RATE_LIMIT"),
    attr("http_timeout_seconds", "DATABRICKS_HTTP_TIMEOUT_SECONDS"),
    attr("retry_timeout_seconds", "DATABRICKS_RETRY_TIMEOUT_SECONDS"),
];

/// Keys that are never read from a profile (they choose the profile, or only a CI runner sets them).
const NOT_IN_FILE: &[&str] = &["profile", "config_file", "actions_id_token_request_url", "actions_id_token_request_token"];

/// The section of the config file that holds settings, never a profile.
const SETTINGS_SECTION: &str = "__settings__";

/// The environment a configuration was resolved from: the process's, or a fixed set (tests).
///
/// Providers that read the environment after the build (`env-oidc` on every refresh, the CLI lookup on
/// `PATH`) read the same one.
#[derive(Clone)]
pub(crate) enum Env {
    Process,
    Fixed(std::sync::Arc<BTreeMap<String, String>>),
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Process => f.write_str("Env::Process"),
            Self::Fixed(vars) => write!(f, "Env::Fixed({} variables)", vars.len()),
        }
    }
}

impl Env {
    /// A variable's value; empty counts as unset.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        match self {
            Self::Process => std::env::var(name).ok(),
            Self::Fixed(vars) => vars.get(name).cloned(),
        }
        .filter(|v| !v.is_empty())
    }

    /// `PATH`, to find executables on.
    pub(crate) fn path(&self) -> Option<std::ffi::OsString> {
        match self {
            Self::Process => std::env::var_os("PATH"),
            Self::Fixed(vars) => vars.get("PATH").map(Into::into),
        }
        .filter(|p| !p.is_empty())
    }
}

/// The attributes of a configuration with their sources, by INI key.
pub(crate) type Values = BTreeMap<&'static str, (String, Source)>;

/// A resolved configuration: every attribute with its source.
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::config::Config;
/// let config = Config::builder().profile("prod").build()?;
/// println!("{} via {}", config.host(), databricks_tokens::auth::select(&config)?);
/// # Ok(()) }
/// ```
///
/// `Debug` shows every attribute and its source, secrets as `***`.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    values: Values,
    host: String,
    auth_type: Option<AuthType>,
    env: Env,
    /// A named profile whose config file does not exist: the error to report if the rest is incomplete.
    missing_file: Option<String>,
}

impl Config {
    /// This configuration for a workspace of its account: `host` instead of the account host, the
    /// workspace's id and Azure resource id, no account id, and none of what named the account's OAuth
    /// endpoints (discovery URL, a profile the CLI would read the account host from), as the Python SDK's
    /// `get_workspace_client` does. The authentication method stays the same.
    pub(crate) fn for_workspace(&self, host: &str, workspace_id: Option<String>, azure_resource_id: Option<String>) -> Result<Config> {
        let mut values = self.values.clone();
        let account_id = values.remove("account_id").map(|(id, _)| id);
        for key in ["discovery_url", "profile", "workspace_id", "azure_workspace_resource_id"] {
            values.remove(key);
        }
        if values.get("token_audience").map(|(a, _)| a) == account_id.as_ref() {
            values.remove("token_audience");
        }
        values.insert("host", (host.to_owned(), Source::Explicit));
        if let Some(id) = workspace_id {
            values.insert("workspace_id", (id, Source::Explicit));
        }
        if let Some(id) = azure_resource_id {
            values.insert("azure_workspace_resource_id", (id, Source::Explicit));
        }
        Ok(Config {
            host: normalize_host(host)?,
            values,
            auth_type: self.auth_type,
            env: self.env.clone(),
            missing_file: self.missing_file.clone(),
        })
    }
}

impl Config {
    /// Starts a configuration with explicit values; [`ConfigBuilder::build`] fills in the rest.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Resolves from the environment and the config file alone: the Rust `WorkspaceClient()`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    pub(crate) fn env(&self) -> &Env {
        &self.env
    }

    pub(crate) fn values(&self) -> &Values {
        &self.values
    }

    /// Why a named profile was not read (its config file does not exist): the cause to report when the
    /// rest of the configuration is incomplete, as in the Python SDK.
    pub(crate) fn missing_file(&self) -> Option<&str> {
        self.missing_file.as_deref()
    }

    /// The normalised workspace URL.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The authentication method `auth_type` pins (`DATABRICKS_AUTH_TYPE`, a profile's `auth_type`,
    /// [`ConfigBuilder::auth_type`]), if any.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::config::{AuthType, Config};
    /// let config = Config::builder()
    ///     .host("https://example.cloud.databricks.com")
    ///     .env_vars([("DATABRICKS_AUTH_TYPE", "databricks-cli")])
    ///     .build()?;
    /// assert_eq!(config.auth_type(), Some(AuthType::DatabricksCli));
    /// # Ok(()) }
    /// ```
    ///
    /// The configuration only resolves attributes: the method a client uses (this one, checked, or else
    /// the first configured method of the default chain) is [`crate::auth::select`]'s choice.
    pub fn auth_type(&self) -> Option<AuthType> {
        self.auth_type
    }
    /// The personal access token, when one is configured.
    pub fn token(&self) -> Option<SecretString> {
        self.get("token").map(SecretString::from)
    }
    /// The service principal's client id.
    pub fn client_id(&self) -> Option<&str> {
        self.get("client_id")
    }
    /// The service principal's secret.
    pub fn client_secret(&self) -> Option<SecretString> {
        self.get("client_secret").map(SecretString::from)
    }
    /// The username of basic authentication.
    pub fn username(&self) -> Option<&str> {
        self.get("username")
    }
    /// The password of basic authentication.
    pub fn password(&self) -> Option<SecretString> {
        self.get("password").map(SecretString::from)
    }
    /// The Databricks CLI to run for `databricks-cli` (else `databricks` on `PATH`).
    pub fn databricks_cli_path(&self) -> Option<&str> {
        self.get("databricks_cli_path")
    }
    /// The local metadata service's URL (it may carry a secret).
    pub fn metadata_service_url(&self) -> Option<SecretString> {
        self.get("metadata_service_url").map(SecretString::from)
    }
    /// The audience of the OIDC token requested from GitHub Actions (else the token endpoint).
    pub fn token_audience(&self) -> Option<&str> {
        self.get("token_audience")
    }
    /// The environment variable `env-oidc` reads (default `DATABRICKS_OIDC_TOKEN`).
    pub fn oidc_token_env(&self) -> &str {
        self.get("oidc_token_env").unwrap_or(DEFAULT_OIDC_TOKEN_ENV)
    }
    /// The file `file-oidc` reads.
    pub fn oidc_token_filepath(&self) -> Option<&str> {
        self.get("oidc_token_filepath")
    }
    /// The OAuth discovery URL, which takes precedence over host metadata.
    pub fn discovery_url(&self) -> Option<&str> {
        self.get("discovery_url")
    }
    /// The Azure resource id of the workspace (`/subscriptions/.../workspaces/<name>`), sent as
    /// `X-Databricks-Azure-Workspace-Resource-Id`; setting it marks the workspace as Azure.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::config::{AuthType, Config};
    /// let config = Config::builder()
    ///     .env_vars([
    ///         ("DATABRICKS_HOST", "https://adb-123.4.azuredatabricks.net"),
    ///         ("DATABRICKS_AZURE_RESOURCE_ID", "/subscriptions/s/resourceGroups/r/providers/Microsoft.Databricks/workspaces/w"),
    ///         ("ARM_CLIENT_ID", "app-id"),
    ///         ("ARM_CLIENT_SECRET", "app-secret"),
    ///     ])
    ///     .build()?;
    /// assert_eq!(databricks_tokens::auth::select(&config)?, AuthType::AzureClientSecret);
    /// assert!(config.azure_workspace_resource_id().is_some_and(|id| id.ends_with("/workspaces/w")));
    /// assert_eq!(config.azure_tenant_id(), None); // discovered from the workspace on the first request
    /// assert!(!format!("{config:?}").contains("app-secret"));
    /// # Ok(()) }
    /// ```
    pub fn azure_workspace_resource_id(&self) -> Option<&str> {
        self.get("azure_workspace_resource_id")
    }
    /// Whether `azure-msi` may use the machine's managed identity (`ARM_USE_MSI=true`).
    pub fn azure_use_msi(&self) -> bool {
        self.get("azure_use_msi").and_then(parse_bool).unwrap_or(false)
    }
    /// The Azure service principal's application (client) id, or a user-assigned managed identity's.
    pub fn azure_client_id(&self) -> Option<&str> {
        self.get("azure_client_id")
    }
    /// The Azure service principal's client secret.
    pub fn azure_client_secret(&self) -> Option<SecretString> {
        self.get("azure_client_secret").map(SecretString::from)
    }
    /// The Microsoft Entra ID tenant (else discovered from the workspace when needed).
    pub fn azure_tenant_id(&self) -> Option<&str> {
        self.get("azure_tenant_id")
    }
    /// The Azure cloud (`public`, `usgovernment`, `china`) for hosts whose name does not tell.
    pub fn azure_environment(&self) -> Option<&str> {
        self.get("azure_environment")
    }
    /// The Google service account's JSON key, inline or as a path (a secret).
    pub fn google_credentials(&self) -> Option<SecretString> {
        self.get("google_credentials").map(SecretString::from)
    }
    /// The Google service account `google-id` impersonates.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::config::{AuthType, Config};
    /// let config = Config::builder()
    ///     .host("https://123.4.gcp.databricks.com")
    ///     .google_service_account("deployer@project.iam.gserviceaccount.com")
    ///     .env_vars(Vec::<(String, String)>::new())
    ///     .build()?;
    /// assert_eq!(databricks_tokens::auth::select(&config)?, AuthType::GoogleId);
    /// # Ok(()) }
    /// ```
    pub fn google_service_account(&self) -> Option<&str> {
        self.get("google_service_account")
    }
    /// The cloud named by `cloud` (`DATABRICKS_CLOUD`): `AWS`, `Azure` or `GCP`, for hosts whose name
    /// does not tell.
    pub fn cloud(&self) -> Option<&str> {
        self.get("cloud")
    }
    /// The workspace id, sent as `X-Databricks-Workspace-Id`.
    pub fn workspace_id(&self) -> Option<&str> {
        self.get("workspace_id")
    }
    /// The account id (kept for tools that need it; the Tokens API does not).
    pub fn account_id(&self) -> Option<&str> {
        self.get("account_id")
    }
    /// The profile the values were read from, when the file was read.
    pub fn profile(&self) -> Option<&str> {
        self.values.values().find_map(|(_, s)| match s {
            Source::File { profile, .. } => Some(profile.as_str()),
            _ => None,
        })
    }
    /// The client-side request rate limit, requests per second.
    pub fn rate_limit(&self) -> Option<f64> {
        self.get("rate_limit").and_then(|v| v.parse().ok())
    }
    /// The per-attempt HTTP timeout.
    pub fn http_timeout(&self) -> Option<std::time::Duration> {
        self.get("http_timeout_seconds").and_then(seconds)
    }
    /// `retry` with this configuration's timeouts: `retry_timeout` the call's budget, `http_timeout` each
    /// attempt's (what a client and an account client built from it retry with).
    pub(crate) fn apply_timeouts(&self, mut retry: crate::retry::RetryPolicy) -> crate::retry::RetryPolicy {
        if let Some(t) = self.retry_timeout() {
            retry = retry.with_timeout(t);
        }
        if let Some(t) = self.http_timeout() {
            retry = retry.with_attempt_timeout(t);
        }
        retry
    }

    /// The overall retry budget of a call.
    pub fn retry_timeout(&self) -> Option<std::time::Duration> {
        self.get("retry_timeout_seconds").and_then(seconds)
    }
    /// Where an attribute (by INI key) came from.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key).map(|(_, s)| s)
    }

    /// `host=https://x (env DATABRICKS_HOST), token=*** (~/.databrickscfg [DEFAULT])`.
    pub fn debug_string(&self) -> String {
        debug_string(&self.values)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Config {{ {} }}", self.debug_string())
    }
}

/// The variable `env-oidc` reads unless `oidc_token_env` names another.
pub(crate) const DEFAULT_OIDC_TOKEN_ENV: &str = "DATABRICKS_OIDC_TOKEN";

pub(crate) fn debug_string(values: &Values) -> String {
    let shown: Vec<String> = ATTRS
        .iter()
        .filter_map(|a| {
            let (v, source) = values.get(a.key)?;
            let v = if a.secret { "***" } else { v.as_str() };
            Some(format!("{}={v} ({source})", a.key))
        })
        .collect();
    if shown.is_empty() { "nothing configured".to_owned() } else { shown.join(", ") }
}

/// Explicit configuration values and where to look for the rest.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::config::{AuthType, Config};
/// let config = Config::builder()
///     .host("adb-123.4.azuredatabricks.net/")
///     .token("dapi-example")
///     .env_vars(Vec::<(String, String)>::new()) // ignore the process environment (tests)
///     .build()?;
/// assert_eq!(config.host(), "https://adb-123.4.azuredatabricks.net");
/// assert_eq!(databricks_tokens::auth::select(&config)?, AuthType::Pat);
/// # Ok(()) }
/// ```
#[derive(Default, Clone)]
#[must_use]
pub struct ConfigBuilder {
    explicit: BTreeMap<&'static str, String>,
    env: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.explicit.iter().map(|(k, v)| (*k, (v.clone(), Source::Explicit))).collect();
        write!(f, "ConfigBuilder {{ {} }}", debug_string(&values))
    }
}

macro_rules! setter {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.explicit.insert(stringify!($name), value.into());
            self
        }
    )*};
}

impl ConfigBuilder {
    setter! {
        /// The workspace URL.
        host,
        /// The service principal's client id (OAuth M2M).
        client_id,
        /// The profile of the config file to read.
        profile,
        /// The username of basic authentication.
        username,
        /// The Databricks CLI to run for `databricks-cli`.
        databricks_cli_path,
        /// The audience of the OIDC token requested from GitHub Actions.
        token_audience,
        /// The environment variable `env-oidc` reads.
        oidc_token_env,
        /// The file `file-oidc` reads.
        oidc_token_filepath,
        /// The OAuth discovery URL (`.../.well-known/oauth-authorization-server`).
        discovery_url,
        /// The workspace id, sent as `X-Databricks-Workspace-Id`.
        workspace_id,
        /// The account id.
        account_id,
        /// The Azure resource id of the workspace; marks the workspace as Azure.
        azure_workspace_resource_id,
        /// The Azure service principal's (or user-assigned managed identity's) client id.
        azure_client_id,
        /// The Microsoft Entra ID tenant.
        azure_tenant_id,
        /// The Azure cloud: `public`, `usgovernment` or `china`.
        azure_environment,
        /// The Microsoft Entra ID login endpoint (default: the Azure cloud's, `https://login.microsoftonline.com/`).
        azure_login_endpoint,
        /// The Azure instance metadata service's token URL (default `http://169.254.169.254/metadata/identity/oauth2/token`).
        azure_msi_endpoint,
        /// The Google service account `google-id` impersonates.
        google_service_account,
        /// Google's OAuth token endpoint (default: the key's `token_uri`, else `https://oauth2.googleapis.com/token`).
        google_token_endpoint,
        /// Google's IAM credentials service (default `https://iamcredentials.googleapis.com`).
        google_iam_endpoint,
        /// The GCE metadata server's host (default `169.254.169.254`).
        gce_metadata_host,
        /// The cloud, for hosts whose name does not tell: `AWS`, `Azure` or `GCP`.
        cloud,
    }

    /// Pins the authentication method: only that one is used, and it must be configured.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::config::{AuthType, Config};
    /// let config = Config::builder()
    ///     .host("https://example.cloud.databricks.com")
    ///     .token("dapi-example")
    ///     .auth_type(AuthType::Pat)
    ///     .env_vars(Vec::<(String, String)>::new())
    ///     .build()?;
    /// assert_eq!(config.auth_type(), Some(AuthType::Pat));
    /// # Ok(()) }
    /// ```
    pub fn auth_type(mut self, auth: AuthType) -> Self {
        self.explicit.insert("auth_type", auth.as_str().to_owned());
        self
    }
    /// Lets `azure-msi` use the machine's managed identity.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::config::{AuthType, Config};
    /// let config = Config::builder()
    ///     .host("https://adb-123.4.azuredatabricks.net")
    ///     .azure_use_msi(true)
    ///     .env_vars(Vec::<(String, String)>::new())
    ///     .build()?;
    /// assert_eq!(databricks_tokens::auth::select(&config)?, AuthType::AzureMsi);
    /// # Ok(()) }
    /// ```
    pub fn azure_use_msi(mut self, use_msi: bool) -> Self {
        self.explicit.insert("azure_use_msi", use_msi.to_string());
        self
    }
    /// The Azure service principal's client secret.
    ///
    /// ```
    /// use databricks_tokens::config::Config;
    /// let builder = Config::builder().azure_client_id("app-id").azure_client_secret("app-secret");
    /// assert!(!format!("{builder:?}").contains("app-secret"));
    /// ```
    pub fn azure_client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.explicit.insert("azure_client_secret", secret.into().expose().to_owned());
        self
    }
    /// The Google service account's JSON key, inline or as a path (`google-credentials`, which needs the
    /// `google` feature).
    ///
    /// ```
    /// use databricks_tokens::config::Config;
    /// let builder = Config::builder().host("https://123.4.gcp.databricks.com").google_credentials("/secrets/key.json");
    /// assert!(!format!("{builder:?}").contains("key.json"));
    /// ```
    pub fn google_credentials(mut self, key: impl Into<SecretString>) -> Self {
        self.explicit.insert("google_credentials", key.into().expose().to_owned());
        self
    }

    /// A personal access token.
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.explicit.insert("token", token.into().expose().to_owned());
        self
    }
    /// The service principal's secret (OAuth M2M).
    pub fn client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.explicit.insert("client_secret", secret.into().expose().to_owned());
        self
    }
    /// The password of basic authentication.
    pub fn password(mut self, password: impl Into<SecretString>) -> Self {
        self.explicit.insert("password", password.into().expose().to_owned());
        self
    }
    /// The local metadata service's URL (loopback only).
    pub fn metadata_service_url(mut self, url: impl Into<SecretString>) -> Self {
        self.explicit.insert("metadata_service_url", url.into().expose().to_owned());
        self
    }
    /// The config file to read instead of `~/.databrickscfg`.
    pub fn config_file(mut self, path: impl AsRef<Path>) -> Self {
        self.explicit.insert("config_file", path.as_ref().display().to_string());
        self
    }
    /// Requests per second at most.
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.explicit.insert("rate_limit", per_second.to_string());
        self
    }
    /// The per-attempt HTTP timeout (the attribute `http_timeout_seconds`).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use std::time::Duration;
    /// use databricks_tokens::config::Config;
    /// let config = Config::builder()
    ///     .host("https://example.cloud.databricks.com")
    ///     .token("dapi-example")
    ///     .http_timeout(Duration::from_millis(2500))
    ///     .retry_timeout(Duration::from_secs(60))
    ///     .env_vars(Vec::<(String, String)>::new())
    ///     .build()?;
    /// assert_eq!(config.http_timeout(), Some(Duration::from_millis(2500)));
    /// assert_eq!(config.retry_timeout(), Some(Duration::from_secs(60)));
    /// # Ok(()) }
    /// ```
    pub fn http_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.explicit.insert("http_timeout_seconds", timeout.as_secs_f64().to_string());
        self
    }
    /// The overall retry budget of a call (the attribute `retry_timeout_seconds`).
    pub fn retry_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.explicit.insert("retry_timeout_seconds", timeout.as_secs_f64().to_string());
        self
    }
    /// Reads these variables instead of the process environment (`HOME` included): for tests.
    pub fn env_vars<K: Into<String>, V: Into<String>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.env = Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env_view().get(name)
    }

    fn env_view(&self) -> Env {
        match &self.env {
            Some(vars) => Env::Fixed(std::sync::Arc::new(vars.clone())),
            None => Env::Process,
        }
    }

    /// Resolves explicit values, then the environment, then the config file, and checks the attributes
    /// (the host, numbers, booleans, the `auth_type` name). Reads a file, but does no network I/O.
    ///
    /// Which credentials the attributes configure is not decided here: [`crate::auth::select`] decides
    /// it, and [`crate::WorkspaceClient::from_config`] builds that provider.
    pub fn build(self) -> Result<Config> {
        let env = self.env_view();
        let mut values = Values::new();
        for attr in ATTRS {
            if let Some(v) = self.explicit.get(attr.key) {
                values.insert(attr.key, (v.clone(), Source::Explicit));
            } else if let Some(v) = env.get(attr.env) {
                values.insert(attr.key, (v, Source::Env(attr.env)));
            }
        }
        let fail = |values: &Values, message: String| Error::config(format!("{message}. Config: {}", debug_string(values)));
        forget_false_flags(&mut values);
        let missing_file = self.read_profile(&mut values).map_err(|m| fail(&values, m))?;
        forget_false_flags(&mut values);
        let host = match values.get("host") {
            Some((h, _)) => normalize_host(h).map_err(|e| fail(&values, e.message().to_owned()))?,
            None => {
                let message = missing_file.unwrap_or_else(|| match values.keys().any(|k| is_auth_key(k)) {
                    true if values.contains_key("azure_workspace_resource_id") => {
                        "no host configured: set DATABRICKS_HOST or host in the profile to the workspace URL \
                         (https://adb-<id>.<n>.azuredatabricks.net); it is not looked up from azure_workspace_resource_id"
                            .to_owned()
                    }
                    true => "no host configured: set DATABRICKS_HOST or host in the profile".to_owned(),
                    false => format!(
                        "cannot configure default credentials, please check {UNIFIED_AUTH_DOCS} to configure a host and \
                         credentials for your preferred authentication method: no host is configured (DATABRICKS_HOST or \
                         host in the profile)"
                    ),
                });
                return Err(fail(&values, message));
            }
        };
        for key in ["rate_limit", "http_timeout_seconds", "retry_timeout_seconds"] {
            if let Some((v, source)) = values.get(key) {
                let ok = v.trim().parse::<f64>().is_ok_and(|n| n.is_finite() && n > 0.0) && (key == "rate_limit" || seconds(v).is_some());
                if !ok {
                    return Err(fail(&values, format!("{key} = {v:?} (from {source}) is not a positive number")));
                }
            }
        }
        if let Some((v, source)) = values.get("azure_use_msi")
            && parse_bool(v).is_none()
        {
            return Err(fail(&values, format!("azure_use_msi = {v:?} (from {source}) is not a boolean (true or false)")));
        }
        let auth_type = match values.get("auth_type") {
            Some((name, _)) => Some(name.parse::<AuthType>().map_err(|e| fail(&values, e.message().to_owned()))?),
            None => None,
        };
        Ok(Config { values, host, auth_type, env, missing_file })
    }

    /// Fills attributes still unset from the chosen profile of the config file. Returns the message of a
    /// named profile whose file does not exist (an error only if the rest of the configuration is
    /// incomplete, as in the Python SDK).
    fn read_profile(&self, values: &mut Values) -> std::result::Result<Option<String>, String> {
        let named = values.get("profile").map(|(p, _)| p.clone());
        if named.as_deref() == Some(SETTINGS_SECTION) {
            return Err(format!("profile {SETTINGS_SECTION:?} is reserved for settings of the config file and is not a profile"));
        }
        let already_configured = values.contains_key("host") || values.keys().any(|k| is_auth_key(k));
        if named.is_none() && already_configured {
            return Ok(None);
        }
        let path = match values.get("config_file") {
            Some((p, _)) => expand_home(p, self.env("HOME")),
            None => match self.env("HOME") {
                Some(home) => Path::new(&home).join(".databrickscfg"),
                None => {
                    return Ok(named.map(|p| format!("profile {p:?} was asked for but HOME is not set to find ~/.databrickscfg")));
                }
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(named.map(|p| format!("profile {p:?} was asked for but the config file {} does not exist", path.display())));
            }
            Err(e) => return Err(format!("cannot read the config file {}: {}", path.display(), e.kind())),
        };
        let options = ini::ParseOption { enabled_quote: false, enabled_escape: false, ..Default::default() };
        // The parser's message is not quoted: it can hold a line of the file, and so a secret.
        let ini = ini::Ini::load_from_str_opt(&without_line_continuations(&text), options)
            .map_err(|e| format!("the config file {} is not valid INI (line {}, column {})", path.display(), e.line, e.col))?;
        let default_profile = ini
            .section(Some(SETTINGS_SECTION))
            .and_then(|s| get_ignoring_case(s, "default_profile"))
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let (profile, must_exist) = match (&named, default_profile) {
            (Some(p), _) => (p.clone(), true),
            (None, Some(p)) if p != SETTINGS_SECTION => (p.to_owned(), true),
            (None, _) => ("DEFAULT".to_owned(), false),
        };
        let Some(section) = ini.section(Some(profile.as_str())) else {
            if !must_exist {
                return Ok(None);
            }
            let mut names: Vec<&str> = ini.sections().flatten().filter(|s| *s != SETTINGS_SECTION).collect();
            names.sort_unstable();
            names.dedup();
            let malformed = names.iter().filter(|n| !is_well_formed_profile_name(n)).count();
            names.retain(|n| is_well_formed_profile_name(n));
            let omitted = match malformed {
                0 => String::new(),
                n => format!("; {n} malformed section name(s) not shown"),
            };
            let shown = if is_well_formed_profile_name(&profile) { format!("{profile:?}") } else { "(malformed name)".to_owned() };
            return Err(format!("profile {shown} not found in {} (profiles: {}{omitted})", path.display(), names.join(", ")));
        };
        for attr in ATTRS {
            if values.contains_key(attr.key) || NOT_IN_FILE.contains(&attr.key) {
                continue;
            }
            if let Some(v) = get_ignoring_case(section, attr.key).map(str::trim).filter(|v| !v.is_empty()) {
                values.insert(attr.key, (v.to_owned(), Source::File { path: path.clone(), profile: profile.clone() }));
            }
        }
        Ok(None)
    }
}

/// A key of a section, matched without regard to case (as the Python SDK's configparser does); the last
/// spelling wins.
fn get_ignoring_case<'a>(section: &'a ini::Properties, key: &str) -> Option<&'a str> {
    section.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v).next_back()
}

/// Whether a section name may be shown in an error: short, one line, no `=` or `:` (a malformed file can
/// put a `key = secret` or `key: secret` line into a section name).
fn is_well_formed_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ' ' | '+' | '/'))
}

/// The file with no line continuations: the INI parser joins a line ending in `\` with the next one (so
/// a `host = ...\` line would swallow the `token = ...` line after it), where the Databricks CLI and the
/// Python SDK read each line on its own and keep the `\`. A blank after the `\` keeps it a character of
/// the value (trailing blanks are trimmed). A `\` before a CRLF needs nothing: the parser only joins at
/// `\` + LF, so it keeps `\` + CR in the value and ends the line at the LF, and the CR is trimmed.
fn without_line_continuations(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\\\n") {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.replace("\\\n", "\\ \n"))
}

/// Drops `azure_use_msi` when it is false: like an unset flag (Go's zero value), it configures no method, so
/// it neither conflicts with another method nor keeps the config file from being read.
fn forget_false_flags(values: &mut Values) {
    if values.get("azure_use_msi").is_some_and(|(v, _)| parse_bool(v) == Some(false)) {
        values.remove("azure_use_msi");
    }
}

/// Whether an attribute configures an authentication method.
fn is_auth_key(key: &str) -> bool {
    ATTRS.iter().any(|a| a.key == key && a.auth.is_some())
}

/// A boolean as Go's `strconv.ParseBool` reads it: `1`, `t`, `true`, `0`, `f`, `false` in any case.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Some(true),
        "0" | "f" | "false" => Some(false),
        _ => None,
    }
}

/// A number of seconds as a duration; `None` when it is not a positive number a `Duration` can hold.
fn seconds(v: &str) -> Option<std::time::Duration> {
    v.trim().parse::<f64>().ok().and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
}

fn expand_home(path: &str, home: Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The authentication methods the attributes set configure (`pat`, `basic`, `oauth`, `azure`, ...), sorted
/// and without duplicates: more than one is a conflict unless `auth_type` picks one.
pub(crate) fn configured_methods(values: &Values) -> Vec<&'static str> {
    let mut methods: Vec<&str> = ATTRS.iter().filter(|a| values.contains_key(a.key)).filter_map(|a| a.auth).collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Normalises a workspace host the way the official SDKs do.
///
/// ```
/// use databricks_tokens::config::normalize_host;
/// # fn main() -> databricks_tokens::Result<()> {
/// assert_eq!(normalize_host("adb-1.azuredatabricks.net/")?, "https://adb-1.azuredatabricks.net");
/// assert_eq!(normalize_host("https://example.cloud.databricks.com:443")?, "https://example.cloud.databricks.com");
/// assert_eq!(normalize_host("http://127.0.0.1:8080")?, "http://127.0.0.1:8080");
/// # Ok(()) }
/// ```
///
/// Errors when the host is empty or not a URL.
pub fn normalize_host(host: &str) -> Result<String> {
    let host = host.trim();
    if host.is_empty() {
        return Err(Error::config("host is empty: set it to your workspace URL, e.g. https://adb-123.4.azuredatabricks.net"));
    }
    let with_scheme = if host.contains("://") { host.to_owned() } else { format!("https://{host}") };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| Error::config(format!("host {host:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!("host {host:?} must use https:// (or http:// for a local workspace)")));
    }
    let Some(name) = url.host_str() else {
        return Err(Error::config(format!("host {host:?} has no host name")));
    };
    // `url` already drops a port that is the scheme's default (`:443` for https).
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}://{name}{port}{path}", url.scheme()))
}

/// Whether credentials may be sent to `url`: over https, or over plain http to this machine (loopback)
/// or when the user opted in.
pub(crate) fn may_carry_credentials(url: &reqwest::Url, allow_insecure_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_insecure_http || is_loopback(url),
        _ => false,
    }
}

/// Whether a URL is on this machine (loopback).
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
