//! Databricks on Google Cloud: a Google ID token for the workspace as `Authorization: Bearer`, and the
//! service account's OAuth access token as `X-Databricks-GCP-SA-Access-Token`, as the Go and Python SDKs
//! send them (`config/auth_gcp_google_*.go`).
//!
//! - `google-credentials` (`GOOGLE_CREDENTIALS`: a service-account JSON key, inline or a path): two JWT
//!   bearer grants (RFC 7523) at the key's token endpoint, each with an assertion signed RS256 with the
//!   key (the `google` feature): one with `target_audience=<host>` answers an ID token, one with the
//!   `cloud-platform` and `compute` scopes an access token.
//! - `google-id` (`DATABRICKS_GOOGLE_SERVICE_ACCOUNT`): application default credentials (the file named
//!   by `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
//!   `application_default_credentials.json`, else the GCE metadata server) impersonate the service
//!   account through the IAM credentials API: `generateIdToken` (audience the host, with the email) and
//!   `generateAccessToken`.
//!
//! The access token header is best effort, as in the official SDKs: the workspace needs it only for some
//! account-level operations, so a failure to obtain it is logged (WARN) and the request goes without it.
//! Both tokens are cached together and refreshed before the earlier one expires.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::oauth::{Attempts, OAuthContext};
use super::refresh::{Now, Refreshing, Token, TokenSource};
use crate::clock::BoxFuture;
use crate::config::{Config, Env};
use crate::error::{ApiError, Error, Result};
use crate::secret::SecretString;

/// The header carrying the service account's access token.
pub(crate) const SA_ACCESS_TOKEN_HEADER: &str = "X-Databricks-GCP-SA-Access-Token";
/// Google's OAuth token endpoint.
pub(crate) const DEFAULT_TOKEN_ENDPOINT: &str = "https://oauth2.googleapis.com/token";
/// Google's IAM credentials service.
pub(crate) const DEFAULT_IAM_ENDPOINT: &str = "https://iamcredentials.googleapis.com";
/// The GCE metadata server.
const DEFAULT_METADATA_HOST: &str = "169.254.169.254";
/// The scopes of the service account's access token.
const SA_SCOPES: [&str; 2] = ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/compute"];
/// The scope application default credentials are asked for, to impersonate with.
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The grant type of a JWT bearer assertion (RFC 7523).
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long a signed assertion is valid.
#[cfg(feature = "google")]
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// How long one request to the GCE metadata server may take: a machine that is not on GCE fails fast.
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

/// A service-account JSON key: what is used of it.
#[derive(serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<SecretString>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    // authorized_user (application default credentials of a user)
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    refresh_token: Option<SecretString>,
}

/// A service account's key, ready to sign assertions.
struct ServiceAccountKey {
    email: String,
    token_uri: Option<String>,
    #[cfg(feature = "google")]
    key_id: Option<String>,
    #[cfg(feature = "google")]
    signing: jsonwebtoken::EncodingKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey").field("email", &self.email).field("private_key", &"***").finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads a service-account key; `what` names where it came from in errors, which never quote it.
    fn from_file(auth_type: &str, what: &str, file: KeyFile) -> Result<Self> {
        let email =
            file.client_email.filter(|e| !e.is_empty()).ok_or_else(|| Error::config(format!("{auth_type}: {what} has no client_email")))?;
        let private_key =
            file.private_key.filter(|k| !k.is_empty()).ok_or_else(|| Error::config(format!("{auth_type}: {what} has no private_key")))?;
        #[cfg(feature = "google")]
        {
            crate::jwt::ensure_crypto_provider();
            let signing = jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
                .map_err(|_| Error::config(format!("{auth_type}: the private_key of {what} is not an RSA private key in PEM")))?;
            Ok(Self { email, token_uri: file.token_uri, key_id: file.private_key_id, signing })
        }
        #[cfg(not(feature = "google"))]
        {
            let _ = (private_key, file.private_key_id);
            Err(Error::config(format!(
                "{auth_type}: {what} is a service-account key ({email}), and this build cannot sign with one: enable the \
                 databricks-tokens feature `google`"
            )))
        }
    }

