//! The default credential chain: which provider a configuration selects, why the others declined, and
//! building the selected one.
//!
//! [`crate::config`] resolves the attributes; choosing credentials from them happens here. Each provider
//! says whether it is configured from the resolved attributes and the environment alone (no network I/O;
//! `databricks-cli` looks for the binary on `PATH` but does not run it).

use std::sync::Arc;

use super::azure::{AzureTokens, find_az};
use super::cli::{DatabricksCliCredentials, find_cli};
use super::cloud::{self, is_azure, is_gcp};
use super::google::GoogleTokens;
use super::metadata_service::{MetadataService, check_url};
use super::oauth::{OAuthContext, OAuthM2mCredentials};
use super::oidc::{SubjectToken, TokenExchange};
use super::{BasicCredentials, CredentialsProvider, PatCredentials};
use crate::config::{AuthType, Config, DEFAULT_OIDC_TOKEN_ENV, Env, UNIFIED_AUTH_DOCS, Values, configured_methods, parse_bool};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Whether `auth` is configured; `Err` says why not, e.g. `no token`.
fn check(auth: AuthType, values: &Values, env: &Env) -> std::result::Result<(), String> {
    let has = |key: &str| values.contains_key(key);
    let need = |keys: &[&str]| {
        let missing: Vec<&str> = keys.iter().copied().filter(|k| !has(k)).collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("no {}", missing.join(" and no "))) }
    };
    let value = |key: &str| values.get(key).map(|(v, _)| v.as_str());
    match auth {
        AuthType::Pat => need(&["token"]),
        AuthType::Basic => need(&["username", "password"]),
        AuthType::OAuthM2m => need(&["client_id", "client_secret"]),
        AuthType::DatabricksCli => find_cli(value("databricks_cli_path"), env.path()).map(drop),
        AuthType::MetadataService => match value("metadata_service_url") {
            Some(url) => check_url(url).map(drop),
            None => Err("no metadata_service_url".to_owned()),
        },
        AuthType::GitHubOidc => match (has("actions_id_token_request_url"), has("actions_id_token_request_token")) {
            (true, true) => Ok(()),
            (false, _) => Err("no ACTIONS_ID_TOKEN_REQUEST_URL (not a GitHub Actions job with `permissions: id-token: write`)".to_owned()),
            (true, false) => Err("no ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned()),
        },
        AuthType::EnvOidc => {
            let name = value("oidc_token_env").unwrap_or(DEFAULT_OIDC_TOKEN_ENV);
            env.get(name).map(drop).ok_or_else(|| format!("{name} is not set"))
        }
        AuthType::FileOidc => need(&["oidc_token_filepath"]),
        AuthType::AzureMsi => match value("azure_use_msi").and_then(parse_bool) {
            Some(true) => is_azure(values),
            _ => Err("azure_use_msi (ARM_USE_MSI) is not true".to_owned()),
        },
        AuthType::AzureClientSecret => need(&["azure_client_id", "azure_client_secret"]).and_then(|()| is_azure(values)),
        AuthType::AzureCli => is_azure(values).and_then(|()| find_az(env.path()).map(drop)),
        AuthType::GoogleCredentials => need(&["google_credentials"]).and_then(|()| is_gcp(values)).and_then(|()| {
            if cfg!(feature = "google") {
                Ok(())
            } else {
                Err("this build cannot sign with a service-account key: enable the databricks-tokens feature `google`".to_owned())
            }
        }),
        AuthType::GoogleId => need(&["google_service_account"]).and_then(|()| is_gcp(values)),
    }
}

/// The first configured provider of the chain, or the "tried" message.
/// The Databricks CLI, configured merely by being installed, yields when the configuration names another
/// method explicitly (`explicit`: an Azure service principal, a managed identity, a Google account...): an
/// installed CLI must not take over from the credentials a user set.
fn first_configured(values: &Values, env: &Env, explicit: bool) -> std::result::Result<AuthType, String> {
    let mut declined = Vec::new();
    for auth in AuthType::CHAIN {
        let verdict = match auth {
            AuthType::DatabricksCli if explicit => Err("another method is configured".to_owned()),
            _ => check(auth, values, env),
        };
        match verdict {
            Ok(()) => return Ok(auth),
            Err(why) => declined.push(format!("{auth} ({why})")),
        }
    }
    Err(tried(&declined))
}

