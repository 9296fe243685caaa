//! OIDC issuers a local workspace trusts for token federation, and the verification of their JWTs.
//!
//! An [`OidcIssuer`] is a test identity provider: it holds a random HS256 key and mints signed JWTs. A
//! [`TrustedIssuer`] is what the workspace keeps of an issuer: its `iss` and the key that verifies its
//! signatures, made from an [`OidcIssuer`] or from a PEM public key (RS256, ES256, EdDSA) for an identity
//! provider of your own. Verification is done by the `jsonwebtoken` crate: signature, `iss`, `aud`, and
//! `exp`/`nbf` against the workspace's clock.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind as JwtError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jwt::ensure_crypto_provider;
use crate::secret::SecretString;

/// The signature algorithm of a [`TrustedIssuer`] made from a public key.
///
/// ```
/// use databricks_tokens::local::JwtAlgorithm;
/// assert_ne!(JwtAlgorithm::Rs256, JwtAlgorithm::EdDsa);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: an RSA public key.
    Rs256,
    /// ECDSA on P-256 with SHA-256: an EC public key on the P-256 curve.
    Es256,
    /// EdDSA: an Ed25519 public key.
    EdDsa,
}

impl JwtAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Es256 => Algorithm::ES256,
            JwtAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

/// A test identity provider: a random HS256 key that mints JWTs a workspace trusting it accepts.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::local::OidcIssuer;
///
/// let issuer = OidcIssuer::new("https://issuer.example")?;
/// let jwt = issuer.mint("ci-runner", "http://127.0.0.1:8080/oidc/v1/token", Duration::from_secs(300));
/// assert_eq!(jwt.expose().split('.').count(), 3);
/// assert!(!format!("{issuer:?}").contains(jwt.expose()));
/// # Ok::<(), databricks_tokens::Error>(())
/// ```
///
/// Trust it with [`LocalWorkspaceBuilder::trust_issuer`](super::LocalWorkspaceBuilder::trust_issuer). Two
/// issuers made with the same URL have different keys: one's JWTs do not verify as the other's.
#[derive(Clone)]
pub struct OidcIssuer {
    issuer: String,
    signing: EncodingKey,
    verifying: DecodingKey,
}

impl fmt::Debug for OidcIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcIssuer").field("issuer", &self.issuer).field("key", &"HS256(***)").finish()
    }
}

/// The claims an [`OidcIssuer`] signs.
#[derive(Serialize)]
struct MintedClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
}

impl OidcIssuer {
    /// An issuer named `issuer` (the `iss` of its JWTs) with a fresh 256-bit HS256 key from the operating
    /// system's random generator.
    ///
    /// ```
    /// # fn main() -> databricks_tokens::Result<()> {
    /// use databricks_tokens::local::OidcIssuer;
    /// assert_eq!(OidcIssuer::new("https://issuer.example")?.issuer(), "https://issuer.example");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`Config`](crate::ErrorKind::Config) error if the operating system's random generator fails (no
    /// key can be drawn without it).
    pub fn new(issuer: impl Into<String>) -> Result<Self> {
        Self::with_random(issuer.into(), getrandom::fill)
    }

