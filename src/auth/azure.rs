//! Azure Databricks: Microsoft Entra ID tokens for the AzureDatabricks application, from a service
//! principal's secret (`azure-client-secret`), the machine's managed identity (`azure-msi`), or the Azure
//! CLI's login (`azure-cli`), as the Go SDK obtains them (`config/auth_azure_*.go`).
//!
//! Every request carries `Authorization: Bearer <token for the AzureDatabricks application>`; with it, a
//! token for the Azure service management endpoint in `X-Databricks-Azure-SP-Management-Token` (always
//! for a service principal or a managed identity, as the Go SDK sends it; for the CLI when `az` can issue
//! one) and, when `azure_workspace_resource_id` is set, `X-Databricks-Azure-Workspace-Resource-Id`. Both
//! tokens are obtained in one refresh and cached together until the refresh margin (40 s)
//! before the earlier one expires.
//!
//! - `azure-client-secret`: the client-credentials grant at `{login endpoint}{tenant}/oauth2/token` (the
//!   Entra ID v1 endpoint) with `client_id`, `client_secret` and `resource` in the form. Without
//!   `azure_tenant_id` the tenant is discovered once from the workspace: `GET {host}/aad/auth` redirects
//!   to the tenant's login page, whose first path segment is the tenant (the redirect is read, not
//!   followed). An account host has no such redirect: at account level `azure_tenant_id` must be set, and
//!   its absence is a configuration error that names it.
//! - `azure-msi`: `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=...`
//!   with `Metadata: true`, and `client_id` for a user-assigned identity (`azure_client_id`).
//! - `azure-cli`: `az account get-access-token --resource <resource> --output json [--tenant <tenant>]`, run
//!   without a shell. The tenant is `azure_tenant_id` or the one discovered from the workspace (best
//!   effort); it is not passed when `az` is logged in with a managed identity (`az account show`, once).
//!   `az` runs with `TZ=UTC0` so that the old `expiresOn` field (local time) is UTC; the newer `expires_on`
//!   (epoch seconds, `az` 2.54 and later) is preferred when present.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::cli::{DEFAULT_CLI_TIMEOUT, Program, RunError, scrub};
use super::cloud::{AzureCloud, azure_cloud};
use super::oauth::{Attempts, OAuthContext};
use super::refresh::{Now, Refreshing, Token, TokenSource};
use crate::clock::BoxFuture;
use crate::config::{Config, Values};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// The header carrying the service management token.
pub(crate) const MANAGEMENT_TOKEN_HEADER: &str = "X-Databricks-Azure-SP-Management-Token";
/// The header carrying the workspace's Azure resource id.
pub(crate) const RESOURCE_ID_HEADER: &str = "X-Databricks-Azure-Workspace-Resource-Id";
/// The Azure instance metadata service's token endpoint.
pub(crate) const DEFAULT_MSI_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// Where to get the Azure CLI.
const AZ_INSTALL_DOCS: &str = "https://learn.microsoft.com/cli/azure/install-azure-cli";
/// How long one request to the instance metadata service may take (as in the Go SDK).
const MSI_TIMEOUT: Duration = Duration::from_secs(10);

/// Finds `az` on `path`; `Err` says why not, for the chain's listing.
pub(crate) fn find_az(path: Option<std::ffi::OsString>) -> std::result::Result<PathBuf, String> {
    let Some(path) = path else {
        return Err("no \"az\" (the Azure CLI) on PATH (PATH is not set)".to_owned());
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    which::which_in("az", Some(path), cwd).map_err(|_| "no \"az\" (the Azure CLI) on PATH".to_owned())
}

/// How the Entra ID tokens are obtained.
enum Login {
    ClientSecret { client_id: String, client_secret: SecretString },
    Msi { endpoint: reqwest::Url, client_id: Option<String> },
    Cli { program: PathBuf, managed_identity: tokio::sync::OnceCell<bool>, management: Mutex<Option<bool>> },
}

/// The tenant: configured, or discovered from the workspace once.
struct Tenant {
    configured: Option<String>,
    discovered: tokio::sync::OnceCell<String>,
}

/// A [`TokenSource`] of Azure Databricks credentials.
pub(crate) struct AzureTokens {
    auth_type: &'static str,
    context: OAuthContext,
    login: Login,
    cloud: AzureCloud,
    app_id: &'static str,
    login_endpoint: String,
    tenant: Tenant,
    resource_id: Option<String>,
}

impl fmt::Debug for AzureTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AzureTokens");
        d.field("auth_type", &self.auth_type).field("host", &self.context.host).field("cloud", &self.cloud.name);
        match &self.login {
            Login::ClientSecret { client_id, client_secret } => d.field("client_id", client_id).field("client_secret", client_secret),
            Login::Msi { endpoint, client_id } => d.field("msi_endpoint", &endpoint.as_str()).field("client_id", client_id),
            Login::Cli { program, .. } => d.field("program", program),
        };
        d.field("tenant", &self.tenant.configured).field("resource_id", &self.resource_id).finish_non_exhaustive()
    }
}