    /// A signed assertion for the token endpoint `audience` with the extra claim `claim`.
    #[cfg(feature = "google")]
    fn assertion(&self, audience: &str, claim: (&str, &str)) -> Result<SecretString> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut claims = serde_json::json!({
            "iss": self.email,
            "aud": audience,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs(),
        });
        claims[claim.0] = serde_json::Value::from(claim.1);
        let header = jsonwebtoken::Header {
            typ: Some("JWT".to_owned()),
            kid: self.key_id.clone(),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256)
        };
        jsonwebtoken::encode(&header, &claims, &self.signing)
            .map(SecretString::new)
            .map_err(|e| Error::auth(format!("signing the assertion of {} failed: {e}", self.email)))
    }

    #[cfg(not(feature = "google"))]
    fn assertion(&self, _audience: &str, _claim: (&str, &str)) -> Result<SecretString> {
        Err(Error::config("signing with a service-account key needs the databricks-tokens feature `google`"))
    }
}

/// How `google-id` gets the token it impersonates with.
enum Adc {
    /// An `authorized_user` file: a refresh token.
    User { client_id: String, client_secret: SecretString, refresh_token: SecretString, token_uri: Option<String> },
    /// A `service_account` file: a key.
    ServiceAccount(ServiceAccountKey),
    /// No file: the GCE metadata server.
    Metadata { host: String },
}

impl fmt::Debug for Adc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User { client_id, .. } => f.debug_struct("User").field("client_id", client_id).finish_non_exhaustive(),
            Self::ServiceAccount(key) => f.debug_tuple("ServiceAccount").field(key).finish(),
            Self::Metadata { host } => f.debug_struct("Metadata").field("host", host).finish(),
        }
    }
}

#[derive(Debug)]
enum Kind {
    Key(ServiceAccountKey),
    Impersonate { service_account: String, adc: Adc },
}

/// A [`TokenSource`] of Databricks on Google Cloud credentials.
pub(crate) struct GoogleTokens {
    auth_type: &'static str,
    context: OAuthContext,
    kind: Kind,
    /// The ID token's audience: the workspace URL.
    audience: String,
    token_endpoint: Option<String>,
    iam_endpoint: reqwest::Url,
}

impl fmt::Debug for GoogleTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleTokens")
            .field("auth_type", &self.auth_type)
            .field("audience", &self.audience)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// An access token and until when it is valid.
struct Expiring {
    value: SecretString,
    expires_at: Instant,
}

impl GoogleTokens {
    /// `google-credentials`: the key in `google_credentials`, inline JSON or a path.
    pub(crate) fn credentials(config: &Config, context: OAuthContext) -> Result<Refreshing<Self>> {
        const AUTH: &str = "google-credentials";
        let given = config.google_credentials().ok_or_else(|| Error::config(format!("{AUTH}: google_credentials is not configured")))?;
        let (what, text) = match std::fs::read_to_string(given.expose()) {
            Ok(text) => ("the GOOGLE_CREDENTIALS file", SecretString::new(text)),
            Err(_) if given.expose().trim_start().starts_with('{') => ("the GOOGLE_CREDENTIALS JSON", given),
            Err(e) => {
                return Err(Error::config(format!(
                    "{AUTH}: GOOGLE_CREDENTIALS is neither a service-account JSON key nor a readable file ({})",
                    e.kind()
                )));
            }
        };
        let file: KeyFile = serde_json::from_str(text.expose())
            .map_err(|e| Error::config(format!("{AUTH}: {what} is not a JSON key ({:?} at line {})", e.classify(), e.line())))?;
        match file.kind.as_deref() {
            Some("service_account") => {}
            other => {
                return Err(Error::config(format!(
                    "{AUTH}: {what} is not a service-account key (its type is {other:?}, not \"service_account\")"
                )));
            }
        }
        let key = ServiceAccountKey::from_file(AUTH, what, file)?;
        Self::build(AUTH, config, context, Kind::Key(key))
    }

    /// `google-id`: application default credentials impersonating `google_service_account`.
    pub(crate) fn impersonation(config: &Config, context: OAuthContext) -> Result<Refreshing<Self>> {
        const AUTH: &str = "google-id";
        let service_account = config
            .google_service_account()
            .map(str::to_owned)
            .ok_or_else(|| Error::config(format!("{AUTH}: google_service_account is not configured")))?;
        let adc = application_default_credentials(config)?;
        Self::build(AUTH, config, context, Kind::Impersonate { service_account, adc })
    }