    /// An issuer whose key is drawn by `fill` (the operating system's generator, or a failing one in tests).
    fn with_random(issuer: String, fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), getrandom::Error>) -> Result<Self> {
        ensure_crypto_provider();
        let mut secret = [0u8; 32];
        fill(&mut secret).map_err(|e| {
            Error::config(format!(
                "local workspace: could not draw an HS256 key for issuer {issuer:?} from the operating system's random generator"
            ))
            .with_source(e)
        })?;
        // Only an empty secret is refused, and this one has 32 bytes; still, an error, not a panic.
        let refused = |e: jsonwebtoken::errors::Error| Error::config(format!("local workspace: the HS256 key was refused: {e}"));
        let signing = EncodingKey::from_secret(&secret).map_err(refused)?;
        let verifying = DecodingKey::from_secret(&secret).map_err(refused)?;
        Ok(Self { issuer, signing, verifying })
    }

    /// The `iss` of this issuer's JWTs.
    ///
    /// ```
    /// use databricks_tokens::local::OidcIssuer;
    /// assert_eq!(OidcIssuer::new("https://issuer.example")?.issuer(), "https://issuer.example");
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A JWT for `subject` and `audience`, issued now (system time) and valid for `ttl`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_tokens::local::OidcIssuer;
    /// let jwt = OidcIssuer::new("https://issuer.example")?.mint("me", "aud", Duration::from_secs(60));
    /// assert!(jwt.expose().starts_with("eyJ"));
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    ///
    /// A workspace whose clock was moved with
    /// [`LocalWorkspace::advance_clock`](super::LocalWorkspace::advance_clock) may see it as expired: use
    /// [`OidcIssuer::mint_at`] with [`LocalWorkspace::now`](super::LocalWorkspace::now) then.
    pub fn mint(&self, subject: &str, audience: &str, ttl: Duration) -> SecretString {
        self.mint_at(subject, audience, SystemTime::now(), ttl)
    }

    /// A JWT for `subject` and `audience`, issued at `issued_at` (its `iat` and `nbf`) and valid for `ttl`
    /// from then.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use databricks_tokens::local::OidcIssuer;
    /// let issuer = OidcIssuer::new("https://issuer.example")?;
    /// let later = SystemTime::now() + Duration::from_secs(3600);
    /// let jwt = issuer.mint_at("me", "aud", later, Duration::from_secs(60));
    /// assert!(!jwt.is_empty());
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    pub fn mint_at(&self, subject: &str, audience: &str, issued_at: SystemTime, ttl: Duration) -> SecretString {
        let iat = issued_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let claims = MintedClaims { iss: &self.issuer, sub: subject, aud: audience, iat, nbf: iat, exp: iat.saturating_add(ttl.as_secs()) };
        let header = Header { typ: Some("JWT".to_owned()), ..Header::new(Algorithm::HS256) };
        // HMAC over claims that always serialize has no failure mode left.
        SecretString::new(jsonwebtoken::encode(&header, &claims, &self.signing).expect("HS256 signing of plain claims cannot fail"))
    }
}

/// An issuer a workspace trusts: the `iss` of its JWTs and the key that verifies their signatures.
///
/// ```
/// use databricks_tokens::local::{OidcIssuer, TrustedIssuer};
/// let issuer = OidcIssuer::new("https://issuer.example")?;
/// let trusted = TrustedIssuer::from(&issuer);
/// assert_eq!(trusted.issuer(), "https://issuer.example");
/// # Ok::<(), databricks_tokens::Error>(())
/// ```
///
/// Made from an [`OidcIssuer`] (the workspace verifies with its HS256 key), or from the PEM public key of
/// an identity provider of your own with [`TrustedIssuer::from_public_key_pem`] (verify only).
#[derive(Clone)]
pub struct TrustedIssuer {
    issuer: String,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer").field("issuer", &self.issuer).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl From<&OidcIssuer> for TrustedIssuer {
    fn from(issuer: &OidcIssuer) -> Self {
        Self { issuer: issuer.issuer.clone(), algorithm: Algorithm::HS256, key: issuer.verifying.clone() }
    }
}

impl From<OidcIssuer> for TrustedIssuer {
    fn from(issuer: OidcIssuer) -> Self {
        Self::from(&issuer)
    }
}

impl TrustedIssuer {
    /// Trusts the JWTs of `issuer` signed with `algorithm` by the private half of this PEM public key
    /// (`-----BEGIN PUBLIC KEY-----`, or `RSA PUBLIC KEY` for RS256).
    ///
    /// ```
    /// use databricks_tokens::local::{JwtAlgorithm, TrustedIssuer};
    /// // An Ed25519 public key, for this example only.
    /// let pem = b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    /// let trusted = TrustedIssuer::from_public_key_pem("https://idp.example", JwtAlgorithm::EdDsa, pem)?;
    /// assert!(TrustedIssuer::from_public_key_pem("https://idp.example", JwtAlgorithm::Rs256, pem).is_err());
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A configuration error if the PEM does not hold a public key of the algorithm's type.
    pub fn from_public_key_pem(issuer: impl Into<String>, algorithm: JwtAlgorithm, pem: &[u8]) -> Result<Self> {
        ensure_crypto_provider();
        // jsonwebtoken would take a private key too, and then verify nothing: only a public key is trusted.
        let label = std::str::from_utf8(pem).ok().and_then(|p| p.split("-----BEGIN ").nth(1)).and_then(|rest| rest.split_once("-----"));
        let public =
            matches!(label, Some(("PUBLIC KEY", _))) || (algorithm == JwtAlgorithm::Rs256 && matches!(label, Some(("RSA PUBLIC KEY", _))));
        if !public {
            return Err(Error::config(format!("local workspace: not a PEM public key for {algorithm:?} (-----BEGIN PUBLIC KEY-----)")));
        }
        let key = match algorithm {
            JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem),
            JwtAlgorithm::Es256 => DecodingKey::from_ec_pem(pem),
            JwtAlgorithm::EdDsa => DecodingKey::from_ed_pem(pem),
        }
        .map_err(|e| Error::config(format!("local workspace: not a PEM public key for {algorithm:?}: {e}")))?;
        Ok(Self { issuer: issuer.into(), algorithm: algorithm.jwt(), key })
    }

    /// The `iss` whose JWTs this key verifies.
    ///
    /// ```
    /// use databricks_tokens::local::{OidcIssuer, TrustedIssuer};
    /// assert_eq!(TrustedIssuer::from(OidcIssuer::new("https://i.example")?).issuer(), "https://i.example");
    /// # Ok::<(), databricks_tokens::Error>(())
    /// ```
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

