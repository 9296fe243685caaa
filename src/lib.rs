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
//! For every workspace of an account, [`AccountClient`] lists them and builds a `WorkspaceClient` for each
//! with the account's credentials (see [`account`]).
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
//! [`WorkspaceClient::from_stub`] over a [`stub::Tokens`] double. The `blocking` feature adds
//! `blocking::WorkspaceClient`: the builders of both services wrapped in `blocking::Call` (the same setters
//! and per-call options, a `send()` that blocks on the client's own runtime thread), and the workflows as
//! blocking methods, usable inside async code too.
//!
//! The wire layer is generated at build time from the specs in `spec/` (progenitor's types, and this crate's
//! `codegen` for the request functions, builders and tables); this crate wraps it in
//! a pipeline that retries what is safe to retry, never prints a secret, and reports every failure as one
//! [`Error`] type with the HTTP status, the Databricks error code and message.
//!
//! # Robustness
//!
//! - **Redirects are never followed**: a request body and its credentials go to the workspace only. The
//!   private-link login redirect is a `PRIVATE_LINK_VALIDATION_ERROR` permission error; any other 3xx is
//!   [`ErrorKind::Redirect`] naming the status and `Location`.
//! - **Strict decoding**: an object in the spec is an object on the wire (a JSON array never decodes into a
//!   struct), required fields are required (a create without `token_info` or `token_value` is a `Decode`
//!   error naming it), a BOM is ignored, an empty 2xx is `{}`. Decode errors never quote a value.
//! - **Secrets by value**: besides redaction by key, every secret the client knows (its credentials, access
//!   tokens, token values it received) is scrubbed by value from errors and log lines.
//! - **Bounded memory**: [`ClientBuilder::max_response_size`] (64 MiB by default;
//!   [`ErrorKind::ResponseTooLarge`] past it); an error keeps at most 4 KiB of message and 256 B of
//!   request id; DEBUG logging copies only the first 1 KiB of a
//!   body, and results are the same with logging on or off.
//! - **Budgets**: the retry budget (300 s) is spent, not cut short, and ends in a timeout that keeps the last
//!   answer; rate-limit waits count against it; a retry budget shared by a client's clones
//!   (500 tokens by default; a retry takes 5, 10 after a timeout) keeps a fleet of calls
//!   from multiplying the load on a failing service.
//! - **Exactly once**: a create that may have been processed says so ([`Error::may_have_been_processed`],
//!   and [`Error::is_retryable`] is false) — after a lost answer, and after a success status whose body was
//!   lost; `.exactly_once()` on the create builder ([`tokens::CreateToken::exactly_once`]) marks every
//!   attempt with 128 random bits of its own, and on an ambiguous failure waits a grace period, revokes only
//!   what carries its marker and creates again, then restores the comment ([cost and bound](tokens#exactly-once)).
//!   A revoke whose first answer was lost succeeds.
//! - **A fault soak** checks it: `cargo run --example soak --features local-workspace,test-util -- --ops
//!   10000 --fault-rate 0.2 --workers 8` runs workers of one principal sharing comments and prints
//!   operations, faults, typed failures, orphans, duplicates, foreign revokes and lost updates (CI runs 1000
//!   operations and fails on any of the last four).
//!
//! The figures above are the crate's defaults; the feature `test-util` names them in `limits` for tests
//! that check them:
//!
//! ```
//! # #[cfg(feature = "test-util")] {
//! use std::time::Duration;
//! use databricks_tokens::RetryPolicy;
//! use databricks_tokens::limits::{DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_SHARED_RETRY_BUDGET, MAX_ERROR_MESSAGE, MAX_REQUEST_ID};
//!
//! assert_eq!(DEFAULT_MAX_RESPONSE_SIZE, 64 * 1024 * 1024);
//! assert_eq!((MAX_ERROR_MESSAGE, MAX_REQUEST_ID), (4096, 256));
//! assert_eq!(RetryPolicy::default().timeout(), Duration::from_secs(300));
//! assert_eq!(RetryPolicy::default().shared_budget(), DEFAULT_SHARED_RETRY_BUDGET);
//! assert_eq!(DEFAULT_SHARED_RETRY_BUDGET, 500);
//! # }
//! ```
//!
//! # TLS
//!
//! The default feature `rustls` is rustls with the aws-lc-rs provider and the platform's trusted roots
//! (through `rustls-platform-verifier`, which on Linux honours `SSL_CERT_FILE` / `SSL_CERT_DIR`), as in
//! reqwest 0.13's own default. Every client of a process shares one configuration, and the roots are read at
//! the first certificate the process verifies: building a client never reads the CA bundle, and a process
//! that only talks to a local workspace over `http://` never does.
//!
//! For the platform's TLS library (OpenSSL on Linux, `libssl-dev` to build), use
//! `default-features = false, features = ["native-tls"]`. OpenSSL reads the CA bundle when the first client
//! of a process is built, and that is most of a short-lived program's start-up. Measured on the 2-core
//! development machine (`bench_vs_raw`, see `bench/README.md`, and a clean `cargo build --lib` of this crate
//! in a new target directory):
//!
//! | | `rustls` (default) | `native-tls` |
//! |---|---|---|
//! | first client of a process | 0.1 ms | 52.6 ms |
//! | fresh process, first client + first call, SDK / raw reqwest with the same TLS (median) | 0.19 | 1.00 |
//! | 100,000-token list, peak RSS / payload (median) | 1.68 | 1.93 |
//! | clean debug build of the crate and its dependencies | 64 s wall, 120 s CPU | 48 s wall, 88 s CPU |
//!
//! `tests/tls.rs` runs an HTTPS server on loopback and checks, for each backend, that a certificate the
//! platform's roots sign is accepted and a self-signed one refused (`.ci/run` runs it with `native-tls` alone
//! too).
//!
//! # Mutation testing
//!
//! The hand-written core (`field_mask`, `paginate`, `retry`, `error`, `wire`, `decode`, `config`,
//! `auth/refresh`) is checked with [cargo-mutants](https://mutants.rs): it changes one thing at a time (an
//! operator, a return value, a match arm) and a test must fail. `cargo install --locked cargo-mutants`, then
//! for one file, with the tests that exercise it (quick) or with every test but the doc tests:
//!
//! ```sh
//! cargo mutants --file src/retry.rs -j 1 --timeout 120 -C --lib -C --test=retry
//! cargo mutants --file src/retry.rs -j 1 --timeout 300 -C --lib -C --tests
//! ```
//!
//! `.cargo/mutants.toml` excludes the equivalent mutants (no observable difference), each with its reason.
//! `.ci/run` runs the second form on the core lines the last commit changed (`--in-diff`), capped at 10
//! minutes, and fails on a mutant no test catches. Caught among viable mutants, with the quick form
//! (equivalents counted as missed; measured on the 2-core development machine, under load):
//!
//! | file | mutants | before | after |
//! |---|---|---|---|
//! | `retry.rs` | 41 | 28 / 41 (68 %) | 39 / 41 (95 %) |
//! | `paginate.rs` | 23, 9 unviable | 9 / 14 (64 %) | 12 / 14 (86 %) |
//! | `field_mask.rs` | 58, 12 unviable | 37 / 46 (80 %) | 46 / 46 (100 %) |
//! | `auth/refresh.rs` | 30, 13 unviable | 14 / 17 (82 %) | 17 / 17 (100 %) |
//! | `wire.rs` | 57, 11 unviable | not measured | 46 / 46 (100 %) |
//! | `error.rs` | 202, 38 unviable | not measured | 161 / 164 (98 %) |
//! | `decode.rs` | 155, 50 unviable | 83 / 111 (75 %) | 101 / 105 (96 %) |
//! | `config.rs` | 203, 15 unviable | 186 / 190 (98 %) | 186 / 188 (99 %) |
//!
//! The mutants still alive after are the equivalents `.cargo/mutants.toml` lists. Without them: `error.rs`
//! 161 / 161, `decode.rs` 101 / 101, `config.rs` 186 / 186. (`decode.rs` after: a whole run of the final
//! code, 151 mutants once the 4 equivalents are excluded; the one it first missed, `ListDecoder::advance`
//! taking a second byte-order mark, was a real difference from the whole-body path, now fixed and
//! tested.) Each of these runs took 5 to 32 minutes.
//!
//! `error`, `decode` and `config` were measured with narrowed test targets (`error.rs`: `--lib`, `errors`,
//! `retryable`; `decode.rs`: `--lib`, `hardening`, `secrets`, `tracing_span`, `retryable`; `config.rs`:
//! `--lib`, `config`, `auth_chain`, `auth_providers`, `cloud_auth`), a timeout counted as caught. The whole
//! suite is a superset of each, so it catches at least as many. Their "before" is the first run (for
//! `config.rs`, with its tests of this round already written); "after" adds the re-run of what it missed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod macros;

