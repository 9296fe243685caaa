//! Configuration resolution (the `config` module doc): explicit → environment → config file profile.

mod common;

use databricks_tokens::config::{AuthType, Config, ConfigBuilder, Source};

/// One scenario: environment, `~/.databrickscfg`, explicit values, and the expected outcome.
struct Case {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    file: Option<&'static str>,
    explicit: fn(ConfigBuilder) -> ConfigBuilder,
    expect: Expect,
}

enum Expect {
    Ok { host: &'static str, auth: AuthType, check: fn(&Config) },
    Err(&'static [&'static str]),
}

fn same(b: ConfigBuilder) -> ConfigBuilder {
    b
}
fn nothing(_: &Config) {}

const PROFILES: &str = "\
[DEFAULT]
host = https://default.cloud.databricks.com
token = dapi-default

[dev]
host = dev.cloud.databricks.com/
token = dapi-dev

[sp]
host = https://sp.cloud.databricks.com
client_id = sp-id
client_secret = sp-secret
";

fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        Case {
            name: "env only, pat",
            env: &[("DATABRICKS_HOST", "env.cloud.databricks.com"), ("DATABRICKS_TOKEN", "dapi-env")],
            file: None,
            explicit: same,
            expect: Ok {
                host: "https://env.cloud.databricks.com",
                auth: AuthType::Pat,
                check: |c| assert_eq!(c.source("host"), Some(&Source::Env("DATABRICKS_HOST"))),
            },
        },
        Case {
            name: "env only, oauth",
            env: &[("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_CLIENT_ID", "id"), ("DATABRICKS_CLIENT_SECRET", "s")],
            file: None,
            explicit: same,
            expect: Ok { host: "https://h.com", auth: AuthType::OAuthM2m, check: |c| assert_eq!(c.client_id(), Some("id")) },
        },
        Case {
            name: "file only, DEFAULT",
            env: &[],
            file: Some(PROFILES),
            explicit: same,
            expect: Ok {
                host: "https://default.cloud.databricks.com",
                auth: AuthType::Pat,
                check: |c| assert_eq!(c.profile(), Some("DEFAULT")),
            },
        },
        Case {
            name: "profile from env",
            env: &[("DATABRICKS_CONFIG_PROFILE", "dev")],
            file: Some(PROFILES),
            explicit: same,
            expect: Ok {
                host: "https://dev.cloud.databricks.com",
                auth: AuthType::Pat,
                check: |c| assert_eq!(c.token().unwrap().expose(), "dapi-dev"),
            },
        },
        Case {
            name: "explicit profile beats env profile",
            env: &[("DATABRICKS_CONFIG_PROFILE", "dev")],
            file: Some(PROFILES),
            explicit: |b| b.profile("sp"),
            expect: Ok { host: "https://sp.cloud.databricks.com", auth: AuthType::OAuthM2m, check: nothing },
        },
        Case {
            name: "[__settings__] default_profile",
            env: &[],
            file: Some(
                "[__settings__]\ndefault_profile = dev\n\n[DEFAULT]\nhost = https://d.com\ntoken = a\n\n[dev]\nhost = https://dev.com\ntoken = b\n",
            ),
            explicit: same,
            expect: Ok { host: "https://dev.com", auth: AuthType::Pat, check: |c| assert_eq!(c.profile(), Some("dev")) },
        },
        Case {
            name: "default_profile naming a missing profile",
            env: &[],
            file: Some("[__settings__]\ndefault_profile = ghost\n\n[DEFAULT]\nhost = https://d.com\ntoken = a\n"),
            explicit: same,
            expect: Err(&["profile \"ghost\" not found in", "(profiles: DEFAULT)"]),
        },
        Case {
            name: "missing explicit profile",
            env: &[],
            file: Some(PROFILES),
            explicit: |b| b.profile("prod"),
            expect: Err(&["profile \"prod\" not found in", ".databrickscfg (profiles: DEFAULT, dev, sp)"]),
        },
        Case {
            name: "missing DEFAULT is not an error of its own",
            env: &[],
            file: Some("[dev]\nhost = https://dev.com\ntoken = b\n"),
            explicit: same,
            expect: Err(&["cannot configure default credentials", "docs.databricks.com"]),
        },
        Case {
            name: "DEFAULT is not merged into other profiles",
            env: &[],
            file: Some("[DEFAULT]\ntoken = dapi-default\n\n[dev]\nhost = https://dev.com\n"),
            explicit: |b| b.profile("dev"),
            expect: Err(&["cannot configure default credentials", "host=https://dev.com ("]),
        },
        Case {
            name: "two auth methods conflict",
            env: &[
                ("DATABRICKS_HOST", "https://h.com"),
                ("DATABRICKS_TOKEN", "t"),
                ("DATABRICKS_CLIENT_ID", "id"),
                ("DATABRICKS_CLIENT_SECRET", "s"),
            ],
            file: None,
            explicit: same,
            expect: Err(&["more than one authorization method configured: oauth and pat"]),
        },
        Case {
            name: "auth_type pins one of two methods",
            env: &[
                ("DATABRICKS_HOST", "https://h.com"),
                ("DATABRICKS_TOKEN", "t"),
                ("DATABRICKS_CLIENT_ID", "id"),
                ("DATABRICKS_CLIENT_SECRET", "s"),
                ("DATABRICKS_AUTH_TYPE", "oauth-m2m"),
            ],
            file: None,
            explicit: same,
            expect: Ok { host: "https://h.com", auth: AuthType::OAuthM2m, check: nothing },
        },
        Case {
            name: "auth_type pinned without its credentials",
            env: &[("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_TOKEN", "t"), ("DATABRICKS_AUTH_TYPE", "oauth-m2m")],
            file: None,
            explicit: same,
            expect: Err(&["auth_type is oauth-m2m but it is not configured: no client_id and no client_secret"]),
        },
        Case {
            name: "unknown auth_type",
            env: &[("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_TOKEN", "t"), ("DATABRICKS_AUTH_TYPE", "azure-devops-oidc")],
            file: None,
            explicit: same,
            expect: Err(&["auth_type \"azure-devops-oidc\" is not supported"]),
        },
        Case {
            name: "host: :443 and trailing slash dropped",
            env: &[("DATABRICKS_HOST", "https://h.cloud.databricks.com:443/"), ("DATABRICKS_TOKEN", "t")],
            file: None,
            explicit: same,
            expect: Ok { host: "https://h.cloud.databricks.com", auth: AuthType::Pat, check: nothing },
        },
        Case {
            name: "host: scheme added",
            env: &[("DATABRICKS_HOST", "adb-123.4.azuredatabricks.net"), ("DATABRICKS_TOKEN", "t")],
            file: None,
            explicit: same,
            expect: Ok { host: "https://adb-123.4.azuredatabricks.net", auth: AuthType::Pat, check: nothing },
        },
        Case {
            name: "host: local http with a port kept",
            env: &[("DATABRICKS_HOST", "http://127.0.0.1:8080/"), ("DATABRICKS_TOKEN", "t")],
            file: None,
            explicit: same,
            expect: Ok { host: "http://127.0.0.1:8080", auth: AuthType::Pat, check: nothing },
        },
        Case {
            name: "file skipped when env already configures and no profile is named",
            env: &[("DATABRICKS_HOST", "https://env.com"), ("DATABRICKS_TOKEN", "t")],
            file: Some("this is [not valid INI\n= at all"),
            explicit: same,
            expect: Ok { host: "https://env.com", auth: AuthType::Pat, check: |c| assert_eq!(c.profile(), None) },
        },
        Case {
            name: "explicit beats env",
            env: &[("DATABRICKS_HOST", "https://env.com"), ("DATABRICKS_TOKEN", "t")],
            file: None,
            explicit: |b| b.host("https://explicit.com"),
            expect: Ok {
                host: "https://explicit.com",
                auth: AuthType::Pat,
                check: |c| assert_eq!(c.source("host"), Some(&Source::Explicit)),
            },
        },
        Case {
            name: "env beats the file when a profile is named",
            env: &[("DATABRICKS_TOKEN", "dapi-from-env"), ("DATABRICKS_CONFIG_PROFILE", "dev")],
            file: Some(PROFILES),
            explicit: same,
            expect: Ok {
                host: "https://dev.cloud.databricks.com",
                auth: AuthType::Pat,
                check: |c| assert_eq!(c.token().unwrap().expose(), "dapi-from-env"),
            },
        },
        Case {
            name: "# inside a value is kept, whitespace + # starts a comment",
            env: &[],
            file: Some("[DEFAULT]\nhost = https://h.com # the prod workspace\ntoken = dapi#abc#123\n"),
            explicit: same,
            expect: Ok { host: "https://h.com", auth: AuthType::Pat, check: |c| assert_eq!(c.token().unwrap().expose(), "dapi#abc#123") },
        },
        Case {
            name: "DATABRICKS_CONFIG_FILE elsewhere",
            env: &[("DATABRICKS_CONFIG_FILE", "{dir}/elsewhere.cfg")],
            file: None,
            explicit: same,
            expect: Ok { host: "https://elsewhere.com", auth: AuthType::Pat, check: nothing },
        },
        Case {
            name: "named profile but no config file",
            env: &[("DATABRICKS_CONFIG_PROFILE", "dev")],
            file: None,
            explicit: same,
            expect: Err(&["profile \"dev\" was asked for but the config file", "does not exist"]),
        },
        Case {
            name: "profile keys are case-insensitive",
            env: &[],
            file: Some("[DEFAULT]\nHOST = https://upper.com\nToken = dapi-default\n"),
            explicit: same,
            expect: Ok {
                host: "https://upper.com",
                auth: AuthType::Pat,
                check: |c| assert_eq!(c.token().unwrap().expose(), "dapi-default"),
            },
        },
        Case {
            name: "__settings__ is never a profile",
            env: &[("DATABRICKS_CONFIG_PROFILE", "__settings__")],
            file: Some("[__settings__]\nhost = https://settings.com\ntoken = dapi-default\n"),
            explicit: same,
            expect: Err(&["profile \"__settings__\" is reserved"]),
        },
        Case {
            name: "__settings__ is left out of the profile list",
            env: &[],
            file: Some("[__settings__]\ndefault_profile = ghost\n\n[dev]\nhost = https://d.com\ntoken = dapi-dev\n"),
            explicit: same,
            expect: Err(&["profile \"ghost\" not found in", "(profiles: dev)"]),
        },
        Case {
            name: "a named profile without a config file is fine when the environment is complete",
            env: &[("DATABRICKS_CONFIG_PROFILE", "dev"), ("DATABRICKS_HOST", "https://env.com"), ("DATABRICKS_TOKEN", "dapi-from-env")],
            file: None,
            explicit: same,
            expect: Ok { host: "https://env.com", auth: AuthType::Pat, check: |c| assert_eq!(c.profile(), None) },
        },
        Case {
            name: "a named profile without a config file and incomplete credentials names the missing file",
            env: &[("DATABRICKS_CONFIG_PROFILE", "dev"), ("DATABRICKS_HOST", "https://env.com")],
            file: None,
            explicit: same,
            expect: Err(&["profile \"dev\" was asked for but the config file", "does not exist"]),
        },
        Case {
            name: "a malformed section name never reaches an error message",
            env: &[("DATABRICKS_CONFIG_PROFILE", "prod")],
            file: Some(
                "[dev\ntoken = dapi-secret-in-a-section-name]\nhost = https://x.com\n\n[ok]\nhost = https://ok.com\ntoken = dapi-default\n",
            ),
            explicit: same,
            expect: Err(&["profile \"prod\" not found", "profiles: ok"]),
        },
        Case {
            // Found by fuzzing: the INI parser's `\` line continuation joined the token line into the host.
            name: "a value ending in a backslash does not swallow the next line",
            env: &[],
            file: Some("[DEFAULT]\nhost = https://h.com\\\ntoken = dapi-default\n"),
            explicit: same,
            expect: Ok { host: "https://h.com", auth: AuthType::Pat, check: |c| assert_eq!(c.token().unwrap().expose(), "dapi-default") },
        },
        Case {
            name: "a backslash inside a token is kept, the next line still read",
            env: &[],
            file: Some("[DEFAULT]\ntoken = dapi-default\\\nhost = https://h.com\n"),
            explicit: same,
            expect: Ok { host: "https://h.com", auth: AuthType::Pat, check: |c| assert_eq!(c.token().unwrap().expose(), "dapi-default\\") },
        },
        Case {
            // Found by fuzzing: a `[` alone on a line makes a section of the next line, `key: secret` included.
            name: "a section name holding a colon-delimited secret is not listed",
            env: &[("DATABRICKS_CONFIG_PROFILE", "ghost")],
            file: Some("[DEFAULT]\nhost = https://h.com\n[\ntoken: dapi-secret-in-a-section-name]\n"),
            explicit: same,
            expect: Err(&["profile \"ghost\" not found", "(profiles: DEFAULT; 1 malformed section name(s) not shown)"]),
        },
        Case {
            name: "new attributes resolve from a profile",
            env: &[],
            file: Some("[DEFAULT]\nhost = https://h.com\nusername = admin\npassword = dapi-default\nDISCOVERY_URL = https://h.com/d\n"),
            explicit: same,
            expect: Ok {
                host: "https://h.com",
                auth: AuthType::Basic,
                check: |c| {
                    assert_eq!(c.username(), Some("admin"));
                    assert_eq!(c.discovery_url(), Some("https://h.com/d"));
                },
            },
        },
        Case {
            name: "nothing configured at all",
            env: &[],
            file: None,
            explicit: same,
            expect: Err(&["cannot configure default credentials, please check https://docs.databricks.com", "Config: nothing configured"]),
        },
        Case {
            name: "credentials without a host",
            env: &[("DATABRICKS_TOKEN", "dapi-secret-no-host")],
            file: None,
            explicit: same,
            expect: Err(&["no host configured", "token=*** (env DATABRICKS_TOKEN)"]),
        },
        Case {
            name: "client id without secret",
            env: &[("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_CLIENT_ID", "id")],
            file: None,
            explicit: same,
            // A client id alone is not an error of its own (workload identity federation uses one), but
            // nothing else is configured: the listing says why oauth-m2m declined.
            expect: Err(&["cannot configure default credentials", "oauth-m2m (no client_secret)"]),
        },
        Case {
            name: "bad rate limit names its source",
            env: &[("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_TOKEN", "t"), ("DATABRICKS_RATE_LIMIT", "fast")],
            file: None,
            explicit: same,
            expect: Err(&["rate_limit = \"fast\" (from env DATABRICKS_RATE_LIMIT) is not a positive number"]),
        },
        Case {
            name: "a timeout too large for a Duration is an error, not a panic",
            env: &[("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_TOKEN", "t"), ("DATABRICKS_HTTP_TIMEOUT_SECONDS", "1e300")],
            file: None,
            explicit: same,
            expect: Err(&["http_timeout_seconds = \"1e300\" (from env DATABRICKS_HTTP_TIMEOUT_SECONDS) is not a positive number"]),
        },
        Case {
            name: "workspace id, rate limit and timeouts resolve",
            env: &[
                ("DATABRICKS_HOST", "https://h.com"),
                ("DATABRICKS_TOKEN", "t"),
                ("DATABRICKS_WORKSPACE_ID", "123"),
                ("DATABRICKS_RATE_LIMIT", "15"),
                ("DATABRICKS_RETRY_TIMEOUT_SECONDS", "60"),
            ],
            file: None,
            explicit: same,
            expect: Ok {
                host: "https://h.com",
                auth: AuthType::Pat,
                check: |c| {
                    assert_eq!(c.workspace_id(), Some("123"));
                    assert_eq!(c.rate_limit(), Some(15.0));
                    assert_eq!(c.retry_timeout(), Some(std::time::Duration::from_secs(60)));
                },
            },
        },
    ]
}

