//! The OAuth side of a local workspace: host metadata, OIDC discovery, and the token endpoint with the
//! client-credentials grant (service principals) and the token-exchange grant (OIDC token federation).
//!
//! Errors follow RFC 6749 §5.2: `{"error": "...", "error_description": "..."}`. No description ever holds a
//! client secret, a JWT or an access token.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::issuer::{self, TrustedIssuer};
use super::state::{Answer, State, hex};
use crate::secret::SecretString;

/// The grant type of RFC 8693 token exchange.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only subject token type accepted: a JWT from a trusted issuer.
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The token type issued by a token exchange.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The scope every access token gets: the Tokens API is one of "all APIs".
const ALL_APIS: &str = "all-apis";

fn oauth_error(status: u16, error: &str, description: impl Into<String>) -> Answer {
    (status, json!({"error": error, "error_description": description.into()}))
}

fn invalid_request(description: impl Into<String>) -> Answer {
    oauth_error(400, "invalid_request", description)
}

fn invalid_client() -> Answer {
    oauth_error(401, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret.")
}

/// The answer to a token request whose body could not be read.
pub(crate) fn unreadable_body() -> Answer {
    invalid_request("The request body is too large or was cut off.")
}

/// The authorization server of a workspace: what it serves at its URL and whom it issues tokens to.
pub(crate) struct Authority {
    url: String,
    workspace_id: String,
    /// Client id → SHA-256 of the client secret.
    clients: HashMap<String, [u8; 32]>,
    issuers: Vec<TrustedIssuer>,
    /// The token endpoint first, then the ones the builder added.
    audiences: Vec<String>,
    lifetime: Duration,
    bearer: BearerJwts,
}

/// What a workspace accepts as a bearer JWT and what must come with it.
#[derive(Debug, Clone, Default)]
pub(crate) struct BearerJwts {
    /// The `aud` values of JWTs accepted as bearer credentials; none: no bearer JWT is accepted.
    pub(crate) audiences: Vec<String>,
    /// Headers that must hold a JWT for an audience, naming the bearer's subject.
    pub(crate) jwt_headers: Vec<(String, String)>,
    /// Headers that must hold exactly a value.
    pub(crate) headers: Vec<(String, String)>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut clients: Vec<&str> = self.clients.keys().map(String::as_str).collect();
        clients.sort_unstable();
        f.debug_struct("Authority")
            .field("url", &self.url)
            .field("clients", &clients)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("lifetime", &self.lifetime)
            .field("bearer", &self.bearer)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// The id of the workspace it serves.
    pub(crate) fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    pub(crate) fn new(
        url: String,
        workspace_id: String,
        clients: Vec<(String, SecretString)>,
        issuers: Vec<TrustedIssuer>,
        extra_audiences: Vec<String>,
        lifetime: Duration,
        bearer: BearerJwts,
    ) -> Self {
        let mut audiences = vec![token_endpoint(&url)];
        audiences.extend(extra_audiences.into_iter().filter(|a| !a.is_empty()));
        audiences.dedup();
        let clients = clients.into_iter().map(|(id, secret)| (id, digest(secret.expose()))).collect();
        Self { url, workspace_id, clients, issuers, audiences, lifetime, bearer }
    }

    /// The identity of a request whose bearer credential is a JWT this workspace accepts
    /// ([`BearerJwts`]), with the headers it requires; `None` when bearer JWTs are not accepted or the
    /// credential is not a JWT (it is then looked up as a token).
    pub(crate) fn bearer_jwt(&self, authorization: Option<&str>, headers: &hyper::HeaderMap, now: u64) -> Option<Result<String, Answer>> {
        if self.bearer.audiences.is_empty() {
            return None;
        }
        let credential = authorization?.strip_prefix("Bearer ")?.trim();
        if credential.split('.').count() != 3 || !credential.starts_with("eyJ") {
            return None;
        }
        let refuse = |reason: String| (403, json!({"error_code": 403, "message": format!("Invalid access token: {reason}.")}));
        let subject = match issuer::verify(credential, &self.issuers, &self.bearer.audiences, now) {
            Ok(verified) => verified.subject,
            Err(reason) => return Some(Err(refuse(reason))),
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        for (name, audience) in &self.bearer.jwt_headers {
            let Some(value) = header(name) else {
                return Some(Err(refuse(format!("the {name} header is missing"))));
            };
            match issuer::verify(value, &self.issuers, std::slice::from_ref(audience), now) {
                Ok(verified) if verified.subject == subject => {}
                Ok(_) => return Some(Err(refuse(format!("the {name} header names another subject than the bearer token")))),
                Err(reason) => return Some(Err(refuse(format!("the {name} header does not verify: {reason}")))),
            }
        }
        for (name, expected) in &self.bearer.headers {
            if header(name) != Some(expected.as_str()) {
                return Some(Err(refuse(format!("the {name} header is missing or is not {expected:?}"))));
            }
        }
        Some(Ok(subject))
    }

    /// `GET /.well-known/databricks-config`, as the SDKs read it to find the OIDC endpoints.
    pub(crate) fn host_metadata(&self) -> Answer {
        (
            200,
            json!({
                "oidc_endpoint": format!("{}/oidc", self.url),
                "workspace_id": self.workspace_id,
                "cloud": "AWS",
                "host_type": "workspace",
                "token_federation_default_oidc_audiences": [token_endpoint(&self.url)],
            }),
        )
    }

    /// `GET /oidc/.well-known/oauth-authorization-server` (RFC 8414).
    pub(crate) fn discovery(&self) -> Answer {
        (
            200,
            json!({
                "issuer": format!("{}/oidc", self.url),
                "authorization_endpoint": format!("{}/oidc/v1/authorize", self.url),
                "token_endpoint": token_endpoint(&self.url),
                "grant_types_supported": ["client_credentials", TOKEN_EXCHANGE],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": [ALL_APIS],
            }),
        )
    }

    /// `POST /oidc/v1/token`: a form with a `grant_type`, client credentials in the `Authorization: Basic`
    /// header or in the form.
    pub(crate) fn token(&self, state: &mut State, authorization: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Answer {
        if content_type.is_some_and(|t| !t.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")) {
            return invalid_request("The token endpoint takes an application/x-www-form-urlencoded body.");
        }
        let form = match Form::parse(body) {
            Ok(form) => form,
            Err(answer) => return answer,
        };
        let client = match ClientAuth::read(authorization, &form) {
            Ok(client) => client,
            Err(answer) => return answer,
        };
        match form.get("grant_type") {
            None => invalid_request("grant_type is required: client_credentials or token exchange."),
            Some("client_credentials") => self.client_credentials(state, &client, &form),
            Some(TOKEN_EXCHANGE) => self.token_exchange(state, &client, &form),
            Some(other) => oauth_error(
                400,
                "unsupported_grant_type",
                format!(
                    "grant_type {:?} is not supported: use client_credentials or {TOKEN_EXCHANGE}.",
                    crate::redact::truncate(other, 100)
                ),
            ),
        }
    }

    fn client_credentials(&self, state: &mut State, client: &ClientAuth, form: &Form) -> Answer {
        let ClientAuth::Credentials(readings) = client else {
            return oauth_error(
                401,
                "invalid_client",
                "Client authentication is required: send client_id and client_secret with HTTP Basic or in the form.",
            );
        };
        let Some(id) = self.authenticated(readings) else {
            return invalid_client();
        };
        let scope = match granted_scope(form) {
            Ok(scope) => scope,
            Err(answer) => return answer,
        };
        self.issue(state, id, scope, None)
    }

    fn token_exchange(&self, state: &mut State, client: &ClientAuth, form: &Form) -> Answer {
        match form.get("subject_token_type") {
            None => return invalid_request(format!("subject_token_type is required: {JWT_TOKEN_TYPE}.")),
            Some(JWT_TOKEN_TYPE) => {}
            Some(_) => return invalid_request(format!("Only subject_token_type {JWT_TOKEN_TYPE} is supported.")),
        }
        if form.get("requested_token_type").is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
            return invalid_request(format!("Only requested_token_type {ACCESS_TOKEN_TYPE} is supported."));
        }
        let Some(jwt) = form.get("subject_token") else {
            return invalid_request("subject_token is required: a JWT from an issuer this workspace trusts.");
        };
        let scope = match granted_scope(form) {
            Ok(scope) => scope,
            Err(answer) => return answer,
        };
        let now = state.now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let verified = match issuer::verify(jwt, &self.issuers, &self.audiences, now) {
            Ok(verified) => verified,
            Err(reason) => return oauth_error(400, "invalid_grant", reason),
        };
        let identity = match client {
            // Account-wide federation: the JWT's subject is the user.
            ClientAuth::Anonymous => verified.subject,
            // Workload identity federation: the identity is the service principal, which must exist.
            ClientAuth::Id(id) if self.clients.contains_key(id) => id.clone(),
            ClientAuth::Id(_) => return invalid_client(),
            ClientAuth::Credentials(readings) => match self.authenticated(readings) {
                Some(id) => id.to_owned(),
                None => return invalid_client(),
            },
        };
        self.issue(state, &identity, scope, Some(ACCESS_TOKEN_TYPE))
    }

    /// The client id of the first reading of the credentials that authenticates a service principal.
    fn authenticated<'a>(&self, readings: &'a [(String, String)]) -> Option<&'a str> {
        readings.iter().find(|(id, secret)| self.authenticates(id, secret)).map(|(id, _)| id.as_str())
    }

    fn authenticates(&self, id: &str, secret: &str) -> bool {
        // Comparing digests takes the same time whatever prefix of the secret is right.
        let given = digest(secret);
        self.clients.get(id).is_some_and(|expected| expected.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
    }

    fn issue(&self, state: &mut State, identity: &str, scope: &str, issued_token_type: Option<&str>) -> Answer {
        let mut bytes = [0u8; 32];
        if getrandom::fill(&mut bytes).is_err() {
            return oauth_error(500, "server_error", "The workspace could not draw a random access token.");
        }
        let token = SecretString::new(hex(&bytes));
        state.grant_access_token(&token, identity, self.lifetime);
        let mut body = json!({
            "access_token": token.expose(),
            "token_type": "Bearer",
            "expires_in": self.lifetime.as_secs(),
            "scope": scope,
        });
        if let (Some(t), Value::Object(fields)) = (issued_token_type, &mut body) {
            fields.insert("issued_token_type".to_owned(), Value::from(t));
        }
        (200, body)
    }
}

/// The token endpoint of a workspace at `url`, also the default audience of federated JWTs.
pub(crate) fn token_endpoint(url: &str) -> String {
    format!("{url}/oidc/v1/token")
}

/// The scope granted for a request: `all-apis` must be among those asked for (it is the default).
fn granted_scope(form: &Form) -> Result<&'static str, Answer> {
    match form.get("scope") {
        None => Ok(ALL_APIS),
        Some(scope) if scope.split_ascii_whitespace().any(|s| s == ALL_APIS) => Ok(ALL_APIS),
        Some(_) => Err(oauth_error(400, "invalid_scope", "This workspace grants the all-apis scope only: ask for scope=all-apis.")),
    }
}

