//! Where the credentials of every request come from: the providers and the default chain.
//!
//! A [`CredentialsProvider`] returns the headers that authenticate a request. [`crate::config`] picks
//! one the way every Databricks tool does: `auth_type` (`DATABRICKS_AUTH_TYPE`) names it, or else the
//! first provider of the default chain that is configured wins, in the Go SDK's order:
//!
//! | `auth_type` | configured by | what it sends |
//! |---|---|---|
//! | `pat` | `token` | `Authorization: Bearer <token>` |
//! | `basic` | `username` + `password` | `Authorization: Basic ...` |
//! | `oauth-m2m` | `client_id` + `client_secret` | an OAuth token (client-credentials grant) |
//! | `databricks-cli` | the Databricks CLI installed (`DATABRICKS_CLI_PATH` or `databricks` on `PATH`), and no other method named by the configuration | the token `databricks auth token` prints |
//! | `metadata-service` | `metadata_service_url` (loopback only) | the token the local metadata service issues |
//! | `github-oidc` | `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN` | GitHub's ID token exchanged for an OAuth token |
//! | `env-oidc` | the variable named by `oidc_token_env` (default `DATABRICKS_OIDC_TOKEN`) | that JWT exchanged for an OAuth token |
//! | `file-oidc` | `oidc_token_filepath` | the JWT in that file exchanged for an OAuth token |
//! | `azure-msi` | `azure_use_msi` on an Azure workspace | Entra ID tokens from the instance metadata service |
//! | `azure-client-secret` | `azure_client_id` + `azure_client_secret` on an Azure workspace | Entra ID tokens of the service principal |
//! | `azure-cli` | `az` on `PATH`, on an Azure workspace | the Entra ID tokens `az account get-access-token` prints |
//! | `google-credentials` | `google_credentials` on a Google Cloud workspace (feature `google`) | a Google ID token and the service account's access token |
//! | `google-id` | `google_service_account` on a Google Cloud workspace | the same, by impersonation with application default credentials |
//!
//! The Azure and Google methods follow the Go SDK; see the `azure` and `google` sections below, and
//! [`crate::config`] for the attributes that move their endpoints (tests against local fakes).
//!
//! Deciding which provider is configured does no network I/O (the CLI is looked up on `PATH`, not run).
//! When none is, the error lists each provider and why it declined. Token-based providers share one
//! machinery: the token is obtained on the first request, cached, and refreshed [`REFRESH_MARGIN`]
//! before it expires, by one task at a time; after a 401 the cache is dropped and the request replayed
//! once.
//!
//! The OAuth flows (`oauth-m2m` and the three OIDC ones) find the workspace's token endpoint through
//! `discovery_url` when set, else through host metadata (`{host}/.well-known/databricks-config`, best
//! effort) and the OIDC root's `/.well-known/oauth-authorization-server` (default root `{host}/oidc`).
//! The OIDC flows use RFC 8693 token exchange (`scope=all-apis`, and `client_id` when set: workload
//! identity federation); no secret is sent. Token endpoints are retried on 429, 502, 503, 504 and
//! transport failures, honouring `Retry-After`, for at most a minute.
//!
//! # Azure
//!
//! A workspace is on Azure when its host is in an Azure Databricks DNS zone (`.azuredatabricks.net`,
//! `.databricks.azure.us`, `.databricks.azure.cn`), when `azure_workspace_resource_id` is set, or when
//! `cloud` (`DATABRICKS_CLOUD`) says `Azure`; the Azure cloud (public, US Government, China) comes from the
//! zone, else from `azure_environment` (`ARM_ENVIRONMENT`). Requests carry an Entra ID token for the
//! AzureDatabricks application ([`AZURE_DATABRICKS_APP_ID`]) and a token for the cloud's service management
//! endpoint in `X-Databricks-Azure-SP-Management-Token` (always for a service principal or a managed
//! identity, as the Go SDK sends it; with `az`, when it can issue one), plus
//! `X-Databricks-Azure-Workspace-Resource-Id` when `azure_workspace_resource_id` is set.
//!
//! - `azure-client-secret`: the client-credentials grant at `{login}{tenant}/oauth2/token` with `resource`;
//!   without `azure_tenant_id` the tenant is read once from the workspace's `/aad/auth` redirect.
//! - `azure-msi`: `GET {azure_msi_endpoint}?api-version=2018-02-01&resource=...[&client_id=...]` with
//!   `Metadata: true`.
//! - `azure-cli`: `az account get-access-token --resource ... --output json [--tenant ...]`, never through
//!   a shell, with `TZ=UTC0` so that the old `expiresOn` (local time) is UTC; the newer `expires_on` (epoch)
//!   wins when present. Errors say when `az` is missing, not logged in, or logged in to another tenant.
//!
//! # Google
//!
//! A workspace is on Google Cloud when its host ends with `.gcp.databricks.com` or `cloud` says `GCP`.
//! Requests carry a Google ID token for the workspace URL and, best effort (a failure is logged and the
//! header left out, as in the official SDKs), the service account's access token in
//! `X-Databricks-GCP-SA-Access-Token`.
//!
//! - `google-credentials`: JWT bearer grants (RFC 7523) with RS256 assertions signed by the key
//!   (`target_audience` for the ID token, the `cloud-platform` and `compute` scopes for the access token).
//!   Signing needs the `google` feature; without it the method declines and says so.
//! - `google-id`: application default credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
//!   `application_default_credentials.json`, or the GCE metadata server) call the IAM credentials API's
//!   `generateIdToken` and `generateAccessToken` for `google_service_account`.
//!
//! Plug in your own source (a vault, a sidecar) by implementing [`CredentialsProvider`].

