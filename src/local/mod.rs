//! A local workspace: a real HTTP server on loopback that implements the Tokens API and the Token
//! Management API.
//!
//! For demos, for this crate's tests, and for users' own tests of their token automation: no Databricks
//! account, no network. Enable the `local-workspace` feature.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use databricks_tokens::local::LocalWorkspace;
//!
//! let ws = LocalWorkspace::start().await?;
//! let w = ws.client()?; // a WorkspaceClient authenticated with the bootstrap token
//! let created = w.tokens().create().comment("ci").send().await?;
//! assert_eq!(ws.tokens().len(), 1);
//! ws.stop().await;
//! # Ok(()) }
//! ```
//!
//! Semantics, as the service documents them:
//! - **Authentication**: `Authorization: Bearer <token>`; the bootstrap token (and every token set with
//!   [`LocalWorkspaceBuilder::user`] or [`LocalWorkspaceBuilder::admin`]), every token the workspace mints,
//!   and every OAuth access token it issues (see [OAuth](#oauth)) are valid credentials. A missing
//!   header is `401 UNAUTHENTICATED`; an unknown, expired or revoked token is answered as the real service
//!   does: `403 {"error_code": 403, "message": "Invalid access token."}` (a numeric code) with the header
//!   `X-Databricks-Reason-Phrase: Invalid access token.` Token values come from the operating system's CSPRNG.
//! - **Workspace id**: the workspace is [`WORKSPACE_ID`]. A request to the Tokens, Token Management or
//!   permissions APIs whose `X-Databricks-Workspace-Id` (what clients send when configured with a
//!   `workspace_id`) names any other is refused before authentication: `403 PERMISSION_DENIED`, naming both.
//!   Without the header any request is fine; the OAuth endpoints and the host metadata ignore it.
//! - **Create**: a `dapi…` value, an id that is the SHA-256 of the value, creation and expiry times in epoch
//!   milliseconds; without `lifetime_seconds` the token lives 2 years; a lifetime below 1 s or above the
//!   maximum is `INVALID_PARAMETER_VALUE`; more than the per-user quota (600) is `QUOTA_EXCEEDED`.
//!   Creating needs `CAN_USE` on tokens (see [Token Management](#token-management)).
//! - **List**: the caller's valid tokens, oldest first.
//! - **Update**: the mask is validated (`comment`, `scopes`, or `*`; an unknown or output-only path, an empty
//!   segment, a space, or a masked field absent from the body is `INVALID_PARAMETER_VALUE`); an unknown id
//!   is `404 NOT_FOUND`.
//! - **Delete**: an unknown id is `404 RESOURCE_DOES_NOT_EXIST`.
//! - **Time**: wall-clock time plus an offset that [`LocalWorkspace::advance_clock`] moves, so tests can
//!   expire tokens.
//!
//! A [`LocalAccount`] serves an account API (for [`crate::AccountClient`]) and N such workspaces from one
//! listener.
//!
//! Fault injection ([`LocalWorkspace::inject`]) scripts 429s with `Retry-After`, 503s, HTML 500s, delays,
//! and connections reset before or after the request is processed, per route; [`LocalWorkspace::counters`]
//! tells how many requests a route received and really processed. Each instance has its own state: many
//! can run in one process.
//!
//! # OAuth
//!
//! The workspace is also an OAuth authorization server, so OAuth flows can be tested offline:
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use databricks_tokens::WorkspaceClient;
//! use databricks_tokens::local::{LocalWorkspace, OidcIssuer};
//!
//! let issuer = OidcIssuer::new("https://issuer.example")?; // a test identity provider
//! let ws = LocalWorkspace::builder().service_principal("ci-sp", "sp-secret").trust_issuer(&issuer).start().await?;
//! // OAuth M2M: discovery, then the client-credentials grant; the service principal has tokens of its own.
//! let sp = WorkspaceClient::builder().host(ws.url()).oauth_m2m("ci-sp", "sp-secret").build()?;
//! sp.tokens().list().await?;
//! // Token federation: a JWT from the trusted issuer, for the token endpoint, is exchanged for a token.
//! let jwt = issuer.mint("ci@example.com", &ws.token_endpoint(), Duration::from_secs(300));
//! # Ok(()) }
//! ```
//!
//! - **`GET /.well-known/databricks-config`** (host metadata): `oidc_endpoint` (`<url>/oidc`),
//!   `workspace_id` ([`WORKSPACE_ID`]), `cloud` (`AWS`), `host_type` (`workspace`, as the Go SDK parses it),
//!   and `token_federation_default_oidc_audiences` (the token endpoint). The Python SDK finds the token
//!   endpoint of OAuth M2M through it.
//! - **`GET /oidc/.well-known/oauth-authorization-server`** (discovery): `issuer`, `token_endpoint`
//!   (`<url>/oidc/v1/token`, [`LocalWorkspace::token_endpoint`]) and `authorization_endpoint` (advertised,
//!   not served: there is no browser login), with the grant types and client authentication methods.
//! - **`POST /oidc/v1/token`**, a form; errors are RFC 6749 `{"error", "error_description"}` bodies:
//!   - `grant_type=client_credentials`: a service principal ([`LocalWorkspaceBuilder::service_principal`])
//!     authenticates with HTTP Basic or `client_id`/`client_secret` in the form (not both). An unknown
//!     client or a wrong secret is `401 invalid_client`; a missing or unknown `grant_type` is
//!     `400 invalid_request` / `unsupported_grant_type`; a `scope` without `all-apis` is `400 invalid_scope`
//!     (no `scope` means `all-apis`).
//!   - `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` with
//!     `subject_token_type=urn:ietf:params:oauth:token-type:jwt` and a JWT as `subject_token`: the JWT must
//!     come from a trusted issuer ([`LocalWorkspaceBuilder::trust_issuer`]) and verify for real: signature,
//!     `iss`, `aud` (the token endpoint, or one added with [`LocalWorkspaceBuilder::accept_audience`]), a
//!     `sub`, and `nbf`/`exp` on the workspace's clock. Any failure is `400 invalid_grant` saying why. With a
//!     `client_id` (workload identity federation) the token is the service principal's, which must exist
//!     (`401 invalid_client` otherwise); without (account-wide federation) it is the user named by the JWT's
//!     `sub`, who needs no configuring: trusting an issuer trusts every subject it names.
//!
//!   The access tokens issued are random (from the operating system's generator), `Bearer` credentials
//!   of the Tokens API for their identity, expiring after [`LocalWorkspaceBuilder::access_token_lifetime`]
//!   of workspace time (default [`DEFAULT_ACCESS_TOKEN_LIFETIME`]); an expired one is answered as any
//!   invalid token (`403`, `"error_code": 403`). Token answers carry `Cache-Control: no-store`.
//!
//! The workspace can also take cloud identity tokens directly, as Azure Databricks takes Microsoft Entra
//! ID tokens and Databricks on Google Cloud takes Google ID tokens:
//! [`LocalWorkspaceBuilder::accept_bearer_jwt`] accepts a trusted issuer's JWT for an audience as
//! `Authorization: Bearer`, verified as above; [`LocalWorkspaceBuilder::require_jwt_header`] and
//! [`LocalWorkspaceBuilder::require_header`] require the headers that go with it (Azure's management
//! token for the same subject, the workspace's resource id).
//!
//! The three routes have [`Route`]s of their own for counters and faults. No answer, and no `Debug`
//! output, ever holds a client secret, a JWT or an access token.
//!
//! # Token Management
//!
//! Principals, the admins' view of every token, on-behalf-of tokens, and who may use tokens:
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use databricks_tokens::local::LocalWorkspace;
//!
//! let ws = LocalWorkspace::builder().admin("root", "dapi-root").service_principal("ci-sp", "s").start().await?;
//! let http = reqwest::Client::new();
//! let obo = http.post(format!("{}/api/2.0/token-management/on-behalf-of/tokens", ws.url()))
//!     .bearer_auth("dapi-root")
//!     .json(&serde_json::json!({"application_id": "ci-sp", "lifetime_seconds": 3600}))
//!     .send().await?;
//! assert_eq!(obo.status(), 200);
//! assert_eq!(Some(ws.token_records()[0].owner_id), ws.principal_id("ci-sp"));
//! # Ok(()) }
//! ```
//!
//! - **Principals**: the bootstrap user `local-user` and those added with [`LocalWorkspaceBuilder::admin`]
//!   are workspace admins; users of [`LocalWorkspaceBuilder::user`] are not; service principals
//!   ([`LocalWorkspaceBuilder::service_principal`]) are named by their application id; a federated JWT's
//!   `sub` is a user from its first exchange. Each has a numeric id derived from its name, the same on every
//!   run ([`LocalWorkspace::principal_id`]). Every principal is in the group `users`, admins in `admins`;
//!   [`LocalWorkspaceBuilder::group`] adds other groups (and members of `admins`), and
//!   [`LocalWorkspaceBuilder::admin_service_principal`] a service principal that is an admin.
//! - **Token Management** (`/api/2.0/token-management/...`) is for admins: anyone else is answered
//!   `403 {"error_code": "PERMISSION_DENIED", "message": "Only Admins can access token management APIs."}`.
//!   - **List**: every valid token of every principal, oldest first, in one answer (`{}` when none);
//!     `created_by_id` and `created_by_username` filter (given both, both must match; an unknown name
//!     matches nothing; an empty one is no filter; an id that is no int64 is `400 INVALID_PARAMETER_VALUE`).
//!   - **Get** answers `{token_info}`; **update** takes `{token, update_mask}`, validated as the Tokens
//!     API's update but against `TokenInfo` (`comment`, `scopes`, `*`; every other field, `autoscope_state`
//!     included, is output only), and answers the whole updated `TokenInfo`; **delete** answers `{}`. An
//!     unknown or expired id is `404 RESOURCE_DOES_NOT_EXIST` on all three.
//!   - **On-behalf-of tokens**: `application_id` must name a service principal
//!     (`404 RESOURCE_DOES_NOT_EXIST`, "Service principal with application ID … not found") that holds
//!     `CAN_USE` (`403 PERMISSION_DENIED`, the service's "On-behalf-of token creation … is not enabled …"
//!     message). Lifetime and quota are checked as on create, the quota being the service principal's. The
//!     token is the service principal's (`owner_id`) and authenticates as it; `created_by_*` is the admin.
//!   - `TokenInfo` carries `token_id`, `comment`, `created_by_id`, `created_by_username`, `creation_time`,
//!     `expiry_time`, `last_used_day`, `owner_id`, `workspace_id` ([`WORKSPACE_ID`]), `scopes` and
//!     `autoscope_state`, int64s as JSON numbers. `last_used_day` is the start (UTC) of the day, on the
//!     workspace's clock, of the last request the token authenticated, refused or not; absent if never.
//! - **Token permissions** (`/api/2.0/permissions/authorization/tokens`, the object
//!   `/authorization/tokens`): creating a token with the Tokens API needs `CAN_USE` (else
//!   `403 PERMISSION_DENIED` naming the caller), and so does a service principal getting an on-behalf-of
//!   token. By default the group `users` holds it. Admins always may: the list shows the group `admins` with
//!   `CAN_MANAGE`, `inherited: false` (held on the object itself, as every admin right), which cannot be
//!   taken away.
//!   - **Withdrawing `CAN_USE` revokes tokens**, as the admin documentation says: when a `PUT` leaves a
//!     principal without `CAN_USE` (by name or through a group), every token it owns, on-behalf-of tokens
//!     included, is revoked at once and from then on answered as any invalid token. Admins' tokens never
//!     are; OAuth access tokens are no tokens of the Tokens API and stay valid. Granting it back does not
//!     bring revoked tokens back.
//!   - `GET`, `PUT` (replace the list) and `PATCH` (add to it) are for admins, `GET …/permissionLevels` for
//!     everyone (`CAN_USE`, "Can create and use tokens"; `CAN_MANAGE`, "Can use and modify permissions on
//!     tokens"); `PUT` and `PATCH` answer the new list. A `PATCH` without `access_control_list` (an empty
//!     body, `{}`) is `400 INVALID_PARAMETER_VALUE`; an empty list changes nothing. A `PUT` without one
//!     empties the list.
//!   - Each entry names exactly one principal: `user_name` (a user), `service_principal_name` (an
//!     application id) or `group_name` (`users`, `admins` or a group of [`LocalWorkspaceBuilder::group`]),
//!     with `permission_level` `CAN_USE` or `CAN_MANAGE`. `CAN_MANAGE` goes to admins only: the group
//!     `admins` (what Terraform's `databricks_permissions` always adds for tokens: accepted, changing
//!     nothing) or an admin by name; anyone else is refused as the service refuses it,
//!     `400 INVALID_PARAMETER_VALUE` "Only admins can be given CAN_MANAGE permission on tokens". A principal
//!     given both levels holds `CAN_MANAGE`. Any other level, a second principal in one entry, or `CAN_USE`
//!     for `admins` is `400 INVALID_PARAMETER_VALUE`; an unknown principal as the service says it,
//!     `Principal: UserName(x) does not exist.` A list with one bad entry changes nothing.
//!
//! Each of these routes has its [`Route`]. [`LocalWorkspace::token_records`] is the server's own view.
//!
//! # In your own tests, standalone, and with other SDKs
//!
//! Use it in your own tests of token automation (with `--features test-util`, `clock::FakeClock`
//! makes retries wait no real time):
//!
//! ```no_run
//! # async fn my_test() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use databricks_tokens::local::{Fault, LocalWorkspace, OidcIssuer, Route};
//!
//! let issuer = OidcIssuer::new("https://ci.example")?;
//! let ws = LocalWorkspace::builder().trust_issuer(&issuer).service_principal("sp-1", "sp-secret").start().await?;
//! ws.inject(Route::Create, [Fault::TooManyRequests { retry_after_seconds: 1 }]);
//! let w = ws.client()?;
//! // ... run your token automation against `w`, then check `ws.tokens()` and `ws.counters(..)`.
//! // A JWT the workspace trusts, for DATABRICKS_OIDC_TOKEN (env-oidc):
//! let jwt = issuer.mint("ci-job", &ws.token_endpoint(), Duration::from_secs(600));
//! # Ok(()) }
//! ```
//!
//! Or run it standalone (`examples/local_workspace.rs`) for curl or another SDK, and every authentication
//! method against it:
//!
//! ```sh
//! cargo run --example local_workspace --features local-workspace -- --port 8080 --token dapi-local \
//!     --client-id sp-1 --client-secret sp-secret --trust-issuer https://ci.example --oidc-jwt-out /tmp/jwt
//! curl -H 'Authorization: Bearer dapi-local' http://127.0.0.1:8080/api/2.0/token/list
//! DATABRICKS_HOST=http://127.0.0.1:8080 DATABRICKS_CLIENT_ID=sp-1 DATABRICKS_CLIENT_SECRET=sp-secret \
//!     cargo run --example quickstart --features local-workspace
//! DATABRICKS_HOST=http://127.0.0.1:8080 DATABRICKS_OIDC_TOKEN_FILEPATH=/tmp/jwt \
//!     cargo run --example quickstart --features local-workspace
//! ```
//!
//! `interop/run.sh` drives it with the official Python SDK (`databricks-sdk==0.162.0`, unmodified): PAT,
//! OAuth M2M and token federation. CI runs it.

