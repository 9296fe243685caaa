//! What the `jsonwebtoken` crate needs before it signs or verifies: a crypto provider.
//!
//! The provider follows the TLS feature, so that a build compiles one crypto library, not two:
//!
//! | features | provider |
//! | --- | --- |
//! | `rustls` (the default), alone or with `native-tls` | aws-lc-rs, which rustls already builds |
//! | `native-tls` without `rustls` | RustCrypto (`rsa`, `p256`, `sha2` ...): the build has no aws-lc |
//! | neither | refused at compile time: `google` and `local-workspace` need a TLS feature |

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
compile_error!(
    "features `google` and `local-workspace` sign JWTs with the crypto of the TLS feature: enable `rustls` (the default) or `native-tls`"
);

#[cfg(any(feature = "rustls", feature = "native-tls"))]
use jsonwebtoken::crypto::CryptoProvider;

#[cfg(feature = "rustls")]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

/// Selects this build's provider (see the module documentation) unless the process already has one: with
/// both backends compiled in (`rustls` and `native-tls`, or another crate enabling the other one)
/// jsonwebtoken has no default.
pub(crate) fn ensure_crypto_provider() {
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = CryptoProvider::install_default(PROVIDER);
    }
}
