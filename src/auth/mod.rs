//! Where the credentials of every request come from: the providers and the default chain.
//!
//! A [`CredentialsProvider`] returns the headers that authenticate a request. [`crate::config`] resolves
//! the attributes, and [`select`] picks a provider from them the way every Databricks tool does: `auth_type` (`DATABRICKS_AUTH_TYPE`) names it, or else the
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
//! machinery: the token is obtained on the first request, cached, and refreshed 40 s
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
//! AzureDatabricks application (`2ff814a6-3304-4ab8-85cb-cd0e6f879c1d`) and a token for the cloud's service management
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
//!
//! # By environment variable
//!
//! With `auth_type` (`DATABRICKS_AUTH_TYPE`, a profile's `auth_type`, or `Config::builder().auth_type(..)`)
//! only that method is used. Without it, the first configured method of this list wins, in the Go SDK's
//! order; deciding does no network I/O, and credentials are obtained on the first call, cached, and
//! refreshed before they expire.
//!
//! | method (`auth_type`) | configured by | environment |
//! |---|---|---|
//! | `pat` | a personal access token | `DATABRICKS_TOKEN` |
//! | `basic` | username and password | `DATABRICKS_USERNAME`, `DATABRICKS_PASSWORD` |
//! | `oauth-m2m` | a service principal's OAuth secret | `DATABRICKS_CLIENT_ID`, `DATABRICKS_CLIENT_SECRET` |
//! | `databricks-cli` | `databricks auth login` (the profiles it writes say `auth_type = databricks-cli`); runs `databricks auth token`; an installed CLI yields to any other method the configuration names | `DATABRICKS_CLI_PATH` (else `databricks` on `PATH`) |
//! | `metadata-service` | a local metadata service (loopback only) | `DATABRICKS_METADATA_SERVICE_URL` |
//! | `github-oidc` | GitHub Actions with `permissions: id-token: write` (the runner then sets both variables) | `ACTIONS_ID_TOKEN_REQUEST_URL`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `DATABRICKS_TOKEN_AUDIENCE` |
//! | `env-oidc` | an OIDC token (JWT) in an environment variable | `DATABRICKS_OIDC_TOKEN` (or the variable `DATABRICKS_OIDC_TOKEN_ENV` names) |
//! | `file-oidc` | an OIDC token (JWT) in a file | `DATABRICKS_OIDC_TOKEN_FILEPATH` |
//! | `azure-msi` | an Azure managed identity, from the instance metadata service (Azure workspaces) | `ARM_USE_MSI=true`, `ARM_CLIENT_ID` (a user-assigned identity) |
//! | `azure-client-secret` | an Azure service principal's secret (Azure workspaces); the tenant is discovered from the workspace when not given | `ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`, `ARM_TENANT_ID`, `ARM_ENVIRONMENT` |
//! | `azure-cli` | `az login` (Azure workspaces, `az` on `PATH`); runs `az account get-access-token` | `ARM_TENANT_ID` (else discovered) |
//! | `google-credentials` | a Google service-account JSON key, inline or a path (Google Cloud workspaces; needs the `google` feature) | `GOOGLE_CREDENTIALS` |
//! | `google-id` | application default credentials impersonating a service account (Google Cloud workspaces) | `DATABRICKS_GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS` |
//!
//! Every variable has a profile key of the same meaning (the attribute names of [`crate::config`]:
//! `token`, `client_id`, `databricks_cli_path`, `oidc_token_filepath`, `azure_use_msi` for `ARM_USE_MSI`,
//! ...); GitHub's two variables are read from the environment only. The OIDC methods exchange the JWT for a
//! workspace token (RFC 8693, `scope=all-apis`), with `DATABRICKS_CLIENT_ID` for workload identity
//! federation; no secret is sent. The OAuth methods find the token endpoint through
//! `DATABRICKS_DISCOVERY_URL`, else the host's `/.well-known/databricks-config`, else `{host}/oidc`. When
//! nothing is configured the error lists every method and why it declined:
//!
//! ```text
//! cannot configure default credentials, please check https://docs.databricks.com/... Tried: pat (no token),
//! basic (no username and no password), oauth-m2m (no client_id and no client_secret), databricks-cli (no "databricks"
//! on PATH), metadata-service (no metadata_service_url), github-oidc (no ACTIONS_ID_TOKEN_REQUEST_URL ...),
//! env-oidc (DATABRICKS_OIDC_TOKEN is not set), file-oidc (no oidc_token_filepath), azure-msi (azure_use_msi (ARM_USE_MSI)
//! is not true), azure-client-secret (no azure_client_id and no azure_client_secret), azure-cli (... is not an Azure
//! Databricks host and no azure_workspace_resource_id is set), google-credentials (no google_credentials), google-id
//! (no google_service_account). Config: host=https://... (env DATABRICKS_HOST)
//! ```
//!
//! [`WorkspaceClient::auth_type`](crate::WorkspaceClient::auth_type) names the method in use (also sent in
//! the `User-Agent` as `auth/<name>`). Your own source (a vault, a sidecar) plugs in through
//! [`CredentialsProvider`] and [`ClientBuilder::credentials`](crate::ClientBuilder::credentials).
//!
//! # Clouds, their endpoints, and the `google` feature
//!
//! A workspace is on Azure when its host is in an Azure Databricks zone (`*.azuredatabricks.net`,
//! `*.databricks.azure.us`, `*.databricks.azure.cn`) or `DATABRICKS_AZURE_RESOURCE_ID` is set, and on Google
//! Cloud when its host ends with `.gcp.databricks.com`; `DATABRICKS_CLOUD` (`AWS`, `Azure`, `GCP`) says so for
//! other hosts (private links, a local workspace). Not implemented: the Go SDK's `azure-devops-oidc` and
//! `github-oidc-azure`, and finding the host from `DATABRICKS_AZURE_RESOURCE_ID` alone.
//!
//! The cloud identity services can be moved, for tests against local fakes (unset, the official endpoints
//! are used):
//!
//! | variable (profile key) | default |
//! |---|---|
//! | `DATABRICKS_AZURE_LOGIN_ENDPOINT` (`azure_login_endpoint`) | the Azure cloud's Entra ID, e.g. `https://login.microsoftonline.com/` |
//! | `DATABRICKS_AZURE_MSI_ENDPOINT` (`azure_msi_endpoint`) | `http://169.254.169.254/metadata/identity/oauth2/token` |
//! | `DATABRICKS_GOOGLE_TOKEN_ENDPOINT` (`google_token_endpoint`) | the key's `token_uri`, else `https://oauth2.googleapis.com/token` |
//! | `DATABRICKS_GOOGLE_IAM_ENDPOINT` (`google_iam_endpoint`) | `https://iamcredentials.googleapis.com` |
//! | `GCE_METADATA_HOST` (`gce_metadata_host`) | `169.254.169.254` |
//!
//! `google-credentials` signs RS256 assertions with the key; that signing (jsonwebtoken with RustCrypto) is
//! behind the additive feature `google` (`databricks-tokens = { version = "...", features = ["google"] }`),
//! so that default builds do not compile RSA. Measured on the 2-core CI machine when `native-tls` was the
//! default TLS backend, a clean debug build took about 88–96 s of CPU without it and about 120 s with
//! `google` (+25–30 %); the Azure and Google code itself adds nothing measurable. Without it
//! `google-credentials` declines with that reason, and `google-id` works with gcloud's user credentials and
//! the GCE metadata server but not with a service-account key file.

mod azure;
pub(crate) mod chain;
pub(crate) mod cli;
pub(crate) mod cloud;
mod google;
mod metadata_service;
pub(crate) mod oauth;
mod oidc;
pub(crate) mod refresh;

use std::fmt::Debug;

use crate::clock::BoxFuture;
use crate::error::Result;
use crate::secret::SecretString;

pub use chain::select;
pub use cli::DatabricksCliCredentials;
pub use oauth::OAuthM2mCredentials;

/// A header name and its secret value, as a provider returns them.
pub type AuthHeader = (String, SecretString);

/// A source of request credentials.
///
/// ```
/// use databricks_tokens::auth::{AuthHeader, CredentialsProvider};
/// use databricks_tokens::{Result, SecretString};
/// use futures::future::BoxFuture;
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
    /// The headers to add to a request, as a `futures::future::BoxFuture` (a pinned, boxed, sendable
    /// future).
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
