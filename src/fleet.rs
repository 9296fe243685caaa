//! Token work over a fleet of workspaces: an audit that streams one record per token, and revoke plans
//! (with their dry runs) applied to every workspace, with bounded concurrency, one workspace's failure
//! isolated, a per-workspace timeout, and a rate limit and retry budget shared across the run.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use databricks_tokens::AccountClient;
//! use databricks_tokens::fleet::{AuditEvent, Fleet, FleetOptions, JsonLinesWriter};
//!
//! let a = AccountClient::from_env()?; // an account admin service principal, say
//! let fleet = Fleet::new(FleetOptions::default().concurrency(16))?;
//! let mut out = JsonLinesWriter::new(std::fs::File::create("tokens.jsonl")?);
//! let mut events = std::pin::pin!(fleet.audit(fleet.account_members(&a).await?));
//! while let Some(event) = events.next().await {
//!     match event {
//!         AuditEvent::Token(record) => out.write(&record)?,
//!         AuditEvent::Workspace(done) => eprintln!("{}: {:?} ({})", done.workspace.name, done.outcome, done.progress),
//!         _ => {}
//!     }
//! }
//! out.finish()?;
//! # Ok(()) }
//! ```
//!
//! # The members: what the run goes over
//!
//! A [`Member`] is one workspace of the account: its id, name, status and a [`WorkspaceClient`] of it.
//! [`Fleet::account_members`] makes them from an [`AccountClient`]: it lists the account's workspaces
//! (one request), and each member's client is [`AccountClient::workspace_client`]'s (the account's
//! credentials; one token request per workspace, reused), sharing the account's connection pool and the
//! run's rate limit and retry budget, built only when the run works on that member. Members can also be
//! made by hand with clients built with
//! [`ClientBuilder::shared_limits`](crate::ClientBuilder::shared_limits)`(fleet.limits())`. The run takes
//! any iterator of members and consumes it lazily: at most [`FleetOptions::concurrency`] members (and
//! their clients and connections) are alive at once, whatever the fleet's size. Members that
//! [`FleetOptions::filter`] leaves out (by default every workspace that is not `RUNNING`) are reported as
//! skipped and never called (an account member's client is never built).
//!
//! # What a run survives
//!
//! Each workspace's work runs under [`FleetOptions::workspace_timeout`]; an error (not an admin: 403;
//! Token Management disabled; 503 forever; a connection reset; a 429 storm past the retry budget) or the
//! timeout becomes that workspace's [`Outcome::Failed`], and the run goes on. Retries (the token
//! requests' included) are paid from the workspace client's own budget (at most
//! [`FleetOptions::workspace_retry_budget`]) and from the run's ([`FleetOptions::retry_budget`]): a storm in one workspace spends at most its share, while a failing
//! region, many workspaces at once, empties the run's budget and stops retrying instead of hammering it.
//!
//! # Memory
//!
//! Records are streamed: the run holds the tokens of at most `concurrency` workspaces at a time, and the
//! writers ([`JsonLinesWriter`], `CsvWriter` with feature `csv`) write each record as it comes.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::{Stream, StreamExt, stream};
use serde::Serialize;

use crate::account::Workspace;
use crate::admin::{Audit, AuditOptions, RevokePlan, RevokeReport, TokenAdminWorkflows};
use crate::error::{Error, ErrorKind, Result};
use crate::types::token_management::TokenInfo;
use crate::workflows::{Expiry, TokenInfoExt};
use crate::{AccountClient, WorkspaceClient};

/// Workspaces worked on at once, unless [`FleetOptions::concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// How long one workspace's work may take, unless [`FleetOptions::workspace_timeout`] says otherwise.
pub const DEFAULT_WORKSPACE_TIMEOUT: Duration = Duration::from_secs(120);
/// The run's retry budget (a retry takes 5, 10 after a timeout; a first-time success gives 1 back).
pub const DEFAULT_RUN_RETRY_BUDGET: u32 = 500;
/// The most of the run's retry budget one workspace may spend: 10 retries.
pub const DEFAULT_WORKSPACE_RETRY_BUDGET: u32 = 50;