pub mod account;
pub mod admin;
pub mod auth;
#[cfg(feature = "blocking")]
pub mod blocking;
mod client;
pub mod clock;
pub mod config;
mod decode;
mod error;
mod exactly_once;
pub mod field_mask;
pub mod fleet;
mod generated;
mod input;
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
mod sealed;
mod secret;
mod sharing;
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

pub use account::{AccountClient, AccountClientBuilder};
pub use client::{ClientBuilder, WorkspaceClient};
pub use error::{ApiError, Error, ErrorDetail, ErrorKind, Result};
pub use retry::RetryPolicy;
pub use secret::SecretString;

/// The crate's limits and defaults, named for tests that check them (feature `test-util`).
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::limits::{DEFAULT_MAX_RESPONSE_SIZE, MAX_ERROR_MESSAGE, MAX_REQUEST_ID, REFRESH_MARGIN};
/// assert_eq!(DEFAULT_MAX_RESPONSE_SIZE, 64 * 1024 * 1024);
/// assert_eq!((MAX_ERROR_MESSAGE, MAX_REQUEST_ID), (4096, 256));
/// assert_eq!(REFRESH_MARGIN, Duration::from_secs(40));
/// ```
///
/// They are tuning, not API: a release may change them, and only the feature `test-util` names them.
#[cfg(feature = "test-util")]
pub mod limits {
    pub use crate::auth::cli::DEFAULT_CLI_TIMEOUT;
    pub use crate::auth::oauth::TOKEN_ENDPOINT_RETRY_BUDGET;
    pub use crate::auth::refresh::REFRESH_MARGIN;
    pub use crate::decode::DEFAULT_MAX_RESPONSE_SIZE;
    pub use crate::error::{MAX_ERROR_MESSAGE, MAX_RAW_BODY, MAX_REQUEST_ID};
    pub use crate::redact::MAX_LOGGED_BODY;
    pub use crate::retry::DEFAULT_SHARED_RETRY_BUDGET;
}

