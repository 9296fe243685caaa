//! `metadata-service`: tokens from a local metadata service (`DATABRICKS_METADATA_SERVICE_URL`), as the
//! Databricks VS Code extension and other local agents serve them.
//!
//! `GET <url>` with `X-Databricks-Metadata-Version: 1` and `X-Databricks-Host: <host>` answers
//! `{access_token, token_type, expires_on}` (`expires_on` in epoch seconds). The URL must be on this
//! machine (loopback): the service hands out credentials, and it is never asked over the network. The URL
//! itself is treated as a secret (it may carry one) and never printed.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::oauth::OAuthContext;
use super::refresh::{Now, Refreshing, Token, TokenSource};
use crate::clock::BoxFuture;
use crate::config::is_loopback;
use crate::error::{ApiError, Error, Result};
use crate::secret::SecretString;

/// The metadata protocol version this client speaks.
const METADATA_VERSION: &str = "1";

pub(crate) struct MetadataService {
    url: reqwest::Url,
    context: OAuthContext,
}

impl fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataService").field("url", &"***").field("host", &self.context.host).finish()
    }
}

impl MetadataService {
    /// A provider asking the service at `url`, which must be loopback.
    pub(crate) fn provider(url: &SecretString, context: OAuthContext) -> Result<Refreshing<Self>> {
        let url = check_url(url.expose()).map_err(Error::config)?;
        let clock = context.clock.clone();
        Ok(Refreshing::new("metadata-service", Self { url, context }, clock))
    }
}

/// The URL, when it is a loopback `http(s)` URL; else why not (without quoting it).
pub(crate) fn check_url(url: &str) -> std::result::Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("metadata_service_url is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || !is_loopback(&parsed) {
        return Err("metadata_service_url must be an http(s) URL on this machine (localhost or 127.0.0.1)".to_owned());
    }
    Ok(parsed)
}

impl TokenSource for MetadataService {
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            const AUTH: &str = "metadata-service";
            let describe = "the metadata service";
            let (status, body) = self
                .context
                .send(AUTH, describe, || {
                    self.context
                        .http
                        .get(self.url.clone())
                        .header("X-Databricks-Metadata-Version", METADATA_VERSION)
                        .header("X-Databricks-Host", &self.context.host)
                })
                .await?;
            if !(200..300).contains(&status) {
                let api = ApiError::from_body(status, &body);
                return Err(Error::auth(format!("{AUTH}: {describe} refused to issue a token (HTTP {status}): {}", api.message())));
            }
            #[derive(serde::Deserialize)]
            struct MetadataToken {
                access_token: Option<SecretString>,
                token_type: Option<String>,
                expires_on: Option<crate::wire::Int64>,
            }
            let parsed: MetadataToken = serde_json::from_slice(&body)
                .map_err(|e| Error::auth(format!("{AUTH}: {describe} answered with unexpected JSON ({:?})", e.classify())))?;
            let token = parsed
                .access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Error::auth(format!("{AUTH}: {describe} answered without an access_token")))?;
            let lifetime = parsed
                .expires_on
                .map(i64::from)
                .and_then(|s| u64::try_from(s).ok())
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
                .map(|expiry: SystemTime| now.lifetime_until(expiry));
            if lifetime == Some(Duration::ZERO) {
                return Err(Error::auth(format!("{AUTH}: {describe} issued a token that has already expired")));
            }
            Ok(Token::new(&token, parsed.token_type.as_deref(), now, lifetime))
        })
    }
}