const DAY: Duration = Duration::from_secs(24 * 3600);

pub use crate::sharing::SharedLimits;

/// Which workspaces a run works on: by id, by name, by status (`RUNNING` only by default).
///
/// ```
/// use databricks_tokens::fleet::Filter;
/// let filter = Filter::default().names(["prod-eu", "prod-us"]);
/// assert!(filter.matches(1, "prod-eu", "RUNNING"));
/// assert!(!filter.matches(2, "prod-eu", "PROVISIONING"), "RUNNING only by default");
/// assert!(Filter::default().any_status().matches(3, "dev", "FAILED"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Filter {
    /// Only these workspace ids (all when `None`).
    pub ids: Option<BTreeSet<i64>>,
    /// Only these workspace names (all when `None`).
    pub names: Option<BTreeSet<String>>,
    /// Only workspaces in these statuses (all when `None`); default `RUNNING`, the only status in which a
    /// workspace answers.
    pub statuses: Option<BTreeSet<String>>,
}

impl Default for Filter {
    fn default() -> Self {
        Self { ids: None, names: None, statuses: Some(BTreeSet::from(["RUNNING".to_owned()])) }
    }
}

impl Filter {
    /// Only these workspace ids.
    pub fn ids(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.ids = Some(ids.into_iter().collect());
        self
    }
    /// Only these workspace names.
    pub fn names(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// Only workspaces in these statuses (`RUNNING`, `PROVISIONING`, `FAILED`, ...).
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.statuses = Some(statuses.into_iter().map(Into::into).collect());
        self
    }
    /// Workspaces in any status.
    pub fn any_status(mut self) -> Self {
        self.statuses = None;
        self
    }
    /// Whether the workspace `id`, `name` in `status` is in.
    pub fn matches(&self, id: i64, name: &str, status: &str) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&id))
            && self.names.as_ref().is_none_or(|names| names.contains(name))
            && self.statuses.as_ref().is_none_or(|statuses| statuses.contains(status))
    }
}

/// How a fleet run goes.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::fleet::{FleetOptions, Filter};
/// let options = FleetOptions::default()
///     .concurrency(8)
///     .workspace_timeout(Duration::from_secs(60))
///     .rate_limit(50.0)
///     .max_lifetime(Duration::from_secs(90 * 24 * 3600))
///     .filter(Filter::default().ids([1, 2, 3]));
/// assert_eq!(options.concurrency, 8);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FleetOptions {
    /// Workspaces worked on at once (default [`DEFAULT_CONCURRENCY`]).
    pub concurrency: usize,
    /// How long one workspace's work may take, retries included (default [`DEFAULT_WORKSPACE_TIMEOUT`]).
    pub workspace_timeout: Duration,
    /// Requests a second across the whole run (default: no limit besides each workspace's own answers).
    pub rate_limit: Option<f64>,
    /// The run's retry budget (default [`DEFAULT_RUN_RETRY_BUDGET`]).
    pub retry_budget: u32,
    /// The most of it one workspace may spend (default [`DEFAULT_WORKSPACE_RETRY_BUDGET`]).
    pub workspace_retry_budget: u32,
    /// What the audit calls unused and expiring soon.
    pub audit: AuditOptions,
    /// The lifetime policy: a token that lives longer (or never expires) is flagged
    /// [`FleetRecord::expires_beyond_policy`]. Default 90 days, the documentation's recommendation.
    pub max_lifetime: Duration,
    /// Which workspaces the run works on (default: the `RUNNING` ones).
    pub filter: Filter,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            workspace_timeout: DEFAULT_WORKSPACE_TIMEOUT,
            rate_limit: None,
            retry_budget: DEFAULT_RUN_RETRY_BUDGET,
            workspace_retry_budget: DEFAULT_WORKSPACE_RETRY_BUDGET,
            audit: AuditOptions::default(),
            max_lifetime: 90 * DAY,
            filter: Filter::default(),
        }
    }
}