#[test]
fn config_resolution_scenarios() {
    let cases = cases();
    assert!(cases.len() >= 20);
    common::check_every_row(cases, |case| case.name.to_owned(), check_case);
}

fn check_case(case: Case) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dir_s = dir.display().to_string();
    if let Some(text) = case.file {
        std::fs::write(dir.join(".databrickscfg"), text).unwrap();
    }
    std::fs::write(dir.join("elsewhere.cfg"), "[DEFAULT]\nhost = https://elsewhere.com\ntoken = e\n").unwrap();
    let mut env: Vec<(String, String)> = case.env.iter().map(|(k, v)| (k.to_string(), v.replace("{dir}", &dir_s))).collect();
    env.push(("HOME".into(), dir_s.clone()));
    // The configuration resolves the attributes; `auth::select` chooses the method from them.
    let result = (case.explicit)(Config::builder().env_vars(env))
        .build()
        .and_then(|config| databricks_tokens::auth::select(&config).map(|selected| (config, selected)));
    match (case.expect, result) {
        (Expect::Ok { host, auth, check }, Ok((config, selected))) => {
            assert_eq!(config.host(), host, "{}", case.name);
            assert_eq!(selected, auth, "{}", case.name);
            check(&config);
            let debug = format!("{config:?}");
            for secret in ["dapi-default", "dapi-dev", "sp-secret", "dapi-from-env", "dapi#abc#123"] {
                assert!(!debug.contains(secret), "{}: Debug leaks {secret}: {debug}", case.name);
            }
        }
        (Expect::Err(needles), Err(e)) => {
            let text = e.to_string();
            assert_eq!(e.kind(), databricks_tokens::ErrorKind::Config, "{}", case.name);
            for needle in needles {
                assert!(text.contains(needle), "{}: {needle:?} not in {text:?}", case.name);
            }
            assert!(text.contains(". Config: "), "{}: no debug string in {text:?}", case.name);
            for secret in ["dapi-secret-no-host", "dapi-default", "dapi-secret-in-a-section-name"] {
                assert!(!text.contains(secret), "{}: secret {secret} in {text}", case.name);
            }
        }
        (Expect::Ok { .. }, Err(e)) => panic!("{}: unexpected error {e}", case.name),
        (Expect::Err(n), Ok((c, selected))) => panic!("{}: expected an error with {n:?}, got {c:?} ({selected})", case.name),
    }
}