/// An `application/x-www-form-urlencoded` body whose parameters each appear once (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Result<Self, Answer> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(invalid_request(format!("Parameter {:?} is repeated.", crate::redact::truncate(&name, 100))));
            }
            fields.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self(fields))
    }

    /// A parameter's value; an empty one counts as absent (RFC 6749 §3.1).
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }
}

/// Who a token request says the client is: from `Authorization: Basic` or the form, not both.
enum ClientAuth {
    /// No client named.
    Anonymous,
    /// A `client_id` without a secret (workload identity federation).
    Id(String),
    /// A client id and secret, as each reading of the encoding the client may have used.
    Credentials(Vec<(String, String)>),
}

impl ClientAuth {
    fn read(authorization: Option<&str>, form: &Form) -> Result<Self, Answer> {
        let (form_id, form_secret) = (form.get("client_id"), form.get("client_secret"));
        let Some(header) = authorization else {
            return match (form_id, form_secret) {
                (None, None) => Ok(Self::Anonymous),
                (Some(id), None) => Ok(Self::Id(id.to_owned())),
                (Some(id), Some(secret)) => Ok(Self::Credentials(vec![(id.to_owned(), secret.to_owned())])),
                (None, Some(_)) => Err(invalid_request("client_secret was sent without a client_id.")),
            };
        };
        let readings = basic_credentials(header).ok_or_else(|| {
            oauth_error(401, "invalid_client", "The Authorization header must be HTTP Basic with client_id:client_secret.")
        })?;
        if form_secret.is_some() || form_id.is_some_and(|f| readings.iter().all(|(id, _)| id != f)) {
            return Err(invalid_request("Send the client credentials with HTTP Basic or in the form, not both."));
        }
        Ok(Self::Credentials(readings))
    }
}

