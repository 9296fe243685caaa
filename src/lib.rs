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
//! use databricks_tokens::WorkspaceClient;
//! use databricks_tokens::types::{CreateTokenRequest, PublicTokenInfo, UpdateTokenRequest};
//!
//! let w = WorkspaceClient::from_env()?;
//! let created = w.tokens().create(CreateTokenRequest {
//!     comment: Some("ci".into()),
//!     lifetime_seconds: Some(300.into()),
//!     ..Default::default()
//! }).await?;
//! let id = created.token_info.token_id.unwrap_or_default();
//! let all = w.tokens().list().await?;
//! w.tokens().update(&id, UpdateTokenRequest {
//!     token: PublicTokenInfo { comment: Some("ci (renamed)".into()), ..Default::default() },
//!     update_mask: "comment".into(),
//! }).await?;
//! w.tokens().delete(&id).await?;
//! # Ok(()) }
//! ```
//!
//! The wire layer is generated at build time from `spec/tokens.json` by progenitor; this crate wraps it in
//! a pipeline that retries what is safe to retry, never prints a secret, and reports every failure as one
//! [`Error`] type with the HTTP status, the Databricks error code and message.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
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
pub mod paginate;
mod pipeline;
mod rate_limit;
mod redact;
pub mod retry;
mod secret;
pub mod wire;
pub mod workflows;

/// The README's examples, compiled as doctests so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use client::{ClientBuilder, Tokens, WorkspaceClient};
pub use decode::DEFAULT_MAX_RESPONSE_SIZE;
pub use error::{ApiError, Error, ErrorDetail, ErrorKind, MAX_ERROR_MESSAGE, MAX_RAW_BODY, MAX_REQUEST_ID, Result};
pub use retry::RetryPolicy;
pub use secret::SecretString;

/// The request and response types of the Tokens API, generated from the spec.
///
/// ```
/// use databricks_tokens::types::PublicTokenInfo;
/// let info: PublicTokenInfo = serde_json::from_str(r#"{"token_id":"t1","expiry_time":"-1"}"#).unwrap();
/// assert_eq!(info.expiry_time.map(i64::from), Some(-1));
/// ```
pub mod types {
    pub use crate::generated::types::{
        CreateTokenRequest, CreateTokenResponse, Error as ErrorBody, ListPublicTokensResponse, PublicTokenInfo, RevokeTokenRequest,
        RevokeTokenResponse, UpdateTokenRequest, UpdateTokenResponse,
    };
    pub use crate::wire::{AutoscopeState, Int64, ScopeList};
}