#[test]
fn building_a_client_from_config_does_no_network_io() {
    // Port 9 on loopback has no listener: any I/O here would fail or hang. Building must not try.
    let config = Config::builder()
        .host("http://127.0.0.1:9")
        .client_id("id")
        .client_secret("s")
        .env_vars(Vec::<(String, String)>::new())
        .build()
        .unwrap();
    let w = databricks_tokens::WorkspaceClient::from_config(&config).unwrap();
    assert!(w.user_agent().ends_with("auth/oauth-m2m"), "{}", w.user_agent());
}

/// The configuration's timeouts reach the client's retries: `http_timeout_seconds` bounds each attempt and
/// `retry_timeout_seconds` the call, so a workspace that answers after 4 s ends the call with a timeout
/// (with the defaults, 60 s a call, the same answer would arrive and decode).
#[tokio::test]
async fn the_configured_timeouts_bound_the_clients_calls() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token_infos": []})).set_delay(std::time::Duration::from_secs(4)),
        )
        .mount(&server)
        .await;
    let config = |timeouts: bool| {
        let mut env =
            vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_TOKEN", common::TOKEN.to_owned()), ("HOME", "/nonexistent".to_owned())];
        if timeouts {
            env.extend([("DATABRICKS_HTTP_TIMEOUT_SECONDS", "1".to_owned()), ("DATABRICKS_RETRY_TIMEOUT_SECONDS", "1".to_owned())]);
        }
        Config::builder().env_vars(env).build().unwrap()
    };
    let bounded = databricks_tokens::WorkspaceClient::from_config(&config(true)).unwrap();
    let err = bounded.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), databricks_tokens::ErrorKind::Timeout, "{err}");
    let unbounded = databricks_tokens::WorkspaceClient::from_config(&config(false)).unwrap();
    assert!(unbounded.tokens().list().send().await.unwrap().is_empty());
}

