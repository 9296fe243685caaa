//! Client configuration resolved the way every Databricks tool resolves it.
//!
//! Sources, first match wins for each attribute: explicit values (the [`ConfigBuilder`]) → environment
//! variables → a profile of the config file (`~/.databrickscfg`, INI). Attribute names are the INI keys.
//!
//! | attribute | environment | INI key |
//! |---|---|---|
//! | host | `DATABRICKS_HOST` | `host` |
//! | token | `DATABRICKS_TOKEN` | `token` |
//! | client_id | `DATABRICKS_CLIENT_ID` | `client_id` |
//! | client_secret | `DATABRICKS_CLIENT_SECRET` | `client_secret` |
//! | profile | `DATABRICKS_CONFIG_PROFILE` | — |
//! | config_file | `DATABRICKS_CONFIG_FILE` | — |
//! | auth_type | `DATABRICKS_AUTH_TYPE` | `auth_type` |
//! | workspace_id | `DATABRICKS_WORKSPACE_ID` | `workspace_id` |
//! | account_id | `DATABRICKS_ACCOUNT_ID` | `account_id` |
//! | rate_limit | `DATABRICKS_RATE_LIMIT` | `rate_limit` |
//! | http_timeout_seconds | `DATABRICKS_HTTP_TIMEOUT_SECONDS` | `http_timeout_seconds` |
//! | retry_timeout_seconds | `DATABRICKS_RETRY_TIMEOUT_SECONDS` | `retry_timeout_seconds` |
//!
//! The profile: the explicit one (builder or `DATABRICKS_CONFIG_PROFILE`), else `[__settings__]
//! default_profile`, else `[DEFAULT]`. `[DEFAULT]` is **not** merged into other profiles. An explicit or
//! `default_profile` profile that does not exist is an error; a missing `[DEFAULT]` is not. The file is
//! not read at all when no profile is named and a host or credentials are already set. Inline comments
//! follow the Databricks CLI: whitespace then `#` or `;` starts a comment; a `#` inside a value (a secret
//! may hold one) is kept.
//!
//! Host normalisation follows the official SDKs: `https://` is added when there is no scheme, a trailing
//! `/` and the default port `:443` are dropped.
//!
//! Every error ends with a debug string of which attribute came from where, secrets as `***`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Where the unified-auth documentation lives; errors point there.
pub const UNIFIED_AUTH_DOCS: &str = "https://docs.databricks.com/en/dev-tools/auth.html#databricks-client-unified-authentication";

/// An authentication method this crate supports.
///
/// ```
/// use databricks_tokens::config::AuthType;
/// assert_eq!("oauth-m2m".parse::<AuthType>().ok(), Some(AuthType::OAuthM2m));
/// assert_eq!(AuthType::Pat.to_string(), "pat");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthType {
    /// A personal access token (`token`).
    Pat,
    /// OAuth machine-to-machine for a service principal (`client_id` + `client_secret`).
    OAuthM2m,
}

impl AuthType {
    /// The name used by `auth_type` and in the `User-Agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pat => "pat",
            Self::OAuthM2m => "oauth-m2m",
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuthType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "pat" => Ok(Self::Pat),
            "oauth-m2m" => Ok(Self::OAuthM2m),
            other => Err(Error::config(format!("auth_type {other:?} is not supported: use \"pat\" or \"oauth-m2m\""))),
        }
    }
}

/// Where an attribute's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Set in code.
    Explicit,
    /// An environment variable.
    Env(&'static str),
    /// A profile of a config file.
    File {
        /// The file.
        path: PathBuf,
        /// The profile (INI section).
        profile: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit => f.write_str("explicit"),
            Self::Env(var) => write!(f, "env {var}"),
            Self::File { path, profile } => write!(f, "{} [{profile}]", path.display()),
        }
    }
}

/// One attribute: its INI key, its environment variable, whether it is secret.
struct Attr {
    key: &'static str,
    env: &'static str,
    secret: bool,
}

const ATTRS: &[Attr] = &[
    Attr { key: "host", env: "DATABRICKS_HOST", secret: false },
    Attr { key: "token", env: "DATABRICKS_TOKEN", secret: true },
    Attr { key: "client_id", env: "DATABRICKS_CLIENT_ID", secret: false },
    Attr { key: "client_secret", env: "DATABRICKS_CLIENT_SECRET", secret: true },
    Attr { key: "profile", env: "DATABRICKS_CONFIG_PROFILE", secret: false },
    Attr { key: "config_file", env: "DATABRICKS_CONFIG_FILE", secret: false },
    Attr { key: "auth_type", env: "DATABRICKS_AUTH_TYPE", secret: false },
    Attr { key: "workspace_id", env: "DATABRICKS_WORKSPACE_ID", secret: false },
    Attr { key: "account_id", env: "DATABRICKS_ACCOUNT_ID", secret: false },
    Attr { key: "rate_limit", env: "DATABRICKS_RATE_LIMIT", secret: false },
    Attr { key: "http_timeout_seconds", env: "DATABRICKS_HTTP_TIMEOUT_SECONDS", secret: false },
    Attr { key: "retry_timeout_seconds", env: "DATABRICKS_RETRY_TIMEOUT_SECONDS", secret: false },
];

