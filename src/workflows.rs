//! The token workflows users run beyond the four operations: find, rotate, audit expiry, clean up.
//!
//! [`TokenWorkflows`] is an extension trait of [`WorkspaceClient`], built on its request surface
//! (`w.tokens()...`), so the workflows run against a real workspace, the local workspace, or a test stub
//! (`WorkspaceClient::from_stub`) alike. The four operations themselves are the builders of
//! [`crate::tokens`]; each thing has one way to do it.
//!
//! Times come out as [`SystemTime`] through [`TokenInfoExt`] (`-1` is [`Expiry::Never`]); "now" is the
//! client's clock (a `FakeClock` in tests).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::WorkspaceClient;
use crate::error::{Error, Result};
use crate::types::{CreateTokenResponse, PublicTokenInfo};

/// When a token expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// `expiry_time` is `-1`.
    Never,
    /// At this instant.
    At(SystemTime),
}

/// Time types for [`PublicTokenInfo`]'s epoch-millisecond fields.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use databricks_tokens::types::PublicTokenInfo;
/// use databricks_tokens::workflows::{Expiry, TokenInfoExt};
/// let t = PublicTokenInfo::new("t1").set_creation_time(1_000).set_expiry_time(-1);
/// assert_eq!(t.created_at(), Some(UNIX_EPOCH + Duration::from_secs(1)));
/// assert_eq!(t.expiry(), Some(Expiry::Never));
/// assert!(!t.is_expired_at(UNIX_EPOCH + Duration::from_secs(1 << 40)));
/// ```
///
/// Sealed: implemented by this crate only (for `PublicTokenInfo` and Token Management's `TokenInfo`), so that methods can be added without breaking anyone.
pub trait TokenInfoExt: crate::sealed::Sealed {
    /// When the token was created.
    fn created_at(&self) -> Option<SystemTime>;
    /// When it expires, if the server said.
    fn expiry(&self) -> Option<Expiry>;
    /// Whether it has expired at `now`.
    fn is_expired_at(&self, now: SystemTime) -> bool {
        matches!(self.expiry(), Some(Expiry::At(t)) if t <= now)
    }
    /// Whether it expires within `window` of `now` (or already has). A window past the end of time
    /// covers every token that expires at all.
    fn expires_within(&self, window: Duration, now: SystemTime) -> bool {
        match (self.expiry(), now.checked_add(window)) {
            (Some(Expiry::At(t)), Some(until)) => t <= until,
            (Some(Expiry::At(_)), None) => true,
            _ => false,
        }
    }
}