/// One row of the attribute table of the `config` module doc: INI key, environment variable, a valid value,
/// and its accessor, when it has one (what the configuration answers for it, `None` when unset).
struct Attribute {
    key: &'static str,
    env: &'static str,
    value: &'static str,
    get: Option<fn(&Config) -> Option<String>>,
}

fn attributes() -> Vec<Attribute> {
    fn s(v: Option<&str>) -> Option<String> {
        v.map(str::to_owned)
    }
    fn secret(v: Option<databricks_tokens::SecretString>) -> Option<String> {
        v.map(|v| v.expose().to_owned())
    }
    let row = |key, env, value, get| Attribute { key, env, value, get: Some(get) };
    let no_accessor = |key, env, value| Attribute { key, env, value, get: None };
    vec![
        row("token", "DATABRICKS_TOKEN", "dapi-attr-token", |c| secret(c.token())),
        row("username", "DATABRICKS_USERNAME", "admin", |c| s(c.username())),
        row("password", "DATABRICKS_PASSWORD", "attr-password", |c| secret(c.password())),
        row("client_id", "DATABRICKS_CLIENT_ID", "sp-id", |c| s(c.client_id())),
        row("client_secret", "DATABRICKS_CLIENT_SECRET", "attr-client-secret", |c| secret(c.client_secret())),
        row("databricks_cli_path", "DATABRICKS_CLI_PATH", "/opt/databricks", |c| s(c.databricks_cli_path())),
        row("metadata_service_url", "DATABRICKS_METADATA_SERVICE_URL", "http://127.0.0.1:1/m", |c| secret(c.metadata_service_url())),
        row("token_audience", "DATABRICKS_TOKEN_AUDIENCE", "aud", |c| s(c.token_audience())),
        row("oidc_token_env", "DATABRICKS_OIDC_TOKEN_ENV", "MY_OIDC", |c| {
            Some(c.oidc_token_env().to_owned()).filter(|v| v != "DATABRICKS_OIDC_TOKEN")
        }),
        row("oidc_token_filepath", "DATABRICKS_OIDC_TOKEN_FILEPATH", "/run/oidc", |c| s(c.oidc_token_filepath())),
        row("discovery_url", "DATABRICKS_DISCOVERY_URL", "https://h.com/d", |c| s(c.discovery_url())),
        row("azure_workspace_resource_id", "DATABRICKS_AZURE_RESOURCE_ID", "/subscriptions/s/w", |c| s(c.azure_workspace_resource_id())),
        row("azure_use_msi", "ARM_USE_MSI", "true", |c| c.azure_use_msi().then(|| "true".to_owned())),
        row("azure_client_id", "ARM_CLIENT_ID", "app-id", |c| s(c.azure_client_id())),
        row("azure_client_secret", "ARM_CLIENT_SECRET", "attr-azure-secret", |c| secret(c.azure_client_secret())),
        row("azure_tenant_id", "ARM_TENANT_ID", "tenant", |c| s(c.azure_tenant_id())),
        row("azure_environment", "ARM_ENVIRONMENT", "china", |c| s(c.azure_environment())),
        no_accessor("azure_login_endpoint", "DATABRICKS_AZURE_LOGIN_ENDPOINT", "http://127.0.0.1:1/login"),
        no_accessor("azure_msi_endpoint", "DATABRICKS_AZURE_MSI_ENDPOINT", "http://127.0.0.1:1/msi"),
        row("google_credentials", "GOOGLE_CREDENTIALS", "/keys/sa.json", |c| secret(c.google_credentials())),
        row("google_service_account", "DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "sa@p.iam.gserviceaccount.com", |c| {
            s(c.google_service_account())
        }),
        no_accessor("google_token_endpoint", "DATABRICKS_GOOGLE_TOKEN_ENDPOINT", "http://127.0.0.1:1/token"),
        no_accessor("google_iam_endpoint", "DATABRICKS_GOOGLE_IAM_ENDPOINT", "http://127.0.0.1:1/iam"),
        no_accessor("gce_metadata_host", "GCE_METADATA_HOST", "127.0.0.1:1"),
        row("cloud", "DATABRICKS_CLOUD", "GCP", |c| s(c.cloud())),
        row("auth_type", "DATABRICKS_AUTH_TYPE", "azure-cli", |c| c.auth_type().map(|a| a.to_string())),
        row("workspace_id", "DATABRICKS_WORKSPACE_ID", "123", |c| s(c.workspace_id())),
        row("account_id", "DATABRICKS_ACCOUNT_ID", "acc", |c| s(c.account_id())),
        row("rate_limit", "DATABRICKS_RATE_LIMIT", "2.5", |c| c.rate_limit().map(|r| r.to_string())),
        row("http_timeout_seconds", "DATABRICKS_HTTP_TIMEOUT_SECONDS", "1.5", |c| c.http_timeout().map(|t| t.as_secs_f64().to_string())),
        row("retry_timeout_seconds", "DATABRICKS_RETRY_TIMEOUT_SECONDS", "90", |c| c.retry_timeout().map(|t| t.as_secs_f64().to_string())),
    ]
}

