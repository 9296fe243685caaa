//! Test doubles: implement [`Tokens`] (and [`TokenManagement`]) with the operations your code calls, then
//! run your code unchanged on `WorkspaceClient::from_stub(your_stub)` (and
//! `.with_token_management_stub(your_admin_stub)`).
//!
//! The builders of [`crate::WorkspaceClient::tokens`] validate the caller's input, then hand a complete
//! request to the client's stub: the real one sends it over HTTP through the pipeline; yours answers it.
//! Every operation you leave out answers a clear [`ErrorKind::NotImplementedByStub`](crate::ErrorKind::NotImplementedByStub) error naming it.
//! An operation added to a spec gets its method in these traits too (generated, with the same default
//! answer), and its builder hands its request to the stub as the hand-written builders do.
//! (The name `stub` follows google-cloud-rust.)
//!
//! ```
//! use databricks_tokens::stub::{self, RequestOptions};
//! use databricks_tokens::types::PublicTokenInfo;
//! use databricks_tokens::{ErrorKind, WorkspaceClient};
//!
//! /// A double that only knows how to list.
//! #[derive(Debug)]
//! struct TwoTokens;
//! impl stub::Tokens for TwoTokens {
//!     async fn list(&self, _options: RequestOptions) -> databricks_tokens::Result<Vec<PublicTokenInfo>> {
//!         Ok(vec![PublicTokenInfo::new("a").set_comment("ci"), PublicTokenInfo::new("b").set_comment("ci")])
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> databricks_tokens::Result<()> {
//! let w = WorkspaceClient::from_stub(TwoTokens);
//! assert_eq!(w.tokens().list().send().await?.len(), 2);
//! let err = w.tokens().delete("a").send().await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotImplementedByStub);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use crate::clock::BoxFuture;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::types::token_management::{
    CreateOboTokenRequest, CreateOboTokenResponse, TokenInfo, TokenPermissions, TokenPermissionsDescription, TokenPermissionsRequest,
    UpdateTokenManagementRequest,
};
use crate::types::{CreateTokenRequest, CreateTokenResponse, PublicTokenInfo, UpdateTokenRequest};

/// The per-call options a builder collected: what a stub may check, and what the real client applies.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::stub::RequestOptions;
/// let options = RequestOptions::default();
/// assert!(options.retry_policy().is_none() && options.attempt_timeout().is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RequestOptions {
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) attempt_timeout: Option<Duration>,
}

impl RequestOptions {
    /// The retry policy of this call, when it overrides the client's.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }
    /// The per-attempt timeout of this call, when it overrides the client's.
    pub fn attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }
    /// The retry policy this call runs with, given the client's.
    pub(crate) fn effective_retry(&self, client: &RetryPolicy) -> Option<RetryPolicy> {
        match (&self.retry, self.attempt_timeout) {
            (None, None) => None,
            (retry, timeout) => {
                let policy = retry.clone().unwrap_or_else(|| client.clone());
                Some(match timeout {
                    Some(t) => policy.with_attempt_timeout(t),
                    None => policy,
                })
            }
        }
    }
}