/// An Entra ID access token and until when it is valid.
struct AccessToken {
    value: SecretString,
    token_type: Option<String>,
    expires_at: Instant,
}

impl AccessToken {
    fn from_token(token: Token) -> Self {
        let exposed = token.header.expose();
        let (token_type, value) = exposed.split_once(' ').unwrap_or(("Bearer", exposed));
        Self { value: SecretString::new(value), token_type: Some(token_type.to_owned()), expires_at: token.expires_at }
    }
}

impl AzureTokens {
    /// The provider of `auth_type` (one of the three Azure methods) for a configuration.
    pub(crate) fn provider(auth_type: &'static str, config: &Config, values: &Values, context: OAuthContext) -> Result<Refreshing<Self>> {
        let (cloud, app_id) = azure_cloud(values);
        let required =
            |key: &str| config.get(key).map(str::to_owned).ok_or_else(|| Error::config(format!("{auth_type}: {key} is not configured")));
        let login = match auth_type {
            "azure-client-secret" => Login::ClientSecret {
                client_id: required("azure_client_id")?,
                client_secret: SecretString::new(required("azure_client_secret")?),
            },
            "azure-msi" => Login::Msi {
                endpoint: msi_endpoint(auth_type, config.get("azure_msi_endpoint").unwrap_or(DEFAULT_MSI_ENDPOINT))?,
                client_id: config.azure_client_id().map(str::to_owned),
            },
            _ => Login::Cli {
                program: find_az(config.env().path()).map_err(|why| Error::config(format!("{auth_type}: {why}")))?,
                managed_identity: tokio::sync::OnceCell::new(),
                management: Mutex::new(None),
            },
        };
        let mut login_endpoint = config.get("azure_login_endpoint").unwrap_or(cloud.login).to_owned();
        if !login_endpoint.ends_with('/') {
            login_endpoint.push('/');
        }
        let clock = Arc::clone(&context.clock);
        let source = Self {
            auth_type,
            context,
            login,
            cloud,
            app_id,
            login_endpoint,
            tenant: Tenant { configured: config.azure_tenant_id().map(str::to_owned), discovered: tokio::sync::OnceCell::new() },
            resource_id: config.azure_workspace_resource_id().map(str::to_owned),
        };
        Ok(Refreshing::new(auth_type, source, clock))
    }

    /// The tenant: configured, else discovered from the workspace (once).
    async fn tenant(&self) -> Result<&str> {
        if let Some(tenant) = &self.tenant.configured {
            return Ok(tenant);
        }
        self.tenant.discovered.get_or_try_init(|| discover_tenant(self.auth_type, &self.context)).await.map(String::as_str)
    }