/// Keys that are never read from a profile (they choose the profile).
const NOT_IN_FILE: &[&str] = &["profile", "config_file"];
/// Keys whose presence means "credentials are already configured".
const AUTH_KEYS: &[&str] = &["token", "client_id", "client_secret"];

/// A resolved configuration: every attribute with its source.
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::config::Config;
/// let config = Config::builder().profile("prod").build()?;
/// println!("{} via {}", config.host(), config.auth_type());
/// # Ok(()) }
/// ```
///
/// `Debug` shows every attribute and its source, secrets as `***`.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    values: BTreeMap<&'static str, (String, Source)>,
    host: String,
    auth_type: AuthType,
}

impl Config {
    /// Starts a configuration with explicit values; [`ConfigBuilder::build`] fills in the rest.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Resolves from the environment and the config file alone: the Rust `WorkspaceClient()`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    /// The normalised workspace URL.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The authentication method in use.
    pub fn auth_type(&self) -> AuthType {
        self.auth_type
    }
    /// The personal access token, when one is configured.
    pub fn token(&self) -> Option<SecretString> {
        self.get("token").map(SecretString::from)
    }
    /// The service principal's client id.
    pub fn client_id(&self) -> Option<&str> {
        self.get("client_id")
    }
    /// The service principal's secret.
    pub fn client_secret(&self) -> Option<SecretString> {
        self.get("client_secret").map(SecretString::from)
    }
    /// The workspace id, sent as `X-Databricks-Workspace-Id`.
    pub fn workspace_id(&self) -> Option<&str> {
        self.get("workspace_id")
    }
    /// The account id (kept for tools that need it; the Tokens API does not).
    pub fn account_id(&self) -> Option<&str> {
        self.get("account_id")
    }
    /// The profile the values were read from, when the file was read.
    pub fn profile(&self) -> Option<&str> {
        self.values.values().find_map(|(_, s)| match s {
            Source::File { profile, .. } => Some(profile.as_str()),
            _ => None,
        })
    }
    /// The client-side request rate limit, requests per second.
    pub fn rate_limit(&self) -> Option<f64> {
        self.get("rate_limit").and_then(|v| v.parse().ok())
    }
    /// The per-attempt HTTP timeout.
    pub fn http_timeout(&self) -> Option<std::time::Duration> {
        self.get("http_timeout_seconds").and_then(seconds)
    }
    /// The overall retry budget of a call.
    pub fn retry_timeout(&self) -> Option<std::time::Duration> {
        self.get("retry_timeout_seconds").and_then(seconds)
    }
    /// Where an attribute (by INI key) came from.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key).map(|(_, s)| s)
    }

    /// `host=https://x (env DATABRICKS_HOST), token=*** (~/.databrickscfg [DEFAULT])`.
    pub fn debug_string(&self) -> String {
        debug_string(&self.values)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Config {{ {} }}", self.debug_string())
    }
}

fn debug_string(values: &BTreeMap<&'static str, (String, Source)>) -> String {
    let shown: Vec<String> = ATTRS
        .iter()
        .filter_map(|a| {
            let (v, source) = values.get(a.key)?;
            let v = if a.secret { "***" } else { v.as_str() };
            Some(format!("{}={v} ({source})", a.key))
        })
        .collect();
    if shown.is_empty() { "nothing configured".to_owned() } else { shown.join(", ") }
}

/// Explicit configuration values and where to look for the rest.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::config::{AuthType, Config};
/// let config = Config::builder()
///     .host("adb-123.4.azuredatabricks.net/")
///     .token("dapi-example")
///     .env_vars(Vec::<(String, String)>::new()) // ignore the process environment (tests)
///     .build()?;
/// assert_eq!(config.host(), "https://adb-123.4.azuredatabricks.net");
/// assert_eq!(config.auth_type(), AuthType::Pat);
/// # Ok(()) }
/// ```
#[derive(Default, Clone)]
#[must_use]
pub struct ConfigBuilder {
    explicit: BTreeMap<&'static str, String>,
    env: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.explicit.iter().map(|(k, v)| (*k, (v.clone(), Source::Explicit))).collect();
        write!(f, "ConfigBuilder {{ {} }}", debug_string(&values))
    }
}

macro_rules! setter {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.explicit.insert(stringify!($name), value.into());
            self
        }
    )*};
}