pub(crate) fn from_epoch_ms(ms: i64) -> Option<SystemTime> {
    u64::try_from(ms).ok().map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

/// The time accessors of both token metadata types (the caller's and the admin's view).
macro_rules! token_info_ext {
    ($($ty:ty),*) => {$(
        impl crate::sealed::Sealed for $ty {}

        impl TokenInfoExt for $ty {
            fn created_at(&self) -> Option<SystemTime> {
                self.creation_time.map(i64::from).and_then(from_epoch_ms)
            }
            fn expiry(&self) -> Option<Expiry> {
                match self.expiry_time.map(i64::from)? {
                    ms if ms < 0 => Some(Expiry::Never),
                    ms => from_epoch_ms(ms).map(Expiry::At),
                }
            }
        }
    )*};
}

token_info_ext!(PublicTokenInfo, crate::types::token_management::TokenInfo);

/// A response that created a token: the Tokens API's and Token Management's on-behalf-of create.
///
/// ```
/// use databricks_tokens::types::CreateTokenResponse;
/// use databricks_tokens::workflows::CreatedToken;
/// let created: CreateTokenResponse = serde_json::from_str(r#"{"token_value":"dapi-x","token_info":{"token_id":"t1"}}"#)?;
/// assert_eq!(CreatedToken::token_id(&created), "t1");
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Sealed: implemented by this crate only (for `CreateTokenResponse` and `CreateOboTokenResponse`), so that methods can be added without breaking anyone.
pub trait CreatedToken: std::fmt::Debug + crate::sealed::Sealed {
    /// The new token's id.
    fn token_id(&self) -> &str;
}

impl crate::sealed::Sealed for CreateTokenResponse {}

impl CreatedToken for CreateTokenResponse {
    fn token_id(&self) -> &str {
        CreateTokenResponse::token_id(self)
    }
}

impl crate::sealed::Sealed for crate::types::token_management::CreateOboTokenResponse {}

impl CreatedToken for crate::types::token_management::CreateOboTokenResponse {
    fn token_id(&self) -> &str {
        crate::types::token_management::CreateOboTokenResponse::token_id(self)
    }
}

/// Rotation failed; says whether a replacement exists and whether the old token is still alive.
#[derive(Debug)]
#[non_exhaustive]
pub enum RotateError<T: CreatedToken = CreateTokenResponse> {
    /// The token to rotate could not be read: nothing was created or revoked.
    Lookup(Error),
    /// The replacement could not be created: the old token is untouched.
    Create(Error),
    /// The replacement was created but the old token could not be revoked: **both are alive**.
    Revoke {
        /// The new token, secret included: keep using it.
        replacement: Box<T>,
        /// The token that is still alive.
        old_token_id: String,
        /// Why revoking failed.
        cause: Error,
    },
}

impl<T: CreatedToken> RotateError<T> {
    /// The replacement token, when it was created.
    pub fn replacement(&self) -> Option<&T> {
        match self {
            Self::Revoke { replacement, .. } => Some(replacement),
            _ => None,
        }
    }
}

impl<T: CreatedToken> std::fmt::Display for RotateError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Lookup(e) => write!(f, "rotation did not start: the token could not be read: {e}"),
            Self::Create(e) => write!(f, "rotation failed: the replacement could not be created, the old token is untouched: {e}"),
            Self::Revoke { replacement, old_token_id, cause } => {
                let new_id = replacement.token_id();
                write!(
                    f,
                    "rotation half done: the replacement {new_id} was created, but the old token {old_token_id} is still alive: revoking it failed: {cause}"
                )
            }
        }
    }
}

impl<T: CreatedToken> std::error::Error for RotateError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Lookup(e) | Self::Create(e) | Self::Revoke { cause: e, .. } => Some(e),
        }
    }
}

type Predicate = Box<dyn Fn(&PublicTokenInfo, SystemTime) -> bool + Send + Sync>;

/// Which tokens [`TokenWorkflows::cleanup_tokens`] revokes, and whether for real.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::workflows::Cleanup;
/// let plan = Cleanup::expiring_within(Duration::from_secs(3600)).comment_starts_with("ci-").dry_run();
/// ```
#[must_use]
pub struct Cleanup {
    predicate: Predicate,
    dry_run: bool,
}

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleanup").field("dry_run", &self.dry_run).finish_non_exhaustive()
    }
}

impl Cleanup {
    /// Tokens whose expiry has passed (by this machine's clock).
    pub fn expired() -> Self {
        Self::matching(|t, now| t.is_expired_at(now))
    }
    /// Tokens that expire within `window` (expired ones included).
    pub fn expiring_within(window: Duration) -> Self {
        Self::matching(move |t, now| t.expires_within(window, now))
    }
    /// Tokens for which `predicate(token, now)` holds.
    pub fn matching(predicate: impl Fn(&PublicTokenInfo, SystemTime) -> bool + Send + Sync + 'static) -> Self {
        Self { predicate: Box::new(predicate), dry_run: false }
    }
    /// Only those whose comment starts with `prefix`.
    pub fn comment_starts_with(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let before = self.predicate;
        Self {
            predicate: Box::new(move |t, now| before(t, now) && t.comment.as_deref().is_some_and(|c| c.starts_with(&prefix))),
            dry_run: self.dry_run,
        }
    }
    /// Report what would be revoked, revoke nothing.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }
}

