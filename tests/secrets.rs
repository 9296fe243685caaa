//! No secret — token value, PAT, Authorization header — appears in any log line at TRACE level, in the
//! `Debug` of any returned value, or in the `Display`/`Debug` of any error.

mod common;

use common::Capture;

use std::sync::OnceLock;
use std::time::Duration;

use databricks_tokens::{RetryPolicy, WorkspaceClient};
use serde_json::json;
use tracing_subscriber::util::SubscriberInitExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_VALUE: &str = "dapiNEWTOKENVALUE5f1e2d3c4b5a";

/// Every log line of the process at TRACE level, `log` records included.
fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("the only subscriber of this test binary");
        capture
    })
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [common::TOKEN, TOKEN_VALUE] {
        assert!(!text.contains(secret), "{what} leaks a secret:\n{text}");
    }
}

#[tokio::test]
async fn no_secret_in_logs_debug_or_errors() {
    let logs = logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token/create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_info": {"token_id": "t1", "comment": "ci", "creation_time": 1, "expiry_time": -1},
            "token_value": TOKEN_VALUE
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_infos": [{"token_id": "t1", "comment": "ci"}]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token/delete"))
        .respond_with(ResponseTemplate::new(401).set_body_string("UNAUTHENTICATED: Invalid access token."))
        .mount(&server)
        .await;

    let builder =
        WorkspaceClient::builder().host(server.uri()).token(common::TOKEN).retry_policy(RetryPolicy::default().with_max_attempts(2));
    let mut shown = vec![format!("{builder:?}")];
    let w = builder.build().unwrap();
    shown.push(format!("{w:?}"));
    shown.push(format!("{:?}", w.tokens()));

    let created = w.tokens().create().comment("ci").send().await.unwrap();
    assert_eq!(created.token_value.expose(), TOKEN_VALUE, "the secret is there for whoever asks explicitly");
    shown.push(format!("{created:?} {created:#?}"));
    shown.push(format!("{}", created.token_value));
    shown.push(format!("{:?}", w.tokens().list().send().await.unwrap()));
    w.tokens().update("t1").comment("renamed").send().await.unwrap();

    let unauthenticated = w.tokens().delete("t1").send().await.unwrap_err();
    assert!(unauthenticated.is_unauthenticated());
    let refused = WorkspaceClient::builder()
        .host(common::refused_address())
        .token(common::TOKEN)
        .retry_policy(RetryPolicy::default().with_max_attempts(2).with_backoff(Duration::ZERO, Duration::ZERO))
        .build()
        .unwrap();
    let transport = refused.tokens().list().send().await.unwrap_err();
    let invalid = WorkspaceClient::builder().host("http://remote.example.com").token(common::TOKEN).build().unwrap_err();
    for err in [&unauthenticated, &transport, &invalid] {
        shown.push(format!("{err} | {err:?} | {:?}", std::error::Error::source(err).map(|s| s.to_string())));
    }

    for (i, text) in shown.iter().enumerate() {
        assert_no_secret(&format!("output {i}"), text);
    }
    let logged = logs.text();
    assert_no_secret("the TRACE log", &logged);
    // The log really covered the calls, bodies included, so the check above means something.
    for expected in ["create_token", "list_tokens", "update_token", "revoke_token", "**REDACTED**", "\"comment\":\"ci\""] {
        assert!(logged.contains(expected), "{expected} not logged:\n{logged}");
    }
}

#[tokio::test]
async fn no_oauth_secret_in_logs_debug_or_errors() {
    const CLIENT_SECRET: &str = "sp-secret-VALUE-42";
    const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.ACCESS.TOKEN";
    let logs = logs();
    let server = MockServer::start().await;
    common::mount_oidc_discovery(&server).await;
    Mock::given(path("/oidc/v1/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/2.0/token/list"))
        .respond_with(ResponseTemplate::new(401).set_body_string("UNAUTHENTICATED: revoked"))
        .mount(&server)
        .await;

    let config = databricks_tokens::config::Config::builder()
        .host(server.uri())
        .client_id("sp")
        .client_secret(CLIENT_SECRET)
        .env_vars(Vec::<(String, String)>::new())
        .build()
        .unwrap();
    let w = WorkspaceClient::from_config(&config).unwrap();
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.is_unauthenticated());
    let shown = format!("{config:?} {w:?} {err} {err:?}");
    let logged = logs.text();
    for secret in [CLIENT_SECRET, ACCESS_TOKEN] {
        assert!(!shown.contains(secret), "Debug/Display leaks {secret}: {shown}");
        assert!(!logged.contains(secret), "the TRACE log leaks {secret}");
    }
    assert!(logged.contains("list_tokens"), "the log covered the call");
}