/// What the configuration answers for an attribute: its accessor's value, else the value and source of
/// its key.
fn answer(config: &Config, a: &Attribute) -> (Option<String>, Option<Source>) {
    (a.get.and_then(|get| get(config)), config.source(a.key).cloned())
}

/// Every attribute of the table is read from its environment variable and from its key in a profile (in
/// any case), and is unset (the default) when neither names it; an empty variable counts as unset.
#[test]
fn every_attribute_is_read_from_its_variable_and_its_profile_key() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().display().to_string();
    let from_env = |vars: Vec<(&str, &str)>| {
        Config::builder().env_vars(vars.into_iter().chain([("DATABRICKS_HOST", "https://h.com"), ("HOME", home.as_str())])).build().unwrap()
    };

    let all = from_env(attributes().iter().map(|a| (a.env, a.value)).collect());
    for a in attributes() {
        let value = a.get.map(|_| a.value.to_owned());
        assert_eq!(answer(&all, &a), (value, Some(Source::Env(a.env))), "{}", a.key);
    }
    assert_eq!(all.profile(), None);

    // Unset, or set to "": nothing, and the defaults.
    let empty: Vec<(&str, &str)> = attributes().iter().map(|a| (a.env, "")).collect();
    for config in [from_env(vec![]), from_env(empty)] {
        for a in attributes() {
            assert_eq!(answer(&config, &a), (None, None), "{}", a.key);
        }
        assert_eq!(config.oidc_token_env(), "DATABRICKS_OIDC_TOKEN");
        assert!(!config.azure_use_msi());
    }

    // From a profile.
    let keys: String = attributes().iter().map(|a| format!("{} = {}\n", a.key.to_ascii_uppercase(), a.value)).collect();
    std::fs::write(tmp.path().join(".databrickscfg"), format!("[all]\nhost = https://f.com\n{keys}")).unwrap();
    let file = Config::builder().profile("all").env_vars([("HOME", home.as_str())]).build().unwrap();
    assert_eq!(file.host(), "https://f.com");
    let source = Source::File { path: tmp.path().join(".databrickscfg"), profile: "all".to_owned() };
    for a in attributes() {
        assert_eq!(answer(&file, &a), (answer(&all, &a).0, Some(source.clone())), "{}", a.key);
    }
    assert_eq!(file.profile(), Some("all"));
}