/// The authentication method a configuration selects: the one `auth_type` pins, checked, else the first
/// configured method of the default chain ([`AuthType::CHAIN`], the Go SDK's order).
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::config::{AuthType, Config};
/// let config = Config::builder()
///     .host("https://example.cloud.databricks.com")
///     .client_id("sp-id")
///     .client_secret("sp-secret")
///     .env_vars(Vec::<(String, String)>::new())
///     .build()?;
/// assert_eq!(databricks_tokens::auth::select(&config)?, AuthType::OAuthM2m);
/// # Ok(()) }
/// ```
///
/// A [`crate::ErrorKind::Config`] error when the pinned method is not configured, when the attributes
/// configure more than one method and none is pinned, when a cloud attribute (`cloud`,
/// `azure_environment`) is wrong, or when nothing is configured: then the error lists every method and
/// why it declined. A named profile whose config file does not exist is reported instead, when the rest
/// is incomplete. Decides from the attributes and the environment alone: no network I/O (the Databricks
/// CLI and `az` are looked up on `PATH`, not run). [`crate::WorkspaceClient::from_config`] builds the
/// provider of the method selected.
pub fn select(config: &Config) -> Result<AuthType> {
    let (values, env) = (config.values(), config.env());
    let fail = |message: String| Error::config(format!("{message}. Config: {}", config.debug_string()));
    cloud::validate(values, config.host()).map_err(fail)?;
    let selected = match config.auth_type() {
        Some(auth) => check(auth, values, env).map(|()| auth).map_err(|why| format!("auth_type is {auth} but it is not configured: {why}")),
        None => {
            let methods = configured_methods(values);
            if methods.len() > 1 {
                Err(format!(
                    "more than one authorization method configured: {}. Set auth_type (DATABRICKS_AUTH_TYPE) to pick one",
                    methods.join(" and ")
                ))
            } else {
                first_configured(values, env, !methods.is_empty())
            }
        }
    };
    // The named profile's file is missing and the rest is incomplete: that is the cause to report.
    selected.map_err(|why| fail(config.missing_file().map_or(why, str::to_owned)))
}

fn tried(declined: &[String]) -> String {
    format!(
        "cannot configure default credentials, please check {UNIFIED_AUTH_DOCS} to configure credentials for your preferred \
         authentication method. Tried: {}",
        declined.join(", ")
    )
}

/// Builds the provider a configuration selects (see [`select`]). Does no network I/O.
pub(crate) fn provider(config: &Config, context: OAuthContext) -> Result<Arc<dyn CredentialsProvider>> {
    let auth_type = select(config)?;
    let required =
        |key: &str| config.get(key).map(str::to_owned).ok_or_else(|| Error::config(format!("{auth_type}: {key} is not configured")));
    let context = OAuthContext {
        discovery_url: config.discovery_url().map(str::to_owned),
        account_id: config.account_id().map(str::to_owned).or(context.account_id),
        ..context
    };
    let client_id = config.client_id().map(str::to_owned);
    let audience = config.token_audience().map(str::to_owned);
    Ok(match auth_type {
        AuthType::Pat => Arc::new(PatCredentials::new(required("token")?)),
        AuthType::Basic => Arc::new(BasicCredentials::new(required("username")?, required("password")?)),
        AuthType::OAuthM2m => {
            Arc::new(OAuthM2mCredentials::with_context(context, required("client_id")?, SecretString::new(required("client_secret")?)))
        }
        AuthType::DatabricksCli => {
            let program = find_cli(config.databricks_cli_path(), config.env().path())
                .map_err(|why| Error::config(format!("databricks-cli: {why}")))?;
            let cli = match (config.profile(), context.account_host.then_some(context.account_id.as_deref()).flatten()) {
                (Some(profile), _) => DatabricksCliCredentials::for_profile(program, profile),
                (None, Some(account_id)) => DatabricksCliCredentials::for_account(program, config.host(), account_id),
                (None, None) => DatabricksCliCredentials::for_host(program, config.host()),
            };
            Arc::new(cli.clock(Arc::clone(&context.clock)))
        }
        AuthType::MetadataService => Arc::new(MetadataService::provider(&SecretString::new(required("metadata_service_url")?), context)?),
        AuthType::GitHubOidc => {
            let subject = SubjectToken::GitHubActions {
                request_url: required("actions_id_token_request_url")?,
                request_token: SecretString::new(required("actions_id_token_request_token")?),
            };
            Arc::new(TokenExchange::provider("github-oidc", context, client_id, audience, subject))
        }
        AuthType::EnvOidc => {
            let subject = SubjectToken::EnvVar { name: config.oidc_token_env().to_owned(), env: config.env().clone() };
            Arc::new(TokenExchange::provider("env-oidc", context, client_id, audience, subject))
        }
        AuthType::FileOidc => {
            let subject = SubjectToken::File(required("oidc_token_filepath")?.into());
            Arc::new(TokenExchange::provider("file-oidc", context, client_id, audience, subject))
        }
        AuthType::AzureMsi => Arc::new(AzureTokens::provider("azure-msi", config, config.values(), context)?),
        AuthType::AzureClientSecret => Arc::new(AzureTokens::provider("azure-client-secret", config, config.values(), context)?),
        AuthType::AzureCli => Arc::new(AzureTokens::provider("azure-cli", config, config.values(), context)?),
        AuthType::GoogleCredentials => Arc::new(GoogleTokens::credentials(config, context)?),
        AuthType::GoogleId => Arc::new(GoogleTokens::impersonation(config, context)?),
    })
}