impl FleetOptions {
    /// Sets the number of workspaces worked on at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
    /// Sets the per-workspace timeout.
    pub fn workspace_timeout(mut self, t: Duration) -> Self {
        self.workspace_timeout = t;
        self
    }
    /// Limits the whole run to this many requests a second.
    pub fn rate_limit(mut self, requests_per_second: f64) -> Self {
        self.rate_limit = Some(requests_per_second);
        self
    }
    /// Sets the run's retry budget and one workspace's most.
    pub fn retry_budget(mut self, run: u32, per_workspace: u32) -> Self {
        self.retry_budget = run;
        self.workspace_retry_budget = per_workspace;
        self
    }
    /// Sets what the audit calls unused and expiring soon.
    pub fn audit(mut self, audit: AuditOptions) -> Self {
        self.audit = audit;
        self
    }
    /// Sets the lifetime policy.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }
    /// Sets which workspaces the run works on.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }
}

/// A workspace by id and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub struct WorkspaceRef {
    /// The workspace id.
    pub id: i64,
    /// The workspace name.
    pub name: String,
}

/// One workspace of a fleet run: what the account lists, and a client of it.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::WorkspaceClient;
/// use databricks_tokens::fleet::{Fleet, FleetOptions, Member};
/// let fleet = Fleet::new(FleetOptions::default())?;
/// let client = WorkspaceClient::builder().host("https://a.cloud.databricks.com").token("dapi-x").shared_limits(fleet.limits());
/// let member = Member::new(1234, "prod-eu", client.build()?).with_status("RUNNING");
/// # Ok(()) }
/// ```
///
/// [`Fleet::account_members`] makes them from an account's workspace list, each client built (with
/// [`AccountClient::workspace_client`]'s credentials and the run's limits) only when the run works on it.
/// Made by hand, a member holds a client built with [`Fleet::limits`]. A workspace whose client could not
/// be built is a [`Member::unreachable`]: reported as failed, never called.
#[non_exhaustive]
pub struct Member {
    /// The workspace id.
    pub id: i64,
    /// The workspace name.
    pub name: String,
    /// Its status as the account reports it (`RUNNING`, `PROVISIONING`, `FAILED`, ...).
    pub status: String,
    client: MemberClient,
}

/// A builder of a member's client, called when the run works on it.
type BuildClient = Box<dyn FnOnce() -> Result<WorkspaceClient> + Send>;

/// A member's client: built, not buildable, or built when the run works on the member.
enum MemberClient {
    Ready(WorkspaceClient),
    Unreachable(Error),
    Deferred(BuildClient),
}

impl MemberClient {
    fn build(self) -> Result<WorkspaceClient> {
        match self {
            Self::Ready(client) => Ok(client),
            Self::Unreachable(e) => Err(e),
            Self::Deferred(build) => build(),
        }
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Member");
        d.field("id", &self.id).field("name", &self.name).field("status", &self.status);
        match &self.client {
            MemberClient::Ready(client) => d.field("client", client),
            MemberClient::Unreachable(e) => d.field("unreachable", e),
            MemberClient::Deferred(_) => d.field("client", &"(built when the run works on it)"),
        };
        d.finish()
    }
}

impl Member {
    /// A `RUNNING` workspace and a client of it.
    pub fn new(id: i64, name: impl Into<String>, client: WorkspaceClient) -> Self {
        Self { id, name: name.into(), status: "RUNNING".to_owned(), client: MemberClient::Ready(client) }
    }
    /// A workspace whose client could not be built: the run reports `error` as its failure.
    pub fn unreachable(id: i64, name: impl Into<String>, error: Error) -> Self {
        Self { id, name: name.into(), status: "RUNNING".to_owned(), client: MemberClient::Unreachable(error) }
    }
    /// A workspace of an account, its client built by `build` when the run works on it (never for a member
    /// the filter leaves out): a failure to build is the workspace's failure.
    fn deferred(id: i64, name: String, status: String, build: BuildClient) -> Self {
        Self { id, name, status, client: MemberClient::Deferred(build) }
    }
    /// Sets the status the account reports.
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }
    /// The workspace by id and name.
    pub fn workspace(&self) -> WorkspaceRef {
        WorkspaceRef { id: self.id, name: self.name.clone() }
    }
}

