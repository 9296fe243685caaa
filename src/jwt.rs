//! What the `jsonwebtoken` crate needs before it signs or verifies: a crypto provider.

use jsonwebtoken::crypto::{CryptoProvider, rust_crypto};

/// Selects the RustCrypto provider unless the process already has one (another crate in the build may
/// enable jsonwebtoken's `aws_lc_rs` feature too, which leaves no default).
pub(crate) fn ensure_crypto_provider() {
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = CryptoProvider::install_default(&rust_crypto::DEFAULT_PROVIDER);
    }
}