    /// The provider; a `google_iam_endpoint` that is not a base URL is a configuration error here, not at the
    /// first request.
    fn build(auth_type: &'static str, config: &Config, context: OAuthContext, kind: Kind) -> Result<Refreshing<Self>> {
        let iam = config.get("google_iam_endpoint").unwrap_or(DEFAULT_IAM_ENDPOINT);
        let iam_endpoint = reqwest::Url::parse(iam.trim_end_matches('/'))
            .map_err(|e| Error::config(format!("{auth_type}: google_iam_endpoint is not a URL: {e}")))?;
        if iam_endpoint.cannot_be_a_base() {
            return Err(Error::config(format!("{auth_type}: google_iam_endpoint is not a base URL")));
        }
        let clock = Arc::clone(&context.clock);
        let source = Self {
            auth_type,
            audience: config.host().to_owned(),
            token_endpoint: config.get("google_token_endpoint").map(str::to_owned),
            iam_endpoint,
            context,
            kind,
        };
        Ok(Refreshing::new(auth_type, source, clock))
    }

    /// The token endpoint: configured, else the credential file's `token_uri`, else Google's.
    fn token_endpoint(&self, token_uri: Option<&str>) -> String {
        self.token_endpoint.as_deref().or(token_uri).unwrap_or(DEFAULT_TOKEN_ENDPOINT).to_owned()
    }

    /// A JWT bearer grant with the key: `claim` is `target_audience` (answers an `id_token`) or `scope`
    /// (answers an `access_token`).
    async fn jwt_bearer(&self, key: &ServiceAccountKey, claim: (&str, &str), now: Now) -> Result<Expiring> {
        let endpoint = self.token_endpoint(key.token_uri.as_deref());
        self.context.check_secure(self.auth_type, "a signed assertion", &endpoint)?;
        let assertion = key.assertion(&endpoint, claim)?;
        let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", assertion.expose())];
        let who = format!("service account {} ({})", key.email, if claim.0 == "scope" { "an access token" } else { "an ID token" });
        let body = self.context.post_form(self.auth_type, &endpoint, &who, None, &form).await?;
        let field = if claim.0 == "scope" { "access_token" } else { "id_token" };
        read_token(self.auth_type, &format!("the token endpoint {endpoint}"), &body, field, now)
    }

