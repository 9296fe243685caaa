//! A local account: the account API and N local workspaces on one listener (see [`LocalAccount`]).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};

use super::server::{self, AnswerBody, DropConnection};
use super::state::{Answer, error};
use super::{BOOTSTRAP_USER, DEFAULT_ACCESS_TOKEN_LIFETIME, Fault, LocalWorkspace, LocalWorkspaceBuilder, Shared, oauth, state};
use crate::error::Result;
use crate::secret::SecretString;

/// The account id of a local account unless [`LocalAccountBuilder::account_id`] says otherwise.
pub const DEFAULT_ACCOUNT_ID: &str = "00000000-0000-4000-8000-000000000001";
/// The application id of the account's service principal unless
/// [`LocalAccountBuilder::service_principal`] says otherwise.
pub const DEFAULT_ACCOUNT_SP: &str = "account-admin-sp";
/// Its secret unless [`LocalAccountBuilder::service_principal`] says otherwise.
const DEFAULT_ACCOUNT_SP_SECRET: &str = "account-admin-sp-secret";
/// The id of the first workspace; the others follow.
const FIRST_WORKSPACE_ID: i64 = 2_000_000_000_000_001;
/// The largest request body accepted by the account API.
const MAX_BODY: usize = 1 << 16;

/// How a workspace of a local account answers, beside its own fault injection.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::local::{Health, LocalAccount};
/// let builder = LocalAccount::builder().workspaces(4).customize(|i, ws| match i {
///     1 => ws.health(Health::Unavailable),
///     2 => ws.health(Health::Slow(Duration::from_millis(200))),
///     3 => ws.not_admin(),
///     _ => ws,
/// });
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Answers as a healthy workspace.
    #[default]
    Healthy,
    /// Every request, its OAuth endpoints' included, is answered `503 TEMPORARILY_UNAVAILABLE`.
    Unavailable,
    /// Every connection is closed without an answer.
    ConnectionReset,
    /// Every request waits this long before it is handled.
    Slow(Duration),
    /// Personal access tokens are disabled: the Tokens and Token Management APIs answer
    /// `403 FEATURE_DISABLED`; OAuth still works.
    PatsDisabled,
    /// Every request is throttled: `429 REQUEST_LIMIT_EXCEEDED` with this `Retry-After`.
    Throttled {
        /// The `Retry-After` of every answer, in seconds.
        retry_after_seconds: u64,
    },
    /// Reachable only through private link: every request is redirected (`303`) to the workspace's login
    /// page with `error=private-link-validation-error`, as a workspace refusing this network does.
    PrivateLinkOnly,
}

/// One workspace of a local account, as [`LocalAccountBuilder::customize`] sets it up.
///
/// ```
/// use databricks_tokens::local::{AccountWorkspace, Health, LocalAccount};
/// let builder = LocalAccount::builder().workspaces(2).customize(|index, ws: AccountWorkspace| {
///     ws.workspace_name(format!("team-{index}"))
///         .status(if index == 0 { "RUNNING" } else { "PROVISIONING" })
///         .configure(|b| b.user("alice", format!("dapi-alice-{index}")))
///         .tokens(5)
/// });
/// ```
#[must_use]
pub struct AccountWorkspace {
    workspace_id: i64,
    workspace_name: String,
    deployment_name: String,
    status: String,
    health: Health,
    admin: bool,
    tokens: usize,
    builder: LocalWorkspaceBuilder,
}