    async fn client_secret_token(&self, client_id: &str, secret: &SecretString, resource: &str, now: Now) -> Result<AccessToken> {
        let tenant = self.tenant().await?;
        let endpoint = format!("{}{tenant}/oauth2/token", self.login_endpoint);
        self.context.check_secure(self.auth_type, "the client secret", &endpoint)?;
        let form =
            [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret.expose()), ("resource", resource)];
        let who = format!("service principal {client_id} of tenant {tenant} for {resource}");
        let token = self.context.request_token(self.auth_type, &endpoint, &who, None, &form, now).await?;
        Ok(AccessToken::from_token(token))
    }

    async fn msi_token(&self, endpoint: &reqwest::Url, client_id: Option<&str>, resource: &str, now: Now) -> Result<AccessToken> {
        let auth_type = self.auth_type;
        let mut url = endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("api-version", "2018-02-01").append_pair("resource", resource);
            if let Some(id) = client_id {
                query.append_pair("client_id", id);
            }
        }
        // Nothing secret goes to the metadata service: it hands tokens out to whoever runs on the machine.
        let describe = format!("the Azure instance metadata service at {}", url.origin().ascii_serialization());
        let attempts = Attempts { timeout: MSI_TIMEOUT, retry_transport_failures: true };
        let (status, _, body) = self
            .context
            .send_with(auth_type, &describe, attempts, || {
                self.context.http.get(url.clone()).header("Metadata", "true").header("Accept", "application/json")
            })
            .await?;
        let identity = client_id.map_or_else(|| "the managed identity".to_owned(), |id| format!("managed identity {id}"));
        if !(200..300).contains(&status) {
            return Err(Error::auth(format!(
                "{auth_type}: {describe} refused a token for {identity} (HTTP {status}): {}",
                crate::auth::oauth::oauth_reason(status, &body)
            )));
        }
        parse_entra_token(auth_type, &describe, &body, now)
    }

    /// The tenant to pass to `az`, if any: configured or discovered (best effort), unless `az` is logged in
    /// with a managed identity, which takes none.
    async fn cli_tenant(&self, program: &Path, managed_identity: &tokio::sync::OnceCell<bool>) -> Option<String> {
        let tenant = match self.tenant().await {
            Ok(t) => t.to_owned(),
            Err(e) => {
                tracing::debug!(auth_type = self.auth_type, error = %e, "no tenant for az: its default is used");
                return None;
            }
        };
        let msi = *managed_identity.get_or_init(|| az_logged_in_with_managed_identity(program)).await;
        (!msi).then_some(tenant)
    }

    async fn cli_token(&self, program: &Path, tenant: Option<&str>, resource: &str, now: Now) -> Result<AccessToken> {
        let mut args: Vec<String> = ["account", "get-access-token", "--resource", resource, "--output", "json"].map(str::to_owned).into();
        if let Some(t) = tenant {
            args.extend(["--tenant".to_owned(), t.to_owned()]);
        }
        // As the Go SDK: with no tenant known, the subscription of the workspace's resource id first.
        if tenant.is_none()
            && let Some(subscription) = self.resource_id.as_deref().and_then(subscription_of)
        {
            let mut with_subscription = args.clone();
            with_subscription.extend(["--subscription".to_owned(), subscription.to_owned()]);
            match run_az(self.auth_type, program, &with_subscription, tenant, now).await {
                Ok(token) => return Ok(token),
                Err(e) => {
                    tracing::debug!(auth_type = self.auth_type, error = %e, "no token for the workspace's subscription; trying without")
                }
            }
        }
        run_az(self.auth_type, program, &args, tenant, now).await
    }
}

