//! The same client for synchronous code (feature `blocking`): every builder's `.send()` blocks, as
//! `reqwest::blocking` does.
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
//! # Ok(()) }
//! ```
//!
//! The client owns a small Tokio runtime (one thread for I/O) and runs each call on it. Do not use it from
//! inside an async runtime (a call there would block the runtime's thread): use the async client there.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::field_mask::TypedFieldMask;
use crate::retry::RetryPolicy;
use crate::types::{CreateTokenResponse, PublicTokenInfo};

/// A blocking client of one Databricks workspace: the async [`crate::WorkspaceClient`] and a runtime.
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
/// Cheap to clone: clones share the runtime and the async client's state.
#[derive(Clone)]
pub struct WorkspaceClient {
    inner: crate::WorkspaceClient,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl fmt::Debug for WorkspaceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::WorkspaceClient").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl WorkspaceClient {
    /// Wraps an async client (built with its builder, from a config, or from a stub).
    pub fn new(inner: crate::WorkspaceClient) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::config("the blocking client's runtime could not start").with_source(e))?;
        Ok(Self { inner, runtime: Arc::new(runtime) })
    }

    /// A client configured from the environment and `~/.databrickscfg` (see [`crate::config`]).
    pub fn from_env() -> Result<Self> {
        Self::new(crate::WorkspaceClient::from_env()?)
    }

    /// The async client inside.
    pub fn as_async(&self) -> &crate::WorkspaceClient {
        &self.inner
    }

    /// The Tokens service.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { client: self }
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// The Tokens service of a blocking client: the same builders as [`crate::tokens::Tokens`].
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    client: &'a WorkspaceClient,
}

impl<'a> Tokens<'a> {
    /// Creates a token: see [`crate::tokens::Tokens::create`].
    pub fn create(self) -> CreateToken<'a> {
        CreateToken { client: self.client, inner: self.client.inner.tokens().create() }
    }
    /// Lists the caller's tokens: see [`crate::tokens::Tokens::list`].
    pub fn list(self) -> ListTokens<'a> {
        ListTokens { client: self.client, inner: self.client.inner.tokens().list() }
    }
    /// Updates a token: see [`crate::tokens::Tokens::update`].
    pub fn update(self, token_id: impl Into<String>) -> UpdateToken<'a> {
        UpdateToken { client: self.client, inner: self.client.inner.tokens().update(token_id) }
    }
    /// Revokes a token: see [`crate::tokens::Tokens::delete`].
    pub fn delete(self, token_id: impl Into<String>) -> DeleteToken<'a> {
        DeleteToken { client: self.client, inner: self.client.inner.tokens().delete(token_id) }
    }
}

/// A blocking builder around the async one: forwards its setters, blocks in `send`.
macro_rules! blocking_builder {
    ($(#[$doc:meta])* $name:ident => $output:ty { $($(#[$m:meta])* fn $setter:ident($($arg:ident: $ty:ty),*);)* }) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[must_use = "a builder does nothing until it is sent"]
        pub struct $name<'a> {
            client: &'a WorkspaceClient,
            inner: crate::tokens::$name<'a>,
        }

        impl<'a> $name<'a> {
            $(
                $(#[$m])*
                pub fn $setter(self, $($arg: $ty),*) -> Self {
                    Self { client: self.client, inner: self.inner.$setter($($arg),*) }
                }
            )*
            /// Retries this call with this policy instead of the client's.
            pub fn retry_policy(self, policy: RetryPolicy) -> Self {
                Self { client: self.client, inner: self.inner.retry_policy(policy) }
            }
            /// Gives each attempt of this call this long instead of the client's attempt timeout.
            pub fn attempt_timeout(self, timeout: Duration) -> Self {
                Self { client: self.client, inner: self.inner.attempt_timeout(timeout) }
            }
            /// Sends the request and waits for the answer.
            pub fn send(self) -> Result<$output> {
                self.client.block_on(self.inner.send())
            }
        }
    };
}

blocking_builder! {
    /// Creates a token: see [`crate::tokens::CreateToken`].
    CreateToken => CreateTokenResponse {
        /// The comment shown in listings.
        fn comment(comment: impl Into<String>);
        /// How long the token lives (whole seconds, at least one).
        fn lifetime(lifetime: Duration);
        /// Whether the service collects the scopes the token uses.
        fn autoscope(enabled: bool);
        /// Creates it exactly once, even when an answer is lost.
        fn exactly_once();
    }
}

impl CreateToken<'_> {
    /// The API scopes it may use.
    pub fn scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        Self { client: self.client, inner: self.inner.scopes(scopes) }
    }
}

blocking_builder! {
    /// Lists the caller's tokens: see [`crate::tokens::ListTokens`].
    ListTokens => Vec<PublicTokenInfo> {}
}

blocking_builder! {
    /// Updates a token: see [`crate::tokens::UpdateToken`].
    UpdateToken => () {
        /// Sets the comment.
        fn comment(comment: impl Into<String>);
        /// Clears the scopes.
        fn clear_scopes();
        /// The typed escape hatch: the mask to send with [`UpdateToken::token`].
        fn mask(mask: TypedFieldMask<PublicTokenInfo>);
        /// The token to send with [`UpdateToken::mask`].
        fn token(token: PublicTokenInfo);
    }
}

impl UpdateToken<'_> {
    /// Sets the scopes (an empty list clears them).
    pub fn scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        Self { client: self.client, inner: self.inner.scopes(scopes) }
    }
}

blocking_builder! {
    /// Revokes a token: see [`crate::tokens::DeleteToken`].
    DeleteToken => () {}
}