/// Who a verified JWT names.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) subject: String,
}

/// The claims this workspace reads; `iss` and `aud` are checked by the validation itself.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
}

/// Why a JWT was refused, ranked: the reason from the candidate that got furthest is the one to tell.
struct Refusal {
    rank: u8,
    reason: String,
}

/// Verifies `jwt` against the trusted issuers: a trusted `iss`, a signature by that issuer's key, an `aud`
/// among `audiences`, a `sub`, and `nbf <= now < exp` where `now` is the workspace's time in epoch seconds.
///
/// The error is a reason to give the client; it never contains the token.
pub(crate) fn verify(jwt: &str, trusted: &[TrustedIssuer], audiences: &[String], now: u64) -> std::result::Result<Verified, String> {
    const MALFORMED: &str = "the token is not a well-formed JWT";
    #[derive(Deserialize)]
    struct IssuerOnly {
        iss: Option<serde_json::Value>,
    }
    ensure_crypto_provider();
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| MALFORMED.to_owned())?;
    // Reading `iss` before verifying only picks the key to verify with; nothing is trusted yet.
    let peek: IssuerOnly = jsonwebtoken::dangerous::insecure_decode_claims(jwt).map_err(|_| MALFORMED.to_owned())?;
    let Some(serde_json::Value::String(iss)) = peek.iss else {
        return Err("the JWT has no iss claim (a string naming its issuer)".to_owned());
    };
    let candidates: Vec<&TrustedIssuer> = trusted.iter().filter(|t| t.issuer == iss).collect();
    if candidates.is_empty() {
        return Err(format!("the JWT issuer {:?} is not trusted by this workspace", crate::redact::truncate(&iss, 200)));
    }
    let mut best: Option<Refusal> = None;
    for candidate in candidates {
        let refusal = match check(jwt, header.alg, candidate, audiences, now) {
            Ok(verified) => return Ok(verified),
            Err(refusal) => refusal,
        };
        if best.as_ref().is_none_or(|b| refusal.rank > b.rank) {
            best = Some(refusal);
        }
    }
    Err(best.map_or_else(|| MALFORMED.to_owned(), |b| b.reason))
}