mod account;
mod answer;
mod issuer;
mod oauth;
mod principals;
mod server;
mod state;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::error::Result;
use crate::secret::SecretString;
use crate::types::PublicTokenInfo;

pub use account::{AccountWorkspace, DEFAULT_ACCOUNT_ID, DEFAULT_ACCOUNT_SP, Health, LocalAccount, LocalAccountBuilder};
pub use issuer::{JwtAlgorithm, OidcIssuer, TrustedIssuer};
pub use state::{DEFAULT_LIFETIME, TokenRecord};

/// The user the bootstrap token authenticates: a workspace admin.
const BOOTSTRAP_USER: &str = "local-user";
/// The bootstrap token a workspace accepts unless told otherwise.
pub const DEFAULT_BOOTSTRAP_TOKEN: &str = "dapi-local-bootstrap-token";
/// Tokens a user may hold at once unless told otherwise.
pub const DEFAULT_QUOTA: usize = 600;
/// How long an OAuth access token lives unless told otherwise: one hour.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// The workspace id a local workspace reports in its host metadata.
pub const WORKSPACE_ID: &str = "1000000000000001";

/// A route the workspace serves: the four operations of the Tokens API, the three OAuth endpoints, the five
/// operations of the Token Management API and the four of the token permissions.
///
/// ```
/// use databricks_tokens::local::Route;
/// assert_ne!(Route::OAuthToken, Route::Create);
/// assert_ne!(Route::ManagementList, Route::List); // Token Management's list, not the Tokens API's
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Route {
    /// `POST /api/2.0/token/create`
    Create,
    /// `GET /api/2.0/token/list`
    List,
    /// `PATCH /api/2.0/token/{token_id}`
    Update,
    /// `POST /api/2.0/token/delete`
    Delete,
    /// `GET /.well-known/databricks-config`: host metadata.
    HostMetadata,
    /// `GET /oidc/.well-known/oauth-authorization-server`: OIDC discovery.
    OidcDiscovery,
    /// `POST /oidc/v1/token`: the OAuth token endpoint.
    OAuthToken,
    /// `POST /api/2.0/token-management/on-behalf-of/tokens`: an on-behalf-of token for a service principal.
    CreateOboToken,
    /// `GET /api/2.0/token-management/tokens`: every token of the workspace.
    ManagementList,
    /// `GET /api/2.0/token-management/tokens/{token_id}`
    ManagementGet,
    /// `PATCH /api/2.0/token-management/tokens/{token_id}`
    ManagementUpdate,
    /// `DELETE /api/2.0/token-management/tokens/{token_id}`
    ManagementDelete,
    /// `GET /api/2.0/permissions/authorization/tokens/permissionLevels`
    PermissionLevels,
    /// `GET /api/2.0/permissions/authorization/tokens`
    GetPermissions,
    /// `PUT /api/2.0/permissions/authorization/tokens`: replaces the access control list.
    SetPermissions,
    /// `PATCH /api/2.0/permissions/authorization/tokens`: adds to the access control list.
    UpdatePermissions,
}

