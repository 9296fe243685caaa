//! The client for synchronous code (feature `blocking`): every builder of the async client with a blocking
//! `send()`, and every workflow as a blocking method, as `reqwest::blocking` does.
//!
//! ```no_run
//! # fn main() -> databricks_tokens::Result<()> {
//! use std::time::Duration;
//! use databricks_tokens::blocking::WorkspaceClient;
//!
//! let w = WorkspaceClient::from_env()?;
//! let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).send()?;
//! let all = w.tokens().list().send()?;
//! w.tokens().update(created.token_id()).comment("ci (renamed)").send()?;
//! w.tokens().delete(created.token_id()).send()?;
//! let every_token = w.token_management().list().send()?; // a workspace admin
//! let soon = w.tokens_expiring_within(Duration::from_secs(7 * 24 * 3600))?;
//! # Ok(()) }
//! ```
//!
//! The surface is the async client's: [`WorkspaceClient::tokens`] and [`WorkspaceClient::token_management`]
//! hand out the builders of [`crate::tokens`] and [`crate::token_management`] (the same setters, per-call
//! options and `from_diff`, wrapped in [`Call`]), and the workflows of [`TokenWorkflows`] and
//! [`TokenAdminWorkflows`] are methods of [`WorkspaceClient`]. The lazy `stream()` of the list builders is
//! the one thing left out: `send()` answers with the whole list.
//!
//! # Threads and async code
//!
//! Like `reqwest::blocking`, the client runs a Tokio runtime on a thread of its own (named
//! `databricks-tokens-blocking`), shared by its clones: a call is sent to that thread, and the calling thread
//! waits for the answer. Calls from several threads run concurrently there. The thread ends when the last
//! clone is dropped. So the client can be built, used and dropped anywhere, inside an async runtime too
//! (`#[tokio::main]`, `#[tokio::test]`, a spawned task) without a panic; but a blocking `send()` made from an
//! async task blocks that task's worker thread until the answer comes. That is yours to choose: on a
//! current-thread runtime nothing else of that runtime runs meanwhile (a server it serves cannot answer:
//! that deadlocks), so prefer the async client inside async code, or call from
//! `tokio::task::spawn_blocking`.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use futures::FutureExt as _;

use crate::admin::{Audit, AuditOptions, RevokePlan, RevokeReport, TokenAdminWorkflows};
use crate::clock::BoxFuture;
use crate::error::{Error, Result};
use crate::field_mask::TypedFieldMask;
use crate::retry::RetryPolicy;
use crate::types::token_management::{CreateOboTokenResponse, TokenInfo, TokenPermissionLevel};
use crate::types::{CreateTokenResponse, PublicTokenInfo};
use crate::workflows::{Cleanup, CleanupReport, RotateError, TokenWorkflows};

/// A call on an async client that the future owns its part of: what a blocking client runs on its thread.
///
/// ```
/// use databricks_tokens::blocking::AsyncCall;
/// let call: AsyncCall<usize> = Box::new(|w| Box::pin(async move { w.host().len() }));
/// ```
pub type AsyncCall<T> = Box<dyn for<'c> FnOnce(&'c crate::WorkspaceClient) -> BoxFuture<'c, T> + Send>;

/// `f` as an [`AsyncCall`] (a closure passed here gets its higher-ranked signature inferred).
pub(crate) fn async_call<T, F>(f: F) -> AsyncCall<T>
where
    F: for<'c> FnOnce(&'c crate::WorkspaceClient) -> BoxFuture<'c, T> + Send + 'static,
{
    Box::new(f)
}