impl fmt::Debug for AccountWorkspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountWorkspace")
            .field("workspace_id", &self.workspace_id)
            .field("deployment_name", &self.deployment_name)
            .field("status", &self.status)
            .field("health", &self.health)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl AccountWorkspace {
    /// Its numeric id (default: `2000000000000001` for the first, then one more each).
    pub fn workspace_id(&self) -> i64 {
        self.workspace_id
    }
    /// Its human-readable name (default `workspace-<index>`).
    pub fn workspace_name(mut self, name: impl Into<String>) -> Self {
        self.workspace_name = name.into();
        self
    }
    /// Its deployment name, the path segment it is served under (default `ws-<index>`). Must be unique in
    /// the account and a single path segment (letters, digits, `-`, `_`, `.`).
    pub fn deployment_name(mut self, name: impl Into<String>) -> Self {
        self.deployment_name = name.into();
        self
    }
    /// Its `workspace_status` in the account API (default `RUNNING`); it is served whatever its status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }
    /// How it answers (default [`Health::Healthy`]).
    pub fn health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }
    /// The account's service principal is a plain service principal here, not an admin: Token
    /// Management answers it `403 PERMISSION_DENIED`.
    pub fn not_admin(mut self) -> Self {
        self.admin = false;
        self
    }
    /// Creates this many tokens of `local-user` before the workspace serves (default: the builder's
    /// [`LocalAccountBuilder::tokens_per_workspace`]). More than the workspace's quota (600 unless
    /// [`LocalWorkspaceBuilder::quota`] says otherwise) fails [`LocalAccountBuilder::start`].
    pub fn tokens(mut self, count: usize) -> Self {
        self.tokens = count;
        self
    }
    /// Configures the workspace itself: users, admins, other service principals, groups, quota, issuers...
    /// (its port is the account's).
    pub fn configure(mut self, configure: impl FnOnce(LocalWorkspaceBuilder) -> LocalWorkspaceBuilder) -> Self {
        self.builder = configure(self.builder);
        self
    }
}

type Customizer = Box<dyn Fn(usize, AccountWorkspace) -> AccountWorkspace + Send + Sync>;

/// Configures a [`LocalAccount`].
///
/// ```
/// use databricks_tokens::local::LocalAccount;
/// let builder = LocalAccount::builder().account_id("acc-1").service_principal("fleet-sp", "fleet-secret").workspaces(10);
/// assert!(!format!("{builder:?}").contains("fleet-secret"));
/// ```
#[must_use]
pub struct LocalAccountBuilder {
    port: u16,
    account_id: String,
    service_principal: (String, SecretString),
    workspaces: usize,
    tokens_per_workspace: usize,
    access_token_lifetime: Duration,
    issuers: Vec<super::TrustedIssuer>,
    customize: Option<Customizer>,
}

impl Default for LocalAccountBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            service_principal: (DEFAULT_ACCOUNT_SP.to_owned(), SecretString::new(DEFAULT_ACCOUNT_SP_SECRET)),
            workspaces: 1,
            tokens_per_workspace: 0,
            access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            issuers: Vec::new(),
            customize: None,
        }
    }
}

impl fmt::Debug for LocalAccountBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalAccountBuilder")
            .field("port", &self.port)
            .field("account_id", &self.account_id)
            .field("service_principal", &self.service_principal.0)
            .field("workspaces", &self.workspaces)
            .field("tokens_per_workspace", &self.tokens_per_workspace)
            .finish_non_exhaustive()
    }
}