    /// A token of application default credentials, with the `cloud-platform` scope.
    async fn adc_token(&self, adc: &Adc, now: Now) -> Result<Expiring> {
        match adc {
            Adc::User { client_id, client_secret, refresh_token, token_uri } => {
                let endpoint = self.token_endpoint(token_uri.as_deref());
                self.context.check_secure(self.auth_type, "a refresh token", &endpoint)?;
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose()),
                    ("refresh_token", refresh_token.expose()),
                ];
                let who = "the application default credentials (run `gcloud auth application-default login` again if they expired)";
                let body = self.context.post_form(self.auth_type, &endpoint, who, None, &form).await?;
                read_token(self.auth_type, &format!("the token endpoint {endpoint}"), &body, "access_token", now)
            }
            Adc::ServiceAccount(key) => self.jwt_bearer(key, ("scope", CLOUD_PLATFORM), now).await,
            Adc::Metadata { host } => {
                let url = format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token?scopes={CLOUD_PLATFORM}");
                let describe = format!("the GCE metadata server at {host}");
                let attempts = Attempts { timeout: METADATA_TIMEOUT, retry_transport_failures: false };
                let (status, headers, body) = self
                    .context
                    .send_with(self.auth_type, &describe, attempts, || self.context.http.get(&url).header("Metadata-Flavor", "Google"))
                    .await
                    .map_err(|e| {
                        Error::auth(format!(
                            "{}: no application default credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, there is no \
                             gcloud application_default_credentials.json, and {e}. Run `gcloud auth application-default login`",
                            self.auth_type
                        ))
                    })?;
                if !(200..300).contains(&status) || headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
                    return Err(Error::auth(format!(
                        "{}: {describe} refused a token (HTTP {status}): {}",
                        self.auth_type,
                        ApiError::from_body(status, &body).message()
                    )));
                }
                read_token(self.auth_type, &describe, &body, "access_token", now)
            }
        }
    }

    /// Calls an IAM credentials method (`generateIdToken`, `generateAccessToken`) on the service account.
    async fn iam(&self, source: &Expiring, service_account: &str, method: &str, body: serde_json::Value) -> Result<bytes::Bytes> {
        let mut url = self.iam_endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| Error::config(format!("{}: google_iam_endpoint is not a base URL", self.auth_type)))?
            .pop_if_empty()
            .extend(["v1", "projects", "-", "serviceAccounts", &format!("{service_account}:{method}")]);
        self.context.check_secure(self.auth_type, "an access token", url.as_str())?;
        let describe = format!("the IAM credentials service {}", url.origin().ascii_serialization());
        let (status, answer) = self
            .context
            .send(self.auth_type, &describe, || self.context.http.post(url.clone()).bearer_auth(source.value.expose()).json(&body))
            .await?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        #[derive(serde::Deserialize)]
        struct GoogleError {
            error: Option<GoogleErrorBody>,
        }
        #[derive(serde::Deserialize)]
        struct GoogleErrorBody {
            message: Option<String>,
            status: Option<String>,
        }
        let reason = match serde_json::from_slice::<GoogleError>(&answer) {
            Ok(GoogleError { error: Some(GoogleErrorBody { message, status: code }) }) => {
                format!("{}{}", code.map(|c| format!("{c}: ")).unwrap_or_default(), message.unwrap_or_default())
            }
            _ => ApiError::from_body(status, &answer).message().to_owned(),
        };
        Err(Error::auth(format!(
            "{}: {describe} refused {method} for {service_account} (HTTP {status}): {}",
            self.auth_type,
            crate::redact::truncate(&reason, 1000)
        )))
    }

    async fn impersonated_id_token(&self, source: &Expiring, service_account: &str, now: Now) -> Result<Expiring> {
        let body = serde_json::json!({"audience": self.audience, "includeEmail": true});
        let answer = self.iam(source, service_account, "generateIdToken", body).await?;
        read_token(self.auth_type, "generateIdToken", &answer, "token", now)
    }

    async fn impersonated_access_token(&self, source: &Expiring, service_account: &str, now: Now) -> Result<Expiring> {
        let body = serde_json::json!({"scope": SA_SCOPES, "lifetime": "3600s"});
        let answer = self.iam(source, service_account, "generateAccessToken", body).await?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Generated {
            access_token: Option<SecretString>,
            expire_time: Option<String>,
        }
        let missing = || Error::auth(format!("{}: generateAccessToken answered without an accessToken", self.auth_type));
        let generated: Generated = serde_json::from_slice(&answer).map_err(|_| missing())?;
        let value = generated.access_token.filter(|t| !t.is_empty()).ok_or_else(missing)?;
        let lifetime =
            generated.expire_time.as_deref().and_then(crate::auth::refresh::parse_rfc3339).map(|expiry| now.lifetime_until(expiry));
        Ok(Expiring { value, expires_at: expiry(now, lifetime) })
    }
}

impl TokenSource for GoogleTokens {
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            let (id_token, access_token) = match &self.kind {
                Kind::Key(key) => {
                    let id = self.jwt_bearer(key, ("target_audience", &self.audience), now).await?;
                    (id, self.jwt_bearer(key, ("scope", &SA_SCOPES.join(" ")), now).await)
                }
                Kind::Impersonate { service_account, adc } => {
                    let source = self.adc_token(adc, now).await?;
                    let id = self.impersonated_id_token(&source, service_account, now).await?;
                    (id, self.impersonated_access_token(&source, service_account, now).await)
                }
            };
            let lifetime = id_token.expires_at.saturating_duration_since(now.instant);
            let mut token = Token::new(&id_token.value, Some("Bearer"), now, Some(lifetime));
            token.expires_at = id_token.expires_at;
            match access_token {
                Ok(access) => Ok(token.with_header(SA_ACCESS_TOKEN_HEADER, access.value, Some(access.expires_at))),
                Err(e) => {
                    tracing::warn!(auth_type = self.auth_type, error = %e, "no service-account access token: sending the ID token alone");
                    Ok(token)
                }
            }
        })
    }
}