impl TokenSource for AzureTokens {
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            let management_resource = self.cloud.management;
            let (inner, management) = match &self.login {
                Login::ClientSecret { client_id, client_secret } => {
                    let inner = self.client_secret_token(client_id, client_secret, self.app_id, now).await?;
                    (inner, Some(self.client_secret_token(client_id, client_secret, management_resource, now).await?))
                }
                Login::Msi { endpoint, client_id } => {
                    let inner = self.msi_token(endpoint, client_id.as_deref(), self.app_id, now).await?;
                    (inner, Some(self.msi_token(endpoint, client_id.as_deref(), management_resource, now).await?))
                }
                Login::Cli { program, managed_identity, management } => {
                    let tenant = self.cli_tenant(program, managed_identity).await;
                    let inner = self.cli_token(program, tenant.as_deref(), self.app_id, now).await?;
                    // As the Go SDK: the management token is sent when az can issue one; whether it can is
                    // decided on the first refresh (a user without access to the management endpoint).
                    let wanted = *management.lock().unwrap_or_else(|e| e.into_inner());
                    let extra = match wanted {
                        Some(false) => None,
                        _ => match self.cli_token(program, tenant.as_deref(), management_resource, now).await {
                            Ok(token) => Some(token),
                            Err(e) if wanted.is_none() => {
                                tracing::debug!(auth_type = self.auth_type, error = %e, "az issues no service management token: not sending one");
                                None
                            }
                            Err(e) => return Err(e),
                        },
                    };
                    *management.lock().unwrap_or_else(|e| e.into_inner()) = Some(extra.is_some());
                    (inner, extra)
                }
            };
            let lifetime = inner.expires_at.saturating_duration_since(now.instant);
            let mut token = Token::new(&inner.value, inner.token_type.as_deref(), now, Some(lifetime));
            token.expires_at = inner.expires_at;
            if let Some(management) = management {
                token = token.with_header(MANAGEMENT_TOKEN_HEADER, management.value, Some(management.expires_at));
            }
            if let Some(id) = &self.resource_id {
                token = token.with_header(RESOURCE_ID_HEADER, SecretString::new(id.clone()), None);
            }
            Ok(token)
        })
    }
}

/// Discovers the tenant of an Azure workspace: `GET {host}/aad/auth` redirects to
/// `https://login.microsoftonline.com/<tenant>/oauth2/authorize?...` (or another cloud's login host).
async fn discover_tenant(auth_type: &str, context: &OAuthContext) -> Result<String> {
    if context.account_host {
        // Only a workspace redirects `/aad/auth` to its tenant's login page: an account host cannot say.
        return Err(Error::config(format!(
            "{auth_type}: the Azure tenant cannot be discovered from the account host {}: set azure_tenant_id (ARM_TENANT_ID)",
            context.host
        )));
    }
    let url = format!("{}/aad/auth", context.host);
    let describe = format!("the workspace's login redirect {url}");
    let (status, headers, _) = context.send_with(auth_type, &describe, Attempts::default(), || context.http.get(&url)).await?;
    let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
    let tenant = location
        .and_then(|l| reqwest::Url::parse(l).ok())
        .and_then(|u| u.path_segments()?.next().map(str::to_owned))
        .filter(|t| !t.is_empty() && t.len() <= 128 && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
    match tenant {
        Some(tenant) => {
            tracing::debug!(auth_type, tenant, "discovered the workspace's Azure tenant");
            Ok(tenant)
        }
        None => Err(Error::auth(format!(
            "{auth_type}: cannot discover the Azure tenant of {}: GET {url} answered HTTP {status} without a redirect to a \
             Microsoft Entra ID login page; set azure_tenant_id (ARM_TENANT_ID)",
            context.host
        ))),
    }
}

/// The subscription of a resource id `/subscriptions/<id>/resourceGroups/...`.
fn subscription_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") && !id.is_empty() => Some(id),
        _ => None,
    }
}

/// An Entra ID token answer (v1 endpoint or the metadata service): `access_token`, `token_type`, and
/// `expires_in` (seconds) or `expires_on` (epoch seconds), numbers or strings.
fn parse_entra_token(auth_type: &str, describe: &str, body: &[u8], now: Now) -> Result<AccessToken> {
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: Option<SecretString>,
        token_type: Option<String>,
        expires_in: Option<crate::wire::Int64>,
        expires_on: Option<crate::wire::Int64>,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| Error::auth(format!("{auth_type}: {describe} answered with unexpected JSON ({:?})", e.classify())))?;
    let value = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::auth(format!("{auth_type}: {describe} answered without an access_token")))?;
    let lifetime = match (answer.expires_in.map(i64::from), answer.expires_on.map(i64::from)) {
        (Some(seconds), _) => u64::try_from(seconds).ok().map(Duration::from_secs),
        (None, Some(epoch)) => {
            u64::try_from(epoch).ok().and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s))).map(|expiry| now.lifetime_until(expiry))
        }
        (None, None) => None,
    };
    if lifetime == Some(Duration::ZERO) {
        return Err(Error::auth(format!("{auth_type}: {describe} issued a token that has already expired")));
    }
    let token = Token::new(&value, answer.token_type.as_deref(), now, lifetime);
    Ok(AccessToken { value, token_type: answer.token_type, expires_at: token.expires_at })
}