/// The Tokens service as the client's builders call it: implement the operations your test needs.
///
/// See [the module](self) for an example. Requests arrive validated (a non-empty token id, a lifetime in
/// range, an update with a non-empty mask naming fields its token carries). An update's token carries only
/// what its mask names: its `token_id` is empty (the id is the `token_id` argument). An exactly-once create
/// ([`crate::tokens::CreateToken::exactly_once`]) arrives with its marker at the end of the comment, and is
/// followed by an update of the comment (a stub without `update` leaves the marker, and the answer says so).
pub trait Tokens: Send + Sync + std::fmt::Debug {
    /// Creates a token (`POST /api/2.0/token/create`).
    fn create(&self, request: CreateTokenRequest, options: RequestOptions) -> impl Future<Output = Result<CreateTokenResponse>> + Send {
        let _ = (request, options);
        async { Err(Error::not_implemented_by_stub("Tokens::create")) }
    }
    /// Every valid token of the caller (`GET /api/2.0/token/list`).
    fn list(&self, options: RequestOptions) -> impl Future<Output = Result<Vec<PublicTokenInfo>>> + Send {
        let _ = options;
        async { Err(Error::not_implemented_by_stub("Tokens::list")) }
    }
    /// Updates the fields the mask names (`PATCH /api/2.0/token/{token_id}`).
    fn update(&self, token_id: &str, request: UpdateTokenRequest, options: RequestOptions) -> impl Future<Output = Result<()>> + Send {
        let _ = (token_id, request, options);
        async { Err(Error::not_implemented_by_stub("Tokens::update")) }
    }
    /// Revokes a token (`POST /api/2.0/token/delete`).
    fn delete(&self, token_id: &str, options: RequestOptions) -> impl Future<Output = Result<()>> + Send {
        let _ = (token_id, options);
        async { Err(Error::not_implemented_by_stub("Tokens::delete")) }
    }
    crate::operation::tables::stub_methods!(trait, [crate::types]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(trait, [crate::types::get_token_info_fixture]);
}

/// [`Tokens`] as a trait object: what the client holds.
pub(crate) trait DynTokens: Send + Sync + std::fmt::Debug {
    fn create(&self, request: CreateTokenRequest, options: RequestOptions) -> BoxFuture<'_, Result<CreateTokenResponse>>;
    fn list(&self, options: RequestOptions) -> BoxFuture<'_, Result<Vec<PublicTokenInfo>>>;
    fn update<'a>(&'a self, token_id: &'a str, request: UpdateTokenRequest, options: RequestOptions) -> BoxFuture<'a, Result<()>>;
    fn delete<'a>(&'a self, token_id: &'a str, options: RequestOptions) -> BoxFuture<'a, Result<()>>;
    crate::operation::tables::stub_methods!(dyn, [crate::types]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(dyn, [crate::types::get_token_info_fixture]);
}

impl<T: Tokens> DynTokens for T {
    fn create(&self, request: CreateTokenRequest, options: RequestOptions) -> BoxFuture<'_, Result<CreateTokenResponse>> {
        Box::pin(Tokens::create(self, request, options))
    }
    fn list(&self, options: RequestOptions) -> BoxFuture<'_, Result<Vec<PublicTokenInfo>>> {
        Box::pin(Tokens::list(self, options))
    }
    fn update<'a>(&'a self, token_id: &'a str, request: UpdateTokenRequest, options: RequestOptions) -> BoxFuture<'a, Result<()>> {
        Box::pin(Tokens::update(self, token_id, request, options))
    }
    fn delete<'a>(&'a self, token_id: &'a str, options: RequestOptions) -> BoxFuture<'a, Result<()>> {
        Box::pin(Tokens::delete(self, token_id, options))
    }
    crate::operation::tables::stub_methods!(blanket, [crate::types]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(blanket, [crate::types::get_token_info_fixture]);
}

/// Which tokens a Token Management list returns.
///
/// ```
/// let filter = databricks_tokens::stub::TokenFilter::default();
/// assert!(filter.created_by_id.is_none() && filter.created_by_username.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenFilter {
    /// Only the tokens this user id created.
    pub created_by_id: Option<i64>,
    /// Only the tokens this user name created.
    pub created_by_username: Option<String>,
}