/// What a revoke of the tokens a plan selected did (or, in a dry run, would do): [`CleanupReport`] for the
/// caller's tokens, [`admin::RevokeReport`](crate::admin::RevokeReport) for an admin's.
///
/// ```no_run
/// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
/// use std::time::Duration;
/// use databricks_tokens::workflows::{Cleanup, TokenWorkflows};
/// let report = w.cleanup_tokens(Cleanup::expiring_within(Duration::from_secs(600))).await?;
/// println!("{} revoked, {} already gone, {} failed", report.revoked.len(), report.already_gone.len(), report.failed.len());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RevokeReport<T> {
    /// Whether nothing was revoked on purpose.
    pub dry_run: bool,
    /// The tokens the plan selected.
    pub selected: Vec<T>,
    /// Ids revoked now.
    pub revoked: Vec<String>,
    /// Ids that were already gone when revoked.
    pub already_gone: Vec<String>,
    /// Ids that could not be revoked, with why.
    pub failed: Vec<(String, Error)>,
}

/// What a cleanup of the caller's tokens did (or, in a dry run, would do).
pub type CleanupReport = RevokeReport<PublicTokenInfo>;

impl<T> RevokeReport<T> {
    /// Revokes each of `selected` (its id by `id_of`) with `revoke`, which answers whether the token was
    /// still there; in a dry run, revokes nothing.
    pub(crate) async fn revoke_each<F, Fut>(selected: Vec<T>, dry_run: bool, id_of: impl Fn(&T) -> &str, revoke: F) -> Self
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        let mut report = Self { dry_run, selected: Vec::new(), revoked: Vec::new(), already_gone: Vec::new(), failed: Vec::new() };
        if !dry_run {
            for token in &selected {
                let id = id_of(token).to_owned();
                match revoke(id.clone()).await {
                    Ok(true) => report.revoked.push(id),
                    Ok(false) => report.already_gone.push(id),
                    Err(e) => report.failed.push((id, e)),
                }
            }
        }
        report.selected = selected;
        report
    }
}

/// The workflows, as methods of [`WorkspaceClient`].
///
/// ```no_run
/// # async fn example() -> databricks_tokens::Result<()> {
/// use std::time::Duration;
/// use databricks_tokens::WorkspaceClient;
/// use databricks_tokens::workflows::{Cleanup, TokenWorkflows};
///
/// let w = WorkspaceClient::from_env()?;
/// let deploy = w.get_token_by_comment("deploy bot").await?;
/// let rotated = w.rotate_token(&deploy.token_id, Duration::from_secs(30 * 24 * 3600)).await;
/// let report = w.cleanup_tokens(Cleanup::expiring_within(Duration::from_secs(600)).comment_starts_with("ci-").dry_run()).await?;
/// # Ok(()) }
/// ```
///
/// Sealed: implemented by this crate only (for [`WorkspaceClient`]), so that methods can be added without breaking anyone.
pub trait TokenWorkflows: crate::sealed::Sealed {
    /// The token with this id; [`Error::is_not_found`] when there is none.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use databricks_tokens::workflows::TokenWorkflows;
    /// let token = w.get_token("5f1e...").await?;
    /// # Ok(()) }
    /// ```
    fn get_token(&self, token_id: &str) -> impl Future<Output = Result<PublicTokenInfo>> + Send;

    /// The one token with this comment; an error when none ([`Error::is_not_found`]) or several
    /// ([`crate::ErrorKind::Ambiguous`]) have it.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use databricks_tokens::workflows::TokenWorkflows;
    /// let deploy = w.get_token_by_comment("deploy bot").await?;
    /// # Ok(()) }
    /// ```
    fn get_token_by_comment(&self, comment: &str) -> impl Future<Output = Result<PublicTokenInfo>> + Send;

    /// Revokes a token if it exists: `Ok(true)` when revoked now, `Ok(false)` when it was already gone.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use databricks_tokens::workflows::TokenWorkflows;
    /// let revoked_now = w.delete_token_if_exists("5f1e...").await?;
    /// # Ok(()) }
    /// ```
    fn delete_token_if_exists(&self, token_id: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Replaces a token: creates one with the same comment and scopes and a new lifetime, then revokes
    /// the old one. If revoking fails, the error holds the replacement and says the old one is alive.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use databricks_tokens::workflows::{RotateError, TokenWorkflows};
    /// match w.rotate_token("5f1e...", Duration::from_secs(24 * 3600)).await {
    ///     Ok(new) => println!("rotated to {}", new.token_id()),
    ///     Err(RotateError::Revoke { replacement, old_token_id, .. }) => {
    ///         // Keep using `replacement`; retry revoking `old_token_id` later.
    ///         println!("{old_token_id} is still alive");
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(()) }
    /// ```
    fn rotate_token(
        &self,
        token_id: &str,
        lifetime: Duration,
    ) -> impl Future<Output = std::result::Result<CreateTokenResponse, RotateError>> + Send;