impl ConfigBuilder {
    setter! {
        /// The workspace URL.
        host,
        /// The service principal's client id (OAuth M2M).
        client_id,
        /// The profile of the config file to read.
        profile,
        /// The authentication method to use, pinning it: `pat` or `oauth-m2m`.
        auth_type,
        /// The workspace id, sent as `X-Databricks-Workspace-Id`.
        workspace_id,
        /// The account id.
        account_id,
    }

    /// A personal access token.
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.explicit.insert("token", token.into().expose().to_owned());
        self
    }
    /// The service principal's secret (OAuth M2M).
    pub fn client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.explicit.insert("client_secret", secret.into().expose().to_owned());
        self
    }
    /// The config file to read instead of `~/.databrickscfg`.
    pub fn config_file(mut self, path: impl AsRef<Path>) -> Self {
        self.explicit.insert("config_file", path.as_ref().display().to_string());
        self
    }
    /// Requests per second at most.
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.explicit.insert("rate_limit", per_second.to_string());
        self
    }
    /// Per-attempt HTTP timeout, in seconds.
    pub fn http_timeout_seconds(mut self, seconds: u64) -> Self {
        self.explicit.insert("http_timeout_seconds", seconds.to_string());
        self
    }
    /// Overall retry budget of a call, in seconds.
    pub fn retry_timeout_seconds(mut self, seconds: u64) -> Self {
        self.explicit.insert("retry_timeout_seconds", seconds.to_string());
        self
    }
    /// Reads these variables instead of the process environment (`HOME` included): for tests.
    pub fn env_vars<K: Into<String>, V: Into<String>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.env = Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    fn env(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.is_empty())
    }

    /// Resolves explicit values, then the environment, then the config file; checks the result.
    /// Reads a file but does no network I/O.
    pub fn build(self) -> Result<Config> {
        let mut values: BTreeMap<&'static str, (String, Source)> = BTreeMap::new();
        for attr in ATTRS {
            if let Some(v) = self.explicit.get(attr.key) {
                values.insert(attr.key, (v.clone(), Source::Explicit));
            } else if let Some(v) = self.env(attr.env) {
                values.insert(attr.key, (v, Source::Env(attr.env)));
            }
        }
        let fail = |values: &BTreeMap<&'static str, (String, Source)>, message: String| {
            Error::config(format!("{message}. Config: {}", debug_string(values)))
        };
        self.read_profile(&mut values).map_err(|m| fail(&values, m))?;
        let host = match values.get("host") {
            Some((h, _)) => normalize_host(h).map_err(|e| fail(&values, e.message().to_owned()))?,
            None if values.keys().any(|k| AUTH_KEYS.contains(k)) => {
                return Err(fail(&values, "no host configured: set DATABRICKS_HOST or host in the profile".to_owned()));
            }
            None => {
                return Err(fail(
                    &values,
                    format!(
                        "cannot configure default credentials, please check {UNIFIED_AUTH_DOCS} to configure credentials for your preferred authentication method"
                    ),
                ));
            }
        };
        for key in ["rate_limit", "http_timeout_seconds", "retry_timeout_seconds"] {
            if let Some((v, source)) = values.get(key) {
                let ok = v.trim().parse::<f64>().is_ok_and(|n| n.is_finite() && n > 0.0) && (key == "rate_limit" || seconds(v).is_some());
                if !ok {
                    return Err(fail(&values, format!("{key} = {v:?} (from {source}) is not a positive number")));
                }
            }
        }
        let auth_type = resolve_auth(&values).map_err(|m| fail(&values, m))?;
        Ok(Config { values, host, auth_type })
    }

    /// Fills attributes still unset from the chosen profile of the config file.
    fn read_profile(&self, values: &mut BTreeMap<&'static str, (String, Source)>) -> std::result::Result<(), String> {
        let named = values.get("profile").map(|(p, _)| p.clone());
        let already_configured = values.contains_key("host") || values.keys().any(|k| AUTH_KEYS.contains(k));
        if named.is_none() && already_configured {
            return Ok(());
        }
        let path = match values.get("config_file") {
            Some((p, _)) => expand_home(p, self.env("HOME")),
            None => match self.env("HOME") {
                Some(home) => Path::new(&home).join(".databrickscfg"),
                None => {
                    return named
                        .map_or(Ok(()), |p| Err(format!("profile {p:?} was asked for but HOME is not set to find ~/.databrickscfg")));
                }
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match named {
                    Some(p) => Err(format!("profile {p:?} was asked for but the config file {} does not exist", path.display())),
                    None => Ok(()),
                };
            }
            Err(e) => return Err(format!("cannot read the config file {}: {e}", path.display())),
        };
        let options = ini::ParseOption { enabled_quote: false, enabled_escape: false, ..Default::default() };
        let ini =
            ini::Ini::load_from_str_opt(&text, options).map_err(|e| format!("the config file {} is not valid INI: {e}", path.display()))?;
        let default_profile =
            ini.section(Some("__settings__")).and_then(|s| s.get("default_profile")).map(str::trim).filter(|p| !p.is_empty());
        let (profile, must_exist) = match (&named, default_profile) {
            (Some(p), _) => (p.clone(), true),
            (None, Some(p)) => (p.to_owned(), true),
            (None, None) => ("DEFAULT".to_owned(), false),
        };
        let Some(section) = ini.section(Some(profile.as_str())) else {
            if !must_exist {
                return Ok(());
            }
            let mut names: Vec<&str> = ini.sections().flatten().filter(|s| *s != "__settings__").collect();
            names.sort_unstable();
            names.dedup();
            return Err(format!("profile {profile:?} not found in {} (profiles: {})", path.display(), names.join(", ")));
        };
        for attr in ATTRS {
            if values.contains_key(attr.key) || NOT_IN_FILE.contains(&attr.key) {
                continue;
            }
            if let Some(v) = section.get(attr.key).map(str::trim).filter(|v| !v.is_empty()) {
                values.insert(attr.key, (v.to_owned(), Source::File { path: path.clone(), profile: profile.clone() }));
            }
        }
        Ok(())
    }
}

