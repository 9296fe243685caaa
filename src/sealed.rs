//! The supertrait that seals the traits only this crate implements.
//!
//! [`TokenInfoExt`](crate::workflows::TokenInfoExt), [`CreatedToken`](crate::workflows::CreatedToken),
//! [`TokenWorkflows`](crate::workflows::TokenWorkflows) and
//! [`TokenAdminWorkflows`](crate::admin::TokenAdminWorkflows) require [`Sealed`], which code outside the
//! crate cannot name: their methods can be called everywhere, and added to without breaking anyone. The
//! traits users implement ([`CredentialsProvider`](crate::auth::CredentialsProvider),
//! [`Clock`](crate::clock::Clock), the [`stub`](crate::stub) traits) are not sealed.

/// Implemented by the crate's own types only (see the module documentation).
pub trait Sealed {}
