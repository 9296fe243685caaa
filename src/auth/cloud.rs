//! Which cloud a workspace runs on, and the Azure cloud's endpoints, decided as the Go SDK decides
//! (`config/environments.go`, `common/environment/`), from the configuration alone (no network I/O).
//!
//! - **Azure** when `azure_workspace_resource_id` is set, else when `cloud` says so, else when the host is
//!   in an Azure Databricks DNS zone (`.azuredatabricks.net`, `.databricks.azure.us`,
//!   `.databricks.azure.cn`).
//! - **Google Cloud** when `cloud` says so, else when the host ends with `.gcp.databricks.com`.
//!
//! The Azure cloud (public, US Government, China) comes from the host's zone; for a host in no known zone
//! (a private link alias, a local test workspace) from `azure_environment` (`ARM_ENVIRONMENT`), default
//! public. A host zone and an `ARM_ENVIRONMENT` that disagree are a configuration error.

use crate::config::{Values, normalize_host};

/// The AzureDatabricks first-party application: the resource (audience) of Entra ID tokens for workspaces.
///
/// The workspaces of the dev and staging zones use other applications, as in the Go SDK.
pub(crate) const AZURE_DATABRICKS_APP_ID: &str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";

/// An Azure cloud's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AzureCloud {
    /// The name `ARM_ENVIRONMENT` uses.
    pub(crate) name: &'static str,
    /// Microsoft Entra ID, with a trailing `/`.
    pub(crate) login: &'static str,
    /// The service management resource, whose token goes in `X-Databricks-Azure-SP-Management-Token`.
    pub(crate) management: &'static str,
}

pub(crate) const PUBLIC: AzureCloud =
    AzureCloud { name: "public", login: "https://login.microsoftonline.com/", management: "https://management.core.windows.net/" };
pub(crate) const US_GOVERNMENT: AzureCloud = AzureCloud {
    name: "usgovernment",
    login: "https://login.microsoftonline.us/",
    management: "https://management.core.usgovcloudapi.net/",
};
pub(crate) const CHINA: AzureCloud =
    AzureCloud { name: "china", login: "https://login.chinacloudapi.cn/", management: "https://management.core.chinacloudapi.cn/" };

/// Azure Databricks DNS zones: the cloud and the application id of workspace tokens, most specific first.
const AZURE_ZONES: &[(&str, AzureCloud, &str)] = &[
    (".dev.azuredatabricks.net", PUBLIC, "62a912ac-b58e-4c1d-89ea-b2dbfc7358fc"),
    (".staging.azuredatabricks.net", PUBLIC, "4a67d088-db5c-48f1-9ff2-0aace800ae68"),
    (".azuredatabricks.net", PUBLIC, AZURE_DATABRICKS_APP_ID),
    (".databricks.azure.us", US_GOVERNMENT, AZURE_DATABRICKS_APP_ID),
    (".databricks.azure.cn", CHINA, AZURE_DATABRICKS_APP_ID),
];

/// Databricks on Google Cloud's DNS zone (its dev and staging zones end the same way).
const GCP_ZONE: &str = ".gcp.databricks.com";

/// A cloud `DATABRICKS_CLOUD` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    Aws,
    Azure,
    Gcp,
}

fn parse_cloud(v: &str) -> Option<Cloud> {
    match v.trim().to_ascii_uppercase().as_str() {
        "AWS" => Some(Cloud::Aws),
        "AZURE" => Some(Cloud::Azure),
        "GCP" => Some(Cloud::Gcp),
        _ => None,
    }
}

fn parse_azure_environment(v: &str) -> Option<AzureCloud> {
    match v.trim().to_ascii_lowercase().as_str() {
        "public" | "azurecloud" | "azurepubliccloud" => Some(PUBLIC),
        "usgovernment" | "usgov" | "azureusgovernment" | "azureusgovernmentcloud" => Some(US_GOVERNMENT),
        "china" | "azurechinacloud" => Some(CHINA),
        _ => None,
    }
}

/// The host name of a configured host, lower-case, if it has one.
fn host_name(values: &Values) -> Option<String> {
    let host = normalize_host(&values.get("host")?.0).ok()?;
    reqwest::Url::parse(&host).ok()?.host_str().map(str::to_ascii_lowercase)
}

fn zone_of(values: &Values) -> Option<(AzureCloud, &'static str)> {
    let name = host_name(values)?;
    AZURE_ZONES.iter().find(|(zone, _, _)| name.ends_with(zone)).map(|(_, cloud, app)| (*cloud, *app))
}

fn value<'a>(values: &'a Values, key: &str) -> Option<&'a str> {
    values.get(key).map(|(v, _)| v.as_str())
}