impl Route {
    const COUNT: usize = 16;
    const ALL: [Route; Self::COUNT] = [
        Route::Create,
        Route::List,
        Route::Update,
        Route::Delete,
        Route::HostMetadata,
        Route::OidcDiscovery,
        Route::OAuthToken,
        Route::CreateOboToken,
        Route::ManagementList,
        Route::ManagementGet,
        Route::ManagementUpdate,
        Route::ManagementDelete,
        Route::PermissionLevels,
        Route::GetPermissions,
        Route::SetPermissions,
        Route::UpdatePermissions,
    ];
    fn index(self) -> usize {
        self as usize
    }
}

/// A misbehaviour the workspace can be told to show.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use databricks_tokens::local::{Fault, LocalWorkspace, Route};
/// let ws = LocalWorkspace::start().await?;
/// ws.inject(Route::Create, [Fault::TooManyRequests { retry_after_seconds: 1 }, Fault::ResetAfterProcessing]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `429 REQUEST_LIMIT_EXCEEDED` with `Retry-After`; the request is not processed.
    TooManyRequests {
        /// The `Retry-After` header, in seconds.
        retry_after_seconds: u64,
    },
    /// `503 TEMPORARILY_UNAVAILABLE`; the request is not processed.
    Unavailable,
    /// `500` with an HTML page, as a proxy sends; the request is not processed.
    HtmlServerError,
    /// Waits, then processes the request normally.
    Delay(Duration),
    /// Closes the connection after reading the request, without processing it.
    ResetBeforeProcessing,
    /// Processes the request (a create mints its token), then closes the connection without answering.
    ResetAfterProcessing,
    /// Holds the request without answering and processes it this long after it arrived, whatever became of
    /// the connection (a client that timed out meanwhile never hears of it); then closes the connection. A
    /// service that processes a request after the client gave up on it.
    ProcessLate(Duration),
    /// Processes the request, sends the success status and headers, then a body shorter than its
    /// `Content-Length`, and closes the connection: an answer lost after the status line.
    BodyCutAfterStatus,
}