#[tokio::test]
async fn no_secret_of_any_provider_in_logs_debug_or_errors() {
    const PASSWORD: &str = "basic-PASSWORD-value-77";
    const CLI_TOKEN: &str = "cli-ACCESS-token-value-0123456789abcdef";
    const METADATA_TOKEN: &str = "metadata-ACCESS-token-value-31";
    const METADATA_PATH: &str = "metadata-SECRET-path-99";
    const JWT: &str = "eyJoidc.SUBJECT.jwt-value-55";
    const ACTIONS_TOKEN: &str = "actions-REQUEST-token-value-13";
    const WORKSPACE_TOKEN: &str = "workspace-ACCESS-token-from-exchange-8";
    let logs = logs();
    let server = MockServer::start().await;
    common::mount_oidc_discovery(&server).await;
    Mock::given(path("/oidc/v1/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": WORKSPACE_TOKEN, "expires_in": 3600})))
        .mount(&server)
        .await;
    Mock::given(path(format!("/{METADATA_PATH}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": METADATA_TOKEN, "token_type": "Bearer", "expires_on": 4_102_444_800u64})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/github")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": JWT}))).mount(&server).await;
    // The API refuses every credential, so that each provider also goes through its 401 path.
    Mock::given(path("/api/2.0/token/list"))
        .respond_with(ResponseTemplate::new(401).set_body_string("UNAUTHENTICATED"))
        .mount(&server)
        .await;

    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    common::fake_cli(dir, &format!("printf '{{\"access_token\":\"{CLI_TOKEN}\",\"expiry\":\"2099-01-01T00:00:00Z\"}}'"));
    let failing_tmp = tempfile::tempdir().unwrap();
    let failing = failing_tmp.path();
    common::fake_cli(failing, &format!("echo 'could not refresh {CLI_TOKEN}' >&2\nexit 1"));
    let jwt_file = dir.join("jwt");
    std::fs::write(&jwt_file, JWT).unwrap();

    let host = ("DATABRICKS_HOST", server.uri());
    let environments: Vec<Vec<(&str, String)>> = vec![
        vec![host.clone(), ("DATABRICKS_USERNAME", "u".into()), ("DATABRICKS_PASSWORD", PASSWORD.into())],
        vec![host.clone(), ("PATH", dir.display().to_string())],
        vec![host.clone(), ("PATH", failing.display().to_string())],
        vec![host.clone(), ("DATABRICKS_METADATA_SERVICE_URL", format!("{}/{METADATA_PATH}", server.uri()))],
        vec![
            host.clone(),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", format!("{}/github?api-version=2.0", server.uri())),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ACTIONS_TOKEN.into()),
        ],
        vec![host.clone(), ("DATABRICKS_OIDC_TOKEN", JWT.into())],
        vec![host.clone(), ("DATABRICKS_OIDC_TOKEN_FILEPATH", jwt_file.display().to_string())],
        // Nothing configured but secrets lying around: the "tried" listing.
        vec![host.clone(), ("DATABRICKS_OIDC_TOKEN_ENV", "ELSEWHERE".into()), ("DATABRICKS_OIDC_TOKEN", JWT.into())],
    ];
    let mut shown = Vec::new();
    let mut auth_types = Vec::new();
    for env in environments {
        let config = match databricks_tokens::config::Config::builder().env_vars(env).build() {
            Ok(config) => config,
            Err(e) => {
                shown.push(format!("{e} {e:?}"));
                continue;
            }
        };
        // The configuration only resolves attributes: choosing the credentials (and the "tried" listing
        // when none are configured) happens when the client is built.
        let w = match WorkspaceClient::builder().config(&config).retry_policy(RetryPolicy::disabled()).build() {
            Ok(w) => w,
            Err(e) => {
                shown.push(format!("{config:?} {e} {e:?}"));
                continue;
            }
        };
        auth_types.push(w.auth_type().to_owned());
        let err = w.tokens().list().send().await.unwrap_err();
        shown.push(format!("{config:?} {w:?} {err} {err:?} {:?}", std::error::Error::source(&err).map(|s| s.to_string())));
    }
    assert_eq!(auth_types, ["basic", "databricks-cli", "databricks-cli", "metadata-service", "github-oidc", "env-oidc", "file-oidc"]);
    let logged = logs.text();
    for secret in [PASSWORD, CLI_TOKEN, METADATA_TOKEN, METADATA_PATH, JWT, ACTIONS_TOKEN, WORKSPACE_TOKEN] {
        for text in &shown {
            assert!(!text.contains(secret), "Debug/Display leaks {secret}: {text}");
        }
        assert!(!logged.contains(secret), "the TRACE log leaks {secret}");
    }
    assert!(shown.iter().any(|t| t.contains("could not refresh ***")), "the CLI's stderr is shown, scrubbed: {shown:?}");
    assert!(logged.contains("obtained a new access token"), "the log covered the providers");
}