/// The request and response types of the Tokens API, generated from the spec.
///
/// ```
/// use databricks_tokens::types::PublicTokenInfo;
/// let info: PublicTokenInfo = serde_json::from_str(r#"{"token_id":"t1","expiry_time":"-1"}"#).unwrap();
/// assert_eq!(info.expiry_time.map(i64::from), Some(-1));
/// ```
pub mod types {
    /// The types of the proof that adding an operation is a spec edit (`crate::generated`), as the stub
    /// methods generated for it name them.
    #[cfg(test)]
    pub(crate) use crate::generated::get_token_info_fixture::types as get_token_info_fixture;
    /// The types of the paginated fixture (`crate::generated`), for the pagination tests.
    #[cfg(test)]
    pub(crate) use crate::generated::paginated_fixture::types as paginated_fixture;
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
        /// The query parameters of the Token Management list, which a stub's `list` gets (also
        /// [`crate::stub::TokenFilter`]).
        pub use crate::generated::token_management::types::TokenFilter;
        pub use crate::generated::token_management::types::{
            CreateOboTokenRequest, CreateOboTokenResponse, TokenAccessControlRequest, TokenAccessControlResponse, TokenInfo,
            TokenPermission, TokenPermissions, TokenPermissionsDescription, TokenPermissionsRequest, UpdateTokenManagementRequest,
        };
        pub use crate::wire::TokenPermissionLevel;
    }
}