/// What a route saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteCounters {
    /// Requests that reached the route.
    pub received: u64,
    /// Requests the route really processed (authenticated, validated, applied or refused by the API logic).
    pub processed: u64,
    /// Requests a fault was injected into.
    pub faulted: u64,
}

/// Configures a [`LocalWorkspace`].
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use databricks_tokens::local::{LocalWorkspace, OidcIssuer};
/// let ws = LocalWorkspace::builder()
///     .port(8080)
///     .bootstrap_token("dapi-mine")
///     .quota(5)
///     .user("alice", "dapi-alice")
///     .admin("root", "dapi-root")
///     .service_principal("ci-sp", "sp-secret")
///     .trust_issuer(&OidcIssuer::new("https://issuer.example")?)
///     .access_token_lifetime(Duration::from_secs(600))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LocalWorkspaceBuilder {
    port: u16,
    users: Vec<state::UserConfig>,
    quota: usize,
    max_lifetime: Duration,
    service_principals: Vec<(String, SecretString)>,
    groups: Vec<(String, Vec<String>)>,
    issuers: Vec<TrustedIssuer>,
    audiences: Vec<String>,
    access_token_lifetime: Duration,
    bearer: oauth::BearerJwts,
}

impl Default for LocalWorkspaceBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            users: vec![(BOOTSTRAP_USER.to_owned(), SecretString::new(DEFAULT_BOOTSTRAP_TOKEN), true)],
            quota: DEFAULT_QUOTA,
            max_lifetime: Duration::from_secs(10 * 365 * 24 * 3600),
            service_principals: Vec::new(),
            groups: Vec::new(),
            issuers: Vec::new(),
            audiences: Vec::new(),
            access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            bearer: oauth::BearerJwts::default(),
        }
    }
}