/// Reads the token in `field` of a JSON answer; an ID token's lifetime is its `exp`, an access token's
/// the answer's `expires_in`.
fn read_token(auth_type: &str, describe: &str, body: &[u8], field: &str, now: Now) -> Result<Expiring> {
    let missing = || Error::auth(format!("{auth_type}: {describe} answered without an {field}"));
    let answer: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).map_err(|_| missing())?;
    let value = answer.get(field).and_then(|v| v.as_str()).filter(|t| !t.is_empty()).ok_or_else(missing)?;
    let value = SecretString::new(value);
    let lifetime = match answer.get("expires_in") {
        Some(v) => serde_json::from_value::<crate::wire::Int64>(v.clone())
            .ok()
            .and_then(|s| u64::try_from(i64::from(s)).ok())
            .map(Duration::from_secs),
        None => jwt_expiry(value.expose()).map(|expiry| now.lifetime_until(expiry)),
    };
    if lifetime == Some(Duration::ZERO) {
        return Err(Error::auth(format!("{auth_type}: {describe} issued a token that has already expired")));
    }
    Ok(Expiring { value, expires_at: expiry(now, lifetime) })
}

/// When a token obtained at `now` expires, as [`Token::new`] clamps it.
fn expiry(now: Now, lifetime: Option<Duration>) -> Instant {
    Token::new(&SecretString::default(), None, now, lifetime).expires_at
}

/// The `exp` of a JWT, read without verifying it (the client only needs to know when to refresh).
fn jwt_expiry(jwt: &str) -> Option<SystemTime> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: u64,
    }
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let Exp { exp } = serde_json::from_slice(&bytes).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

/// Finds application default credentials as Google's libraries do: `GOOGLE_APPLICATION_CREDENTIALS`, else
/// gcloud's well-known file, else the GCE metadata server (`GCE_METADATA_HOST` moves it).
fn application_default_credentials(config: &Config) -> Result<Adc> {
    const AUTH: &str = "google-id";
    let env = config.env();
    let path = match env.get("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => Some((PathBuf::from(path), "the GOOGLE_APPLICATION_CREDENTIALS file", true)),
        None => well_known_file(env).map(|p| (p, "gcloud's application_default_credentials.json", false)),
    };
    if let Some((path, what, named)) = path {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file: KeyFile = serde_json::from_str(&text).map_err(|e| {
                    Error::config(format!("{AUTH}: {what} ({}) is not JSON ({:?} at line {})", path.display(), e.classify(), e.line()))
                })?;
                return match file.kind.as_deref() {
                    Some("authorized_user") => {
                        let missing = |key: &str| Error::config(format!("{AUTH}: {what} ({}) has no {key}", path.display()));
                        Ok(Adc::User {
                            client_id: file.client_id.ok_or_else(|| missing("client_id"))?,
                            client_secret: file.client_secret.ok_or_else(|| missing("client_secret"))?,
                            refresh_token: file.refresh_token.ok_or_else(|| missing("refresh_token"))?,
                            token_uri: file.token_uri,
                        })
                    }
                    Some("service_account") => Ok(Adc::ServiceAccount(ServiceAccountKey::from_file(AUTH, what, file)?)),
                    other => Err(Error::config(format!(
                        "{AUTH}: {what} ({}) holds credentials of type {other:?}: only authorized_user (gcloud auth \
                         application-default login) and service_account are supported",
                        path.display()
                    ))),
                };
            }
            Err(e) if named => {
                return Err(Error::config(format!("{AUTH}: cannot read {what} {}: {}", path.display(), e.kind())));
            }
            Err(_) => {}
        }
    }
    let host = config.get("gce_metadata_host").unwrap_or(DEFAULT_METADATA_HOST).to_owned();
    Ok(Adc::Metadata { host })
}

/// gcloud's application default credentials file: `$CLOUDSDK_CONFIG`, else `~/.config/gcloud` (on
/// Windows `%APPDATA%\gcloud`).
fn well_known_file(env: &Env) -> Option<PathBuf> {
    let dir = match env.get("CLOUDSDK_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None if cfg!(windows) => PathBuf::from(env.get("APPDATA")?).join("gcloud"),
        None => PathBuf::from(env.get("HOME")?).join(".config").join("gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_expiry_is_read_from_its_payload() {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000,"aud":"x"}"#);
        let at = jwt_expiry(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig")).unwrap();
        assert_eq!(at.duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_700_000_000);
        assert!(jwt_expiry("opaque-token").is_none());
        assert!(jwt_expiry("a.!!!.c").is_none());
    }
}
