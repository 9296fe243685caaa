//! The workspace admin's workflows over Token Management: an audit of every token, revoking by owner, age,
//! last use or any predicate (each with a dry run that returns what it would do), and on-behalf-of tokens
//! for service principals with rotation.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use databricks_tokens::WorkspaceClient;
//! use databricks_tokens::admin::{AuditOptions, RevokePlan, TokenAdminWorkflows};
//!
//! let w = WorkspaceClient::from_env()?; // a workspace admin
//! let audit = w.audit_tokens(AuditOptions::default()).await?;
//! println!("{}", audit.to_json()?);
//! # #[cfg(feature = "csv")]
//! std::fs::write("tokens.csv", audit.to_csv()?)?; // feature `csv`
//! let preview = w.revoke_tokens(RevokePlan::unused_for(Duration::from_secs(90 * 24 * 3600)).dry_run()).await?;
//! println!("would revoke {} tokens", preview.selected.len());
//! # Ok(()) }
//! ```
//!
//! "Now" is the client's clock (a `FakeClock` in tests). A token never used counts as unused since its
//! creation.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::WorkspaceClient;
use crate::error::{Error, Result};
use crate::types::token_management::{CreateOboTokenResponse, TokenInfo};
use crate::workflows::{Expiry, RotateError, TokenInfoExt};

/// One day.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// What an audit calls "unused" and "expiring soon".
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::admin::AuditOptions;
/// let options = AuditOptions::default().unused_for(Duration::from_secs(30 * 24 * 3600));
/// assert_eq!(options.expiring_within, Duration::from_secs(7 * 24 * 3600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditOptions {
    /// A token not used for this long is unused (default 90 days).
    pub unused_for: Duration,
    /// A token that expires within this long is expiring soon (default 7 days).
    pub expiring_within: Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self { unused_for: 90 * DAY, expiring_within: 7 * DAY }
    }
}

impl AuditOptions {
    /// Sets what counts as unused.
    pub fn unused_for(mut self, unused_for: Duration) -> Self {
        self.unused_for = unused_for;
        self
    }
    /// Sets what counts as expiring soon.
    pub fn expiring_within(mut self, expiring_within: Duration) -> Self {
        self.expiring_within = expiring_within;
        self
    }
}

/// One token in an audit: who owns it, how old it is, when it expires, when it was last used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditRow {
    /// The token's id.
    pub token_id: String,
    /// Who owns it: the creator's user name when the creator owns it, else `id:<owner id>` (a service
    /// principal's on-behalf-of token).
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
    /// Whole days until it expires; `None` when it never expires.
    pub expires_in_days: Option<u64>,
    /// The day it was last used (epoch milliseconds of the day's start); `None` when never used.
    pub last_used_day_ms: Option<i64>,
    /// Whole days since it was last used (since it was created when never used).
    pub unused_days: Option<u64>,
    /// Whether it is unused by the audit's measure.
    pub unused: bool,
    /// Whether it expires within the audit's window.
    pub expiring_soon: bool,
}

/// The audit's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditSummary {
    /// Every valid token.
    pub total: usize,
    /// Tokens per owner.
    pub by_owner: BTreeMap<String, usize>,
    /// Tokens that expire within the window.
    pub expiring_soon: usize,
    /// Tokens that never expire.
    pub never_expiring: usize,
    /// Tokens unused for the audit's number of days.
    pub unused: usize,
}

/// Every token of the workspace with its owner, age, expiry and last use, and a summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Audit {
    /// When it was taken, epoch milliseconds.
    pub taken_at_ms: i64,
    /// What counted as unused, in days.
    pub unused_after_days: u64,
    /// What counted as expiring soon, in days.
    pub expiring_within_days: u64,
    /// One row per token, oldest first.
    pub rows: Vec<AuditRow>,
    /// The counts.
    pub summary: AuditSummary,
}