/// The instance metadata service's token URL, checked when the provider is built.
fn msi_endpoint(auth_type: &str, endpoint: &str) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| Error::config(format!("{auth_type}: azure_msi_endpoint is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!("{auth_type}: azure_msi_endpoint must be an http(s) URL")));
    }
    Ok(url)
}

/// Whether `az` is logged in with a managed identity (`az account show`); `false` when it cannot tell.
async fn az_logged_in_with_managed_identity(program: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Account {
        user: Option<User>,
    }
    #[derive(serde::Deserialize)]
    struct User {
        name: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let args: Vec<String> = ["account", "show", "--output", "json"].map(str::to_owned).into();
    let program = az(program);
    let Ok(output) = program.run("`az account show`", &args, &AZ_ENV, DEFAULT_CLI_TIMEOUT).await else {
        return false;
    };
    match serde_json::from_slice::<Account>(&output.stdout) {
        Ok(Account { user: Some(User { name: Some(name), kind: Some(kind) }) }) if output.status.success() => {
            kind == "servicePrincipal" && matches!(name.as_str(), "systemAssignedIdentity" | "userAssignedIdentity")
        }
        _ => false,
    }
}

fn az(program: &Path) -> Program<'_> {
    Program { auth_type: "azure-cli", path: program, install: "install the Azure CLI", docs: AZ_INSTALL_DOCS }
}

/// The environment `az` runs with: `TZ=UTC0`, so that the local time it prints in `expiresOn` is UTC.
const AZ_ENV: [(&str, &str); 1] = [("TZ", "UTC0")];

/// Runs `az account get-access-token ...` and reads its answer, with clear errors for `az` missing, not
/// logged in, and logged in to another tenant. Never quotes its output.
async fn run_az(auth_type: &str, program: &Path, args: &[String], tenant: Option<&str>, now: Now) -> Result<AccessToken> {
    let command = format!("`az {}`", args.join(" "));
    let output = az(program).run(&command, args, &AZ_ENV, DEFAULT_CLI_TIMEOUT).await.map_err(|e| match e {
        RunError::CannotStart(e) => e.with_hint(""),
        RunError::Failed(e) => e,
    })?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let lower = said.to_ascii_lowercase();
        let stderr = scrub(&said);
        let wrong_tenant = ["aadsts90002", "aadsts50020", "aadsts700016", "--tenant", "does not exist in tenant", "tenant not found"]
            .iter()
            .any(|needle| lower.contains(needle))
            || (lower.contains("tenant") && lower.contains("not found"));
        if let (Some(tenant), true) = (tenant, wrong_tenant) {
            return Err(Error::auth(format!(
                "{auth_type}: the Azure CLI cannot get a token in tenant {tenant}, the workspace's: log in to it with \
                 `az login --tenant {tenant}`, or set azure_tenant_id (ARM_TENANT_ID) to the tenant you are logged in to. \
                 {command} failed ({}): {stderr}",
                output.status
            )));
        }
        if ["az login", "no subscription found", "not logged in", "please run 'az login'"].iter().any(|needle| lower.contains(needle)) {
            let login = tenant.map_or_else(|| "az login".to_owned(), |t| format!("az login --tenant {t}"));
            return Err(Error::auth(format!(
                "{auth_type}: the Azure CLI is not logged in: run `{login}`. {command} failed ({}): {stderr}",
                output.status
            )));
        }
        return Err(Error::auth(format!("{auth_type}: {command} failed ({}): {stderr}", output.status)));
    }
    parse_az_output(auth_type, &command, &output.stdout, now)
}