/// A number of seconds as a duration; `None` when it is not a positive number a `Duration` can hold.
fn seconds(v: &str) -> Option<std::time::Duration> {
    v.trim().parse::<f64>().ok().and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
}

fn expand_home(path: &str, home: Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn resolve_auth(values: &BTreeMap<&'static str, (String, Source)>) -> std::result::Result<AuthType, String> {
    let has = |k: &str| values.contains_key(k);
    if let Some((pinned, _)) = values.get("auth_type") {
        let auth: AuthType = pinned.parse().map_err(|e: Error| e.message().to_owned())?;
        let missing: Vec<&str> = match auth {
            AuthType::Pat => ["token"].into_iter().filter(|k| !has(k)).collect(),
            AuthType::OAuthM2m => ["client_id", "client_secret"].into_iter().filter(|k| !has(k)).collect(),
        };
        if !missing.is_empty() {
            return Err(format!("auth_type is {auth} but {} is not configured", missing.join(" and ")));
        }
        return Ok(auth);
    }
    let mut methods = Vec::new();
    if has("client_id") && has("client_secret") {
        methods.push("oauth");
    }
    if has("token") {
        methods.push("pat");
    }
    match methods.as_slice() {
        ["pat"] => Ok(AuthType::Pat),
        ["oauth"] => Ok(AuthType::OAuthM2m),
        [] if has("client_id") || has("client_secret") => {
            let missing = if has("client_id") { "client_secret" } else { "client_id" };
            Err(format!("oauth-m2m needs both client_id and client_secret: {missing} is not configured"))
        }
        [] => Err(format!(
            "cannot configure default credentials, please check {UNIFIED_AUTH_DOCS} to configure credentials for your preferred authentication method"
        )),
        several => Err(format!(
            "more than one authorization method configured: {}. Set auth_type (DATABRICKS_AUTH_TYPE) to pick one",
            several.join(" and ")
        )),
    }
}

/// Normalises a workspace host the way the official SDKs do.
///
/// ```
/// use databricks_tokens::config::normalize_host;
/// # fn main() -> databricks_tokens::Result<()> {
/// assert_eq!(normalize_host("adb-1.azuredatabricks.net/")?, "https://adb-1.azuredatabricks.net");
/// assert_eq!(normalize_host("https://example.cloud.databricks.com:443")?, "https://example.cloud.databricks.com");
/// assert_eq!(normalize_host("http://127.0.0.1:8080")?, "http://127.0.0.1:8080");
/// # Ok(()) }
/// ```
///
/// Errors when the host is empty or not a URL.
pub fn normalize_host(host: &str) -> Result<String> {
    let host = host.trim();
    if host.is_empty() {
        return Err(Error::config("host is empty: set it to your workspace URL, e.g. https://adb-123.4.azuredatabricks.net"));
    }
    let with_scheme = if host.contains("://") { host.to_owned() } else { format!("https://{host}") };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| Error::config(format!("host {host:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!("host {host:?} must use https:// (or http:// for a local workspace)")));
    }
    let Some(name) = url.host_str() else {
        return Err(Error::config(format!("host {host:?} has no host name")));
    };
    // `url` already drops a port that is the scheme's default (`:443` for https).
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}://{name}{port}{path}", url.scheme()))
}

/// Whether credentials may be sent to `url`: over https, or over plain http to this machine (loopback)
/// or when the user opted in.
pub(crate) fn may_carry_credentials(url: &reqwest::Url, allow_insecure_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_insecure_http || is_loopback(url),
        _ => false,
    }
}

/// Whether a URL is on this machine (loopback).
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