/// Checks `cloud` and `azure_environment` (called when a configuration is built).
pub(crate) fn validate(values: &Values, host: &str) -> std::result::Result<(), String> {
    if let Some(v) = value(values, "cloud")
        && parse_cloud(v).is_none()
    {
        return Err(format!("cloud = {v:?} is not a cloud: use AWS, Azure or GCP"));
    }
    if let Some(v) = value(values, "azure_environment") {
        let Some(named) = parse_azure_environment(v) else {
            return Err(format!("azure_environment (ARM_ENVIRONMENT) = {v:?} is not an Azure cloud: use public, usgovernment or china"));
        };
        if let Some((zone, _)) = zone_of(values)
            && zone != named
        {
            return Err(format!(
                "azure_environment (ARM_ENVIRONMENT) is {} but the host {host} is in the {} Azure cloud: unset it or fix the host",
                named.name, zone.name
            ));
        }
    }
    Ok(())
}

/// Whether the workspace runs on Azure; `Err` says why not, for the chain's listing.
pub(crate) fn is_azure(values: &Values) -> std::result::Result<(), String> {
    if values.contains_key("azure_workspace_resource_id") {
        return Ok(());
    }
    if let Some(cloud) = value(values, "cloud").and_then(parse_cloud) {
        return if cloud == Cloud::Azure { Ok(()) } else { Err(format!("cloud is {cloud:?}, not Azure")) };
    }
    match (zone_of(values), host_name(values)) {
        (Some(_), _) => Ok(()),
        (None, Some(name)) => Err(format!("{name} is not an Azure Databricks host and no azure_workspace_resource_id is set")),
        (None, None) => Err("no host".to_owned()),
    }
}

/// Whether the workspace runs on Google Cloud; `Err` says why not.
pub(crate) fn is_gcp(values: &Values) -> std::result::Result<(), String> {
    if let Some(cloud) = value(values, "cloud").and_then(parse_cloud) {
        return if cloud == Cloud::Gcp { Ok(()) } else { Err(format!("cloud is {cloud:?}, not GCP")) };
    }
    match host_name(values) {
        Some(name) if name.ends_with(GCP_ZONE) => Ok(()),
        Some(name) => Err(format!("{name} is not a Databricks on Google Cloud host")),
        None => Err("no host".to_owned()),
    }
}

/// The Azure cloud of a workspace and the application id its tokens are for.
pub(crate) fn azure_cloud(values: &Values) -> (AzureCloud, &'static str) {
    zone_of(values).unwrap_or_else(|| {
        let named = value(values, "azure_environment").and_then(parse_azure_environment).unwrap_or(PUBLIC);
        (named, AZURE_DATABRICKS_APP_ID)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn values(pairs: &[(&'static str, &str)]) -> Values {
        pairs.iter().map(|(k, v)| (*k, (v.to_string(), Source::Explicit))).collect()
    }

    #[test]
    fn clouds_from_hosts_and_attributes() {
        assert!(is_azure(&values(&[("host", "adb-1.2.azuredatabricks.net")])).is_ok());
        assert!(is_azure(&values(&[("host", "https://x.databricks.azure.cn/")])).is_ok());
        assert!(is_azure(&values(&[("host", "https://x.cloud.databricks.com"), ("azure_workspace_resource_id", "/s/x")])).is_ok());
        assert!(is_azure(&values(&[("host", "http://127.0.0.1:1"), ("cloud", "azure")])).is_ok());
        let why = is_azure(&values(&[("host", "https://x.cloud.databricks.com")])).unwrap_err();
        assert!(why.contains("x.cloud.databricks.com is not an Azure Databricks host"), "{why}");
        assert!(is_azure(&values(&[("host", "https://adb-1.azuredatabricks.net"), ("cloud", "GCP")])).is_err());
        assert!(is_gcp(&values(&[("host", "https://1.2.gcp.databricks.com")])).is_ok());
        assert!(is_gcp(&values(&[("host", "https://1.azuredatabricks.net")])).is_err());
        assert!(is_gcp(&values(&[("host", "http://localhost:9"), ("cloud", "gcp")])).is_ok());
    }

    #[test]
    fn the_azure_cloud_comes_from_the_zone_then_arm_environment() {
        assert_eq!(azure_cloud(&values(&[("host", "https://a.databricks.azure.us")])), (US_GOVERNMENT, AZURE_DATABRICKS_APP_ID));
        assert_eq!(azure_cloud(&values(&[("host", "https://a.dev.azuredatabricks.net")])).1, "62a912ac-b58e-4c1d-89ea-b2dbfc7358fc");
        assert_eq!(azure_cloud(&values(&[("host", "http://127.0.0.1:1"), ("azure_environment", "CHINA")])).0, CHINA);
        assert_eq!(azure_cloud(&values(&[("host", "http://127.0.0.1:1")])).0, PUBLIC);
        let conflict = values(&[("host", "https://a.azuredatabricks.net"), ("azure_environment", "usgov")]);
        assert!(validate(&conflict, "https://a.azuredatabricks.net").unwrap_err().contains("in the public Azure cloud"));
        assert!(validate(&values(&[("azure_environment", "mars")]), "h").is_err());
        assert!(validate(&values(&[("cloud", "mars")]), "h").is_err());
    }
}