/// A request builder of the async client that a blocking client can send: every builder of
/// [`crate::tokens`] and [`crate::token_management`].
///
/// ```
/// use databricks_tokens::blocking::Blockable;
/// fn answers<B: Blockable<Output = ()>>() {}
/// answers::<databricks_tokens::tokens::DeleteToken>();
/// ```
///
/// Implemented by the crate for its builders (hand-written and generated) and sealed: code outside the
/// crate names it in bounds but cannot implement it. [`Call`] wraps one.
///
/// ```compile_fail,E0277
/// use std::time::Duration;
/// use databricks_tokens::blocking::{AsyncCall, Blockable};
/// use databricks_tokens::{Result, RetryPolicy};
///
/// struct Mine;
/// impl Blockable for Mine {
///     type Output = ();
///     fn into_call(self) -> AsyncCall<Result<()>> { unimplemented!() }
///     fn set_retry_policy(self, _: RetryPolicy) -> Self { self }
///     fn set_attempt_timeout(self, _: Duration) -> Self { self }
/// }
/// ```
pub trait Blockable: crate::sealed::Sealed + Sized + Send {
    /// What `send()` answers with.
    type Output: Send + 'static;
    /// The call this builder makes, on whichever client it is given (the blocking client's thread runs it
    /// on a clone of the client the builder was made from).
    fn into_call(self) -> AsyncCall<Result<Self::Output>>;
    /// The builder's `retry_policy`.
    fn set_retry_policy(self, policy: RetryPolicy) -> Self;
    /// The builder's `attempt_timeout`.
    fn set_attempt_timeout(self, timeout: Duration) -> Self;
}

/// What runs on the runtime thread: a call with its client and the way back to the caller.
type Job = BoxFuture<'static, ()>;

/// The thread that owns the runtime; it ends when the last clone of the client is dropped.
struct RuntimeThread {
    jobs: Option<tokio::sync::mpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl RuntimeThread {
    const NAME: &str = "databricks-tokens-blocking";

    fn start() -> Result<Self> {
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(Self::NAME.to_owned())
            .spawn(move || {
                // Built, run and dropped on this thread, never inside the caller's async context.
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                drop(ready.send(Ok(())));
                runtime.block_on(async move {
                    while let Some(job) = queue.recv().await {
                        tokio::spawn(job);
                    }
                });
                // No call is waiting any more; a DNS lookup still running on the blocking pool is not waited for.
                runtime.shutdown_background();
            })
            .map_err(|e| Error::config("the blocking client's runtime thread could not start").with_source(e))?;
        match started.recv() {
            Ok(Ok(())) => Ok(Self { jobs: Some(jobs), thread: Some(thread) }),
            Ok(Err(e)) => Err(Error::config("the blocking client's runtime could not start").with_source(e)),
            Err(_) => Err(Error::config("the blocking client's runtime thread ended before starting its runtime")),
        }
    }

    /// Runs `job` on the runtime thread; `false` when that thread is gone.
    fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok())
    }

    /// Whether the calling thread is this one (where waiting for a call would wait forever).
    fn is_current(&self) -> bool {
        self.thread.as_ref().is_some_and(is_current)
    }
}

fn is_current(thread: &JoinHandle<()>) -> bool {
    thread.thread().id() == std::thread::current().id()
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop; no call is in flight (each borrows a clone of the client).
        self.jobs = None;
        if let Some(thread) = self.thread.take().filter(|t| !is_current(t)) {
            // Its loop has ended and nothing is left to wait for: this returns at once.
            let _ = thread.join();
        }
    }
}

/// A blocking client of one Databricks workspace: an async [`crate::WorkspaceClient`] and a thread that
/// runs its calls.
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// let w = databricks_tokens::blocking::WorkspaceClient::new(
///     databricks_tokens::WorkspaceClient::builder().host("https://example.cloud.databricks.com").token("dapi...").build()?,
/// )?;
/// println!("{} tokens", w.tokens().list().send()?.len());
/// # Ok(()) }
/// ```
///
/// Cheap to clone: clones share the thread and the async client's state. See [the module](self) for what
/// a blocking call does inside async code.
#[derive(Clone)]
pub struct WorkspaceClient {
    inner: crate::WorkspaceClient,
    runtime: Arc<RuntimeThread>,
}

impl fmt::Debug for WorkspaceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::WorkspaceClient").field("inner", &self.inner).finish_non_exhaustive()
    }
}

/// The caller side of one call: its answer, or the panic it raised.
type Answer<T> = std::thread::Result<T>;