/// The readings of the `client_id:client_secret` of an `Authorization: Basic` header. RFC 6749 §2.3.1
/// wants both form-urlencoded before base64 (as Go's oauth2 does), but many clients (Python's `requests`)
/// send them raw: each reading is tried, raw first.
fn basic_credentials(header: &str) -> Option<Vec<(String, String)>> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let mut readings = vec![(id.to_owned(), secret.to_owned())];
    let form_decoded = |s: &str| percent_decoded(&s.replace('+', " "));
    if let (Some(id), Some(secret)) = (form_decoded(id), form_decoded(secret))
        && !readings.iter().any(|(i, s)| *i == id && *s == secret)
    {
        readings.push((id, secret));
    }
    Some(readings)
}

/// `%XX` escapes decoded; `None` if the result is not UTF-8.
fn percent_decoded(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_raw_and_form_decoded() {
        let b64 = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        let pair = |id: &str, secret: &str| (id.to_owned(), secret.to_owned());
        assert_eq!(basic_credentials(&b64("sp:s3cret")), Some(vec![pair("sp", "s3cret")]));
        assert_eq!(basic_credentials(&b64("sp:a+b%2B")), Some(vec![pair("sp", "a+b%2B"), pair("sp", "a b+")]));
        assert_eq!(basic_credentials(&b64("sp%3Aone:x")), Some(vec![pair("sp%3Aone", "x"), pair("sp:one", "x")]));
        assert_eq!(basic_credentials(&b64("sp:100%")), Some(vec![pair("sp", "100%")]), "a broken escape is read raw only");
        assert_eq!(basic_credentials(&b64("sp:a:b")), Some(vec![pair("sp", "a:b")]));
        for bad in ["Bearer abc", "Basic !!!", "Basic", &b64("no-colon"), ""] {
            assert_eq!(basic_credentials(bad), None, "{bad}");
        }
    }

    #[test]
    fn forms_refuse_repeated_parameters_and_ignore_empty_ones() {
        assert!(Form::parse(b"grant_type=a&grant_type=b").is_err());
        let form = Form::parse(b"scope=&client_id=x%20y&%ff=1").unwrap();
        assert_eq!((form.get("scope"), form.get("client_id")), (None, Some("x y")));
    }
}
