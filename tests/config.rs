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
