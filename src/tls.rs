//! The HTTP client every workspace client and credentials provider builds, and the TLS set-up they all share.
//!
//! Reading the platform's CA bundle is most of what building an HTTP client costs (~50 ms with OpenSSL), so
//! it is done once per process, not once per client; each client keeps its own connection pool.
//! - **`rustls`** (the default): one client configuration whose trusted roots (the platform's, through
//!   `rustls-platform-verifier`, as reqwest does by default) are read at the first certificate the process
//!   verifies, not when a client is built: building any client is cheap, and a process that only speaks plain
//!   `http://` (to a local workspace) never reads the CA bundle. It wins when both features are on.
//! - **`native-tls`**: the platform's TLS connector with its trusted roots, built by the first client and
//!   configured as reqwest configures its own (certificate and host name verification, SNI, the built-in
//!   roots). OpenSSL reads the CA bundle when the connector is built.

use std::time::Duration;

/// How long a connection may take to open, unless [`crate::ClientBuilder::connect_timeout`] says otherwise.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client of a workspace client and of its credentials providers: redirects are never followed (a
/// request body and its credentials go to the workspace only), and the TLS set-up is the process's shared one.
pub(crate) fn http_client(connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).connect_timeout(connect_timeout);
    shared(builder).build()
}

/// Gives `builder` the process's shared TLS set-up (see the module documentation).
#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
pub(crate) fn shared(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    static CONNECTOR: std::sync::OnceLock<Option<native_tls::TlsConnector>> = std::sync::OnceLock::new();
    // When it cannot be built, each client builds its own as before, and reports why.
    match CONNECTOR.get_or_init(|| native_tls::TlsConnector::new().ok()) {
        Some(connector) => builder.tls_backend_preconfigured(connector.clone()),
        None => builder,
    }
}

/// Gives `builder` the process's shared TLS set-up (see the module documentation).
#[cfg(feature = "rustls")]
pub(crate) fn shared(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    static CONFIG: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();
    // When it cannot be built, each client builds reqwest's own, which reports why.
    match CONFIG.get_or_init(lazy_roots::client_config) {
        Some(config) => builder.tls_backend_preconfigured(config.clone()),
        None => builder,
    }
}

/// Without a TLS feature: reqwest's own set-up (plain `http://` only).
#[cfg(not(any(feature = "native-tls", feature = "rustls")))]
pub(crate) fn shared(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
}

#[cfg(feature = "rustls")]
mod lazy_roots {
    use std::sync::{Arc, OnceLock};

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// A client configuration like reqwest's default one (the process's crypto provider, or aws-lc-rs; safe
    /// protocol versions; the platform verifier), whose verifier reads the platform's roots when first used.
    pub(super) fn client_config() -> Option<rustls::ClientConfig> {
        let provider = CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let verifier = Arc::new(PlatformVerifierOnFirstUse { provider: Arc::clone(&provider), verifier: OnceLock::new() });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Some(config)
    }

    /// `rustls_platform_verifier::Verifier`, built (reading the platform's roots) at the first certificate it
    /// verifies. Signatures are checked with the provider's algorithms, as the platform verifier checks them.
    #[derive(Debug)]
    struct PlatformVerifierOnFirstUse {
        provider: Arc<CryptoProvider>,
        verifier: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
    }

    impl PlatformVerifierOnFirstUse {
        fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
            self.verifier.get_or_init(|| rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider))).as_ref().map_err(Clone::clone)
        }
    }

    impl ServerCertVerifier for PlatformVerifierOnFirstUse {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            self.verifier()?.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }
}