/// The Token Management service as the client's builders call it: implement the operations your test
/// needs, and hand it to [`crate::WorkspaceClient::with_token_management_stub`]. As for [`Tokens`], an
/// update's token carries only what its mask names (an empty `token_id`), and an exactly-once on-behalf-of
/// create arrives with its marker at the end of the comment, followed by an update of the comment.
///
/// ```
/// use databricks_tokens::stub::{self, RequestOptions, TokenFilter};
/// use databricks_tokens::types::token_management::TokenInfo;
///
/// #[derive(Debug)]
/// struct Admin;
/// impl stub::TokenManagement for Admin {
///     async fn list(&self, _filter: TokenFilter, _options: RequestOptions) -> databricks_tokens::Result<Vec<TokenInfo>> {
///         Ok(vec![TokenInfo::new("t1").set_created_by_username("alice")])
///     }
/// }
/// # #[derive(Debug)] struct NoTokens;
/// # impl stub::Tokens for NoTokens {}
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> databricks_tokens::Result<()> {
/// let w = databricks_tokens::WorkspaceClient::from_stub(NoTokens).with_token_management_stub(Admin);
/// assert_eq!(w.token_management().list().send().await?.len(), 1);
/// # Ok(()) }
/// ```
pub trait TokenManagement: Send + Sync + std::fmt::Debug {
    /// Creates an on-behalf-of token for a service principal.
    fn create_obo_token(
        &self,
        request: CreateOboTokenRequest,
        options: RequestOptions,
    ) -> impl Future<Output = Result<CreateOboTokenResponse>> + Send {
        let _ = (request, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::create_obo_token")) }
    }
    /// Every valid token of the workspace, filtered.
    fn list(&self, filter: TokenFilter, options: RequestOptions) -> impl Future<Output = Result<Vec<TokenInfo>>> + Send {
        let _ = (filter, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::list")) }
    }
    /// One token.
    fn get(&self, token_id: &str, options: RequestOptions) -> impl Future<Output = Result<TokenInfo>> + Send {
        let _ = (token_id, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::get")) }
    }
    /// Updates the fields the mask names; answers the updated token.
    fn update(
        &self,
        token_id: &str,
        request: UpdateTokenManagementRequest,
        options: RequestOptions,
    ) -> impl Future<Output = Result<TokenInfo>> + Send {
        let _ = (token_id, request, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::update")) }
    }
    /// Revokes a token.
    fn delete(&self, token_id: &str, options: RequestOptions) -> impl Future<Output = Result<()>> + Send {
        let _ = (token_id, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::delete")) }
    }
    /// The levels that may be granted on tokens.
    fn permission_levels(&self, options: RequestOptions) -> impl Future<Output = Result<Vec<TokenPermissionsDescription>>> + Send {
        let _ = options;
        async { Err(Error::not_implemented_by_stub("TokenManagement::permission_levels")) }
    }
    /// Who may use tokens.
    fn permissions(&self, options: RequestOptions) -> impl Future<Output = Result<TokenPermissions>> + Send {
        let _ = options;
        async { Err(Error::not_implemented_by_stub("TokenManagement::permissions")) }
    }
    /// Replaces who may use tokens.
    fn set_permissions(
        &self,
        request: TokenPermissionsRequest,
        options: RequestOptions,
    ) -> impl Future<Output = Result<TokenPermissions>> + Send {
        let _ = (request, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::set_permissions")) }
    }
    /// Adds to who may use tokens.
    fn update_permissions(
        &self,
        request: TokenPermissionsRequest,
        options: RequestOptions,
    ) -> impl Future<Output = Result<TokenPermissions>> + Send {
        let _ = (request, options);
        async { Err(Error::not_implemented_by_stub("TokenManagement::update_permissions")) }
    }
    crate::operation::tables::token_management::stub_methods!(trait, [crate::types::token_management]);
}

/// A stub that implements nothing: what a client built from a Tokens stub starts with for Token Management.
#[derive(Debug)]
pub(crate) struct Unimplemented;

impl TokenManagement for Unimplemented {}
impl Tokens for Unimplemented {}

/// [`TokenManagement`] as a trait object: what the client holds.
pub(crate) trait DynTokenManagement: Send + Sync + std::fmt::Debug {
    fn create_obo_token(&self, request: CreateOboTokenRequest, options: RequestOptions) -> BoxFuture<'_, Result<CreateOboTokenResponse>>;
    fn list(&self, filter: TokenFilter, options: RequestOptions) -> BoxFuture<'_, Result<Vec<TokenInfo>>>;
    fn get<'a>(&'a self, token_id: &'a str, options: RequestOptions) -> BoxFuture<'a, Result<TokenInfo>>;
    fn update<'a>(
        &'a self,
        token_id: &'a str,
        request: UpdateTokenManagementRequest,
        options: RequestOptions,
    ) -> BoxFuture<'a, Result<TokenInfo>>;
    fn delete<'a>(&'a self, token_id: &'a str, options: RequestOptions) -> BoxFuture<'a, Result<()>>;
    fn permission_levels(&self, options: RequestOptions) -> BoxFuture<'_, Result<Vec<TokenPermissionsDescription>>>;
    fn permissions(&self, options: RequestOptions) -> BoxFuture<'_, Result<TokenPermissions>>;
    fn set_permissions(&self, request: TokenPermissionsRequest, options: RequestOptions) -> BoxFuture<'_, Result<TokenPermissions>>;
    fn update_permissions(&self, request: TokenPermissionsRequest, options: RequestOptions) -> BoxFuture<'_, Result<TokenPermissions>>;
    crate::operation::tables::token_management::stub_methods!(dyn, [crate::types::token_management]);
}

impl<T: TokenManagement> DynTokenManagement for T {
    fn create_obo_token(&self, request: CreateOboTokenRequest, options: RequestOptions) -> BoxFuture<'_, Result<CreateOboTokenResponse>> {
        Box::pin(TokenManagement::create_obo_token(self, request, options))
    }
    fn list(&self, filter: TokenFilter, options: RequestOptions) -> BoxFuture<'_, Result<Vec<TokenInfo>>> {
        Box::pin(TokenManagement::list(self, filter, options))
    }
    fn get<'a>(&'a self, token_id: &'a str, options: RequestOptions) -> BoxFuture<'a, Result<TokenInfo>> {
        Box::pin(TokenManagement::get(self, token_id, options))
    }
    fn update<'a>(
        &'a self,
        token_id: &'a str,
        request: UpdateTokenManagementRequest,
        options: RequestOptions,
    ) -> BoxFuture<'a, Result<TokenInfo>> {
        Box::pin(TokenManagement::update(self, token_id, request, options))
    }
    fn delete<'a>(&'a self, token_id: &'a str, options: RequestOptions) -> BoxFuture<'a, Result<()>> {
        Box::pin(TokenManagement::delete(self, token_id, options))
    }
    fn permission_levels(&self, options: RequestOptions) -> BoxFuture<'_, Result<Vec<TokenPermissionsDescription>>> {
        Box::pin(TokenManagement::permission_levels(self, options))
    }
    fn permissions(&self, options: RequestOptions) -> BoxFuture<'_, Result<TokenPermissions>> {
        Box::pin(TokenManagement::permissions(self, options))
    }
    fn set_permissions(&self, request: TokenPermissionsRequest, options: RequestOptions) -> BoxFuture<'_, Result<TokenPermissions>> {
        Box::pin(TokenManagement::set_permissions(self, request, options))
    }
    fn update_permissions(&self, request: TokenPermissionsRequest, options: RequestOptions) -> BoxFuture<'_, Result<TokenPermissions>> {
        Box::pin(TokenManagement::update_permissions(self, request, options))
    }
    crate::operation::tables::token_management::stub_methods!(blanket, [crate::types::token_management]);
}