impl LocalAccountBuilder {
    /// Listens on this port of 127.0.0.1 (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// The account id (default [`DEFAULT_ACCOUNT_ID`]).
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = account_id.into();
        self
    }
    /// The account's admin service principal: an OAuth client of the account's token endpoint, and a
    /// service principal (an admin unless [`AccountWorkspace::not_admin`]) of every workspace, with the
    /// same secret.
    pub fn service_principal(mut self, client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        self.service_principal = (client_id.into(), client_secret.into());
        self
    }
    /// How many workspaces (default 1).
    pub fn workspaces(mut self, count: usize) -> Self {
        self.workspaces = count;
        self
    }
    /// How many tokens of `local-user` each workspace holds when it starts (default 0).
    pub fn tokens_per_workspace(mut self, count: usize) -> Self {
        self.tokens_per_workspace = count;
        self
    }
    /// How long the account's and the workspaces' OAuth access tokens live (default one hour).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }
    /// Trusts an OIDC issuer at the account's token endpoint: its JWTs whose `aud` is the account id (the
    /// default audience of account-level federation) are exchanged for account access tokens, for the
    /// JWT's `sub` (account-wide federation) or, with a `client_id`, for the account's service principal.
    ///
    /// ```
    /// use databricks_tokens::local::{LocalAccount, OidcIssuer};
    /// let issuer = OidcIssuer::new("https://issuer.example")?;
    /// let builder = LocalAccount::builder().trust_issuer(&issuer);
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    pub fn trust_issuer(mut self, issuer: impl Into<super::TrustedIssuer>) -> Self {
        self.issuers.push(issuer.into());
        self
    }
    /// Sets up each workspace: called with its index (from 0) and its default set-up.
    pub fn customize(mut self, customize: impl Fn(usize, AccountWorkspace) -> AccountWorkspace + Send + Sync + 'static) -> Self {
        self.customize = Some(Box::new(customize));
        self
    }

    /// Binds 127.0.0.1, seeds the workspaces and starts serving.
    ///
    /// Fails with [`std::io::ErrorKind::InvalidInput`] for two workspaces with one deployment name or a
    /// deployment name that is not a plain path segment.
    pub async fn start(self) -> std::io::Result<LocalAccount> {
        let listener = server::bind(self.port).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let (sp, secret) = self.service_principal.clone();
        let mut workspaces = Vec::with_capacity(self.workspaces);
        let mut by_name = HashMap::with_capacity(self.workspaces);
        for index in 0..self.workspaces {
            let workspace_id = FIRST_WORKSPACE_ID + index as i64;
            let mut setup = AccountWorkspace {
                workspace_id,
                workspace_name: format!("workspace-{index}"),
                deployment_name: format!("ws-{index}"),
                status: "RUNNING".to_owned(),
                health: Health::Healthy,
                admin: true,
                tokens: self.tokens_per_workspace,
                builder: LocalWorkspaceBuilder::default().access_token_lifetime(self.access_token_lifetime),
            };
            if let Some(customize) = &self.customize {
                setup = customize(index, setup);
            }
            let name = setup.deployment_name.clone();
            let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !plain || name == "." || name == ".." {
                return Err(invalid(format!("deployment name {name:?} is not a plain path segment")));
            }
            if by_name.insert(name.clone(), index).is_some() {
                return Err(invalid(format!("two workspaces have the deployment name {name:?}")));
            }
            let builder = match setup.admin {
                true => setup.builder.admin_service_principal(sp.clone(), secret.clone()),
                false => setup.builder.service_principal(sp.clone(), secret.clone()),
            };
            let prefix = format!("/ws/{name}");
            let (shared, bootstrap) = builder.into_shared(format!("{url}{prefix}"), workspace_id.to_string());
            seed(&shared, setup.tokens)?;
            let handle = LocalWorkspace { addr, prefix, shared, bootstrap, shutdown: None, task: None };
            workspaces.push(Served {
                workspace_id,
                workspace_name: setup.workspace_name,
                deployment_name: name,
                status: setup.status,
                health: Mutex::new(setup.health),
                handle,
            });
        }
        // The account's own authorization server: its service principal is its only client.
        let oauth = oauth::Authority::new(
            format!("{url}/oidc/accounts/{}", self.account_id),
            String::new(),
            vec![(sp.clone(), secret)],
            self.issuers,
            vec![self.account_id.clone()],
            self.access_token_lifetime,
            oauth::BearerJwts::default(),
        );
        let state = state::State::new(Vec::new(), std::slice::from_ref(&sp), 0, Duration::ZERO);
        let inner = Arc::new(Inner {
            url: url.clone(),
            account_id: self.account_id,
            oauth,
            state: Mutex::new(state),
            workspaces,
            by_name,
            faults: Mutex::new(VecDeque::new()),
            token_requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let (shutdown, task) = server::serve(
            listener,
            Arc::clone(&inner),
            |inner| {
                inner.connections.fetch_add(1, Ordering::Relaxed);
            },
            dispatch,
        );
        Ok(LocalAccount { addr, inner, service_principal: self.service_principal, shutdown: Some(shutdown), task: Some(task) })
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// Creates `count` tokens of the bootstrap user in a workspace's state; what the workspace refuses (past
/// its quota) is an error.
fn seed(shared: &Shared, count: usize) -> std::io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let caller = state.principal_named(BOOTSTRAP_USER);
    for n in 0..count {
        let (status, body) = state.create(&caller, &json!({"comment": format!("seeded-{n}")}));
        if status != 200 {
            return Err(invalid(format!("seeding token {n} of {count}: {}", body["message"].as_str().unwrap_or("refused"))));
        }
    }
    Ok(())
}

/// A workspace the account serves.
struct Served {
    workspace_id: i64,
    workspace_name: String,
    deployment_name: String,
    status: String,
    health: Mutex<Health>,
    handle: LocalWorkspace,
}

impl Served {
    fn to_json(&self, account_id: &str) -> Value {
        json!({
            "workspace_id": self.workspace_id,
            "workspace_name": self.workspace_name,
            "deployment_name": self.deployment_name,
            "workspace_status": self.status,
            "account_id": account_id,
            "cloud": "aws",
            "aws_region": "us-west-2",
            "pricing_tier": "PREMIUM",
            "creation_time": 1_700_000_000_000_i64 + self.workspace_id % 1_000_000,
        })
    }
}

/// What the account's listener serves.
struct Inner {
    url: String,
    account_id: String,
    oauth: oauth::Authority,
    /// The account's access tokens.
    state: Mutex<state::State>,
    workspaces: Vec<Served>,
    by_name: HashMap<String, usize>,
    /// Faults scripted for the account API's workspaces requests.
    faults: Mutex<VecDeque<Fault>>,
    /// Requests to the account's token endpoint.
    token_requests: AtomicU64,
    /// Connections accepted.
    connections: AtomicU64,
}

/// A local account: the account API (workspaces list and get, the account's OAuth token endpoint, host
/// metadata) and N local workspaces, all served on loopback from one listener.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use databricks_tokens::local::{Health, LocalAccount};
///
/// let account = LocalAccount::builder()
///     .workspaces(3)
///     .customize(|index, ws| if index == 2 { ws.health(Health::Unavailable) } else { ws })
///     .start()
///     .await?;
/// let a = account.client()?; // an AccountClient as the account's admin service principal (OAuth M2M)
/// for workspace in a.workspaces().list().send().await? {
///     let w = a.workspace_client(&workspace)?; // http://127.0.0.1:<port>/ws/<deployment name>
///     let tokens = w.token_management().list().send().await;
/// }
/// # Ok(()) }
/// ```
///
/// - **One listener** serves the account API at its root and each workspace under
///   `/ws/<deployment name>` ([`LocalAccount::workspace_url_template`]), so a thousand workspaces cost
///   one socket, not a thousand (mind `ulimit -n`: often 1,024 on a laptop). A workspace there is a whole
///   [`LocalWorkspace`] — its users, admins, service principals, tokens, OAuth server, fault injection and
///   counters — reached through [`LocalAccount::workspace`].
/// - **The account API**: `GET /api/2.0/accounts/{account_id}/workspaces` answers a JSON array of every
///   workspace (one page, whatever their status), `GET …/workspaces/{workspace_id}` one (`404
///   RESOURCE_DOES_NOT_EXIST` for an unknown id; `400 INVALID_PARAMETER_VALUE` for an id that is no int64).
///   Both need an access token of the account's token endpoint (`401` without a credential, `403` with one
///   the account did not issue, a workspace's included); another account id is `404`.
/// - **Account OAuth**: host metadata at `/.well-known/databricks-config` names the OIDC root
///   `<url>/oidc/accounts/{account_id}`; its discovery document and its token endpoint
///   (`/oidc/accounts/{account_id}/v1/token`, [`LocalAccount::token_endpoint`]) issue access tokens to the
///   account's service principal (client credentials, as a workspace's token endpoint does).
/// - **The account's service principal** ([`LocalAccountBuilder::service_principal`], default
///   [`DEFAULT_ACCOUNT_SP`]) is a service principal with the same secret in every workspace, and an admin
///   there unless [`AccountWorkspace::not_admin`] says otherwise. Its workspace tokens come from each
///   workspace's own endpoint (`<workspace url>/oidc/v1/token`): an account token is refused by a
///   workspace, as by the service.
/// - **Unhealthy workspaces** ([`Health`]): answering `503` to everything, resetting every connection,
///   answering slowly, or with personal access tokens disabled; or not `RUNNING`
///   ([`AccountWorkspace::status`]). [`LocalAccount::set_health`] changes it while running, and each
///   workspace's own fault injection ([`LocalWorkspace::inject`]) scripts single faults.
/// - **Seeding**: [`LocalAccountBuilder::tokens_per_workspace`] creates tokens in every workspace before
///   it serves (directly in its state, not through HTTP), so a thousand workspaces of a hundred tokens
///   start in well under a second of work per thousand tokens.
///
/// It stops (with its workspaces) when dropped, or with [`LocalAccount::stop`].
pub struct LocalAccount {
    addr: SocketAddr,
    inner: Arc<Inner>,
    service_principal: (String, SecretString),
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for LocalAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalAccount")
            .field("url", &self.inner.url)
            .field("account_id", &self.inner.account_id)
            .field("service_principal", &self.service_principal.0)
            .field("workspaces", &self.inner.workspaces.len())
            .finish_non_exhaustive()
    }
}

impl LocalAccount {
    /// Configures an account.
    pub fn builder() -> LocalAccountBuilder {
        LocalAccountBuilder::default()
    }

    /// The account host, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// The account's service principal: its application id and secret.
    pub fn service_principal(&self) -> (&str, &SecretString) {
        (&self.service_principal.0, &self.service_principal.1)
    }

    /// The account's token endpoint, `<url>/oidc/accounts/<account_id>/v1/token`.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let account = databricks_tokens::local::LocalAccount::builder().start().await?;
    /// assert!(account.token_endpoint().ends_with(&format!("/oidc/accounts/{}/v1/token", account.account_id())));
    /// # Ok(()) }
    /// ```
    pub fn token_endpoint(&self) -> String {
        format!("{}/oidc/accounts/{}/v1/token", self.inner.url, self.inner.account_id)
    }

    /// How its workspaces' URLs are made from their deployment names:
    /// `http://127.0.0.1:<port>/ws/{deployment_name}`, for
    /// [`crate::AccountClientBuilder::workspace_url_template`].
    pub fn workspace_url_template(&self) -> String {
        format!("{}/ws/{{deployment_name}}", self.inner.url)
    }

    /// An [`crate::AccountClient`] of this account as its service principal (OAuth M2M), reaching the
    /// workspaces on loopback.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let account = databricks_tokens::local::LocalAccount::builder().workspaces(2).start().await?;
    /// assert_eq!(account.client()?.workspaces().list().send().await?.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> Result<crate::AccountClient> {
        self.client_builder().build()
    }

    /// The builder of [`LocalAccount::client`], to add options (rate limit, retry policy, clock...).
    pub fn client_builder(&self) -> crate::AccountClientBuilder {
        crate::AccountClient::builder()
            .host(self.url())
            .account_id(self.account_id())
            .oauth_m2m(self.service_principal.0.clone(), self.service_principal.1.clone())
            .workspace_url_template(self.workspace_url_template())
    }

    /// How many workspaces it has.
    pub fn len(&self) -> usize {
        self.inner.workspaces.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.inner.workspaces.is_empty()
    }

    /// The workspace of this index (from 0): its state, fault injection and counters.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_tokens::local::{Fault, LocalAccount, Route};
    /// let account = LocalAccount::builder().workspaces(2).tokens_per_workspace(3).start().await?;
    /// let ws = account.workspace(1).expect("two workspaces");
    /// assert_eq!(ws.tokens().len(), 3);
    /// ws.inject(Route::ManagementList, [Fault::TooManyRequests { retry_after_seconds: 1 }]);
    /// # Ok(()) }
    /// ```
    pub fn workspace(&self, index: usize) -> Option<&LocalWorkspace> {
        self.inner.workspaces.get(index).map(|w| &w.handle)
    }

    /// The workspace with this deployment name.
    pub fn workspace_named(&self, deployment_name: &str) -> Option<&LocalWorkspace> {
        self.inner.by_name.get(deployment_name).and_then(|i| self.workspace(*i))
    }

    /// The id of the workspace of this index.
    pub fn workspace_id(&self, index: usize) -> Option<i64> {
        self.inner.workspaces.get(index).map(|w| w.workspace_id)
    }

    /// Changes how the workspace of this index answers; `false` when there is none.
    pub fn set_health(&self, index: usize, health: Health) -> bool {
        match self.inner.workspaces.get(index) {
            Some(w) => {
                *w.health.lock().unwrap_or_else(|e| e.into_inner()) = health;
                true
            }
            None => false,
        }
    }

    /// Scripts faults for the next requests of the account Workspaces API (list and get), one per request:
    /// `TooManyRequests`, `Unavailable`, `HtmlServerError` and `Delay` as a workspace answers them; the
    /// other faults close the connection without an answer.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.inner.faults.lock().unwrap_or_else(|e| e.into_inner()).extend(faults);
    }

    /// How many requests the account's token endpoint received.
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::Relaxed)
    }

    /// How many connections the listener accepted (the account's and every workspace's).
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Moves the clock of the account's token endpoint and of every workspace forward.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner()).advance(by);
        for w in &self.inner.workspaces {
            w.handle.advance_clock(by);
        }
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalAccount {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

fn answer(answer: Answer) -> Response<AnswerBody> {
    server::respond(answer).map(http_body_util::Either::Left)
}

/// Sends a request to its workspace (`/ws/<deployment name>/...`) or to the account API.
async fn dispatch(inner: Arc<Inner>, request: Request<Incoming>) -> std::result::Result<Response<AnswerBody>, DropConnection> {
    let path = request.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/ws/") {
        let (name, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let Some(served) = inner.by_name.get(name).map(|i| &inner.workspaces[*i]) else {
            let message = format!("No workspace with the deployment name {:?} in this account.", crate::redact::truncate(name, 100));
            return Ok(answer(error(404, "ENDPOINT_NOT_FOUND", message)));
        };
        let health = served.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match health {
            Health::Healthy => {}
            Health::Unavailable => {
                return Ok(answer(error(503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable.")));
            }
            Health::ConnectionReset => return Err(DropConnection),
            Health::Slow(delay) => tokio::time::sleep(delay).await,
            Health::Throttled { retry_after_seconds } => {
                let mut r = answer(error(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests, slow down."));
                r.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from(retry_after_seconds));
                return Ok(r);
            }
            Health::PrivateLinkOnly => {
                let location = format!("{}/ws/{name}/login.html?error=private-link-validation-error", inner.url);
                let mut r = Response::new(http_body_util::Either::Left(Full::new(Bytes::new())));
                *r.status_mut() = hyper::StatusCode::SEE_OTHER;
                if let Ok(value) = hyper::header::HeaderValue::from_str(&location) {
                    r.headers_mut().insert(hyper::header::LOCATION, value);
                }
                return Ok(r);
            }
            Health::PatsDisabled => {
                if tail.starts_with("/api/2.0/token/") || tail.starts_with("/api/2.0/token-management/") {
                    return Ok(answer(error(403, "FEATURE_DISABLED", "Personal access tokens are disabled for this workspace.")));
                }
            }
        }
        let tail = if tail.is_empty() { "/" } else { tail };
        let (mut parts, body) = request.into_parts();
        let path_and_query = match parts.uri.query() {
            Some(q) => format!("{tail}?{q}"),
            None => tail.to_owned(),
        };
        parts.uri = match path_and_query.parse() {
            Ok(uri) => uri,
            Err(_) => return Ok(answer(error(400, "MALFORMED_REQUEST", "The request path is not valid."))),
        };
        return server::answer(Arc::clone(&served.handle.shared), Request::from_parts(parts, body)).await;
    }
    account_api(&inner, request).await
}

/// The account's own endpoints.
async fn account_api(inner: &Inner, request: Request<Incoming>) -> std::result::Result<Response<AnswerBody>, DropConnection> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let oidc_root = format!("/oidc/accounts/{}", inner.account_id);
    let header = |name: hyper::header::HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (authorization, content_type) = (header(hyper::header::AUTHORIZATION), header(hyper::header::CONTENT_TYPE));
    match (method.as_str(), path.as_str()) {
        ("GET", "/.well-known/databricks-config") => {
            return Ok(answer((
                200,
                json!({
                    "oidc_endpoint": format!("{}/oidc/accounts/{{account_id}}", inner.url),
                    "account_id": inner.account_id,
                    "cloud": "AWS",
                    "host_type": "account",
                }),
            )));
        }
        ("GET", p) if p == format!("{oidc_root}/.well-known/oauth-authorization-server") => {
            let root = format!("{}{oidc_root}", inner.url);
            return Ok(answer((
                200,
                json!({
                    "issuer": root,
                    "authorization_endpoint": format!("{root}/v1/authorize"),
                    "token_endpoint": format!("{root}/v1/token"),
                    "grant_types_supported": ["client_credentials"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                }),
            )));
        }
        ("POST", p) if p == format!("{oidc_root}/v1/token") => {
            inner.token_requests.fetch_add(1, Ordering::Relaxed);
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return Ok(server::token_response(oauth::unreadable_body()).map(http_body_util::Either::Left)),
            };
            let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
            let answer = inner.oauth.token(&mut state, authorization.as_deref(), content_type.as_deref(), &body);
            return Ok(server::token_response(answer).map(http_body_util::Either::Left));
        }
        _ => {}
    }
    let ops = crate::generated::workspaces::operations::ALL;
    let Some((operation, values)) = ops.iter().find_map(|op| op.matches(&method, &path).map(|v| (op, v))) else {
        let message = format!("No API found for '{method} {}'", crate::redact::truncate(&path, 200));
        return Ok(answer(error(404, "ENDPOINT_NOT_FOUND", message)));
    };
    let values: Vec<String> = values.iter().map(|v| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned()).collect();
    let fault = inner.faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    match fault {
        None => {}
        Some(Fault::TooManyRequests { retry_after_seconds }) => {
            let mut r = answer(error(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests, slow down."));
            r.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from(retry_after_seconds));
            return Ok(r);
        }
        Some(Fault::Unavailable) => {
            return Ok(answer(error(503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable.")));
        }
        Some(Fault::HtmlServerError) => {
            let mut r = Response::new(http_body_util::Either::Left(Full::new(Bytes::from_static(
                b"<html><body><h1>500 Internal Server Error</h1></body></html>",
            ))));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(r);
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(_) => return Err(DropConnection),
    }
    let caller = {
        let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
        state.authenticate(authorization.as_deref())
    };
    if let Err(refused) = caller {
        return Ok(answer(refused));
    }
    if values.first().map(String::as_str) != Some(inner.account_id.as_str()) {
        return Ok(answer(error(404, "RESOURCE_DOES_NOT_EXIST", "No such account.")));
    }
    let body = match (operation.id, values.get(1)) {
        ("list_workspaces", _) => (200, Value::Array(inner.workspaces.iter().map(|w| w.to_json(&inner.account_id)).collect())),
        (_, Some(id)) => match id.parse::<i64>() {
            Err(_) => error(400, "INVALID_PARAMETER_VALUE", "workspace_id must be an int64."),
            Ok(id) => match inner.workspaces.iter().find(|w| w.workspace_id == id) {
                Some(w) => (200, w.to_json(&inner.account_id)),
                None => error(404, "RESOURCE_DOES_NOT_EXIST", format!("Workspace {id} does not exist.")),
            },
        },
        _ => error(404, "ENDPOINT_NOT_FOUND", "No API found."),
    };
    Ok(answer(body))
}