impl WorkspaceClient {
    /// Wraps an async client (built with its builder, from a config, or from a stub) and starts the thread
    /// that runs its calls.
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::blocking::WorkspaceClient::new(databricks_tokens::WorkspaceClient::from_env()?)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`Config`](crate::ErrorKind::Config) error when the thread or its runtime cannot start.
    pub fn new(inner: crate::WorkspaceClient) -> Result<Self> {
        Ok(Self { inner, runtime: Arc::new(RuntimeThread::start()?) })
    }

    /// A client configured from the environment and `~/.databrickscfg` (see [`crate::config`]).
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::new(crate::WorkspaceClient::from_env()?)
    }

    /// The async client inside.
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// println!("{} as {}", w.as_async().host(), w.as_async().auth_type());
    /// # Ok(()) }
    /// ```
    pub fn as_async(&self) -> &crate::WorkspaceClient {
        &self.inner
    }

    /// The Tokens service: the caller's own tokens.
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let mine = w.tokens().list().send()?;
    /// # Ok(()) }
    /// ```
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { client: self }
    }

    /// The Token Management service: every token of the workspace (admins).
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let alices = w.token_management().list().created_by_username("alice@example.com").send()?;
    /// # Ok(()) }
    /// ```
    pub fn token_management(&self) -> TokenManagement<'_> {
        TokenManagement { client: self }
    }

    fn call<B>(&self, builder: B) -> Call<'_, B> {
        Call { client: self, builder }
    }

    /// Runs `call` on the runtime thread with a clone of the async client and waits for its answer; a panic
    /// in it is raised again here.
    fn run<T: Send + 'static>(&self, call: AsyncCall<T>) -> Result<T> {
        if self.runtime.is_current() {
            return Err(Error::invalid_request(
                "a blocking call from inside another call of the same blocking client (a workflow's predicate) would wait forever",
            ));
        }
        let client = self.inner.clone();
        let (answer, answered) = std::sync::mpsc::sync_channel::<Answer<T>>(1);
        let job = Box::pin(async move {
            let outcome = AssertUnwindSafe(async { call(&client).await }).catch_unwind().await;
            drop(answer.send(outcome));
        });
        let gone = || Error::config("the blocking client's runtime thread has stopped");
        if !self.runtime.submit(job) {
            return Err(gone());
        }
        match answered.recv() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(gone()),
        }
    }

    /// [`WorkspaceClient::run`] for a call that answers with a `Result`.
    fn run_result<T: Send + 'static>(
        &self,
        call: impl for<'c> FnOnce(&'c crate::WorkspaceClient) -> BoxFuture<'c, Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.run(async_call(call))?
    }
}

/// The workflows of [`TokenWorkflows`] and [`TokenAdminWorkflows`], blocking.
impl WorkspaceClient {
    /// The token with this id; see [`TokenWorkflows::get_token`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let token = w.get_token("5f1e...")?;
    /// # Ok(()) }
    /// ```
    pub fn get_token(&self, token_id: &str) -> Result<PublicTokenInfo> {
        let token_id = token_id.to_owned();
        self.run_result(move |w| Box::pin(async move { w.get_token(&token_id).await }))
    }

    /// The one token with this comment; see [`TokenWorkflows::get_token_by_comment`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let deploy = w.get_token_by_comment("deploy bot")?;
    /// # Ok(()) }
    /// ```
    pub fn get_token_by_comment(&self, comment: &str) -> Result<PublicTokenInfo> {
        let comment = comment.to_owned();
        self.run_result(move |w| Box::pin(async move { w.get_token_by_comment(&comment).await }))
    }

    /// Revokes a token if it exists (`Ok(false)`: it was already gone); see
    /// [`TokenWorkflows::delete_token_if_exists`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let revoked_now = w.delete_token_if_exists("5f1e...")?;
    /// # Ok(()) }
    /// ```
    pub fn delete_token_if_exists(&self, token_id: &str) -> Result<bool> {
        let token_id = token_id.to_owned();
        self.run_result(move |w| Box::pin(async move { w.delete_token_if_exists(&token_id).await }))
    }

