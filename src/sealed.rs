//! The supertrait that seals the traits only this crate implements.
//!
//! [`TokenInfoExt`](crate::workflows::TokenInfoExt), [`CreatedToken`](crate::workflows::CreatedToken),
//! [`TokenWorkflows`](crate::workflows::TokenWorkflows) and
//! [`TokenAdminWorkflows`](crate::admin::TokenAdminWorkflows) (and, with the feature `blocking`,
//! `blocking::Blockable`, which every request builder implements) require [`Sealed`], which code outside the
//! crate cannot name: their methods can be called everywhere, and added to without breaking anyone. The
//! traits users implement ([`CredentialsProvider`](crate::auth::CredentialsProvider),
//! [`Clock`](crate::clock::Clock), the [`stub`](crate::stub) traits) are not sealed.
//!
//! Code outside the crate cannot implement a sealed trait, even with every method written:
//!
//! ```compile_fail,E0277
//! use std::time::SystemTime;
//! use databricks_tokens::workflows::{Expiry, TokenInfoExt};
//!
//! struct Mine;
//! impl TokenInfoExt for Mine {
//!     fn created_at(&self) -> Option<SystemTime> { None }
//!     fn expiry(&self) -> Option<Expiry> { None }
//! }
//! ```
//!
//! The same without the supertrait compiles, so the bound alone refuses it:
//!
//! ```
//! use std::time::SystemTime;
//! use databricks_tokens::workflows::Expiry;
//!
//! trait Open {
//!     fn created_at(&self) -> Option<SystemTime>;
//!     fn expiry(&self) -> Option<Expiry>;
//! }
//! struct Mine;
//! impl Open for Mine {
//!     fn created_at(&self) -> Option<SystemTime> { None }
//!     fn expiry(&self) -> Option<Expiry> { None }
//! }
//! ```

/// Implemented by the crate's own types only (see the module documentation).
pub trait Sealed {}