impl LocalWorkspaceBuilder {
    /// Listens on this port of 127.0.0.1 (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// The bootstrap credential of the default user `local-user`, a workspace admin.
    pub fn bootstrap_token(mut self, token: impl Into<SecretString>) -> Self {
        self.users[0].1 = token.into();
        self
    }
    /// Adds a user with a credential of their own; each user sees only their own tokens. Not an admin.
    pub fn user(mut self, name: impl Into<String>, token: impl Into<SecretString>) -> Self {
        self.users.push((name.into(), token.into(), false));
        self
    }

    /// Adds a workspace admin with a credential of their own: a user who may also use the Token Management
    /// API and change the token permissions.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::builder().admin("root", "dapi-root").user("alice", "dapi-alice").start().await?;
    /// let root = reqwest::Client::new().get(format!("{}/api/2.0/token-management/tokens", ws.url())).bearer_auth("dapi-root");
    /// assert_eq!(root.send().await?.status(), 200);
    /// # Ok(()) }
    /// ```
    ///
    /// Like [`LocalWorkspaceBuilder::user`], a name given twice is one principal, with both credentials; it
    /// is an admin if either call made it one. The bootstrap user `local-user` is an admin too.
    pub fn admin(mut self, name: impl Into<String>, token: impl Into<SecretString>) -> Self {
        self.users.push((name.into(), token.into(), true));
        self
    }
    /// How many valid tokens a user may hold (default 600).
    pub fn quota(mut self, quota: usize) -> Self {
        self.quota = quota;
        self
    }
    /// The longest lifetime a create may ask for (default 10 years).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Adds a service principal: the OAuth client `client_id` with its secret, for the client-credentials
    /// grant. It is a user of the workspace named `client_id`, with tokens of its own.
    ///
    /// ```
    /// use databricks_tokens::local::LocalWorkspace;
    /// let builder = LocalWorkspace::builder().service_principal("ci-sp", "sp-secret");
    /// assert!(!format!("{builder:?}").contains("sp-secret"));
    /// ```
    ///
    /// A second call with the same `client_id` replaces its secret.
    pub fn service_principal(mut self, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        self.service_principals.push((client_id.into(), client_secret.into()));
        self
    }