/// The workspaces of an account as the members of a run ([`Fleet::account_members`]): an iterator that
/// knows its length, whose members' clients are built as the run works on them.
///
/// ```no_run
/// # async fn example(a: databricks_tokens::AccountClient, fleet: databricks_tokens::fleet::Fleet) -> databricks_tokens::Result<()> {
/// let members = fleet.account_members(&a).await?;
/// println!("{} workspaces in the account", members.len());
/// # Ok(()) }
/// ```
pub struct AccountMembers {
    workspaces: std::vec::IntoIter<Workspace>,
    account: AccountClient,
    limits: SharedLimits,
}

impl fmt::Debug for AccountMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountMembers").field("account", &self.account).field("remaining", &self.workspaces.len()).finish()
    }
}

impl Iterator for AccountMembers {
    type Item = Member;

    fn next(&mut self) -> Option<Member> {
        let workspace = self.workspaces.next()?;
        let id = workspace.workspace_id.0;
        let name = workspace
            .workspace_name
            .clone()
            .or_else(|| workspace.deployment_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string());
        let status = workspace.workspace_status.as_ref().map_or_else(String::new, |s| s.as_str().to_owned());
        let (account, limits) = (self.account.clone(), self.limits.clone());
        Some(Member::deferred(id, name, status, Box::new(move || account.workspace_client_sharing(&workspace, &limits))))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.workspaces.size_hint()
    }
}

impl ExactSizeIterator for AccountMembers {}

/// Why a workspace's work failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// The workspace answered an error, or could not be reached (the error says which).
    Api(Error),
    /// The work took longer than the per-workspace timeout.
    TimedOut(Duration),
}

impl Failure {
    /// A short reason for tables: `not an admin`, `unavailable`, `throttled`, `timed out`, ...
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_tokens::fleet::Failure;
    /// assert_eq!(Failure::TimedOut(Duration::from_secs(1)).reason(), "timed out");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::TimedOut(_) => "timed out",
            Failure::Api(e) if e.error_code() == Some("FEATURE_DISABLED") => "personal access tokens disabled",
            Failure::Api(e) if e.to_string().contains("PRIVATE_LINK_VALIDATION_ERROR") => "private link only",
            Failure::Api(e) => match e.kind() {
                ErrorKind::PermissionDenied => "permission denied (not an admin?)",
                ErrorKind::Unauthenticated | ErrorKind::Auth => "authentication failed",
                ErrorKind::TooManyRequests => "throttled",
                ErrorKind::TemporarilyUnavailable => "unavailable",
                ErrorKind::Transport => "unreachable",
                ErrorKind::Timeout => "timed out (retry budget)",
                ErrorKind::NotFound | ErrorKind::NotImplemented => "token management unavailable",
                ErrorKind::Redirect => "redirected (private link?)",
                ErrorKind::Config => "configuration",
                _ => "error",
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Api(e) => write!(f, "{e}"),
            Failure::TimedOut(t) => write!(f, "no result within the per-workspace timeout of {:.1} s", t.as_secs_f64()),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Api(e) => Some(e),
            Failure::TimedOut(_) => None,
        }
    }
}

/// Where a run is: for a progress line.
///
/// ```
/// let p = databricks_tokens::fleet::Progress::default();
/// assert_eq!(p.to_string(), "0 done, 0 failed, 0 skipped, ? remaining, 0 tokens");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Workspaces done.
    pub done: usize,
    /// Workspaces failed.
    pub failed: usize,
    /// Workspaces the filter left out.
    pub skipped: usize,
    /// Workspaces not finished yet (known when the members' iterator knows its length).
    pub remaining: Option<usize>,
    /// Tokens seen (an audit) or selected (a revoke) so far.
    pub tokens: usize,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let remaining = self.remaining.map_or_else(|| "?".to_owned(), |r| r.to_string());
        write!(f, "{} done, {} failed, {} skipped, {remaining} remaining, {} tokens", self.done, self.failed, self.skipped, self.tokens)
    }
}