/// Reads `{accessToken, tokenType, expiresOn, expires_on}`; never quotes the output, which holds a token.
fn parse_az_output(auth_type: &str, command: &str, stdout: &[u8], now: Now) -> Result<AccessToken> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AzToken {
        access_token: Option<SecretString>,
        token_type: Option<String>,
        expires_on: Option<String>,
        #[serde(rename = "expires_on")]
        expires_on_epoch: Option<crate::wire::Int64>,
    }
    let unparsable = |why: String| Error::auth(format!("{auth_type}: the output of {command} is not a token: {why}"));
    let parsed: AzToken = serde_json::from_slice(stdout).map_err(|e| {
        unparsable(format!("not the expected JSON {{accessToken, expiresOn, tokenType}} ({:?} at column {})", e.classify(), e.column()))
    })?;
    let value = parsed.access_token.filter(|t| !t.is_empty()).ok_or_else(|| unparsable("no accessToken".to_owned()))?;
    let expiry = match (parsed.expires_on_epoch.map(i64::from), parsed.expires_on.as_deref().map(str::trim)) {
        (Some(epoch), _) => u64::try_from(epoch)
            .ok()
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
            .ok_or_else(|| unparsable(format!("expires_on {epoch} is not a time")))?,
        (None, Some(text)) => parse_expires_on(text).ok_or_else(|| unparsable(format!("expiresOn {text:?} is not a time")))?,
        (None, None) => return Err(unparsable("no expiresOn".to_owned())),
    };
    let lifetime = now.lifetime_until(expiry);
    if lifetime == Duration::ZERO {
        return Err(Error::auth(format!("{auth_type}: {command} printed a token that has already expired: log in again with `az login`")));
    }
    let token = Token::new(&value, parsed.token_type.as_deref(), now, Some(lifetime));
    Ok(AccessToken { value, token_type: parsed.token_type, expires_at: token.expires_at })
}

/// `az`'s `expiresOn`, `2024-03-20 10:00:00.123456` in the local time of `az`, which runs with
/// `TZ=UTC0`: read as UTC.
fn parse_expires_on(text: &str) -> Option<SystemTime> {
    let (date, time_of_day) = text.split_once([' ', 'T'])?;
    crate::auth::refresh::parse_rfc3339(&format!("{date}T{}Z", time_of_day.trim_end_matches('Z')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_on_is_read_as_utc() {
        let at = |t: &str| parse_expires_on(t).map(|s| s.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("2024-03-20 10:00:00.123456"), Some(1_710_928_800));
        assert_eq!(at("2024-03-20 10:00:00"), Some(1_710_928_800));
        assert_eq!(at("2024-03-20T10:00:00"), Some(1_710_928_800));
        assert_eq!(at("soon"), None);
    }

    #[test]
    fn subscriptions_of_resource_ids() {
        assert_eq!(subscription_of("/subscriptions/abc/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/w"), Some("abc"));
        assert_eq!(subscription_of("invalid"), None);
        assert_eq!(subscription_of("/a/b/c"), None);
    }

    #[test]
    fn entra_answers_with_string_lifetimes_parse() {
        let body = br#"{"token_type":"Bearer","expires_in":"3599","expires_on":"1700000000","resource":"r","access_token":"eyJ.a.b"}"#;
        let now = Now::of(&crate::clock::SystemClock);
        let token = parse_entra_token("azure-msi", "imds", body, now).unwrap();
        assert_eq!(token.value.expose(), "eyJ.a.b");
        assert!(token.expires_at > Instant::now() + Duration::from_secs(3500));
        assert!(parse_entra_token("azure-msi", "imds", br#"{"token_type":"Bearer"}"#, now).is_err());
    }

    #[test]
    fn an_absolute_expiry_is_measured_on_the_clients_clock() {
        // A fake clock set to 2001-09-09: an expires_on an hour later is an hour away, whatever the real date.
        let now = Now { instant: Instant::now(), wall: UNIX_EPOCH + Duration::from_secs(1_000_000_000) };
        let body = br#"{"token_type":"Bearer","expires_on":1000003600,"access_token":"eyJ.a.b"}"#;
        let token = parse_entra_token("azure-msi", "imds", body, now).unwrap();
        assert_eq!(token.expires_at, now.instant + Duration::from_secs(3600));
        let expired = br#"{"token_type":"Bearer","expires_on":999999999,"access_token":"eyJ.a.b"}"#;
        assert!(parse_entra_token("azure-msi", "imds", expired, now).is_err());
    }
}