#[tokio::test]
async fn no_secret_of_a_cloud_provider_in_logs_debug_or_errors() {
    const ARM_SECRET: &str = "arm-CLIENT-secret-value-64";
    const ENTRA_TOKEN: &str = "eyJentra.WORKSPACE.token-value-17";
    const MANAGEMENT_TOKEN: &str = "eyJentra.MANAGEMENT.token-value-18";
    const AZ_TOKEN: &str = "eyJaz.CLI.token-value-0123456789abcdef";
    const ID_TOKEN: &str = "eyJgoogle.ID.token-value-21";
    const SA_TOKEN: &str = "ya29.SA-access-token-value-22";
    const REFRESH_TOKEN: &str = "adc-REFRESH-token-value-23";
    const ADC_SECRET: &str = "adc-CLIENT-secret-value-24";
    const ADC_TOKEN: &str = "ya29.ADC-access-token-value-25";
    // A line of the private key's body.
    let key_line = common::GOOGLE_SA_PRIVATE_KEY.lines().nth(3).unwrap().to_owned();
    let logs = logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/token"))
        .respond_with(|r: &wiremock::Request| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let token = if body.contains("management") { MANAGEMENT_TOKEN } else { ENTRA_TOKEN };
            ResponseTemplate::new(200).set_body_json(json!({"access_token": token, "token_type": "Bearer", "expires_in": "3599"}))
        })
        .mount(&server)
        .await;
    Mock::given(path("/imds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": ENTRA_TOKEN, "expires_on": "4102444800"})))
        .mount(&server)
        .await;
    Mock::given(path("/google/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id_token": ID_TOKEN, "access_token": SA_TOKEN, "expires_in": 3599})))
        .mount(&server)
        .await;
    Mock::given(path("/adc/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": ADC_TOKEN, "expires_in": 3599})))
        .mount(&server)
        .await;
    Mock::given(path_regex_iam())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": ID_TOKEN, "accessToken": SA_TOKEN})))
        .mount(&server)
        .await;
    Mock::given(path("/api/2.0/token/list"))
        .respond_with(ResponseTemplate::new(401).set_body_string("UNAUTHENTICATED"))
        .mount(&server)
        .await;

    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    common::fake_az(dir, &format!("printf '{{\"accessToken\":\"{AZ_TOKEN}\",\"expires_on\":4102444800,\"tokenType\":\"Bearer\"}}'"));
    let failing_tmp = tempfile::tempdir().unwrap();
    let failing = failing_tmp.path();
    common::fake_az(failing, &format!("echo 'ERROR: refresh failed for {AZ_TOKEN}' >&2; exit 1"));
    let home_tmp = tempfile::tempdir().unwrap();
    let home = home_tmp.path();
    std::fs::create_dir_all(home.join(".config/gcloud")).unwrap();
    std::fs::write(
        home.join(".config/gcloud/application_default_credentials.json"),
        json!({"type": "authorized_user", "client_id": "c", "client_secret": ADC_SECRET, "refresh_token": REFRESH_TOKEN}).to_string(),
    )
    .unwrap();

    let host = ("DATABRICKS_HOST", server.uri());
    let azure = ("DATABRICKS_CLOUD", "Azure".to_owned());
    let gcp = ("DATABRICKS_CLOUD", "GCP".to_owned());
    let environments: Vec<Vec<(&str, String)>> = vec![
        vec![
            host.clone(),
            azure.clone(),
            ("ARM_CLIENT_ID", "app".into()),
            ("ARM_CLIENT_SECRET", ARM_SECRET.into()),
            ("ARM_TENANT_ID", "tenant-1".into()),
            ("DATABRICKS_AZURE_LOGIN_ENDPOINT", server.uri()),
        ],
        vec![
            host.clone(),
            azure.clone(),
            ("ARM_USE_MSI", "true".into()),
            ("DATABRICKS_AZURE_MSI_ENDPOINT", format!("{}/imds", server.uri())),
        ],
        vec![host.clone(), azure.clone(), ("ARM_TENANT_ID", "tenant-1".into()), ("PATH", dir.display().to_string())],
        vec![host.clone(), azure.clone(), ("ARM_TENANT_ID", "tenant-1".into()), ("PATH", failing.display().to_string())],
        vec![
            host.clone(),
            gcp.clone(),
            ("GOOGLE_CREDENTIALS", common::google_key_json("sa@p.iam.gserviceaccount.com", &format!("{}/google/token", server.uri()))),
        ],
        vec![
            host.clone(),
            gcp.clone(),
            ("DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "sa@p.iam.gserviceaccount.com".into()),
            ("HOME", home.display().to_string()),
            ("DATABRICKS_GOOGLE_TOKEN_ENDPOINT", format!("{}/adc/token", server.uri())),
            ("DATABRICKS_GOOGLE_IAM_ENDPOINT", server.uri()),
        ],
        // Misconfigured: errors that must not quote what they were given.
        vec![
            host.clone(),
            gcp.clone(),
            ("GOOGLE_CREDENTIALS", format!("{{\"type\": \"service_account\", \"private_key\": \"{key_line}\"")),
        ],
        vec![host.clone(), gcp.clone(), ("GOOGLE_CREDENTIALS", common::google_key_json_with("sa@p", "https://x", &key_line))],
        vec![host.clone(), ("ARM_CLIENT_SECRET", ARM_SECRET.into()), ("DATABRICKS_TOKEN", "x".into())],
    ];
    let mut shown = Vec::new();
    let mut auth_types = Vec::new();
    for env in environments {
        let config = match databricks_tokens::config::Config::builder().env_vars(env).build() {
            Ok(config) => config,
            Err(e) => {
                shown.push(format!("{e} {e:?}"));
                continue;
            }
        };
        let w = match WorkspaceClient::builder().config(&config).retry_policy(RetryPolicy::disabled()).build() {
            Ok(w) => w,
            Err(e) => {
                shown.push(format!("{config:?} {e} {e:?}"));
                continue;
            }
        };
        auth_types.push(w.auth_type().to_owned());
        let err = w.tokens().list().send().await.unwrap_err();
        shown.push(format!("{config:?} {w:?} {err} {err:?} {:?}", std::error::Error::source(&err).map(|s| s.to_string())));
    }
    assert_eq!(auth_types, ["azure-client-secret", "azure-msi", "azure-cli", "azure-cli", "google-credentials", "google-id"]);
    assert_eq!(shown.len(), 9, "{shown:#?}");
    let logged = logs.text();
    for secret in [ARM_SECRET, ENTRA_TOKEN, MANAGEMENT_TOKEN, AZ_TOKEN, ID_TOKEN, SA_TOKEN, REFRESH_TOKEN, ADC_SECRET, ADC_TOKEN, &key_line]
    {
        for text in &shown {
            assert!(!text.contains(secret), "Debug/Display leaks {secret}: {text}");
        }
        assert!(!logged.contains(secret), "the TRACE log leaks {secret}");
    }
    assert!(shown.iter().any(|t| t.contains("refresh failed for ***")), "az's stderr is shown, scrubbed: {shown:#?}");
    assert!(logged.contains("azure-client-secret") && logged.contains("google-id"), "the log covered the providers");
}