/// How one workspace's work ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Done: its tokens (an audit) or selected tokens (a revoke).
    Done {
        /// How many.
        tokens: usize,
    },
    /// Failed; the run went on.
    Failed(Failure),
    /// Left out by the filter (its status is shown).
    Skipped {
        /// The status the account reported.
        status: String,
    },
}

/// One workspace finished, with the run's progress after it.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkspaceDone {
    /// Which workspace.
    pub workspace: WorkspaceRef,
    /// How it ended.
    pub outcome: Outcome,
    /// How long its work took.
    pub elapsed: Duration,
    /// The run's progress, this workspace counted.
    pub progress: Progress,
}

/// One token of a fleet audit: the workspace, the token's owner, comment, dates and flags. Flat, so that it
/// is one CSV row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FleetRecord {
    /// The workspace id.
    pub workspace_id: i64,
    /// The workspace name.
    pub workspace_name: String,
    /// The token's id (never its value: the service never returns it after creation).
    pub token_id: String,
    /// Who owns it (as [`crate::admin::AuditRow::owner`]).
    pub owner: String,
    /// The owner's id.
    pub owner_id: Option<i64>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Its comment.
    pub comment: Option<String>,
    /// When it was created, epoch milliseconds.
    pub created_at_ms: Option<i64>,
    /// Its age in whole days.
    pub age_days: Option<u64>,
    /// When it expires, epoch milliseconds; `None` when it never expires.
    pub expires_at_ms: Option<i64>,
    /// The day it was last used, epoch milliseconds; `None` when never used.
    pub last_used_day_ms: Option<i64>,
    /// Whole days since it was last used (since it was created when never used).
    pub unused_days: Option<u64>,
    /// Unused for the audit's number of days.
    pub unused: bool,
    /// Never expires.
    pub never_expiring: bool,
    /// Lives longer than the lifetime policy (a never-expiring token does).
    pub expires_beyond_policy: bool,
    /// Expires within the audit's window.
    pub expiring_soon: bool,
}

impl FleetRecord {
    /// The records of one workspace's tokens at `now`.
    fn of(workspace: &WorkspaceRef, tokens: &[TokenInfo], options: &FleetOptions, now: SystemTime) -> Vec<Self> {
        let audit = Audit::of(tokens, options.audit, now);
        audit
            .rows
            .into_iter()
            .zip(tokens)
            .map(|(row, token)| {
                let never_expiring = token.expiry() == Some(Expiry::Never);
                let lifetime = match (token.created_at(), token.expiry()) {
                    (Some(created), Some(Expiry::At(at))) => Some(at.duration_since(created).unwrap_or_default()),
                    _ => None,
                };
                Self {
                    workspace_id: workspace.id,
                    workspace_name: workspace.name.clone(),
                    token_id: row.token_id,
                    owner: row.owner,
                    owner_id: row.owner_id,
                    created_by: row.created_by,
                    comment: row.comment,
                    created_at_ms: row.created_at_ms,
                    age_days: row.age_days,
                    expires_at_ms: row.expires_at_ms,
                    last_used_day_ms: row.last_used_day_ms,
                    unused_days: row.unused_days,
                    unused: row.unused,
                    never_expiring,
                    expires_beyond_policy: never_expiring || lifetime.is_some_and(|l| l > options.max_lifetime),
                    expiring_soon: row.expiring_soon,
                }
            })
            .collect()
    }
}

/// What a fleet audit streams: each token as its workspace is listed, then the workspace's outcome.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditEvent {
    /// One token.
    Token(Box<FleetRecord>),
    /// One workspace finished (done, failed or skipped), with the run's progress.
    Workspace(WorkspaceDone),
}

/// What a fleet revoke reports for one workspace.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkspaceRevoke {
    /// The workspace, its outcome (`Done { tokens }` counts the selected tokens) and the progress.
    pub done: WorkspaceDone,
    /// What was revoked (or, in a dry run, would be), when the workspace did not fail.
    pub report: Option<RevokeReport>,
}

/// A fleet run's settings and shared limits. Cheap to keep; each run is a stream.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::fleet::{Fleet, FleetOptions};
/// let fleet = Fleet::new(FleetOptions::default())?;
/// assert!(Fleet::new(FleetOptions::default().concurrency(0)).is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fleet {
    options: Arc<FleetOptions>,
    limits: SharedLimits,
}

