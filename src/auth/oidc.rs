//! Where the OIDC federation providers get the identity token (a JWT) they exchange for a workspace
//! token: GitHub Actions' token service (`github-oidc`), an environment variable (`env-oidc`), or a file
//! (`file-oidc`). Each is asked afresh on every refresh, so a rotated token is picked up. And the provider
//! that exchanges it for a workspace token (RFC 8693), through the OAuth machinery of `oauth`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::oauth::{Discovered, JWT_TOKEN_TYPE, OAuthContext, TOKEN_EXCHANGE_GRANT, TokenEndpoint};
use super::refresh::{Now, Refreshing, Token, TokenSource};
use crate::clock::BoxFuture;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// The source of the JWT that the token exchange presents.
pub(crate) enum SubjectToken {
    /// GitHub Actions: `GET {ACTIONS_ID_TOKEN_REQUEST_URL}&audience=...` with the request token.
    GitHubActions { request_url: String, request_token: SecretString },
    /// The environment variable of this name, read on every refresh.
    EnvVar { name: String, env: Env },
    /// The file at this path, read on every refresh.
    File(PathBuf),
}

impl fmt::Debug for SubjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GitHubActions { request_url, .. } => {
                f.debug_struct("GitHubActions").field("request_url", request_url).field("request_token", &"***").finish()
            }
            Self::EnvVar { name, .. } => f.debug_struct("EnvVar").field("name", name).finish_non_exhaustive(),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl SubjectToken {
    /// The current identity token, for `audience` where the source lets the caller choose.
    pub(crate) async fn get(&self, auth_type: &str, context: &OAuthContext, audience: &str) -> Result<SecretString> {
        let token = match self {
            Self::GitHubActions { request_url, request_token } => {
                return github_id_token(auth_type, context, request_url, request_token, audience).await;
            }
            Self::EnvVar { name, env } => env.get(name).ok_or_else(|| {
                Error::auth(format!("{auth_type}: the environment variable {name} that should hold the OIDC token is not set or empty"))
            })?,
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| Error::auth(format!("{auth_type}: cannot read the OIDC token file {}: {}", path.display(), e.kind())))?,
        };
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::auth(format!("{auth_type}: the OIDC token ({}) is empty", self.describe())));
        }
        Ok(SecretString::new(token))
    }

    fn describe(&self) -> String {
        match self {
            Self::GitHubActions { .. } => "GitHub Actions".to_owned(),
            Self::EnvVar { name, .. } => format!("environment variable {name}"),
            Self::File(path) => format!("file {}", path.display()),
        }
    }
}

async fn github_id_token(
    auth_type: &str,
    context: &OAuthContext,
    request_url: &str,
    request_token: &SecretString,
    audience: &str,
) -> Result<SecretString> {
    let mut url = reqwest::Url::parse(request_url)
        .map_err(|e| Error::auth(format!("{auth_type}: ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}")))?;
    url.query_pairs_mut().append_pair("audience", audience);
    context.check_secure(auth_type, "the GitHub Actions request token", url.as_str())?;
    // The URL carries no secret; the request token goes in the header.
    let describe = format!("the GitHub Actions ID token service at {}", url.origin().ascii_serialization());
    let (status, body) = context.send(auth_type, &describe, || context.http.get(url.clone()).bearer_auth(request_token.expose())).await?;
    if !(200..300).contains(&status) {
        let api = crate::error::ApiError::from_body(status, &body);
        return Err(Error::auth(format!("{auth_type}: {describe} refused to issue an ID token (HTTP {status}): {}", api.message())));
    }
    #[derive(serde::Deserialize)]
    struct IdToken {
        value: Option<SecretString>,
    }
    match serde_json::from_slice::<IdToken>(&body) {
        Ok(IdToken { value: Some(token) }) if !token.is_empty() => Ok(token),
        _ => Err(Error::auth(format!("{auth_type}: {describe} answered without an ID token (no \"value\")"))),
    }
}

/// RFC 8693 token exchange of a federated identity's JWT for a workspace token: the OIDC providers.
pub(crate) struct TokenExchange {
    auth_type: &'static str,
    context: OAuthContext,
    client_id: Option<String>,
    audience: Option<String>,
    subject: SubjectToken,
    endpoint: TokenEndpoint,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange")
            .field("auth_type", &self.auth_type)
            .field("host", &self.context.host)
            .field("client_id", &self.client_id)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl TokenExchange {
    pub(crate) fn provider(
        auth_type: &'static str,
        context: OAuthContext,
        client_id: Option<String>,
        audience: Option<String>,
        subject: SubjectToken,
    ) -> Refreshing<Self> {
        let clock = Arc::clone(&context.clock);
        Refreshing::new(auth_type, Self { auth_type, context, client_id, audience, subject, endpoint: TokenEndpoint::default() }, clock)
    }
}

impl TokenSource for TokenExchange {
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            let Discovered { token_endpoint: endpoint, audience: default_audience } =
                self.endpoint.get(&self.context, self.auth_type).await?;
            self.context.check_secure(self.auth_type, "an identity token", &endpoint)?;
            // The audience: configured, else the one host metadata names, else the account id (account
            // clients), else the token endpoint.
            let account = self.context.account_id.clone().filter(|_| self.context.account_host);
            let audience = self.audience.clone().or(default_audience).or(account).unwrap_or_else(|| endpoint.clone());
            let jwt = self.subject.get(self.auth_type, &self.context, &audience).await?;
            let mut form = vec![
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token_type", JWT_TOKEN_TYPE),
                ("subject_token", jwt.expose()),
                ("scope", "all-apis"),
            ];
            if let Some(id) = &self.client_id {
                form.push(("client_id", id));
            }
            let who = match &self.client_id {
                Some(id) => format!("the token exchange for client {id}"),
                None => "the token exchange".to_owned(),
            };
            self.context.request_token(self.auth_type, &endpoint, &who, None, &form, now).await
        })
    }
}