mod azure;
pub(crate) mod chain;
mod cli;
pub(crate) mod cloud;
mod google;
mod metadata_service;
pub(crate) mod oauth;
mod oidc;
mod refresh;

use std::fmt::Debug;

use crate::clock::BoxFuture;
use crate::error::Result;
use crate::secret::SecretString;

pub use cli::{CLI_INSTALL_DOCS, DEFAULT_CLI_TIMEOUT, DatabricksCliCredentials};
pub use cloud::AZURE_DATABRICKS_APP_ID;
pub use oauth::{OAuthM2mCredentials, TOKEN_ENDPOINT_RETRY_BUDGET};
pub use refresh::REFRESH_MARGIN;

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
/// `headers` is called before every call; cache inside the provider. After a 401 the client calls
/// [`CredentialsProvider::invalidate`] and, when it returns `true`, replays the request once with fresh
/// headers. A provider whose headers never change (a personal access token, a username and password)
/// returns them from [`CredentialsProvider::static_headers`] as well: the client then builds them once,
/// when it is built, and never calls `headers`.
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
    /// The headers, when they never change: the client builds them once instead of calling
    /// [`CredentialsProvider::headers`] before every call. The default: `None` (they may change).
    ///
    /// ```
    /// use databricks_tokens::auth::{CredentialsProvider, PatCredentials};
    /// let headers = PatCredentials::new("dapi-example").static_headers().unwrap();
    /// assert_eq!((headers[0].0.as_str(), headers[0].1.expose()), ("Authorization", "Bearer dapi-example"));
    /// ```
    fn static_headers(&self) -> Option<Vec<AuthHeader>> {
        None
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
        let headers = self.static_headers().unwrap_or_default();
        Box::pin(async move { Ok(headers) })
    }
    fn static_headers(&self) -> Option<Vec<AuthHeader>> {
        Some(vec![("Authorization".to_owned(), SecretString::new(format!("Bearer {}", self.token.expose())))])
    }
}

/// A username and password: `Authorization: Basic base64(username:password)`.
///
/// ```
/// use databricks_tokens::auth::{BasicCredentials, CredentialsProvider};
/// let basic = BasicCredentials::new("admin", "s3cret");
/// assert_eq!(basic.auth_type(), "basic");
/// assert!(!format!("{basic:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    username: String,
    password: SecretString,
}

impl BasicCredentials {
    /// Wraps a username and password.
    pub fn new(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self { username: username.into(), password: password.into() }
    }
}

impl CredentialsProvider for BasicCredentials {
    fn auth_type(&self) -> &str {
        "basic"
    }
    fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>> {
        let headers = self.static_headers().unwrap_or_default();
        Box::pin(async move { Ok(headers) })
    }
    fn static_headers(&self) -> Option<Vec<AuthHeader>> {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.username, self.password.expose()));
        Some(vec![("Authorization".to_owned(), SecretString::new(format!("Basic {encoded}")))])
    }
}