    /// Adds a service principal that is a workspace admin: [`LocalWorkspaceBuilder::service_principal`],
    /// also in the group `admins`, so it may use the Token Management API and change the token permissions.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::WorkspaceClient;
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::builder().admin_service_principal("deploy-sp", "sp-secret").start().await?;
    /// let sp = WorkspaceClient::builder().host(ws.url()).oauth_m2m("deploy-sp", "sp-secret").build()?;
    /// sp.token_management().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn admin_service_principal(self, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        let client_id = client_id.into();
        self.service_principal(client_id.clone(), client_secret).group("admins", [client_id])
    }

    /// Adds principals, by user name or application id, to a group: the token permissions can then grant
    /// `CAN_USE` to the group (`group_name`), and withdrawing it revokes its members' tokens.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::builder()
    ///     .user("alice", "dapi-alice")
    ///     .service_principal("ci-sp", "sp-secret")
    ///     .group("data-eng", ["alice", "ci-sp"])
    ///     .start()
    ///     .await?;
    /// let only_data_eng = serde_json::json!({"access_control_list": [{"group_name": "data-eng", "permission_level": "CAN_USE"}]});
    /// let put = reqwest::Client::new().put(format!("{}/api/2.0/permissions/authorization/tokens", ws.url()));
    /// assert_eq!(put.bearer_auth(ws.bootstrap_token().expose()).json(&only_data_eng).send().await?.status(), 200);
    /// # Ok(()) }
    /// ```
    ///
    /// Calling it again with the same name adds more members. Two names are reserved: every principal is in
    /// `users` already (members given for it change nothing), and the members of `admins` are workspace
    /// admins (a name the workspace does not know otherwise becomes a user who is an admin, with no
    /// credential of its own until a federated JWT names it).
    pub fn group(mut self, name: impl Into<String>, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.groups.push((name.into(), members.into_iter().map(Into::into).collect()));
        self
    }

    /// Trusts an OIDC issuer for token exchange: its JWTs are exchanged for access tokens.
    ///
    /// ```
    /// use databricks_tokens::local::{LocalWorkspace, OidcIssuer};
    /// let issuer = OidcIssuer::new("https://issuer.example")?;
    /// let builder = LocalWorkspace::builder().trust_issuer(&issuer);
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    ///
    /// Takes an [`OidcIssuer`] (by reference or value) or a [`TrustedIssuer`] made from a PEM public key.
    /// Trusting two issuers with the same `iss` accepts JWTs signed by either key (key rotation).
    pub fn trust_issuer(mut self, issuer: impl Into<TrustedIssuer>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Also accepts federated JWTs whose `aud` is `audience`; the token endpoint URL
    /// ([`LocalWorkspace::token_endpoint`]) is always accepted.
    ///
    /// ```
    /// use databricks_tokens::local::LocalWorkspace;
    /// let builder = LocalWorkspace::builder().accept_audience("https://my-workspace.example/oidc/v1/token");
    /// ```
    pub fn accept_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// How long the OAuth access tokens the workspace issues live, on its clock (default one hour).
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_tokens::local::LocalWorkspace;
    /// let builder = LocalWorkspace::builder().access_token_lifetime(Duration::from_secs(60));
    /// ```
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }

    /// Accepts a JWT of a trusted issuer ([`LocalWorkspaceBuilder::trust_issuer`]) presented directly as
    /// `Authorization: Bearer <jwt>` when its `aud` is `audience`, as the credential of its `sub`.
    ///
    /// ```
    /// use databricks_tokens::local::{LocalWorkspace, OidcIssuer};
    /// let entra = OidcIssuer::new("https://sts.windows.net/tenant/")?;
    /// // Microsoft Entra ID tokens for the AzureDatabricks application.
    /// let builder = LocalWorkspace::builder().trust_issuer(&entra).accept_bearer_jwt("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d");
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    ///
    /// This is how Azure Databricks takes Entra ID tokens and Databricks on Google Cloud takes Google ID
    /// tokens. The JWT is verified for real: signature, `iss`, `aud`, a `sub`, and `nbf`/`exp` on the
    /// workspace's clock; any failure is answered `403` with the reason (never the token). Without this
    /// call (the default) a bearer JWT is refused like any unknown token.
    pub fn accept_bearer_jwt(mut self, audience: impl Into<String>) -> Self {
        self.bearer.audiences.push(audience.into());
        self
    }

    /// Requests authenticated with a bearer JWT must also carry `header` holding a JWT of a trusted issuer
    /// for `audience` that names the same `sub`, e.g. Azure's `X-Databricks-Azure-SP-Management-Token`.
    ///
    /// ```
    /// use databricks_tokens::local::LocalWorkspace;
    /// let builder = LocalWorkspace::builder()
    ///     .accept_bearer_jwt("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d")
    ///     .require_jwt_header("X-Databricks-Azure-SP-Management-Token", "https://management.core.windows.net/");
    /// ```
    ///
    /// A missing header, or one whose JWT does not verify or names someone else, is answered `403`.
    pub fn require_jwt_header(mut self, header: impl Into<String>, audience: impl Into<String>) -> Self {
        self.bearer.jwt_headers.push((header.into(), audience.into()));
        self
    }

    /// Requests authenticated with a bearer JWT must carry `header` with exactly `value`, e.g.
    /// `X-Databricks-Azure-Workspace-Resource-Id` with the workspace's Azure resource id.
    ///
    /// ```
    /// use databricks_tokens::local::LocalWorkspace;
    /// let builder = LocalWorkspace::builder().require_header("X-Databricks-Azure-Workspace-Resource-Id", "/subscriptions/s/resourceGroups/r/providers/Microsoft.Databricks/workspaces/w");
    /// ```
    pub fn require_header(mut self, header: impl Into<String>, value: impl Into<String>) -> Self {
        self.bearer.headers.push((header.into(), value.into()));
        self
    }

    /// Binds 127.0.0.1 and starts serving.
    pub async fn start(self) -> std::io::Result<LocalWorkspace> {
        let listener = server::bind(self.port).await?;
        let addr = listener.local_addr()?;
        let (shared, bootstrap) = self.into_shared(format!("http://{addr}"), WORKSPACE_ID.to_owned());
        let (shutdown, task) = server::serve(listener, Arc::clone(&shared), |_| {}, server::answer);
        Ok(LocalWorkspace { addr, prefix: String::new(), shared, bootstrap, shutdown: Some(shutdown), task: Some(task) })
    }

    /// The workspace's state and authorization server, serving at `url` as workspace `workspace_id`
    /// (a local account serves many from one listener).
    pub(crate) fn into_shared(self, url: String, workspace_id: String) -> (Arc<Shared>, SecretString) {
        let bootstrap = self.users[0].1.clone();
        let sp_names: Vec<String> = self.service_principals.iter().map(|(id, _)| id.clone()).collect();
        let oauth = oauth::Authority::new(
            url,
            workspace_id.clone(),
            self.service_principals,
            self.issuers,
            self.audiences,
            self.access_token_lifetime,
            self.bearer,
        );
        let mut state = state::State::new(self.users, &sp_names, self.quota, self.max_lifetime);
        state.workspace_id = workspace_id.parse().unwrap_or(state.workspace_id);
        for (name, members) in &self.groups {
            state.add_group(name, members);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            oauth,
            faults: Mutex::new(Default::default()),
            counters: Mutex::new([RouteCounters::default(); Route::COUNT]),
        });
        (shared, bootstrap)
    }
}

