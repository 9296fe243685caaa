//! The token workflows users run: create, list, find, update, revoke, rotate, audit expiry, clean up.
//!
//! Two traits:
//! - [`TokenApi`], the four operations of the service. [`WorkspaceClient`] implements it; a test double of
//!   yours implements only what your code calls, and every other operation answers a clear
//!   [`ErrorKind::NotImplementedByMock`](crate::ErrorKind::NotImplementedByMock) error.
//! - [`TokenWorkflows`], implemented for every `TokenApi`: the workflows, so they run against a real
//!   workspace, the local workspace, or your mock alike.
//!
//! Times come out as [`SystemTime`] through [`TokenInfoExt`] (`-1` is [`Expiry::Never`]).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::Stream;

use crate::WorkspaceClient;
use crate::error::{Error, Result};
use crate::field_mask::Update;
use crate::paginate::paginate;
use crate::types::{CreateTokenRequest, CreateTokenResponse, ListPublicTokensResponse, PublicTokenInfo, UpdateTokenRequest};

/// The four operations of the Tokens service, mockable.
///
/// ```
/// use databricks_tokens::types::PublicTokenInfo;
/// use databricks_tokens::workflows::{TokenApi, TokenWorkflows};
///
/// /// A double that only knows how to list.
/// struct TwoTokens;
/// impl TokenApi for TwoTokens {
///     async fn list(&self) -> databricks_tokens::Result<Vec<PublicTokenInfo>> {
///         Ok(vec![
///             PublicTokenInfo { token_id: Some("a".into()), comment: Some("ci".into()), ..Default::default() },
///             PublicTokenInfo { token_id: Some("b".into()), comment: Some("ci".into()), ..Default::default() },
///         ])
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert_eq!(TwoTokens.get_token("b").await.unwrap().token_id.as_deref(), Some("b"));
/// assert!(TwoTokens.get_token_by_comment("ci").await.is_err()); // two match
/// let err = TwoTokens.delete_token("a").await.unwrap_err();
/// assert_eq!(err.kind(), databricks_tokens::ErrorKind::NotImplementedByMock);
/// # }
/// ```
pub trait TokenApi: Send + Sync {
    /// `POST /api/2.0/token/create`.
    fn create(&self, request: CreateTokenRequest) -> impl Future<Output = Result<CreateTokenResponse>> + Send {
        let _ = request;
        async { Err(Error::not_implemented_by_mock("create")) }
    }
    /// `GET /api/2.0/token/list`: every valid token of the caller.
    fn list(&self) -> impl Future<Output = Result<Vec<PublicTokenInfo>>> + Send {
        async { Err(Error::not_implemented_by_mock("list")) }
    }
    /// `PATCH /api/2.0/token/{token_id}`.
    fn update(&self, token_id: &str, request: UpdateTokenRequest) -> impl Future<Output = Result<()>> + Send {
        let _ = (token_id, request);
        async { Err(Error::not_implemented_by_mock("update")) }
    }
    /// `POST /api/2.0/token/delete`.
    fn delete(&self, token_id: &str) -> impl Future<Output = Result<()>> + Send {
        let _ = token_id;
        async { Err(Error::not_implemented_by_mock("delete")) }
    }
    /// The wall-clock time the workflows measure ages and expiries against: the client's clock (a
    /// `FakeClock` in tests), by default [`SystemTime::now`].
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl TokenApi for WorkspaceClient {
    async fn create(&self, request: CreateTokenRequest) -> Result<CreateTokenResponse> {
        self.tokens().create(request).await
    }
    async fn list(&self) -> Result<Vec<PublicTokenInfo>> {
        self.tokens().list().await
    }
    async fn update(&self, token_id: &str, request: UpdateTokenRequest) -> Result<()> {
        self.tokens().update(token_id, request).await
    }
    async fn delete(&self, token_id: &str) -> Result<()> {
        self.tokens().delete(token_id).await
    }
    fn now(&self) -> SystemTime {
        self.clock().system_now()
    }
}

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
/// let t = PublicTokenInfo { creation_time: Some(1_000.into()), expiry_time: Some((-1).into()), ..Default::default() };
/// assert_eq!(t.created_at(), Some(UNIX_EPOCH + Duration::from_secs(1)));
/// assert_eq!(t.expiry(), Some(Expiry::Never));
/// assert!(!t.is_expired_at(UNIX_EPOCH + Duration::from_secs(1 << 40)));
/// ```
pub trait TokenInfoExt {
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

fn from_epoch_ms(ms: i64) -> Option<SystemTime> {
    u64::try_from(ms).ok().map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

impl TokenInfoExt for PublicTokenInfo {
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

/// What to create.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::workflows::NewToken;
/// let ci = NewToken::new().comment("ci").lifetime(Duration::from_secs(300)).scopes(["sql"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct NewToken {
    comment: Option<String>,
    lifetime: Option<Duration>,
    scopes: Option<Vec<String>>,
    autoscope: Option<bool>,
}

impl NewToken {
    /// A token with the service's defaults (2 years, no comment).
    pub fn new() -> Self {
        Self::default()
    }
    /// The comment shown in listings.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
    /// How long it lives (whole seconds, at least one).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }
    /// The API scopes it may use.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
    /// Collect the scopes it uses (autoscope).
    pub fn autoscope(mut self, enabled: bool) -> Self {
        self.autoscope = Some(enabled);
        self
    }

    fn into_request(self) -> Result<CreateTokenRequest> {
        let lifetime_seconds = match self.lifetime {
            None => None,
            Some(d) if d < Duration::from_secs(1) => {
                return Err(Error::invalid_request(format!("a token lifetime must be at least 1 s, got {d:?}")));
            }
            Some(d) => {
                Some(i64::try_from(d.as_secs()).map_err(|_| Error::invalid_request(format!("token lifetime {d:?} is too long")))?.into())
            }
        };
        Ok(CreateTokenRequest {
            comment: self.comment,
            lifetime_seconds,
            scopes: self.scopes.map(Into::into),
            autoscope_enabled: self.autoscope,
        })
    }
}

/// Rotation failed; says whether a replacement exists and whether the old token is still alive.
#[derive(Debug)]
#[non_exhaustive]
pub enum RotateError {
    /// The token to rotate could not be read: nothing was created or revoked.
    Lookup(Error),
    /// The replacement could not be created: the old token is untouched.
    Create(Error),
    /// The replacement was created but the old token could not be revoked: **both are alive**.
    Revoke {
        /// The new token, secret included: keep using it.
        replacement: Box<CreateTokenResponse>,
        /// The token that is still alive.
        old_token_id: String,
        /// Why revoking failed.
        cause: Error,
    },
}

impl RotateError {
    /// The replacement token, when it was created.
    pub fn replacement(&self) -> Option<&CreateTokenResponse> {
        match self {
            Self::Revoke { replacement, .. } => Some(replacement),
            _ => None,
        }
    }
}

impl std::fmt::Display for RotateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Lookup(e) => write!(f, "rotation did not start: the token could not be read: {e}"),
            Self::Create(e) => write!(f, "rotation failed: the replacement could not be created, the old token is untouched: {e}"),
            Self::Revoke { replacement, old_token_id, cause } => {
                let new_id = replacement.token_info.token_id.as_deref().unwrap_or("?");
                write!(
                    f,
                    "rotation half done: the replacement {new_id} was created, but the old token {old_token_id} is still alive: revoking it failed: {cause}"
                )
            }
        }
    }
}