impl Audit {
    /// The audit as JSON (rows and summary).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::admin::{Audit, AuditOptions};
    /// let audit = Audit::of(&[], AuditOptions::default(), std::time::SystemTime::now());
    /// assert!(audit.to_json()?.contains("\"total\": 0"));
    /// # Ok(()) }
    /// ```
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::decode("the audit does not serialize as JSON", e))
    }

    /// The rows as CSV, with a header line (feature `csv`).
    ///
    /// Without the feature, hand the rows to a CSV writer of your own: each [`AuditRow`] is `Serialize`, with
    /// its fields in column order (`for row in &audit.rows { writer.serialize(row)? }` with the `csv` crate).
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::admin::{Audit, AuditOptions};
    /// use databricks_tokens::types::token_management::TokenInfo;
    /// let tokens = [TokenInfo::new("t1").set_comment("a, \"quoted\" comment")];
    /// let csv = Audit::of(&tokens, AuditOptions::default(), std::time::SystemTime::now()).to_csv()?;
    /// assert!(csv.starts_with("token_id,owner,"));
    /// assert!(csv.contains("\"a, \"\"quoted\"\" comment\""));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "csv")]
    pub fn to_csv(&self) -> Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in &self.rows {
            writer.serialize(row).map_err(|e| Error::decode("the audit does not serialize as CSV", e))?;
        }
        let bytes = writer.into_inner().map_err(|e| Error::decode("the audit does not serialize as CSV", e.into_error()))?;
        String::from_utf8(bytes).map_err(|e| Error::decode("the audit CSV is not UTF-8", e))
    }

    /// The audit of `tokens` at `now`.
    pub fn of(tokens: &[TokenInfo], options: AuditOptions, now: SystemTime) -> Self {
        let days = |d: Duration| d.as_secs() / DAY.as_secs();
        let rows: Vec<AuditRow> = tokens
            .iter()
            .map(|t| {
                let owner_id = t.owner_id.map(i64::from);
                let created_by_id = t.created_by_id.map(i64::from);
                let owner = match (&t.created_by_username, owner_id) {
                    (Some(name), None) => name.clone(),
                    (Some(name), Some(id)) if Some(id) == created_by_id => name.clone(),
                    (_, Some(id)) => format!("id:{id}"),
                    (None, None) => "unknown".to_owned(),
                };
                let expiry = t.expiry();
                let expires_in = match expiry {
                    Some(Expiry::At(at)) => Some(at.duration_since(now).unwrap_or_default()),
                    _ => None,
                };
                let unused_for = unused_since(t).map(|since| now.duration_since(since).unwrap_or_default());
                AuditRow {
                    token_id: t.token_id.clone(),
                    owner,
                    owner_id,
                    created_by: t.created_by_username.clone(),
                    comment: t.comment.clone(),
                    created_at_ms: t.creation_time.map(i64::from),
                    age_days: t.created_at().map(|c| days(now.duration_since(c).unwrap_or_default())),
                    expires_at_ms: match expiry {
                        Some(Expiry::Never) | None => None,
                        Some(_) => t.expiry_time.map(i64::from),
                    },
                    expires_in_days: expires_in.map(days),
                    last_used_day_ms: t.last_used_day.map(i64::from),
                    unused_days: unused_for.map(days),
                    unused: unused_for.is_some_and(|d| d >= options.unused_for),
                    expiring_soon: expires_in.is_some_and(|d| d <= options.expiring_within),
                }
            })
            .collect();
        let mut summary = AuditSummary { total: rows.len(), ..Default::default() };
        for (row, token) in rows.iter().zip(tokens) {
            *summary.by_owner.entry(row.owner.clone()).or_default() += 1;
            summary.expiring_soon += usize::from(row.expiring_soon);
            summary.unused += usize::from(row.unused);
            summary.never_expiring += usize::from(token.expiry() == Some(Expiry::Never));
        }
        let taken_at_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            taken_at_ms,
            unused_after_days: days(options.unused_for),
            expiring_within_days: days(options.expiring_within),
            rows,
            summary,
        }
    }
}

type Predicate = Box<dyn Fn(&TokenInfo, SystemTime) -> bool + Send + Sync>;

/// Which tokens [`TokenAdminWorkflows::revoke_tokens`] revokes, and whether for real. Each method narrows
/// the selection (they combine with "and").
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::admin::RevokePlan;
/// let plan = RevokePlan::created_by("leaver@example.com").and_older_than(Duration::from_secs(30 * 24 * 3600)).dry_run();
/// ```
#[must_use]
pub struct RevokePlan {
    predicate: Predicate,
    dry_run: bool,
}

impl std::fmt::Debug for RevokePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokePlan").field("dry_run", &self.dry_run).finish_non_exhaustive()
    }
}

/// Since when a token is unused: its last day of use, else (never used) its creation.
fn unused_since(t: &TokenInfo) -> Option<SystemTime> {
    t.last_used_day.map(i64::from).and_then(crate::workflows::from_epoch_ms).or(t.created_at())
}

impl RevokePlan {
    /// Tokens for which `predicate(token, now)` holds.
    pub fn matching(predicate: impl Fn(&TokenInfo, SystemTime) -> bool + Send + Sync + 'static) -> Self {
        Self { predicate: Box::new(predicate), dry_run: false }
    }
    /// Tokens owned by this user or service principal id.
    pub fn owned_by(owner_id: i64) -> Self {
        Self::matching(move |t, _| t.owner_id.map(i64::from) == Some(owner_id))
    }
    /// Tokens created by this user name (a leaver's).
    pub fn created_by(user_name: impl Into<String>) -> Self {
        let user_name = user_name.into();
        Self::matching(move |t, _| t.created_by_username.as_deref() == Some(user_name.as_str()))
    }
    /// Tokens created longer ago than `age`.
    pub fn older_than(age: Duration) -> Self {
        Self::matching(move |t, now| t.created_at().is_some_and(|c| now.duration_since(c).unwrap_or_default() > age))
    }
    /// Tokens not used for `idle` (never used ones: since their creation).
    pub fn unused_for(idle: Duration) -> Self {
        Self::matching(move |t, now| unused_since(t).is_some_and(|since| now.duration_since(since).unwrap_or_default() >= idle))
    }
    /// Only the tokens that also match `other`.
    pub fn and(self, other: RevokePlan) -> Self {
        let (first, second) = (self.predicate, other.predicate);
        Self { predicate: Box::new(move |t, now| first(t, now) && second(t, now)), dry_run: self.dry_run || other.dry_run }
    }
    /// Only the tokens this plan selects and that are also older than `age`.
    pub fn and_older_than(self, age: Duration) -> Self {
        self.and(Self::older_than(age))
    }
    /// Report what would be revoked; revoke nothing.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }
}