/// A running local workspace. Stops when dropped (or with [`LocalWorkspace::stop`]).
#[derive(Debug)]
pub struct LocalWorkspace {
    addr: SocketAddr,
    /// The path its URL adds to the address: empty, or `/ws/<deployment name>` in a local account.
    prefix: String,
    shared: Arc<Shared>,
    bootstrap: SecretString,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<state::State>,
    pub(crate) oauth: oauth::Authority,
    faults: Mutex<[VecDeque<Option<Fault>>; Route::COUNT]>,
    counters: Mutex<[RouteCounters; Route::COUNT]>,
}

impl Shared {
    pub(crate) fn next_fault(&self, route: Route) -> Option<Fault> {
        let fault = self.faults.lock().unwrap_or_else(|e| e.into_inner())[route.index()].pop_front().flatten();
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters[route.index()].received += 1;
        if fault.is_some() {
            counters[route.index()].faulted += 1;
        }
        fault
    }
    pub(crate) fn processed(&self, route: Route) {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())[route.index()].processed += 1;
    }
}

impl LocalWorkspace {
    /// Configures a workspace.
    pub fn builder() -> LocalWorkspaceBuilder {
        LocalWorkspaceBuilder::default()
    }

    /// Starts a workspace on a free port with the default bootstrap token.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// The workspace URL, `http://127.0.0.1:<port>` (`http://127.0.0.1:<port>/ws/<deployment name>` in a
    /// [`LocalAccount`]).
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap credential of `local-user`.
    pub fn bootstrap_token(&self) -> &SecretString {
        &self.bootstrap
    }