impl std::error::Error for RotateError {
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

/// What a cleanup did (or, in a dry run, would do).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct CleanupReport {
    /// Whether nothing was revoked on purpose.
    pub dry_run: bool,
    /// The tokens the plan selected.
    pub selected: Vec<PublicTokenInfo>,
    /// Ids revoked now.
    pub revoked: Vec<String>,
    /// Ids that were already gone when revoked.
    pub already_gone: Vec<String>,
    /// Ids that could not be revoked, with why.
    pub failed: Vec<(String, Error)>,
}

/// The workflows, for every [`TokenApi`] (the real client, the local workspace's client, your mock).
///
/// ```no_run
/// # async fn example() -> databricks_tokens::Result<()> {
/// use std::time::Duration;
/// use databricks_tokens::WorkspaceClient;
/// use databricks_tokens::field_mask::Update;
/// use databricks_tokens::workflows::{NewToken, TokenWorkflows};
///
/// let w = WorkspaceClient::from_env()?;
/// let ci = w.create_token(NewToken::new().comment("ci").lifetime(Duration::from_secs(300))).await?;
/// let id = ci.token_info.token_id.unwrap_or_default();
/// w.update_token(&id, Update::token().comment("ci (renamed)")).await?;
/// w.delete_token_if_exists(&id).await?;
/// # Ok(()) }
/// ```
pub trait TokenWorkflows: TokenApi {
    /// Creates a token.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// let ci = w.create_token(NewToken::new().comment("ci").lifetime(Duration::from_secs(300))).await?;
    /// let secret = ci.token_value.expose(); // hand it to the CI job, never log it
    /// # Ok(()) }
    /// ```
    fn create_token(&self, new: NewToken) -> impl Future<Output = Result<CreateTokenResponse>> + Send {
        async move { self.create(new.into_request()?).await }
    }

