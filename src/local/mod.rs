//! A local workspace: a real HTTP server on loopback that implements the Tokens API.
//!
//! For demos, for this crate's tests, and for users' own tests of their token automation: no Databricks
//! account, no network. Enable the `local-workspace` feature.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use databricks_tokens::local::LocalWorkspace;
//! use databricks_tokens::types::CreateTokenRequest;
//!
//! let ws = LocalWorkspace::start().await?;
//! let w = ws.client()?; // a WorkspaceClient authenticated with the bootstrap token
//! let created = w.tokens().create(CreateTokenRequest { comment: Some("ci".into()), ..Default::default() }).await?;
//! assert_eq!(ws.tokens().len(), 1);
//! ws.stop().await;
//! # Ok(()) }
//! ```
//!
//! Semantics, as the service documents them:
//! - **Authentication**: `Authorization: Bearer <token>`; the bootstrap token (and every user token set with
//!   [`LocalWorkspaceBuilder::user`]) and every token the workspace mints are valid credentials. A missing
//!   header is `401 UNAUTHENTICATED`; an unknown, expired or revoked token `403 PERMISSION_DENIED`.
//! - **Create**: a `dapi…` value, an id that is the SHA-256 of the value, creation and expiry times in epoch
//!   milliseconds; without `lifetime_seconds` the token lives 2 years; a lifetime below 1 s or above the
//!   maximum is `INVALID_PARAMETER_VALUE`; more than the per-user quota (600) is `QUOTA_EXCEEDED`.
//! - **List**: the caller's valid tokens, oldest first.
//! - **Update**: the mask is validated (`comment`, `scopes`, or `*`; an unknown or output-only path, an empty
//!   segment, a space, or a masked field absent from the body is `INVALID_PARAMETER_VALUE`); an unknown id
//!   is `404 NOT_FOUND`.
//! - **Delete**: an unknown id is `404 RESOURCE_DOES_NOT_EXIST`.
//! - **Time**: wall-clock time plus an offset that [`LocalWorkspace::advance_clock`] moves, so tests can
//!   expire tokens.
//!
//! Fault injection ([`LocalWorkspace::inject`]) scripts 429s with `Retry-After`, 503s, HTML 500s, delays,
//! and connections reset before or after the request is processed, per route; [`LocalWorkspace::counters`]
//! tells how many requests a route received and really processed. Each instance has its own state: many
//! can run in one process.

mod server;
mod state;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Result;
use crate::secret::SecretString;
use crate::types::PublicTokenInfo;

pub use state::DEFAULT_LIFETIME;

/// The bootstrap token a workspace accepts unless told otherwise.
pub const DEFAULT_BOOTSTRAP_TOKEN: &str = "dapi-local-bootstrap-token";
/// Tokens a user may hold at once unless told otherwise.
pub const DEFAULT_QUOTA: usize = 600;

/// One of the four operations of the Tokens API.
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
}

impl Route {
    const ALL: [Route; 4] = [Route::Create, Route::List, Route::Update, Route::Delete];
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
/// use databricks_tokens::local::LocalWorkspace;
/// let ws = LocalWorkspace::builder().port(8080).bootstrap_token("dapi-mine").quota(5).user("alice", "dapi-alice").start().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LocalWorkspaceBuilder {
    port: u16,
    users: Vec<(String, SecretString)>,
    quota: usize,
    max_lifetime: Duration,
}

impl Default for LocalWorkspaceBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            users: vec![("local-user".to_owned(), SecretString::new(DEFAULT_BOOTSTRAP_TOKEN))],
            quota: DEFAULT_QUOTA,
            max_lifetime: Duration::from_secs(10 * 365 * 24 * 3600),
        }
    }
}

impl LocalWorkspaceBuilder {
    /// Listens on this port of 127.0.0.1 (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// The bootstrap credential of the default user `local-user`.
    pub fn bootstrap_token(mut self, token: impl Into<SecretString>) -> Self {
        self.users[0].1 = token.into();
        self
    }
    /// Adds a user with a credential of their own; each user sees only their own tokens.
    pub fn user(mut self, name: impl Into<String>, token: impl Into<SecretString>) -> Self {
        self.users.push((name.into(), token.into()));
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

    /// Binds 127.0.0.1 and starts serving.
    pub async fn start(self) -> std::io::Result<LocalWorkspace> {
        let bootstrap = self.users[0].1.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(state::State::new(self.users, self.quota, self.max_lifetime)),
            faults: Mutex::new(Default::default()),
            counters: Mutex::new([RouteCounters::default(); 4]),
        });
        let (addr, shutdown, task) = server::serve(self.port, Arc::clone(&shared)).await?;
        Ok(LocalWorkspace { addr, shared, bootstrap, shutdown: Some(shutdown), task: Some(task) })
    }
}

/// A running local workspace. Stops when dropped (or with [`LocalWorkspace::stop`]).
#[derive(Debug)]
pub struct LocalWorkspace {
    addr: SocketAddr,
    shared: Arc<Shared>,
    bootstrap: SecretString,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<state::State>,
    faults: Mutex<[VecDeque<Option<Fault>>; 4]>,
    counters: Mutex<[RouteCounters; 4]>,
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

    /// The workspace URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap credential of `local-user`.
    pub fn bootstrap_token(&self) -> &SecretString {
        &self.bootstrap
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

impl Drop for LocalWorkspace {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}
