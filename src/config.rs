//! Client configuration: the workspace host and how it is written.
//!
//! Host normalisation follows the official SDKs: `https://` is added when there is no scheme, a trailing
//! `/` and the default port `:443` are dropped.

use crate::error::{Error, Result};

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
    let port = match url.port() {
        Some(443) | None => String::new(),
        Some(p) => format!(":{p}"),
    };
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}://{name}{port}{path}", url.scheme()))
}

/// Whether a normalised host is on this machine (loopback), where plain `http://` is acceptable.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