fn path_regex_iam() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex(r"^/v1/projects/-/serviceAccounts/.*:generate(Id|Access)Token$")
}

/// A secret an answer carried (a created token's value, of either API) is scrubbed by value from every later
/// error of the client and its clones, although it has no token shape: the pipeline learns it from the
/// decoded answer (the generated `HasSecrets` visitors), not from a side channel in `Deserialize`, whatever its
/// success status (200, or a 201 the spec does not list).
#[tokio::test]
async fn a_created_tokens_value_is_scrubbed_from_later_errors_by_value() {
    const PLAIN: &str = "plain-created-secret-0042";
    const OBO: &str = "plain-obo-secret-0043";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token/create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_info": {"token_id": "t1"}, "token_value": PLAIN})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token-management/on-behalf-of/tokens"))
        // A success status the spec does not list: decoded the same way, its secrets learnt the same way.
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"token_info": {"token_id": "t2"}, "token_value": OBO})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error_code": "INVALID_PARAMETER_VALUE", "message": format!("tokens {PLAIN} and {OBO} are not accepted here")}),
        ))
        .mount(&server)
        .await;
    let w = WorkspaceClient::builder().host(server.uri()).token(common::TOKEN).retry_policy(RetryPolicy::disabled()).build().unwrap();
    let before = w.tokens().list().send().await.unwrap_err();
    assert!(before.to_string().contains(PLAIN), "nothing learnt yet, nothing scrubbed: {before}");

    assert_eq!(w.tokens().create().send().await.unwrap().token_value().expose(), PLAIN);
    assert_eq!(w.token_management().create_obo_token("sp").send().await.unwrap().token_value().expose(), OBO);
    let clone = w.clone();
    for err in [w.tokens().list().send().await.unwrap_err(), clone.token_management().list().send().await.unwrap_err()] {
        let shown = format!("{err} | {err:?}");
        assert!(!shown.contains(PLAIN) && !shown.contains(OBO), "{shown}");
        assert!(err.to_string().contains("are not accepted here"), "{err}");
    }
}