/// What an admin's revoke did (or, in a dry run, would do).
pub type RevokeReport = crate::workflows::RevokeReport<TokenInfo>;

/// The admin's workflows, as methods of [`WorkspaceClient`].
///
/// ```no_run
/// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use databricks_tokens::admin::{RevokePlan, TokenAdminWorkflows};
/// let leaver = w.revoke_tokens(RevokePlan::created_by("leaver@example.com")).await?;
/// let ci = w.rotate_obo_token("6f3b...", "5f1e...", Duration::from_secs(3600)).await?;
/// # Ok(()) }
/// ```
pub trait TokenAdminWorkflows {
    /// Every token of the workspace with owner, age, expiry and last use, and a summary.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use databricks_tokens::admin::{AuditOptions, TokenAdminWorkflows};
    /// let audit = w.audit_tokens(AuditOptions::default()).await?;
    /// println!("{} tokens, {} unused for 90 days", audit.summary.total, audit.summary.unused);
    /// # Ok(()) }
    /// ```
    fn audit_tokens(&self, options: AuditOptions) -> impl Future<Output = Result<Audit>> + Send;

    /// Revokes the tokens a [`RevokePlan`] selects (or, in a dry run, only reports them).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use std::time::Duration;
    /// use databricks_tokens::admin::{RevokePlan, TokenAdminWorkflows};
    /// let preview = w.revoke_tokens(RevokePlan::unused_for(Duration::from_secs(90 * 24 * 3600)).dry_run()).await?;
    /// # Ok(()) }
    /// ```
    fn revoke_tokens(&self, plan: RevokePlan) -> impl Future<Output = Result<RevokeReport>> + Send;

    /// Replaces a service principal's on-behalf-of token: creates one for `application_id` with the same
    /// comment and scopes and a new lifetime, then revokes the old one. If revoking fails, the error holds
    /// the replacement and says the old one is alive.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use databricks_tokens::admin::TokenAdminWorkflows;
    /// let fresh = w.rotate_obo_token("6f3b...", "5f1e...", Duration::from_secs(24 * 3600)).await?;
    /// # Ok(()) }
    /// ```
    fn rotate_obo_token(
        &self,
        application_id: &str,
        token_id: &str,
        lifetime: Duration,
    ) -> impl Future<Output = std::result::Result<CreateOboTokenResponse, RotateError<CreateOboTokenResponse>>> + Send;
}

impl TokenAdminWorkflows for WorkspaceClient {
    async fn audit_tokens(&self, options: AuditOptions) -> Result<Audit> {
        let tokens = self.token_management().list().send().await?;
        Ok(Audit::of(&tokens, options, self.clock().system_now()))
    }

    async fn revoke_tokens(&self, plan: RevokePlan) -> Result<RevokeReport> {
        let now = self.clock().system_now();
        let selected: Vec<TokenInfo> =
            self.token_management().list().send().await?.into_iter().filter(|t| (plan.predicate)(t, now)).collect();
        let revoke = |id: String| async move {
            match self.token_management().delete(&id).send().await {
                Ok(()) => Ok(true),
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e),
            }
        };
        Ok(RevokeReport::revoke_each(selected, plan.dry_run, |t| &t.token_id, revoke).await)
    }

    async fn rotate_obo_token(
        &self,
        application_id: &str,
        token_id: &str,
        lifetime: Duration,
    ) -> std::result::Result<CreateOboTokenResponse, RotateError<CreateOboTokenResponse>> {
        let old = self.token_management().get(token_id).send().await.map_err(RotateError::Lookup)?;
        let mut create = self.token_management().create_obo_token(application_id).lifetime(lifetime);
        if let Some(comment) = &old.comment {
            create = create.comment(comment.clone());
        }
        if let Some(scopes) = &old.scopes {
            create = create.scopes(scopes.iter().cloned());
        }
        let replacement = create.send().await.map_err(RotateError::Create)?;
        match self.token_management().delete(token_id).send().await {
            Ok(()) => Ok(replacement),
            Err(e) if e.is_not_found() => Ok(replacement),
            Err(cause) => Err(RotateError::Revoke { replacement: Box::new(replacement), old_token_id: token_id.to_owned(), cause }),
        }
    }
}