fn check(jwt: &str, alg: Algorithm, candidate: &TrustedIssuer, audiences: &[String], now: u64) -> std::result::Result<Verified, Refusal> {
    let refuse = |rank: u8, reason: String| Refusal { rank, reason };
    if alg != candidate.algorithm {
        return Err(refuse(
            0,
            format!("the JWT is signed with {alg:?}, but issuer {:?} signs with {:?}", candidate.issuer, candidate.algorithm),
        ));
    }
    let mut validation = Validation::new(candidate.algorithm);
    // Time is checked below against the workspace's clock, which tests move, not the system's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[&candidate.issuer]);
    validation.set_audience(audiences);
    let claims = match jsonwebtoken::decode::<Claims>(jwt, &candidate.key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            return Err(match e.into_kind() {
                JwtError::InvalidSignature => {
                    refuse(1, format!("the JWT signature does not verify with the key of issuer {:?}", candidate.issuer))
                }
                JwtError::InvalidAudience => {
                    refuse(2, format!("the JWT audience is not one this workspace accepts (accepted: {})", audiences.join(", ")))
                }
                JwtError::MissingRequiredClaim(claim) => {
                    refuse(2, format!("the JWT has no {claim} claim, or not of the right type (exp is in epoch seconds)"))
                }
                JwtError::InvalidClaimFormat(claim) => refuse(2, format!("the JWT claim {claim} is malformed")),
                JwtError::Json(_) => {
                    refuse(2, "the JWT claims are malformed: sub must be a string, exp and nbf whole epoch seconds".to_owned())
                }
                JwtError::InvalidIssuer => refuse(2, format!("the JWT issuer is not {:?}", candidate.issuer)),
                _ => refuse(1, "the JWT could not be verified".to_owned()),
            });
        }
    };
    if claims.exp <= now {
        return Err(refuse(3, format!("the JWT expired {} s ago (workspace time)", now - claims.exp)));
    }
    if let Some(nbf) = claims.nbf.filter(|nbf| *nbf > now) {
        return Err(refuse(3, format!("the JWT is not valid for another {} s (workspace time)", nbf - now)));
    }
    if claims.sub.is_empty() {
        return Err(refuse(3, "the JWT sub claim is empty".to_owned()));
    }
    Ok(Verified { subject: claims.sub })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn a_minted_jwt_verifies_and_names_its_subject() {
        let issuer = OidcIssuer::new("https://issuer.example").unwrap();
        let jwt = issuer.mint("alice", "aud-1", Duration::from_secs(60));
        let verified = verify(jwt.expose(), &[TrustedIssuer::from(&issuer)], &["aud-1".to_owned()], now()).unwrap();
        assert_eq!(verified.subject, "alice");
    }

    #[test]
    fn refusals_say_why_without_the_token() {
        let issuer = OidcIssuer::new("https://issuer.example").unwrap();
        let impostor = OidcIssuer::new("https://issuer.example").unwrap();
        let trusted = [TrustedIssuer::from(&issuer)];
        let aud = ["aud-1".to_owned()];
        let cases = [
            (impostor.mint("alice", "aud-1", Duration::from_secs(60)), now(), "signature does not verify"),
            (issuer.mint("alice", "aud-2", Duration::from_secs(60)), now(), "audience"),
            (OidcIssuer::new("https://other.example").unwrap().mint("alice", "aud-1", Duration::from_secs(60)), now(), "not trusted"),
            (issuer.mint("alice", "aud-1", Duration::from_secs(60)), now() + 61, "expired"),
            (
                issuer.mint_at("alice", "aud-1", SystemTime::now() + Duration::from_secs(600), Duration::from_secs(60)),
                now(),
                "not valid for",
            ),
            (issuer.mint("", "aud-1", Duration::from_secs(60)), now(), "sub claim is empty"),
            (SecretString::new("not a jwt"), now(), "not a well-formed JWT"),
            (SecretString::new("a.b.c"), now(), "not a well-formed JWT"),
            (SecretString::new("...."), now(), "not a well-formed JWT"),
            (SecretString::new(""), now(), "not a well-formed JWT"),
        ];
        for (jwt, at, needle) in cases {
            let reason = verify(jwt.expose(), &trusted, &aud, at).unwrap_err();
            assert!(reason.contains(needle), "{needle}: {reason}");
            assert!(jwt.is_empty() || !reason.contains(jwt.expose()), "{reason}");
        }
    }

    #[test]
    fn an_issuer_with_two_keys_accepts_either() {
        let (old, new) = (OidcIssuer::new("https://issuer.example").unwrap(), OidcIssuer::new("https://issuer.example").unwrap());
        let trusted = [TrustedIssuer::from(&old), TrustedIssuer::from(&new)];
        for issuer in [&old, &new] {
            let jwt = issuer.mint("bob", "aud", Duration::from_secs(60));
            assert_eq!(verify(jwt.expose(), &trusted, &["aud".to_owned()], now()).unwrap().subject, "bob");
        }
    }

    #[test]
    fn a_failing_random_generator_is_an_error_not_a_panic() {
        let err = OidcIssuer::with_random("https://issuer.example".to_owned(), |_| Err(getrandom::Error::UNEXPECTED)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(err.to_string().contains("could not draw an HS256 key for issuer \"https://issuer.example\""), "{err}");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source, Some(getrandom::Error::UNEXPECTED.to_string()));
        // The generator it is given is the one that draws the key: the same bytes, the same key.
        let seven = |bytes: &mut [u8]| {
            bytes.fill(7);
            Ok(())
        };
        let fixed = |issuer: &str| OidcIssuer::with_random(issuer.to_owned(), seven).unwrap();
        let jwt = fixed("https://issuer.example").mint("alice", "aud", Duration::from_secs(60));
        let trusted = [TrustedIssuer::from(&fixed("https://issuer.example"))];
        assert_eq!(verify(jwt.expose(), &trusted, &["aud".to_owned()], now()).unwrap().subject, "alice");
    }

    #[test]
    fn debug_output_holds_no_key() {
        let issuer = OidcIssuer::new("https://issuer.example").unwrap();
        let debug = format!("{issuer:?} {:?}", TrustedIssuer::from(&issuer));
        assert_eq!(
            debug,
            "OidcIssuer { issuer: \"https://issuer.example\", key: \"HS256(***)\" } TrustedIssuer { issuer: \"https://issuer.example\", algorithm: HS256, .. }"
        );
    }
}