    /// Creates a token exactly once, even when an answer is lost: no orphan, no duplicate.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// let ci = w.create_token_exactly_once(NewToken::new().comment("ci-1234").lifetime(Duration::from_secs(300))).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// The API has no idempotency key, so this is built from what `list` returns. It lists the tokens
    /// first; when a create fails in a way that may have been processed
    /// ([`Error::may_have_been_processed`]), it lists again, revokes every token that was not there before
    /// and carries the same comment (a token whose value nobody received), and creates again — at most
    /// 3 times. **Cost:** one extra `list` per call, plus one `list` and the revokes per ambiguous
    /// failure. Give the token a comment unique to this call (a job id): another creator of the same
    /// user creating a token with the same comment at the same moment could otherwise lose it.
    fn create_token_exactly_once(&self, new: NewToken) -> impl Future<Output = Result<CreateTokenResponse>> + Send {
        async move {
            let request = new.into_request()?;
            let ids =
                |tokens: Vec<PublicTokenInfo>| tokens.into_iter().filter_map(|t| t.token_id).collect::<std::collections::HashSet<_>>();
            let before = ids(self.list().await?);
            let mut tries = 0;
            loop {
                tries += 1;
                let error = match self.create(request.clone()).await {
                    Ok(created) => return Ok(created),
                    Err(e) if e.may_have_been_processed() => e,
                    Err(e) => return Err(e),
                };
                tracing::debug!(error = %error, "the create may have been processed: looking for an orphan");
                let orphans: Vec<String> = self
                    .list()
                    .await?
                    .into_iter()
                    .filter(|t| t.comment == request.comment)
                    .filter_map(|t| t.token_id)
                    .filter(|id| !before.contains(id))
                    .collect();
                for orphan in orphans {
                    self.delete_token_if_exists(&orphan).await?;
                }
                // Even when giving up, no orphan is left behind.
                if tries == 3 {
                    return Err(error);
                }
            }
        }
    }

    /// Every valid token, as a `Vec`.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// for token in w.list_tokens().await? {
    ///     println!("{:?} expires {:?}", token.comment, token.expiry());
    /// }
    /// # Ok(()) }
    /// ```
    fn list_tokens(&self) -> impl Future<Output = Result<Vec<PublicTokenInfo>>> + Send {
        self.list()
    }