    /// Replaces a token with a new one of the same comment and scopes; see [`TokenWorkflows::rotate_token`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let fresh = w.rotate_token("5f1e...", std::time::Duration::from_secs(24 * 3600))?;
    /// # Ok(()) }
    /// ```
    pub fn rotate_token(&self, token_id: &str, lifetime: Duration) -> std::result::Result<CreateTokenResponse, RotateError> {
        let token_id = token_id.to_owned();
        // Had the thread gone, nothing was sent.
        self.run(async_call(move |w| Box::pin(async move { w.rotate_token(&token_id, lifetime).await })))
            .unwrap_or_else(|e| Err(RotateError::Lookup(e)))
    }

    /// The valid tokens that expire within `window` from now; see [`TokenWorkflows::tokens_expiring_within`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let soon = w.tokens_expiring_within(std::time::Duration::from_secs(7 * 24 * 3600))?;
    /// # Ok(()) }
    /// ```
    pub fn tokens_expiring_within(&self, window: Duration) -> Result<Vec<PublicTokenInfo>> {
        self.run_result(move |w| Box::pin(w.tokens_expiring_within(window)))
    }

    /// Revokes the tokens a [`Cleanup`] selects (or only reports them); see [`TokenWorkflows::cleanup_tokens`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// use databricks_tokens::workflows::Cleanup;
    /// let report = w.cleanup_tokens(Cleanup::expired().comment_starts_with("ci-"))?;
    /// # Ok(()) }
    /// ```
    pub fn cleanup_tokens(&self, plan: Cleanup) -> Result<CleanupReport> {
        self.run_result(move |w| Box::pin(w.cleanup_tokens(plan)))
    }

    /// Every token of the workspace with owner, age, expiry and last use (admins); see
    /// [`TokenAdminWorkflows::audit_tokens`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let audit = w.audit_tokens(databricks_tokens::admin::AuditOptions::default())?;
    /// println!("{}", audit.to_csv()?);
    /// # Ok(()) }
    /// ```
    pub fn audit_tokens(&self, options: AuditOptions) -> Result<Audit> {
        self.run_result(move |w| Box::pin(w.audit_tokens(options)))
    }

    /// Revokes the tokens a [`RevokePlan`] selects (or only reports them; admins); see
    /// [`TokenAdminWorkflows::revoke_tokens`].
    ///
    /// ```no_run
    /// # fn main() -> databricks_tokens::Result<()> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// use databricks_tokens::admin::RevokePlan;
    /// let preview = w.revoke_tokens(RevokePlan::created_by("leaver@example.com").dry_run())?;
    /// # Ok(()) }
    /// ```
    pub fn revoke_tokens(&self, plan: RevokePlan) -> Result<RevokeReport> {
        self.run_result(move |w| Box::pin(w.revoke_tokens(plan)))
    }

    /// Replaces a service principal's on-behalf-of token (admins); see
    /// [`TokenAdminWorkflows::rotate_obo_token`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
    /// let fresh = w.rotate_obo_token("6f3b...", "5f1e...", std::time::Duration::from_secs(3600))?;
    /// # Ok(()) }
    /// ```
    pub fn rotate_obo_token(
        &self,
        application_id: &str,
        token_id: &str,
        lifetime: Duration,
    ) -> std::result::Result<CreateOboTokenResponse, RotateError<CreateOboTokenResponse>> {
        let (application_id, token_id) = (application_id.to_owned(), token_id.to_owned());
        // Had the thread gone, nothing was sent.
        self.run(async_call(move |w| Box::pin(async move { w.rotate_obo_token(&application_id, &token_id, lifetime).await })))
            .unwrap_or_else(|e| Err(RotateError::Lookup(e)))
    }
}

/// A builder of the async client whose `send()` blocks: the builders of [`Tokens`] and [`TokenManagement`]
/// are aliases of it ([`CreateToken`], [`ListAllTokens`] ...).
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
/// use std::time::Duration;
/// use databricks_tokens::RetryPolicy;
/// let all = w.tokens().list().retry_policy(RetryPolicy::disabled()).attempt_timeout(Duration::from_secs(5)).send()?;
/// # Ok(()) }
/// ```
///
/// It has the setters of the async builder it wraps (each forwards to it), and `send()` runs that
/// builder's `send()` on the client's thread.
#[derive(Debug)]
#[must_use = "a builder does nothing until it is sent"]
pub struct Call<'a, B> {
    client: &'a WorkspaceClient,
    builder: B,
}

