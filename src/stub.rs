//! Test doubles: implement [`Tokens`] (and [`TokenManagement`]) with the operations your code calls, then
//! run your code unchanged on `WorkspaceClient::from_stub(your_stub)` (and
//! `.with_token_management_stub(your_admin_stub)`).
//!
//! The builders of [`crate::WorkspaceClient::tokens`] validate the caller's input, then hand a complete
//! request to the client's stub: the real one sends it over HTTP through the pipeline; yours answers it.
//! Every operation you leave out answers a clear [`ErrorKind::NotImplementedByStub`](crate::ErrorKind::NotImplementedByStub) error naming it.
//!
//! Every method of these traits, of their trait objects and of the pipeline's implementation (the real
//! service) is generated from the specs (`stub_methods!`, see `codegen/`): an operation added to a spec gets
//! its method, with the same default answer. The curated signatures (a list answering the items, a
//! revoke taking the token id, a filter struct, an update answering nothing) are said in the spec by
//! `x-rust-*` extensions; [`TokenFilter`] is generated from the list's query parameters. What is
//! hand-written here is the documentation of the traits and [`RequestOptions`].
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

use std::time::Duration;

use crate::retry::RetryPolicy;

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
    crate::operation::tables::stub_methods!(trait, [crate::types]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(trait, [crate::types::get_token_info_fixture]);
}

/// [`Tokens`] as a trait object: what the client holds.
pub(crate) trait DynTokens: Send + Sync + std::fmt::Debug {
    crate::operation::tables::stub_methods!(dyn, [crate::types]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(dyn, [crate::types::get_token_info_fixture]);
}

impl<T: Tokens> DynTokens for T {
    crate::operation::tables::stub_methods!(blanket, [crate::types]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(blanket, [crate::types::get_token_info_fixture]);
}

/// Which tokens a Token Management list returns: generated from the query parameters of `list_tokens`
/// (`x-rust-query-struct` in `spec/token_management.json`).
///
/// ```
/// let filter = databricks_tokens::stub::TokenFilter::default();
/// assert!(filter.created_by_id.is_none() && filter.created_by_username.is_none());
/// ```
pub use crate::types::token_management::TokenFilter;

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
    crate::operation::tables::token_management::stub_methods!(trait, [crate::types::token_management]);
}

/// A stub that implements nothing: what a client built from a Tokens stub starts with for Token Management.
#[derive(Debug)]
pub(crate) struct Unimplemented;

impl TokenManagement for Unimplemented {}
impl Tokens for Unimplemented {}

/// [`TokenManagement`] as a trait object: what the client holds.
pub(crate) trait DynTokenManagement: Send + Sync + std::fmt::Debug {
    crate::operation::tables::token_management::stub_methods!(dyn, [crate::types::token_management]);
}

impl<T: TokenManagement> DynTokenManagement for T {
    crate::operation::tables::token_management::stub_methods!(blanket, [crate::types::token_management]);
}