/// How one workspace's work ended, before it becomes an event.
enum Ended<T> {
    Done(T),
    Failed(Failure),
    Skipped(String),
}

impl Fleet {
    /// A fleet run's settings; the options are checked here.
    pub fn new(options: FleetOptions) -> Result<Self> {
        if options.concurrency == 0 {
            return Err(Error::config("fleet concurrency must be at least 1"));
        }
        let limits = SharedLimits::new(options.rate_limit, options.retry_budget, options.workspace_retry_budget)?;
        Ok(Self { options: Arc::new(options), limits })
    }

    /// The options.
    pub fn options(&self) -> &FleetOptions {
        &self.options
    }

    /// The rate limiter and retry budget the run's clients share: build each member's client with
    /// [`ClientBuilder::shared_limits`](crate::ClientBuilder::shared_limits).
    pub fn limits(&self) -> &SharedLimits {
        &self.limits
    }

    /// The account's workspaces as the members of a run: lists them (one request; every status, the
    /// filter is the run's), and gives each a client of it built as the run works on it.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// use databricks_tokens::AccountClient;
    /// use databricks_tokens::fleet::{Fleet, FleetOptions, FleetTally};
    ///
    /// let a = AccountClient::from_env()?; // an account admin service principal, say
    /// let fleet = Fleet::new(FleetOptions::default())?;
    /// let mut tally = FleetTally::default();
    /// let mut events = std::pin::pin!(fleet.audit(fleet.account_members(&a).await?));
    /// while let Some(event) = events.next().await {
    ///     tally.add(&event);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Each member's client is [`AccountClient::workspace_client`]'s (the account's credentials, the
    /// workspace's own host and token endpoint: one token request per workspace, reused for all its
    /// calls), sharing the account's connection pool and clock and the run's limits: the run's retry
    /// budget, and the run's rate limit (the account's when the run sets none). Clients are built lazily,
    /// so at most [`FleetOptions::concurrency`] are alive at once; a workspace whose client cannot be built
    /// (no deployment name, a URL that does not parse) fails alone, as [`Member::unreachable`].
    ///
    /// Fails only when the account's workspaces cannot be listed.
    pub async fn account_members(&self, account: &AccountClient) -> Result<AccountMembers> {
        let workspaces = account.workspaces().list().send().await?;
        Ok(AccountMembers { workspaces: workspaces.into_iter(), account: account.clone(), limits: account.run_limits(&self.limits) })
    }

    /// Audits every member's tokens: streams each token as a [`FleetRecord`] as its workspace is listed,
    /// then the workspace's outcome with the run's [`Progress`]. One Token Management list per workspace.
    ///
    /// ```no_run
    /// # async fn example(fleet: databricks_tokens::fleet::Fleet, members: Vec<databricks_tokens::fleet::Member>) {
    /// use futures::StreamExt;
    /// use databricks_tokens::fleet::AuditEvent;
    /// let events: Vec<AuditEvent> = fleet.audit(members).collect().await;
    /// # }
    /// ```
    ///
    /// "Now" is each member client's clock.
    pub fn audit<I>(&self, members: I) -> impl Stream<Item = AuditEvent> + Send + 'static
    where
        I: IntoIterator<Item = Member>,
        I::IntoIter: Send + 'static,
    {
        let options = Arc::clone(&self.options);
        let work = |client: WorkspaceClient| async move {
            let tokens = client.token_management().list().send().await?;
            Ok((tokens, client.clock().system_now()))
        };
        self.drive(members, work, |(tokens, _)| tokens.len()).flat_map(move |(workspace, ended, elapsed, progress)| {
            let (records, outcome) = match ended {
                Ended::Done((tokens, now)) => {
                    let records = FleetRecord::of(&workspace, &tokens, &options, now);
                    (records, Outcome::Done { tokens: tokens.len() })
                }
                Ended::Failed(failure) => (Vec::new(), Outcome::Failed(failure)),
                Ended::Skipped(status) => (Vec::new(), Outcome::Skipped { status }),
            };
            let done = AuditEvent::Workspace(WorkspaceDone { workspace, outcome, elapsed, progress });
            stream::iter(records.into_iter().map(|r| AuditEvent::Token(Box::new(r))).chain([done]))
        })
    }