impl<B: Blockable> Call<'_, B> {
    fn map(self, set: impl FnOnce(B) -> B) -> Self {
        Self { client: self.client, builder: set(self.builder) }
    }

    /// Retries this call with this policy instead of the client's.
    pub fn retry_policy(self, policy: RetryPolicy) -> Self {
        self.map(|b| b.set_retry_policy(policy))
    }

    /// Gives each attempt of this call this long instead of the client's attempt timeout.
    pub fn attempt_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.set_attempt_timeout(timeout))
    }

    /// Sends the request and waits for the answer.
    pub fn send(self) -> Result<B::Output> {
        self.client.run(self.builder.into_call())?
    }
}

/// The blocking builder around an async one: an alias of [`Call`], and its setters, which forward to the
/// async builder's.
macro_rules! wrap {
    ($module:ident::$builder:ident $({ $($setter:ident($($arg:ident: $ty:ty),*);)* })?) => {
        #[doc = concat!("[`", stringify!($module), "::", stringify!($builder), "`](crate::", stringify!($module), "::", stringify!($builder), "), blocking: the same setters, a blocking `send()`.")]
        pub type $builder<'a> = Call<'a, crate::$module::$builder>;

        $(impl<'a> $builder<'a> {
            $(
                #[doc = concat!("[`", stringify!($builder), "::", stringify!($setter), "`](crate::", stringify!($module), "::", stringify!($builder), "::", stringify!($setter), "), blocking.")]
                pub fn $setter(self, $($arg: $ty),*) -> Self {
                    self.map(|b| b.$setter($($arg),*))
                }
            )*
        })?
    };
}

/// An update builder (`update_setters!`): its setters, and `from_diff` as the async one.
macro_rules! wrap_update {
    ($module:ident::$builder:ident, $resource:ty) => {
        wrap!($module::$builder {
            comment(comment: impl Into<String>);
            scopes(scopes: impl IntoIterator<Item = impl Into<String>>);
            clear_scopes();
            mask(mask: TypedFieldMask<$resource>);
            token(token: $resource);
        });

        impl<'a> $builder<'a> {
            #[doc = concat!("[`", stringify!($builder), "::from_diff`](crate::", stringify!($module), "::", stringify!($builder), "::from_diff), blocking.")]
            pub fn from_diff(self, current: &$resource, desired: &$resource) -> Result<Self> {
                Ok(Self { client: self.client, builder: self.builder.from_diff(current, desired)? })
            }
        }
    };
}

wrap!(tokens::CreateToken {
    comment(comment: impl Into<String>);
    lifetime(lifetime: Duration);
    scopes(scopes: impl IntoIterator<Item = impl Into<String>>);
    autoscope(enabled: bool);
    exactly_once();
    exactly_once_grace(grace: Duration);
});
wrap!(tokens::ListTokens);
wrap_update!(tokens::UpdateToken, PublicTokenInfo);
wrap!(tokens::DeleteToken);
wrap!(token_management::CreateOboToken {
    comment(comment: impl Into<String>);
    lifetime(lifetime: Duration);
    scopes(scopes: impl IntoIterator<Item = impl Into<String>>);
    autoscope(enabled: bool);
    exactly_once();
    exactly_once_grace(grace: Duration);
});
wrap!(token_management::ListAllTokens {
    created_by_id(user_id: i64);
    created_by_username(user_name: impl Into<String>);
});
wrap!(token_management::GetToken);
wrap_update!(token_management::UpdateManagedToken, TokenInfo);
wrap!(token_management::DeleteManagedToken);
wrap!(token_management::GetPermissionLevels);
wrap!(token_management::GetPermissions);
wrap!(token_management::SetPermissions {
    grant_user(user_name: impl Into<String>, level: TokenPermissionLevel);
    grant_group(group_name: impl Into<String>, level: TokenPermissionLevel);
    grant_service_principal(application_id: impl Into<String>, level: TokenPermissionLevel);
});