/// `Debug` and the error messages show each attribute with its source, secrets as `***`.
#[test]
fn the_debug_string_names_each_attribute_and_its_source() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cfg");
    std::fs::write(&path, "[p]\nhost = https://f.com\nusername = admin\npassword = attr-password\n").unwrap();
    let config = Config::builder()
        .token("dapi-attr-token")
        .config_file(&path)
        .env_vars([("DATABRICKS_CONFIG_PROFILE", "p"), ("ARM_USE_MSI", "false")])
        .build()
        .unwrap();
    let file = format!("{} [p]", path.display());
    let expected = format!(
        "host=https://f.com ({file}), token=*** (explicit), username=admin ({file}), password=*** ({file}), \
         profile=p (env DATABRICKS_CONFIG_PROFILE), config_file={} (explicit)",
        path.display()
    );
    assert_eq!(config.debug_string(), expected);
    assert_eq!(format!("{config:?}"), format!("Config {{ {expected} }}"));
    assert_eq!(Source::File { path: path.clone(), profile: "p".into() }.to_string(), file);
    let builder = Config::builder().host("h.com").token("dapi-attr-token");
    assert_eq!(format!("{builder:?}"), "ConfigBuilder { host=h.com (explicit), token=*** (explicit) }");
    assert_eq!(format!("{:?}", Config::builder()), "ConfigBuilder { nothing configured }");
    let err = Config::builder().env_vars([("HOME", "/nonexistent")]).build().unwrap_err();
    assert!(err.to_string().ends_with(". Config: nothing configured"), "{err}");
}

/// Numbers are positive and finite (a timeout also fits a `Duration`), booleans are Go's, and the error
/// names the attribute, its value and its source.
#[test]
fn numbers_and_booleans_are_checked() {
    let build = |var: &str, value: &str| {
        Config::builder().env_vars([("DATABRICKS_HOST", "https://h.com"), ("DATABRICKS_TOKEN", "t"), (var, value)]).build()
    };
    for (var, key) in [
        ("DATABRICKS_RATE_LIMIT", "rate_limit"),
        ("DATABRICKS_HTTP_TIMEOUT_SECONDS", "http_timeout_seconds"),
        ("DATABRICKS_RETRY_TIMEOUT_SECONDS", "retry_timeout_seconds"),
    ] {
        for bad in ["0", "-1", "-0.5", "inf", "NaN", "fast"] {
            let err = build(var, bad).unwrap_err();
            assert!(err.to_string().contains(&format!("{key} = {bad:?} (from env {var}) is not a positive number")), "{err}");
        }
        for good in ["0.25", " 2 ", "3600"] {
            assert!(build(var, good).is_ok(), "{var}={good:?}");
        }
    }
    // A rate has no `Duration` to fit.
    assert_eq!(build("DATABRICKS_RATE_LIMIT", "1e300").unwrap().rate_limit(), Some(1e300));
    assert_eq!(build("DATABRICKS_RETRY_TIMEOUT_SECONDS", "0.25").unwrap().retry_timeout(), Some(std::time::Duration::from_millis(250)));

    for (value, msi) in [("1", true), ("t", true), ("TRUE", true), (" true ", true), ("0", false), ("f", false), ("False", false)] {
        assert_eq!(build("ARM_USE_MSI", value).unwrap().azure_use_msi(), msi, "{value:?}");
    }
    let err = build("ARM_USE_MSI", "yes").unwrap_err();
    assert!(err.to_string().contains("azure_use_msi = \"yes\" (from env ARM_USE_MSI) is not a boolean (true or false)"), "{err}");
}