    /// Applies one [`RevokePlan`] (the admin workflows' plans: by owner, creator, age, last use, any
    /// predicate) to every member; with [`RevokePlan::dry_run`], revokes nothing and reports, per
    /// workspace, what it would revoke.
    ///
    /// ```no_run
    /// # async fn example(fleet: databricks_tokens::fleet::Fleet, members: Vec<databricks_tokens::fleet::Member>) {
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use databricks_tokens::admin::RevokePlan;
    /// let plan = RevokePlan::unused_for(Duration::from_secs(90 * 24 * 3600)).dry_run();
    /// let mut per_workspace = std::pin::pin!(fleet.revoke(members, plan));
    /// while let Some(w) = per_workspace.next().await {
    ///     let would = w.report.as_ref().map_or(0, |r| r.selected.len());
    ///     println!("{}: would revoke {would} ({})", w.done.workspace.name, w.done.progress);
    /// }
    /// # }
    /// ```
    ///
    /// A workspace past its timeout during a real revoke may have had part of its selection revoked: run
    /// the dry run again to see what is left.
    pub fn revoke<I>(&self, members: I, plan: RevokePlan) -> impl Stream<Item = WorkspaceRevoke> + Send + 'static
    where
        I: IntoIterator<Item = Member>,
        I::IntoIter: Send + 'static,
    {
        let plan = Arc::new(plan);
        let work = move |client: WorkspaceClient| {
            let plan = Arc::clone(&plan);
            async move {
                let dry_run = plan.is_dry_run();
                let mut per_workspace = RevokePlan::matching(move |t, now| plan.selects(t, now));
                if dry_run {
                    per_workspace = per_workspace.dry_run();
                }
                client.revoke_tokens(per_workspace).await
            }
        };
        self.drive(members, work, |report: &RevokeReport| report.selected.len()).map(|(workspace, ended, elapsed, progress)| {
            let (outcome, report) = match ended {
                Ended::Done(report) => (Outcome::Done { tokens: report.selected.len() }, Some(report)),
                Ended::Failed(failure) => (Outcome::Failed(failure), None),
                Ended::Skipped(status) => (Outcome::Skipped { status }, None),
            };
            WorkspaceRevoke { done: WorkspaceDone { workspace, outcome, elapsed, progress }, report }
        })
    }

    /// Runs `work` on each member's client, `concurrency` at a time, each under the per-workspace timeout;
    /// yields each workspace's end with the progress after it.
    fn drive<I, T, F, Fut>(
        &self,
        members: I,
        work: F,
        count: fn(&T) -> usize,
    ) -> impl Stream<Item = (WorkspaceRef, Ended<T>, Duration, Progress)> + Send + 'static
    where
        I: IntoIterator<Item = Member>,
        I::IntoIter: Send + 'static,
        F: Fn(WorkspaceClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let members = members.into_iter();
        let total = match members.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        let options = Arc::clone(&self.options);
        let work = Arc::new(work);
        let mut progress = Progress { remaining: total, ..Progress::default() };
        stream::iter(members)
            .map(move |member| {
                let (options, work) = (Arc::clone(&options), Arc::clone(&work));
                async move {
                    let workspace = member.workspace();
                    if !options.filter.matches(member.id, &member.name, &member.status) {
                        return (workspace, Ended::Skipped(member.status), Duration::ZERO);
                    }
                    let start = Instant::now();
                    // Built here, as the run takes the member: at most `concurrency` clients are alive.
                    let client = match member.client.build() {
                        Ok(client) => client,
                        Err(e) => return (workspace, Ended::Failed(Failure::Api(e)), start.elapsed()),
                    };
                    let ended = match tokio::time::timeout(options.workspace_timeout, work(client)).await {
                        Ok(Ok(t)) => Ended::Done(t),
                        Ok(Err(e)) => Ended::Failed(Failure::Api(e)),
                        Err(_) => Ended::Failed(Failure::TimedOut(options.workspace_timeout)),
                    };
                    (workspace, ended, start.elapsed())
                }
            })
            .buffer_unordered(self.options.concurrency)
            .map(move |(workspace, ended, elapsed)| {
                match &ended {
                    Ended::Done(t) => {
                        progress.done += 1;
                        progress.tokens += count(t);
                    }
                    Ended::Failed(_) => progress.failed += 1,
                    Ended::Skipped(_) => progress.skipped += 1,
                }
                progress.remaining = progress.remaining.map(|r| r.saturating_sub(1));
                (workspace, ended, elapsed, progress)
            })
    }
}