    /// The OAuth token endpoint, `http://127.0.0.1:<port>/oidc/v1/token`: also the audience federated JWTs
    /// carry by default.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::start().await?;
    /// assert_eq!(ws.token_endpoint(), format!("{}/oidc/v1/token", ws.url()));
    /// # Ok(()) }
    /// ```
    pub fn token_endpoint(&self) -> String {
        oauth::token_endpoint(&self.url())
    }

    /// The workspace's time: the system's, plus what [`LocalWorkspace::advance_clock`] added.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::{Duration, SystemTime};
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::start().await?;
    /// ws.advance_clock(Duration::from_secs(3600));
    /// assert!(ws.now() > SystemTime::now() + Duration::from_secs(3000));
    /// # Ok(()) }
    /// ```
    pub fn now(&self) -> SystemTime {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).now()
    }

    /// A client of this workspace authenticated with the bootstrap token.
    pub fn client(&self) -> Result<crate::WorkspaceClient> {
        crate::WorkspaceClient::builder().host(self.url()).token(self.bootstrap.clone()).build()
    }

    /// Moves the workspace's clock forward (tokens expire; new ones are stamped later).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).advance(by);
    }

    /// Scripts faults for the next requests of a route, one fault per request, in order.
    pub fn inject(&self, route: Route, faults: impl IntoIterator<Item = Fault>) {
        self.shared.faults.lock().unwrap_or_else(|e| e.into_inner())[route.index()].extend(faults.into_iter().map(Some));
    }

    /// Scripts each of the next `requests` requests of a route to fail with `fault` with probability
    /// `probability`, drawn from a generator seeded with `seed` (reproducible).
    pub fn inject_randomly(&self, route: Route, fault: Fault, probability: f64, requests: usize, seed: u64) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        let queue = &mut faults[route.index()];
        for _ in 0..requests {
            queue.push_back((rng.f64() < probability).then(|| fault.clone()));
        }
    }

    /// What a route saw so far.
    pub fn counters(&self, route: Route) -> RouteCounters {
        self.shared.counters.lock().unwrap_or_else(|e| e.into_inner())[route.index()]
    }

    /// The counters of every route.
    pub fn all_counters(&self) -> Vec<(Route, RouteCounters)> {
        Route::ALL.iter().map(|r| (*r, self.counters(*r))).collect()
    }

    /// Every valid token of every user, oldest first: the server's own view, for consistency checks.
    pub fn tokens(&self) -> Vec<PublicTokenInfo> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).all_valid()
    }

    /// Every valid token of every principal, oldest first, as an admin sees them: owner, creator, last use.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::start().await?;
    /// ws.client()?.tokens().create().comment("ci").send().await?;
    /// let records = ws.token_records();
    /// assert_eq!(records[0].token_id, ws.tokens()[0].token_id);
    /// assert_eq!(records[0].last_used_day, None, "minted, never used to authenticate");
    /// # Ok(()) }
    /// ```
    ///
    /// The same tokens as [`LocalWorkspace::tokens`], in the same order; the Token Management API's list
    /// (`GET /api/2.0/token-management/tokens`) answers them as `TokenInfo`s.
    pub fn token_records(&self) -> Vec<TokenRecord> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).all_records()
    }

    /// The numeric id of a principal (`created_by_id` and `owner_id` in `TokenInfo`), by user name or, for
    /// a service principal, application id; `None` for a name the workspace does not know.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::local::LocalWorkspace;
    /// let ws = LocalWorkspace::builder().user("alice", "dapi-alice").service_principal("ci-sp", "s").start().await?;
    /// let alice = ws.principal_id("alice").unwrap();
    /// assert_ne!(Some(alice), ws.principal_id("ci-sp"));
    /// assert_eq!(ws.principal_id("nobody"), None);
    /// # Ok(()) }
    /// ```
    ///
    /// Ids are derived from the name: the same name has the same id in every workspace and on every run.
    /// A federated identity (a JWT's `sub`) has one from its first token exchange.
    pub fn principal_id(&self, name: &str) -> Option<i64> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).principal_id(name)
    }

    /// Stops serving and waits for the server task to end (a workspace of a [`LocalAccount`] stops with
    /// the account).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalWorkspace {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}