/// Without a host, the error says what to set, and mentions the Azure resource id only when one is set.
#[test]
fn without_a_host_the_error_says_what_to_set() {
    let build = |vars: &[(&str, &str)]| {
        Config::builder().env_vars(vars.iter().copied().chain([("HOME", "/nonexistent")])).build().unwrap_err().to_string()
    };
    let token = build(&[("DATABRICKS_TOKEN", "dapi-x")]);
    assert!(token.starts_with("no host configured: set DATABRICKS_HOST or host in the profile. Config: "), "{token}");
    let azure = build(&[("ARM_CLIENT_ID", "app"), ("DATABRICKS_AZURE_RESOURCE_ID", "/subscriptions/s/w")]);
    assert!(azure.contains("it is not looked up from azure_workspace_resource_id"), "{azure}");
    // A resource id alone is an Azure attribute too; anything else is no credentials at all.
    assert!(build(&[("DATABRICKS_AZURE_RESOURCE_ID", "/subscriptions/s/w")]).contains("not looked up"));
    let nothing = build(&[("DATABRICKS_CLOUD", "GCP")]);
    assert!(nothing.starts_with("cannot configure default credentials"), "{nothing}");
}

/// Config files as the Databricks CLI writes and reads them: CRLF line ends, a backslash ending a value,
/// `~/` in `config_file`, a `default_profile` left empty.
#[test]
fn config_files_are_read_as_the_databricks_cli_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().display().to_string();
    let read = |file: &str, vars: &[(&str, &str)]| {
        std::fs::write(tmp.path().join("my.cfg"), file).unwrap();
        let vars = vars.iter().copied().chain([("HOME", home.as_str()), ("DATABRICKS_CONFIG_FILE", "~/my.cfg")]);
        Config::builder().env_vars(vars).build()
    };
    let config = read("[DEFAULT]\r\nhost = https://h.com\r\nusername = admin\\\r\ntoken = dapi-crlf\r\n", &[]).unwrap();
    assert_eq!((config.username(), config.token().map(|t| t.expose().to_owned())), (Some("admin\\"), Some("dapi-crlf".to_owned())));
    assert_eq!(config.source("token"), Some(&Source::File { path: tmp.path().join("my.cfg"), profile: "DEFAULT".into() }));
    // An empty default_profile is no default profile.
    let config = read("[__settings__]\ndefault_profile =\n\n[DEFAULT]\nhost = https://d.com\ntoken = t\n", &[]).unwrap();
    assert_eq!(config.host(), "https://d.com");
    // A value in quotes keeps them; an empty value is unset.
    let config = read("[DEFAULT]\nhost = https://h.com\ntoken = \"dapi-q\"\nusername =\n", &[]).unwrap();
    assert_eq!(config.token().unwrap().expose(), "\"dapi-q\"");
    assert_eq!(config.username(), None);
    // The keys that choose the file or the profile, or that only a CI runner sets, are never read from it.
    let config =
        read("[DEFAULT]\nhost = https://h.com\ntoken = t\nprofile = other\nactions_id_token_request_url = https://x\n", &[]).unwrap();
    assert_eq!((config.source("profile"), config.source("actions_id_token_request_url")), (None, None));
    // A profile name too long or with `=` in it is not shown.
    let long = "p".repeat(65);
    let err = read(&format!("[{long}]\nhost = https://h.com\n[a=b]\nhost = https://h.com\n[ok]\n"), &[("DATABRICKS_CONFIG_PROFILE", "x")])
        .unwrap_err();
    assert!(err.to_string().contains("(profiles: ok; 2 malformed section name(s) not shown)"), "{err}");
    let err = read("[ok]\n", &[("DATABRICKS_CONFIG_PROFILE", "a=b")]).unwrap_err();
    assert!(err.to_string().contains("profile (malformed name) not found"), "{err}");
    let name = "p".repeat(64);
    let err = read("[ok]\n", &[("DATABRICKS_CONFIG_PROFILE", name.as_str())]).unwrap_err();
    assert!(err.to_string().contains(&format!("profile \"{name}\" not found")), "{err}");
}