    /// The valid tokens that expire within `window` from now (never-expiring ones excluded).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use std::time::Duration;
    /// use databricks_tokens::workflows::TokenWorkflows;
    /// let soon = w.tokens_expiring_within(Duration::from_secs(7 * 24 * 3600)).await?;
    /// # Ok(()) }
    /// ```
    fn tokens_expiring_within(&self, window: Duration) -> impl Future<Output = Result<Vec<PublicTokenInfo>>> + Send;

    /// Revokes the tokens a [`Cleanup`] selects (or, in a dry run, only reports them).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use std::time::Duration;
    /// use databricks_tokens::workflows::{Cleanup, TokenWorkflows};
    /// let preview = w.cleanup_tokens(Cleanup::expiring_within(Duration::ZERO).comment_starts_with("ci-").dry_run()).await?;
    /// println!("would revoke {}", preview.selected.len());
    /// # Ok(()) }
    /// ```
    fn cleanup_tokens(&self, plan: Cleanup) -> impl Future<Output = Result<CleanupReport>> + Send;
}

/// The workflows of both traits ([`TokenWorkflows`], [`crate::admin::TokenAdminWorkflows`]) are the client's.
impl crate::sealed::Sealed for WorkspaceClient {}

impl TokenWorkflows for WorkspaceClient {
    async fn get_token(&self, token_id: &str) -> Result<PublicTokenInfo> {
        self.tokens()
            .list()
            .send()
            .await?
            .into_iter()
            .find(|t| t.token_id == token_id)
            .ok_or_else(|| Error::not_found(format!("no valid token has the id {token_id}")))
    }

    async fn get_token_by_comment(&self, comment: &str) -> Result<PublicTokenInfo> {
        let mut found: Vec<PublicTokenInfo> =
            self.tokens().list().send().await?.into_iter().filter(|t| t.comment.as_deref() == Some(comment)).collect();
        match found.len() {
            0 => Err(Error::not_found(format!("no valid token has the comment {comment:?}"))),
            1 => Ok(found.remove(0)),
            n => {
                let ids: Vec<&str> = found.iter().map(|t| t.token_id.as_str()).collect();
                Err(Error::ambiguous(format!("{n} tokens have the comment {comment:?} (ids {}): look one up by id", ids.join(", "))))
            }
        }
    }

    async fn delete_token_if_exists(&self, token_id: &str) -> Result<bool> {
        match self.tokens().delete(token_id).send().await {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn rotate_token(&self, token_id: &str, lifetime: Duration) -> std::result::Result<CreateTokenResponse, RotateError> {
        let old = self.get_token(token_id).await.map_err(RotateError::Lookup)?;
        let mut create = self.tokens().create().lifetime(lifetime);
        if let Some(comment) = &old.comment {
            create = create.comment(comment.clone());
        }
        if let Some(scopes) = &old.scopes {
            create = create.scopes(scopes.iter().cloned());
        }
        let replacement = create.send().await.map_err(RotateError::Create)?;
        match self.delete_token_if_exists(token_id).await {
            Ok(_) => Ok(replacement),
            Err(cause) => Err(RotateError::Revoke { replacement: Box::new(replacement), old_token_id: token_id.to_owned(), cause }),
        }
    }

    async fn tokens_expiring_within(&self, window: Duration) -> Result<Vec<PublicTokenInfo>> {
        let now = self.clock().system_now();
        Ok(self.tokens().list().send().await?.into_iter().filter(|t| t.expires_within(window, now)).collect())
    }

    async fn cleanup_tokens(&self, plan: Cleanup) -> Result<CleanupReport> {
        let now = self.clock().system_now();
        let selected: Vec<PublicTokenInfo> = self.tokens().list().send().await?.into_iter().filter(|t| (plan.predicate)(t, now)).collect();
        Ok(RevokeReport::revoke_each(selected, plan.dry_run, |t| &t.token_id, |id| async move { self.delete_token_if_exists(&id).await })
            .await)
    }
}
