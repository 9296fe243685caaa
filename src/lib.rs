//! A Rust SDK for the Databricks Tokens API: create, list, update and revoke personal access tokens.
//!
//! # Three ways to build a client
//!
//! ```no_run
//! # fn main() -> databricks_tokens::Result<()> {
//! use databricks_tokens::WorkspaceClient;
//!
//! // 1. From the environment and ~/.databrickscfg, like Python's `WorkspaceClient()`:
//! //    DATABRICKS_HOST, DATABRICKS_TOKEN, DATABRICKS_CONFIG_PROFILE, ... (see `config`).
//! let w = WorkspaceClient::from_env()?;
//!
//! // 2. An explicit host and personal access token:
//! let w = WorkspaceClient::builder().host("https://example.cloud.databricks.com").token("dapi...").build()?;
//!
//! // 3. An explicit service principal (OAuth machine-to-machine):
//! let w = WorkspaceClient::builder()
//!     .host("https://example.cloud.databricks.com")
//!     .oauth_m2m("client-id", "client-secret")
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! None of them does network I/O; credentials are obtained on the first call.
//!
//! # The seed lifecycle
//!
//! ```no_run
//! # async fn example() -> databricks_tokens::Result<()> {
//! use std::time::Duration;
//! use databricks_tokens::WorkspaceClient;
//!
//! let w = WorkspaceClient::from_env()?;
//! let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).scopes(["sql"]).send().await?;
//! let id = created.token_id(); // the service always sends one: a response without it is a Decode error
//! let all = w.tokens().list().send().await?;
//! w.tokens().update(id).comment("ci (renamed)").clear_scopes().send().await?; // update_mask=comment,scopes
//! w.tokens().delete(id).send().await?;
//! # Ok(()) }
//! ```
//!
//! Every operation is a builder ending in `.send()` (or plain `.await`), with per-call options
//! (`retry_policy`, `attempt_timeout`). Code under test takes the same `WorkspaceClient`, built with
//! [`WorkspaceClient::from_stub`] over a [`stub::Tokens`] double. The `blocking` feature adds the same
//! builders (Token Management's included) with a blocking `send()`, and the workflows as blocking methods,
//! usable inside async code too.
//!
//! The wire layer is generated at build time from `spec/tokens.json` by progenitor; this crate wraps it in
//! a pipeline that retries what is safe to retry, never prints a secret, and reports every failure as one
//! [`Error`] type with the HTTP status, the Databricks error code and message.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod macros;

pub mod admin;
pub mod auth;
#[cfg(feature = "blocking")]
pub mod blocking;
mod client;
pub mod clock;
pub mod config;
mod decode;
mod error;
pub mod field_mask;
mod generated;
#[cfg(any(feature = "google", feature = "local-workspace"))]
mod jwt;
#[cfg(feature = "local-workspace")]
pub mod local;
pub mod operation;
pub mod paginate;
mod pipeline;
mod rate_limit;
mod redact;
mod retry;
mod secret;
pub mod stub;
mod tls;
pub mod token_management;
pub mod tokens;
mod wire;
pub mod workflows;

/// The README's examples, compiled as doctests so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use client::{ClientBuilder, WorkspaceClient};
pub use decode::DEFAULT_MAX_RESPONSE_SIZE;
pub use error::{ApiError, Error, ErrorDetail, ErrorKind, MAX_ERROR_MESSAGE, MAX_RAW_BODY, MAX_REQUEST_ID, Result};
pub use retry::{DEFAULT_SHARED_RETRY_BUDGET, RetryPolicy};
pub use secret::SecretString;

/// The request and response types of the Tokens API, generated from the spec.
///
/// ```
/// use databricks_tokens::types::PublicTokenInfo;
/// let info: PublicTokenInfo = serde_json::from_str(r#"{"token_id":"t1","expiry_time":"-1"}"#).unwrap();
/// assert_eq!(info.expiry_time.map(i64::from), Some(-1));
/// ```
pub mod types {
    pub use crate::generated::types::{CreateTokenRequest, CreateTokenResponse, PublicTokenInfo, UpdateTokenRequest};
    pub(crate) use crate::generated::types::{ListPublicTokensResponse, RevokeTokenRequest};
    pub use crate::wire::{AutoscopeState, Int64, ReportedScopes, ScopeList};

    /// The request and response types of the Token Management API, generated from
    /// `spec/token_management.json`.
    ///
    /// ```
    /// use databricks_tokens::types::token_management::TokenInfo;
    /// let info: TokenInfo = serde_json::from_str(r#"{"token_id":"t1","owner_id":"42","last_used_day":1700000000000}"#).unwrap();
    /// assert_eq!(info.owner_id.map(i64::from), Some(42));
    /// ```
    pub mod token_management {
        pub use crate::generated::token_management::types::{
            CreateOboTokenRequest, CreateOboTokenResponse, TokenAccessControlRequest, TokenAccessControlResponse, TokenInfo,
            TokenPermission, TokenPermissionLevel, TokenPermissions, TokenPermissionsDescription, TokenPermissionsRequest,
            UpdateTokenManagementRequest,
        };
    }
}