/// Counts of a fleet audit, fed event by event: for a summary table. Holds the failed workspaces (one line
/// each), nothing per token.
///
/// ```
/// use databricks_tokens::fleet::FleetTally;
/// let tally = FleetTally::default();
/// assert_eq!(tally.tokens, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FleetTally {
    /// Workspaces audited.
    pub workspaces_done: usize,
    /// Workspaces skipped by the filter.
    pub workspaces_skipped: usize,
    /// Tokens seen.
    pub tokens: usize,
    /// Tokens unused for the audit's number of days.
    pub unused: usize,
    /// Tokens that never expire.
    pub never_expiring: usize,
    /// Tokens that live longer than the policy.
    pub beyond_policy: usize,
    /// Tokens expiring soon.
    pub expiring_soon: usize,
    /// Failed workspaces with the short reason and the message.
    pub failed: Vec<(WorkspaceRef, String, String)>,
}

impl FleetTally {
    /// Counts one event.
    pub fn add(&mut self, event: &AuditEvent) {
        match event {
            AuditEvent::Token(r) => {
                self.tokens += 1;
                self.unused += usize::from(r.unused);
                self.never_expiring += usize::from(r.never_expiring);
                self.beyond_policy += usize::from(r.expires_beyond_policy);
                self.expiring_soon += usize::from(r.expiring_soon);
            }
            AuditEvent::Workspace(done) => match &done.outcome {
                Outcome::Done { .. } => self.workspaces_done += 1,
                Outcome::Skipped { .. } => self.workspaces_skipped += 1,
                Outcome::Failed(f) => self.failed.push((done.workspace.clone(), f.reason().to_owned(), f.to_string())),
            },
        }
    }
}

/// Writes [`FleetRecord`]s as JSON Lines (one object a line) to any writer, each as it comes: constant
/// memory whatever the fleet's size. Buffered; call [`JsonLinesWriter::finish`] at the end.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use databricks_tokens::fleet::JsonLinesWriter;
/// let mut out = JsonLinesWriter::new(Vec::new());
/// let bytes = out.finish()?;
/// assert!(bytes.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct JsonLinesWriter<W: Write> {
    out: std::io::BufWriter<W>,
}

impl<W: Write> JsonLinesWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out: std::io::BufWriter::new(out) }
    }
    /// Writes one record and a newline.
    pub fn write(&mut self, record: &FleetRecord) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")
    }
    /// Flushes and gives the writer back.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.into_inner().map_err(std::io::IntoInnerError::into_error)
    }
}

/// Writes [`FleetRecord`]s as CSV with a header line to any writer, each as it comes: constant memory
/// whatever the fleet's size (feature `csv`). Call [`CsvWriter::finish`] at the end.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use databricks_tokens::fleet::CsvWriter;
/// let out = CsvWriter::new(Vec::new()).finish()?;
/// assert!(out.is_empty(), "the header comes with the first record");
/// # Ok(()) }
/// ```
#[cfg(feature = "csv")]
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
}

#[cfg(feature = "csv")]
impl<W: Write> CsvWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out: csv::Writer::from_writer(out) }
    }
    /// Writes one record (the header line first).
    pub fn write(&mut self, record: &FleetRecord) -> std::io::Result<()> {
        self.out.serialize(record).map_err(std::io::Error::from)
    }
    /// Flushes and gives the writer back.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}
