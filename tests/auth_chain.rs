//! The default credential chain: which provider an environment selects, and what the error says when
//! none is configured. No network I/O: selection only looks at attributes, the environment and `PATH`.

mod common;

use std::path::Path;

use databricks_tokens::WorkspaceClient;
use databricks_tokens::config::{AuthType, Config};

/// What `PATH` holds for a row.
#[derive(Clone, Copy)]
enum OnPath {
    Nothing,
    Cli,
    LegacyCli,
    Az,
    CliAndAz,
}

struct Row {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    path: OnPath,
    file: Option<&'static str>,
    expect: Result<AuthType, &'static [&'static str]>,
}

const HOST: (&str, &str) = ("DATABRICKS_HOST", "https://h.cloud.databricks.com");
const ACTIONS_URL: (&str, &str) = ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://token.actions.example/x?api-version=2.0");
const ACTIONS_TOKEN: (&str, &str) = ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "secret-actions-request-token");
const AZURE_HOST: (&str, &str) = ("DATABRICKS_HOST", "https://adb-123.4.azuredatabricks.net");
const GCP_HOST: (&str, &str) = ("DATABRICKS_HOST", "https://123.4.gcp.databricks.com");
const ARM_ID: (&str, &str) = ("ARM_CLIENT_ID", "00000000-0000-0000-0000-0000000000aa");
const ARM_SECRET: (&str, &str) = ("ARM_CLIENT_SECRET", "secret-arm-client");
const ARM_TENANT: (&str, &str) = ("ARM_TENANT_ID", "00000000-0000-0000-0000-0000000000bb");
const RESOURCE_ID: (&str, &str) =
    ("DATABRICKS_AZURE_RESOURCE_ID", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/w1");
const SA: (&str, &str) = ("DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "deployer@project.iam.gserviceaccount.com");

/// Secrets that the rows configure: none may appear in an error.
const SECRETS: &[&str] = &[
    "dapi-secret-pat",
    "secret-password",
    "secret-client",
    "secret-actions-request-token",
    "secret-jwt",
    "secret-metadata-path",
    "secret-arm-client",
    "PRIVATE KEY",
];

fn rows() -> Vec<Row> {
    use AuthType::*;
    use OnPath::*;
    vec![
        Row { name: "pat", env: &[HOST, ("DATABRICKS_TOKEN", "dapi-secret-pat")], path: Nothing, file: None, expect: Ok(Pat) },
        Row {
            name: "basic",
            env: &[HOST, ("DATABRICKS_USERNAME", "admin"), ("DATABRICKS_PASSWORD", "secret-password")],
            path: Nothing,
            file: None,
            expect: Ok(Basic),
        },
        Row {
            name: "oauth-m2m",
            env: &[HOST, ("DATABRICKS_CLIENT_ID", "id"), ("DATABRICKS_CLIENT_SECRET", "secret-client")],
            path: Nothing,
            file: None,
            expect: Ok(OAuthM2m),
        },
        Row { name: "the CLI on PATH", env: &[HOST], path: Cli, file: None, expect: Ok(DatabricksCli) },
        Row {
            name: "the CLI by DATABRICKS_CLI_PATH",
            env: &[HOST, ("DATABRICKS_CLI_PATH", "{dir}/bin/databricks")],
            path: Nothing,
            file: None,
            expect: Ok(DatabricksCli),
        },
        Row {
            name: "only the legacy CLI on PATH",
            env: &[HOST],
            path: LegacyCli,
            file: None,
            expect: Err(&["databricks-cli (", "is the legacy Python Databricks CLI (under 1 MiB)"]),
        },
        Row {
            name: "metadata service on loopback",
            env: &[HOST, ("DATABRICKS_METADATA_SERVICE_URL", "http://127.0.0.1:9/secret-metadata-path")],
            path: Nothing,
            file: None,
            expect: Ok(MetadataService),
        },
        Row {
            name: "metadata service elsewhere is refused",
            env: &[HOST, ("DATABRICKS_METADATA_SERVICE_URL", "http://10.1.2.3/secret-metadata-path")],
            path: Nothing,
            file: None,
            expect: Err(&["metadata-service (metadata_service_url must be an http(s) URL on this machine"]),
        },
        Row { name: "github actions", env: &[HOST, ACTIONS_URL, ACTIONS_TOKEN], path: Nothing, file: None, expect: Ok(GitHubOidc) },
        Row {
            name: "github actions without the request token",
            env: &[HOST, ACTIONS_URL],
            path: Nothing,
            file: None,
            expect: Err(&["github-oidc (no ACTIONS_ID_TOKEN_REQUEST_TOKEN)"]),
        },
        Row {
            name: "env-oidc, default variable",
            env: &[HOST, ("DATABRICKS_OIDC_TOKEN", "secret-jwt")],
            path: Nothing,
            file: None,
            expect: Ok(EnvOidc),
        },
        Row {
            name: "env-oidc, variable named by DATABRICKS_OIDC_TOKEN_ENV",
            env: &[HOST, ("DATABRICKS_OIDC_TOKEN_ENV", "MY_JWT"), ("MY_JWT", "secret-jwt")],
            path: Nothing,
            file: None,
            expect: Ok(EnvOidc),
        },
        Row {
            name: "env-oidc, the named variable is unset",
            env: &[HOST, ("DATABRICKS_OIDC_TOKEN_ENV", "MY_JWT"), ("DATABRICKS_OIDC_TOKEN", "secret-jwt-ignored")],
            path: Nothing,
            file: None,
            expect: Err(&["env-oidc (MY_JWT is not set)"]),
        },
        Row {
            name: "file-oidc",
            env: &[HOST, ("DATABRICKS_OIDC_TOKEN_FILEPATH", "{dir}/jwt")],
            path: Nothing,
            file: None,
            expect: Ok(FileOidc),
        },
        Row {
            name: "workload identity federation: a client id with an OIDC token is not a conflict",
            env: &[HOST, ("DATABRICKS_CLIENT_ID", "sp"), ("DATABRICKS_OIDC_TOKEN", "secret-jwt")],
            path: Nothing,
            file: None,
            expect: Ok(EnvOidc),
        },
        Row { name: "pat before the CLI", env: &[HOST, ("DATABRICKS_TOKEN", "dapi-secret-pat")], path: Cli, file: None, expect: Ok(Pat) },
        Row {
            name: "an installed CLI yields to an Azure service principal the environment names",
            env: &[AZURE_HOST, ARM_ID, ARM_SECRET, ARM_TENANT],
            path: Cli,
            file: None,
            expect: Ok(AzureClientSecret),
        },
        Row {
            name: "an installed CLI yields to a managed identity",
            env: &[AZURE_HOST, ("ARM_USE_MSI", "true")],
            path: Cli,
            file: None,
            expect: Ok(AzureMsi),
        },
        Row {
            name: "the CLI before github-oidc",
            env: &[HOST, ACTIONS_URL, ACTIONS_TOKEN],
            path: Cli,
            file: None,
            expect: Ok(DatabricksCli),
        },
        Row {
            name: "auth_type pins github-oidc over the CLI",
            env: &[HOST, ACTIONS_URL, ACTIONS_TOKEN, ("DATABRICKS_AUTH_TYPE", "github-oidc")],
            path: Cli,
            file: None,
            expect: Ok(GitHubOidc),
        },
        Row {
            name: "auth_type databricks-cli without a CLI",
            env: &[HOST, ("DATABRICKS_AUTH_TYPE", "databricks-cli")],
            path: Nothing,
            file: None,
            expect: Err(&["auth_type is databricks-cli but it is not configured: no \"databricks\" on PATH"]),
        },
        Row {
            name: "auth_type env-oidc without the variable",
            env: &[HOST, ("DATABRICKS_AUTH_TYPE", "env-oidc")],
            path: Nothing,
            file: None,
            expect: Err(&["auth_type is env-oidc but it is not configured: DATABRICKS_OIDC_TOKEN is not set"]),
        },
        Row {
            name: "two methods conflict",
            env: &[HOST, ("DATABRICKS_TOKEN", "dapi-secret-pat"), ("DATABRICKS_USERNAME", "u"), ("DATABRICKS_PASSWORD", "secret-password")],
            path: Nothing,
            file: None,
            expect: Err(&["more than one authorization method configured: basic and pat"]),
        },
        Row {
            name: "nothing configured: every provider and why it declined",
            env: &[HOST],
            path: Nothing,
            file: None,
            expect: Err(&[
                "cannot configure default credentials, please check https://docs.databricks.com",
                "Tried: pat (no token), basic (no username and no password), oauth-m2m (no client_id and no client_secret), \
                 databricks-cli (no \"databricks\" on PATH), metadata-service (no metadata_service_url), github-oidc (no \
                 ACTIONS_ID_TOKEN_REQUEST_URL",
                "env-oidc (DATABRICKS_OIDC_TOKEN is not set), file-oidc (no oidc_token_filepath), azure-msi (azure_use_msi \
                 (ARM_USE_MSI) is not true), azure-client-secret (no azure_client_id and no azure_client_secret), azure-cli \
                 (h.cloud.databricks.com is not an Azure Databricks host and no azure_workspace_resource_id is set), \
                 google-credentials (no google_credentials), google-id (no google_service_account). Config: \
                 host=https://h.cloud.databricks.com",
            ]),
        },
        Row {
            // The configuration needs a host before credentials are chosen from it: the error asks for it.
            name: "no host either: the host is asked for first",
            env: &[],
            path: Nothing,
            file: None,
            expect: Err(&["cannot configure default credentials", "no host is configured (DATABRICKS_HOST", "Config: nothing configured"]),
        },
        Row {
            name: "a profile written by `databricks auth login`",
            env: &[("DATABRICKS_CONFIG_PROFILE", "dev")],
            path: Cli,
            file: Some("[dev]\nhost = https://dev.cloud.databricks.com\nauth_type = databricks-cli\n"),
            expect: Ok(DatabricksCli),
        },
        Row {
            name: "basic from a profile",
            env: &[],
            path: Cli,
            file: Some("[DEFAULT]\nhost = https://h.com\nusername = admin\npassword = secret-password\n"),
            expect: Ok(Basic),
        },
        Row {
            name: "GitHub's variables are never read from a profile",
            env: &[],
            path: Nothing,
            file: Some(
                "[DEFAULT]\nhost = https://h.com\nactions_id_token_request_url = https://x\nactions_id_token_request_token = secret-actions-request-token\n",
            ),
            expect: Err(&["github-oidc (no ACTIONS_ID_TOKEN_REQUEST_URL"]),
        },
        Row {
            name: "an unknown auth_type lists the supported ones",
            env: &[HOST, ("DATABRICKS_AUTH_TYPE", "github-oidc-azure")],
            path: Nothing,
            file: None,
            expect: Err(&[
                "auth_type \"github-oidc-azure\" is not supported: use one of pat, basic, oauth-m2m, databricks-cli, metadata-service, \
                 github-oidc, env-oidc, file-oidc, azure-msi, azure-client-secret, azure-cli, google-credentials, google-id",
            ]),
        },
        // Azure
        Row {
            name: "azure-client-secret",
            env: &[AZURE_HOST, ARM_ID, ARM_SECRET, ARM_TENANT],
            path: Nothing,
            file: None,
            expect: Ok(AzureClientSecret),
        },
        Row {
            name: "azure-client-secret without a tenant (discovered from the workspace on the first request)",
            env: &[AZURE_HOST, ARM_ID, ARM_SECRET],
            path: Nothing,
            file: None,
            expect: Ok(AzureClientSecret),
        },
        Row {
            name: "azure-client-secret from a profile",
            env: &[],
            path: Nothing,
            file: Some(
                "[DEFAULT]\nhost = https://adb-1.2.azuredatabricks.net\nazure_client_id = app\nazure_client_secret = secret-arm-client\nazure_tenant_id = t\n",
            ),
            expect: Ok(AzureClientSecret),
        },
        Row {
            name: "azure-client-secret on any host with a workspace resource id",
            env: &[HOST, ARM_ID, ARM_SECRET, RESOURCE_ID],
            path: Nothing,
            file: None,
            expect: Ok(AzureClientSecret),
        },
        Row {
            name: "azure-client-secret declines on a host that is not Azure",
            env: &[HOST, ARM_ID, ARM_SECRET, ARM_TENANT],
            path: Nothing,
            file: None,
            expect: Err(&[
                "azure-client-secret (h.cloud.databricks.com is not an Azure Databricks host and no azure_workspace_resource_id is set)",
            ]),
        },
        Row {
            name: "azure-client-secret without a secret",
            env: &[AZURE_HOST, ARM_ID, ("DATABRICKS_AUTH_TYPE", "azure-client-secret")],
            path: Nothing,
            file: None,
            expect: Err(&["auth_type is azure-client-secret but it is not configured: no azure_client_secret"]),
        },
        Row { name: "azure-msi", env: &[AZURE_HOST, ("ARM_USE_MSI", "true")], path: Nothing, file: None, expect: Ok(AzureMsi) },
        Row {
            name: "azure-msi from a profile, with a user-assigned identity",
            env: &[],
            path: Nothing,
            file: Some("[DEFAULT]\nhost = https://adb-1.2.azuredatabricks.net\nazure_use_msi = true\nazure_client_id = identity\n"),
            expect: Ok(AzureMsi),
        },
        Row {
            name: "azure-msi comes before azure-client-secret",
            env: &[AZURE_HOST, ("ARM_USE_MSI", "1"), ARM_ID, ARM_SECRET],
            path: Nothing,
            file: None,
            expect: Ok(AzureMsi),
        },
        Row {
            name: "ARM_USE_MSI=false configures nothing: no conflict with a PAT",
            env: &[AZURE_HOST, ("DATABRICKS_TOKEN", "dapi-x"), ("ARM_USE_MSI", "false")],
            path: Nothing,
            file: None,
            expect: Ok(Pat),
        },
        Row {
            name: "ARM_USE_MSI=false does not keep the profile from being read",
            env: &[("ARM_USE_MSI", "0")],
            path: Nothing,
            file: Some("[DEFAULT]\nhost = https://adb-1.2.azuredatabricks.net\ntoken = dapi-x\n"),
            expect: Ok(Pat),
        },
        Row {
            name: "ARM_USE_MSI must be a boolean",
            env: &[AZURE_HOST, ("ARM_USE_MSI", "maybe")],
            path: Nothing,
            file: None,
            expect: Err(&["azure_use_msi = \"maybe\" (from env ARM_USE_MSI) is not a boolean"]),
        },
        Row { name: "azure-cli: az on PATH", env: &[AZURE_HOST], path: Az, file: None, expect: Ok(AzureCli) },
        Row {
            name: "azure-cli from a profile that names only the host",
            env: &[],
            path: Az,
            file: Some("[DEFAULT]\nhost = https://adb-1.2.databricks.azure.us\n"),
            expect: Ok(AzureCli),
        },
        Row {
            name: "azure-cli declines without az",
            env: &[AZURE_HOST],
            path: Nothing,
            file: None,
            expect: Err(&["azure-cli (no \"az\" (the Azure CLI) on PATH)"]),
        },
        Row {
            name: "the Databricks CLI comes before azure-cli",
            env: &[AZURE_HOST],
            path: CliAndAz,
            file: None,
            expect: Ok(DatabricksCli),
        },
        Row {
            name: "auth_type pins azure-cli over the Databricks CLI",
            env: &[AZURE_HOST, ("DATABRICKS_AUTH_TYPE", "azure-cli")],
            path: CliAndAz,
            file: None,
            expect: Ok(AzureCli),
        },
        Row {
            name: "ARM_ENVIRONMENT must agree with the host",
            env: &[AZURE_HOST, ARM_ID, ARM_SECRET, ("ARM_ENVIRONMENT", "china")],
            path: Nothing,
            file: None,
            expect: Err(&[
                "azure_environment (ARM_ENVIRONMENT) is china but the host https://adb-123.4.azuredatabricks.net is in the public Azure cloud",
            ]),
        },
        Row {
            name: "a resource id without a host",
            env: &[ARM_ID, ARM_SECRET, RESOURCE_ID],
            path: Nothing,
            file: None,
            expect: Err(&["no host configured", "it is not looked up from azure_workspace_resource_id"]),
        },
        // Google
        Row {
            name: "google-credentials: a key file",
            env: &[GCP_HOST, ("GOOGLE_CREDENTIALS", "{dir}/key.json")],
            path: Nothing,
            file: None,
            expect: Ok(GoogleCredentials),
        },
        Row {
            name: "google-credentials from a profile",
            env: &[],
            path: Nothing,
            file: Some("[DEFAULT]\nhost = https://1.2.gcp.databricks.com\ngoogle_credentials = {dir}/key.json\n"),
            expect: Ok(GoogleCredentials),
        },
        Row {
            name: "google-credentials declines on a host that is not Google Cloud",
            env: &[HOST, ("GOOGLE_CREDENTIALS", "{dir}/key.json")],
            path: Nothing,
            file: None,
            expect: Err(&["google-credentials (h.cloud.databricks.com is not a Databricks on Google Cloud host)"]),
        },
        Row { name: "google-id", env: &[GCP_HOST, SA], path: Nothing, file: None, expect: Ok(GoogleId) },
        Row {
            name: "google-id from a profile",
            env: &[],
            path: Nothing,
            file: Some("[DEFAULT]\nhost = https://1.2.gcp.databricks.com\ngoogle_service_account = sa@p.iam.gserviceaccount.com\n"),
            expect: Ok(GoogleId),
        },
        Row {
            name: "DATABRICKS_CLOUD makes any host Google Cloud",
            env: &[("DATABRICKS_HOST", "http://127.0.0.1:9"), ("DATABRICKS_CLOUD", "GCP"), SA],
            path: Nothing,
            file: None,
            expect: Ok(GoogleId),
        },
        Row {
            name: "an unknown cloud",
            env: &[HOST, ("DATABRICKS_CLOUD", "mars")],
            path: Nothing,
            file: None,
            expect: Err(&["cloud = \"mars\" is not a cloud: use AWS, Azure or GCP"]),
        },
        Row {
            name: "Azure and Google credentials conflict",
            env: &[AZURE_HOST, ARM_ID, ARM_SECRET, SA],
            path: Nothing,
            file: None,
            expect: Err(&["more than one authorization method configured: azure and google"]),
        },
    ]
}

fn environment(row: &Row, dir: &Path) -> Vec<(String, String)> {
    let dir_s = dir.display().to_string();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    common::fake_cli(&bin, "echo '{}'");
    let path_dir = dir.join("path");
    std::fs::create_dir_all(&path_dir).unwrap();
    match row.path {
        OnPath::Nothing => {}
        OnPath::Cli => drop(common::fake_cli(&path_dir, "echo '{}'")),
        OnPath::LegacyCli => drop(common::legacy_cli(&path_dir)),
        OnPath::Az => drop(common::fake_az(&path_dir, "exit 1")),
        OnPath::CliAndAz => {
            common::fake_cli(&path_dir, "echo '{}'");
            common::fake_az(&path_dir, "exit 1");
        }
    }
    std::fs::write(dir.join("key.json"), common::google_key_json("sa@p.iam.gserviceaccount.com", "https://oauth2.googleapis.com/token"))
        .unwrap();
    if let Some(text) = row.file {
        std::fs::write(dir.join(".databrickscfg"), text.replace("{dir}", &dir_s)).unwrap();
    }
    let mut env: Vec<(String, String)> = row.env.iter().map(|(k, v)| (k.to_string(), v.replace("{dir}", &dir_s))).collect();
    env.push(("HOME".into(), dir_s));
    env.push(("PATH".into(), path_dir.display().to_string()));
    env
}

#[test]
fn the_default_chain_table() {
    let rows = rows();
    assert!(rows.len() >= 50, "at least 50 environments");
    common::check_every_row(rows, |row| row.name.to_owned(), check_row);
}

fn check_row(row: Row) {
    let dir = tempfile::tempdir().unwrap();
    // The configuration resolves the attributes; `auth::select` chooses the method from them.
    let result = Config::builder()
        .env_vars(environment(&row, dir.path()))
        .build()
        .and_then(|config| databricks_tokens::auth::select(&config).map(|selected| (config, selected)));
    match (row.expect, result) {
        (Ok(auth), Ok((config, selected))) => {
            assert_eq!(selected, auth, "{}", row.name);
            // The client reports the provider actually used, and building it does no I/O.
            let w = WorkspaceClient::from_config(&config).unwrap_or_else(|e| panic!("{}: {e}", row.name));
            assert_eq!(w.auth_type(), auth.as_str(), "{}", row.name);
            assert!(w.user_agent().ends_with(&format!("auth/{auth}")), "{}: {}", row.name, w.user_agent());
            let debug = format!("{config:?} {w:?}");
            for secret in SECRETS {
                assert!(!debug.contains(secret), "{}: Debug leaks {secret}: {debug}", row.name);
            }
        }
        (Err(needles), Err(e)) => {
            let text = e.to_string();
            assert_eq!(e.kind(), databricks_tokens::ErrorKind::Config, "{}", row.name);
            for needle in needles {
                assert!(text.contains(needle), "{}: {needle:?} not in {text:?}", row.name);
            }
            for secret in SECRETS {
                assert!(!text.contains(secret) && !format!("{e:?}").contains(secret), "{}: {secret} in {text}", row.name);
            }
        }
        (Ok(auth), Err(e)) => panic!("{}: expected {auth}, got the error {e}", row.name),
        (Err(n), Ok((_, selected))) => panic!("{}: expected an error with {n:?}, got {selected}", row.name),
    }
}