/// An explicit value wins over the environment, for every attribute, and says it is explicit.
#[test]
fn explicit_values_win_over_the_environment() {
    use std::time::Duration;
    let config = Config::builder()
        .host("https://explicit.com")
        .token("dapi-explicit")
        .username("u-explicit")
        .password("p-explicit")
        .client_id("id-explicit")
        .client_secret("s-explicit")
        .databricks_cli_path("/explicit/databricks")
        .metadata_service_url("http://127.0.0.1:2/explicit")
        .token_audience("aud-explicit")
        .oidc_token_env("EXPLICIT_OIDC")
        .oidc_token_filepath("/explicit/oidc")
        .discovery_url("https://explicit.com/d")
        .azure_workspace_resource_id("/subscriptions/explicit")
        .azure_use_msi(true)
        .azure_client_id("app-explicit")
        .azure_client_secret("azure-s-explicit")
        .azure_tenant_id("tenant-explicit")
        .azure_environment("usgovernment")
        .azure_login_endpoint("http://127.0.0.1:2/login")
        .azure_msi_endpoint("http://127.0.0.1:2/msi")
        .google_credentials("/explicit/key.json")
        .google_service_account("explicit@p.iam.gserviceaccount.com")
        .google_token_endpoint("http://127.0.0.1:2/token")
        .google_iam_endpoint("http://127.0.0.1:2/iam")
        .gce_metadata_host("127.0.0.1:2")
        .cloud("AWS")
        .auth_type(AuthType::Pat)
        .workspace_id("456")
        .account_id("acc-explicit")
        .rate_limit(7.5)
        .http_timeout(Duration::from_millis(2500))
        .retry_timeout(Duration::from_secs(30))
        .env_vars(attributes().iter().map(|a| (a.env, a.value)).chain([("DATABRICKS_HOST", "https://env.com")]))
        .build()
        .unwrap();
    for a in attributes() {
        assert_eq!(config.source(a.key), Some(&Source::Explicit), "{}", a.key);
    }
    assert_eq!(config.host(), "https://explicit.com");
    let secrets = [config.token(), config.password(), config.client_secret(), config.azure_client_secret(), config.google_credentials()];
    let secrets: Vec<String> = secrets.into_iter().map(|s| s.unwrap().expose().to_owned()).collect();
    assert_eq!(secrets, ["dapi-explicit", "p-explicit", "s-explicit", "azure-s-explicit", "/explicit/key.json"]);
    assert_eq!(config.metadata_service_url().unwrap().expose(), "http://127.0.0.1:2/explicit");
    assert_eq!((config.auth_type(), config.azure_use_msi()), (Some(AuthType::Pat), true));
    assert_eq!(
        (config.rate_limit(), config.http_timeout(), config.retry_timeout()),
        (Some(7.5), Some(Duration::from_millis(2500)), Some(Duration::from_secs(30)))
    );
}

/// The config file is not read when no profile is named and a host or credentials are already set; when it
/// is read, a file that cannot be read is an error, and `default_profile` never names `__settings__`.
#[test]
fn when_the_config_file_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().display().to_string();
    let build = |file: &[u8], vars: &[(&str, &str)]| {
        std::fs::write(tmp.path().join(".databrickscfg"), file).unwrap();
        Config::builder().env_vars(vars.iter().copied().chain([("HOME", home.as_str())])).build()
    };
    let unreadable = b"[DEFAULT]\nhost = \xFF\xFE\n"; // not UTF-8
    let err = build(unreadable, &[]).unwrap_err();
    assert!(err.to_string().starts_with("cannot read the config file "), "{err}");
    assert_eq!(build(unreadable, &[("DATABRICKS_HOST", "https://h.com")]).unwrap().host(), "https://h.com");
    let err = build(unreadable, &[("DATABRICKS_TOKEN", "dapi-x")]).unwrap_err();
    assert!(err.to_string().starts_with("no host configured"), "{err}");
    let settings = b"[__settings__]\ndefault_profile = __settings__\nhost = https://settings.com\n\n[DEFAULT]\nhost = https://d.com\n";
    assert_eq!(build(settings, &[]).unwrap().host(), "https://d.com");
    let err = Config::builder().config_file(tmp.path()).env_vars([("HOME", home.as_str())]).build().unwrap_err();
    assert!(err.to_string().starts_with(&format!("cannot read the config file {}: ", tmp.path().display())), "{err}");
}

/// Credentials go over https, or over plain http to this machine only: a configured `http://` host
/// elsewhere is refused when the client is built (before any request), and the error names the host and
/// how to opt in, never the token.
#[test]
fn a_plain_http_host_elsewhere_is_refused() {
    let client = |host: &str| {
        let config = Config::builder().host(host).token("dapi-plain-http").env_vars(Vec::<(String, String)>::new()).build().unwrap();
        databricks_tokens::WorkspaceClient::from_config(&config)
    };
    let err = client("http://workspace.example.com").unwrap_err();
    assert_eq!(err.kind(), databricks_tokens::ErrorKind::Config, "{err}");
    let text = err.to_string();
    assert!(text.contains("refusing to send credentials over plain http:// to http://workspace.example.com"), "{text}");
    assert!(text.contains("allow_insecure_http(true)") && !text.contains("dapi-plain-http"), "{text}");
    for host in ["https://workspace.example.com", "http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
        assert!(client(host).is_ok(), "{host}");
    }
}
