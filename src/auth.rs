//! Where the credentials of every request come from.
//!
//! A [`CredentialsProvider`] returns the headers that authenticate a request. The crate ships
//! [`PatCredentials`] (a personal access token sent as `Authorization: Bearer ...`); plug in your own
//! source (a vault, a sidecar) by implementing the trait.

use std::fmt::Debug;

use crate::clock::BoxFuture;
use crate::error::Result;
use crate::secret::SecretString;

/// A header name and its secret value, as a provider returns them.
pub type AuthHeader = (String, SecretString);

/// A source of request credentials.
///
/// ```
/// use databricks_tokens::auth::{AuthHeader, CredentialsProvider};
/// use databricks_tokens::{clock::BoxFuture, Result, SecretString};
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
/// `headers` is called before every attempt; cache inside the provider. After a 401 the client calls
/// [`CredentialsProvider::invalidate`] and, when it returns `true`, replays the request once with fresh
/// headers.
pub trait CredentialsProvider: Send + Sync + Debug {
    /// The name sent in the `User-Agent` as `auth/<name>`, e.g. `pat`, `oauth-m2m`.
    fn auth_type(&self) -> &str;
    /// The headers to add to a request.
    fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>>;
    /// Drops cached credentials after the server refused them; returns whether fresh ones may differ
    /// (and so whether one replay is worth it). The default: nothing to refresh.
    fn invalidate(&self) -> bool {
        false
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
        let value = SecretString::new(format!("Bearer {}", self.token.expose()));
        Box::pin(async move { Ok(vec![("Authorization".to_owned(), value)]) })
    }
}