/// The Tokens service of a blocking client: the builders of [`crate::tokens::Tokens`], blocking.
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
/// let created = w.tokens().create().comment("ci").exactly_once().send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    client: &'a WorkspaceClient,
}

impl<'a> Tokens<'a> {
    /// Creates a token: see [`crate::tokens::Tokens::create`].
    pub fn create(self) -> CreateToken<'a> {
        self.client.call(self.client.inner.tokens().create())
    }
    /// Lists the caller's tokens: see [`crate::tokens::Tokens::list`].
    pub fn list(self) -> ListTokens<'a> {
        self.client.call(self.client.inner.tokens().list())
    }
    /// Updates a token: see [`crate::tokens::Tokens::update`].
    pub fn update(self, token_id: impl Into<String>) -> UpdateToken<'a> {
        self.client.call(self.client.inner.tokens().update(token_id.into()))
    }
    /// Revokes a token: see [`crate::tokens::Tokens::delete`].
    pub fn delete(self, token_id: impl Into<String>) -> DeleteToken<'a> {
        self.client.call(self.client.inner.tokens().delete(token_id.into()))
    }
}

/// The Token Management service of a blocking client (admins): the builders of
/// [`crate::token_management::TokenManagement`], blocking.
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// # let w = databricks_tokens::blocking::WorkspaceClient::from_env()?;
/// use databricks_tokens::types::token_management::TokenPermissionLevel;
/// let tm = w.token_management();
/// tm.update_permissions().grant_service_principal("6f3b...", TokenPermissionLevel::CanUse).send()?;
/// let ci = tm.create_obo_token("6f3b...").comment("ci").send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TokenManagement<'a> {
    client: &'a WorkspaceClient,
}

impl<'a> TokenManagement<'a> {
    /// Creates a token owned by a service principal: see
    /// [`crate::token_management::TokenManagement::create_obo_token`].
    pub fn create_obo_token(self, application_id: impl Into<String>) -> CreateOboToken<'a> {
        self.client.call(self.client.inner.token_management().create_obo_token(application_id))
    }
    /// Lists every valid token of the workspace: see [`crate::token_management::TokenManagement::list`].
    pub fn list(self) -> ListAllTokens<'a> {
        self.client.call(self.client.inner.token_management().list())
    }
    /// One token of any user: see [`crate::token_management::TokenManagement::get`].
    pub fn get(self, token_id: impl Into<String>) -> GetToken<'a> {
        self.client.call(self.client.inner.token_management().get(token_id.into()))
    }
    /// Updates any user's token: see [`crate::token_management::TokenManagement::update`].
    pub fn update(self, token_id: impl Into<String>) -> UpdateManagedToken<'a> {
        self.client.call(self.client.inner.token_management().update(token_id.into()))
    }
    /// Revokes any user's token: see [`crate::token_management::TokenManagement::delete`].
    pub fn delete(self, token_id: impl Into<String>) -> DeleteManagedToken<'a> {
        self.client.call(self.client.inner.token_management().delete(token_id.into()))
    }
    /// The levels that may be granted on tokens: see
    /// [`crate::token_management::TokenManagement::permission_levels`].
    pub fn permission_levels(self) -> GetPermissionLevels<'a> {
        self.client.call(self.client.inner.token_management().permission_levels())
    }
    /// Who may use tokens: see [`crate::token_management::TokenManagement::permissions`].
    pub fn permissions(self) -> GetPermissions<'a> {
        self.client.call(self.client.inner.token_management().permissions())
    }
    /// Replaces who may use tokens: see [`crate::token_management::TokenManagement::set_permissions`].
    pub fn set_permissions(self) -> SetPermissions<'a> {
        self.client.call(self.client.inner.token_management().set_permissions())
    }
    /// Adds to who may use tokens: see [`crate::token_management::TokenManagement::update_permissions`].
    pub fn update_permissions(self) -> SetPermissions<'a> {
        self.client.call(self.client.inner.token_management().update_permissions())
    }
}