    /// Every valid token, as a lazy stream (one request, when first polled).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// use futures::TryStreamExt;
    /// let mut tokens = std::pin::pin!(w.token_stream());
    /// while let Some(token) = tokens.try_next().await? {
    ///     println!("{:?}", token.token_id);
    /// }
    /// # Ok(()) }
    /// ```
    fn token_stream(&self) -> impl Stream<Item = Result<PublicTokenInfo>> + Send + '_ {
        paginate(move |_token| async move { self.list().await.map(|token_infos| ListPublicTokensResponse { token_infos }) }).items()
    }

    /// The token with this id; [`Error::is_not_found`] when there is none.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// let token = w.get_token("5f1e...").await?;
    /// # Ok(()) }
    /// ```
    fn get_token(&self, token_id: &str) -> impl Future<Output = Result<PublicTokenInfo>> + Send {
        async move {
            self.list()
                .await?
                .into_iter()
                .find(|t| t.token_id.as_deref() == Some(token_id))
                .ok_or_else(|| Error::not_found(format!("no valid token has the id {token_id}")))
        }
    }

    /// The one token with this comment; an error when none or several have it.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// let deploy = w.get_token_by_comment("deploy bot").await?;
    /// # Ok(()) }
    /// ```
    fn get_token_by_comment(&self, comment: &str) -> impl Future<Output = Result<PublicTokenInfo>> + Send {
        async move {
            let mut found: Vec<PublicTokenInfo> =
                self.list().await?.into_iter().filter(|t| t.comment.as_deref() == Some(comment)).collect();
            match found.len() {
                0 => Err(Error::not_found(format!("no valid token has the comment {comment:?}"))),
                1 => Ok(found.remove(0)),
                n => {
                    let ids: Vec<&str> = found.iter().map(|t| t.token_id.as_deref().unwrap_or("?")).collect();
                    Err(Error::ambiguous(format!("{n} tokens have the comment {comment:?} (ids {}): look one up by id", ids.join(", "))))
                }
            }
        }
    }

    /// Writes the fields an [`Update`] names, and only those.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// w.update_token("5f1e...", Update::token().comment("ci (renamed)").clear_scopes()).await?;
    /// # Ok(()) }
    /// ```
    fn update_token(&self, token_id: &str, update: Update<PublicTokenInfo>) -> impl Future<Output = Result<()>> + Send {
        async move {
            if update.mask().as_mask().paths().is_empty() {
                return Err(Error::invalid_request("the update names no field: nothing to send"));
            }
            let (token, mask) = update.into_parts();
            self.update(token_id, UpdateTokenRequest { token, update_mask: mask.to_string() }).await
        }
    }

    /// Revokes a token; an unknown id is an error ([`Error::is_not_found`]).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// w.delete_token("5f1e...").await?;
    /// # Ok(()) }
    /// ```
    fn delete_token(&self, token_id: &str) -> impl Future<Output = Result<()>> + Send {
        self.delete(token_id)
    }

    /// Revokes a token; one that does not exist counts as done. Returns whether it existed.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// let existed = w.delete_token_if_exists("5f1e...").await?;
    /// # Ok(()) }
    /// ```
    fn delete_token_if_exists(&self, token_id: &str) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self.delete(token_id).await {
                Ok(()) => Ok(true),
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e),
            }
        }
    }

    /// Replaces a token: creates one with the same comment and scopes and a new lifetime, then revokes
    /// the old one. If revoking fails, the error holds the replacement and says the old one is alive.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// match w.rotate_token("5f1e...", Duration::from_secs(24 * 3600)).await {
    ///     Ok(new) => println!("rotated to {:?}", new.token_info.token_id),
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
    ) -> impl Future<Output = std::result::Result<CreateTokenResponse, RotateError>> + Send {
        async move {
            let old = self.get_token(token_id).await.map_err(RotateError::Lookup)?;
            let mut new = NewToken::new().lifetime(lifetime);
            new.comment = old.comment.clone();
            new.scopes = old.scopes.clone().map(|s| s.0);
            let replacement = self.create_token(new).await.map_err(RotateError::Create)?;
            match self.delete_token_if_exists(token_id).await {
                Ok(_) => Ok(replacement),
                Err(cause) => Err(RotateError::Revoke { replacement: Box::new(replacement), old_token_id: token_id.to_owned(), cause }),
            }
        }
    }

    /// The valid tokens that expire within `window` from now (never-expiring ones excluded).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// let soon = w.tokens_expiring_within(Duration::from_secs(7 * 24 * 3600)).await?;
    /// # Ok(()) }
    /// ```
    fn tokens_expiring_within(&self, window: Duration) -> impl Future<Output = Result<Vec<PublicTokenInfo>>> + Send {
        async move {
            let now = self.now();
            Ok(self.list().await?.into_iter().filter(|t| t.expires_within(window, now)).collect())
        }
    }

    /// Revokes the tokens a [`Cleanup`] selects (or, in a dry run, reports them).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::time::Duration;
    /// # use databricks_tokens::workflows::*;
    /// # use databricks_tokens::field_mask::Update;
    /// let preview = w.cleanup_tokens(Cleanup::expiring_within(Duration::ZERO).comment_starts_with("ci-").dry_run()).await?;
    /// println!("would revoke {}", preview.selected.len());
    /// # Ok(()) }
    /// ```
    fn cleanup_tokens(&self, plan: Cleanup) -> impl Future<Output = Result<CleanupReport>> + Send {
        async move {
            let now = self.now();
            let selected: Vec<PublicTokenInfo> = self.list().await?.into_iter().filter(|t| (plan.predicate)(t, now)).collect();
            let mut report = CleanupReport { dry_run: plan.dry_run, ..Default::default() };
            if !plan.dry_run {
                for token in &selected {
                    let Some(id) = token.token_id.clone() else { continue };
                    match self.delete_token_if_exists(&id).await {
                        Ok(true) => report.revoked.push(id),
                        Ok(false) => report.already_gone.push(id),
                        Err(e) => report.failed.push((id, e)),
                    }
                }
            }
            report.selected = selected;
            Ok(report)
        }
    }
}

impl<T: TokenApi + ?Sized> TokenWorkflows for T {}
