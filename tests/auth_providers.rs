//! Each credentials provider over real HTTP on loopback: basic, databricks-cli (a fake `databricks`
//! written by the test), metadata-service, the OIDC federation providers, host metadata and discovery,
//! and token-endpoint retries.

mod common;

use std::time::Duration;

use databricks_tokens::auth::DatabricksCliCredentials;
use databricks_tokens::config::{AuthType, Config};
use databricks_tokens::local::LocalWorkspace;
use databricks_tokens::{ErrorKind, WorkspaceClient};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A workspace whose token list answers 200 and whose OIDC endpoints are at the default places.
async fn workspace() -> MockServer {
    let server = MockServer::start().await;
    common::mount_oidc_discovery(&server).await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "workspace-access-token", "token_type": "Bearer", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/2.0/token/list")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    server
}

async fn requests(server: &MockServer, p: &str) -> Vec<Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == p).collect()
}

fn authorization(r: &Request) -> String {
    r.headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn form(r: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn client_of(env: Vec<(&str, String)>, clock: &common::FakeClock) -> WorkspaceClient {
    let config = Config::builder().env_vars(env).build().unwrap();
    WorkspaceClient::builder().config(&config).clock(clock.clone()).build().unwrap()
}

#[tokio::test]
async fn basic_sends_username_and_password() {
    let server = workspace().await;
    let w = client_of(
        vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_USERNAME", "admin".into()), ("DATABRICKS_PASSWORD", "pa:ss".into())],
        &common::FakeClock::default(),
    );
    w.tokens().list().send().await.unwrap();
    let api = &requests(&server, "/api/2.0/token/list").await[0];
    assert_eq!(authorization(api), "Basic YWRtaW46cGE6c3M=", "base64(admin:pa:ss)");
    assert!(api.headers.get("user-agent").unwrap().to_str().unwrap().ends_with("auth/basic"));
}

// ---------------------------------------------------------------------------------------------------
// databricks-cli

/// A script printing a token for the local workspace, and logging its arguments to `args`.
fn cli_printing(dir: &std::path::Path, token: &str, expiry_in_seconds: i64) -> std::path::PathBuf {
    let log = dir.join("args");
    common::fake_cli(
        dir,
        &format!(
            "echo \"$@\" >> '{}'\nn=$(wc -l < '{}')\nexpiry=$(date -u -d @$(( $(date +%s) + {expiry_in_seconds} )) +%Y-%m-%dT%H:%M:%S.%NZ)\n\
             printf '{{\"access_token\": \"{token}\", \"token_type\": \"Bearer\", \"expiry\": \"%s\"}}' \"$expiry\"",
            log.display(),
            log.display()
        ),
    )
}

fn cli_calls(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args")).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_profile_written_by_databricks_auth_login_runs_the_lifecycle_on_the_local_workspace() {
    let ws = LocalWorkspace::start().await.unwrap();
    let home_tmp = tempfile::tempdir().unwrap();
    let home = home_tmp.path();
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    cli_printing(&bin, ws.bootstrap_token().expose(), 3600);
    std::fs::write(home.join(".databrickscfg"), format!("[local]\nhost = {}\nauth_type = databricks-cli\n", ws.url())).unwrap();
    let env = vec![
        ("HOME".to_owned(), home.display().to_string()),
        ("PATH".to_owned(), bin.display().to_string()),
        ("DATABRICKS_CONFIG_PROFILE".to_owned(), "local".to_owned()),
    ];
    let config = Config::builder().env_vars(env).build().unwrap();
    assert_eq!(databricks_tokens::auth::select(&config).unwrap(), AuthType::DatabricksCli);
    let w = WorkspaceClient::from_config(&config).unwrap();
    assert!(cli_calls(&bin).is_empty(), "building the client runs nothing");
    let created = w.tokens().create().send().await.unwrap();
    let id = created.token_info.token_id;
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
    w.tokens().delete(&id).send().await.unwrap();
    assert_eq!(cli_calls(&bin), vec!["auth token --profile local"], "run once, with the profile, then cached");
    assert_eq!(w.auth_type(), "databricks-cli");
}

#[tokio::test]
async fn the_cli_runs_again_shortly_before_its_token_expires() {
    let server = workspace().await;
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    cli_printing(dir, "cli-access-token", 100);
    let clock = common::FakeClock::default();
    let w = client_of(vec![("DATABRICKS_HOST", server.uri()), ("PATH", dir.display().to_string())], &clock);
    w.tokens().list().send().await.unwrap();
    clock.advance(Duration::from_secs(50));
    w.tokens().list().send().await.unwrap();
    assert_eq!(cli_calls(dir).len(), 1, "still fresh 50 s before expiry");
    clock.advance(Duration::from_secs(15));
    w.tokens().list().send().await.unwrap();
    assert_eq!(
        cli_calls(dir),
        vec![format!("auth token --host {}", server.uri()); 2],
        "refreshed 35 s before expiry; --host without a profile"
    );
    for api in requests(&server, "/api/2.0/token/list").await {
        assert_eq!(authorization(&api), "Bearer cli-access-token");
    }
}

async fn cli_error(script: &str, timeout: Duration) -> databricks_tokens::Error {
    let server = workspace().await;
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    let program = common::fake_cli(dir, script);
    let cli = DatabricksCliCredentials::for_host(program, &server.uri()).timeout(timeout);
    let w = WorkspaceClient::builder().host(server.uri()).credentials(cli).build().unwrap();
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(requests(&server, "/api/2.0/token/list").await.is_empty(), "no API call without credentials");
    err
}

#[tokio::test]
async fn a_failing_cli_shows_its_stderr_but_never_a_token() {
    let err = cli_error(
        "echo 'Error: refresh token expired for eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl' >&2\nexit 3",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Auth);
    let text = err.to_string();
    assert!(text.contains("databricks-cli: `databricks auth token --host"), "{text}");
    assert!(text.contains("failed (exit status: 3): Error: refresh token expired for ***"), "{text}");
    assert!(text.contains("databricks auth login"), "{text}");
    assert!(!text.contains("eyJhbGci"), "{text}");
}

#[tokio::test]
async fn unparsable_cli_output_is_an_error_that_quotes_nothing() {
    let err = cli_error("echo '{\"access_token\": 42, \"leak\": \"dapi-secret-in-output\"}'", Duration::from_secs(30)).await;
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("is not a token: not the expected JSON"), "{err}");
    assert!(!format!("{err} {err:?}").contains("dapi-secret-in-output"));

    let err = cli_error("echo '{\"access_token\": \"dapi-secret-in-output\", \"expiry\": \"soon\"}'", Duration::from_secs(30)).await;
    assert!(err.to_string().contains("expiry \"soon\" is not an RFC 3339 time"), "{err}");
    assert!(!format!("{err} {err:?}").contains("dapi-secret-in-output"));
}

#[tokio::test]
async fn a_cli_that_hangs_times_out() {
    let err = cli_error("sleep 10", Duration::from_millis(300)).await;
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("did not finish within 0.3 s"), "{err}");
}

#[tokio::test]
async fn a_missing_or_legacy_cli_is_a_clear_error() {
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    let env = |extra: Vec<(&'static str, String)>| {
        let mut env = vec![("DATABRICKS_HOST", "https://h.com".to_owned()), ("DATABRICKS_AUTH_TYPE", "databricks-cli".to_owned())];
        env.extend(extra);
        env
    };
    let err = Config::builder()
        .env_vars(env(vec![("PATH", dir.display().to_string())]))
        .build()
        .and_then(|c| WorkspaceClient::from_config(&c))
        .unwrap_err();
    assert!(err.to_string().contains("no \"databricks\" on PATH"), "{err}");
    let err = Config::builder()
        .env_vars(env(vec![("DATABRICKS_CLI_PATH", dir.join("nowhere/databricks").display().to_string())]))
        .build()
        .and_then(|c| WorkspaceClient::from_config(&c))
        .unwrap_err();
    assert!(err.to_string().contains("nowhere/databricks does not exist"), "{err}");
    common::legacy_cli(dir);
    let err = Config::builder()
        .env_vars(env(vec![("PATH", dir.display().to_string())]))
        .build()
        .and_then(|c| WorkspaceClient::from_config(&c))
        .unwrap_err();
    assert!(err.to_string().contains("is the legacy Python Databricks CLI (under 1 MiB)"), "{err}");
    assert!(err.to_string().contains("https://docs.databricks.com/dev-tools/cli/install.html"), "{err}");

    // Removed after the client was built: the first call says so.
    let program = dir.join("gone");
    let w = WorkspaceClient::builder()
        .host("https://h.com")
        .credentials(DatabricksCliCredentials::for_host(&program, "https://h.com"))
        .build()
        .unwrap();
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("cannot run") && err.to_string().contains("DATABRICKS_CLI_PATH"), "{err}");
}

// ---------------------------------------------------------------------------------------------------
// metadata-service

#[tokio::test]
async fn the_metadata_service_is_asked_with_its_headers_and_refreshed_on_expiry() {
    let server = workspace().await;
    let expires_on = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    Mock::given(method("GET"))
        .and(path("/metadata/secret-path"))
        .and(header("X-Databricks-Metadata-Version", "1"))
        .and(header("X-Databricks-Host", server.uri().as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "metadata-access-token", "token_type": "bearer", "expires_on": expires_on.to_string()}),
            ),
        )
        .mount(&server)
        .await;
    let clock = common::FakeClock::default();
    let w = client_of(
        vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_METADATA_SERVICE_URL", format!("{}/metadata/secret-path", server.uri()))],
        &clock,
    );
    assert_eq!(w.auth_type(), "metadata-service");
    w.tokens().list().send().await.unwrap();
    w.tokens().list().send().await.unwrap();
    assert_eq!(requests(&server, "/metadata/secret-path").await.len(), 1, "cached");
    clock.advance(Duration::from_secs(600 - 30));
    w.tokens().list().send().await.unwrap();
    assert_eq!(requests(&server, "/metadata/secret-path").await.len(), 2, "refreshed before expiry");
    for api in requests(&server, "/api/2.0/token/list").await {
        assert_eq!(authorization(&api), "Bearer metadata-access-token", "a lower-case token type is sent canonically");
    }
}

// ---------------------------------------------------------------------------------------------------
// OIDC federation

#[tokio::test]
async fn github_oidc_exchanges_the_actions_token_for_a_workspace_token() {
    let server = workspace().await;
    let token_endpoint = format!("{}/oidc/v1/token", server.uri());
    Mock::given(method("GET"))
        .and(path("/github/token"))
        .and(query_param("api-version", "2.0"))
        .and(query_param("audience", token_endpoint.as_str()))
        .and(header("authorization", "Bearer actions-request-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 1, "value": "github-id-token-jwt"})))
        .mount(&server)
        .await;
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", server.uri()),
            ("DATABRICKS_AUTH_TYPE", "github-oidc".into()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", format!("{}/github/token?api-version=2.0", server.uri())),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "actions-request-token".into()),
            ("DATABRICKS_CLIENT_ID", "sp-federated".into()),
        ],
        &common::FakeClock::default(),
    );
    w.tokens().list().send().await.unwrap();
    let exchange = &requests(&server, "/oidc/v1/token").await[0];
    assert_eq!(
        form(exchange),
        [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("subject_token", "github-id-token-jwt"),
            ("scope", "all-apis"),
            ("client_id", "sp-federated"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    assert!(exchange.headers.get("authorization").is_none(), "no secret is sent");
    let api = &requests(&server, "/api/2.0/token/list").await[0];
    assert_eq!(authorization(api), "Bearer workspace-access-token");
    assert!(api.headers.get("user-agent").unwrap().to_str().unwrap().ends_with("auth/github-oidc"));
}

#[tokio::test]
async fn file_oidc_reads_the_file_again_on_every_refresh_and_env_oidc_sends_no_client_id_unless_set() {
    let server = workspace().await;
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    let file = dir.join("jwt");
    std::fs::write(&file, "first-jwt\n").unwrap();
    let clock = common::FakeClock::default();
    let w = client_of(vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_OIDC_TOKEN_FILEPATH", file.display().to_string())], &clock);
    assert_eq!(w.auth_type(), "file-oidc");
    w.tokens().list().send().await.unwrap();
    std::fs::write(&file, "second-jwt").unwrap();
    clock.advance(Duration::from_secs(3600));
    w.tokens().list().send().await.unwrap();
    let subjects: Vec<String> = requests(&server, "/oidc/v1/token")
        .await
        .iter()
        .map(|r| form(r).into_iter().find(|(k, _)| k == "subject_token").unwrap().1)
        .collect();
    assert_eq!(subjects, ["first-jwt", "second-jwt"]);

    let server = workspace().await;
    let w = client_of(vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_OIDC_TOKEN", "env-jwt".into())], &clock);
    w.tokens().list().send().await.unwrap();
    let fields = form(&requests(&server, "/oidc/v1/token").await[0]);
    assert!(fields.contains(&("subject_token".into(), "env-jwt".into())));
    assert!(!fields.iter().any(|(k, _)| k == "client_id"), "account-wide federation: no client_id");
}

#[tokio::test]
async fn a_refused_exchange_is_a_clear_auth_error() {
    let server = MockServer::start().await;
    common::mount_oidc_discovery(&server).await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "the token's audience is not accepted"})),
        )
        .mount(&server)
        .await;
    let w =
        client_of(vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_OIDC_TOKEN", "refused-jwt".into())], &common::FakeClock::default());
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("env-oidc: the token endpoint"), "{err}");
    assert!(
        err.to_string().contains("refused the token exchange (HTTP 400): invalid_grant: the token's audience is not accepted"),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("refused-jwt"));
}

// ---------------------------------------------------------------------------------------------------
// Host metadata and discovery

#[tokio::test]
async fn host_metadata_names_the_oidc_root_and_discovery_url_takes_precedence() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/databricks-config"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "oidc_endpoint": format!("{}/oidc/accounts/{{account_id}}", server.uri()),
            "account_id": "acc-1",
            "workspace_id": "123",
            "token_federation_default_oidc_audiences": ["https://audience.from.metadata"],
        })))
        .mount(&server)
        .await;
    for (discovery, token) in
        [("/oidc/accounts/acc-1/.well-known/oauth-authorization-server", "/token-a"), ("/custom/discovery", "/token-b")]
    {
        Mock::given(method("GET"))
            .and(path(discovery))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_endpoint": format!("{}{token}", server.uri())})))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "a", "expires_in": 3600})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/github"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": "jwt"})))
        .mount(&server)
        .await;
    Mock::given(path("/api/2.0/token/list")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;

    let clock = common::FakeClock::default();
    let m2m = vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_CLIENT_ID", "id".into()), ("DATABRICKS_CLIENT_SECRET", "s".into())];
    client_of(m2m.clone(), &clock).tokens().list().send().await.unwrap();
    let posts: Vec<String> =
        server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").map(|r| r.url.path().to_owned()).collect();
    assert_eq!(posts, ["/token-a"], "the account id from host metadata filled in the OIDC root");

    // GitHub's audience defaults to the one host metadata names.
    let github = vec![
        ("DATABRICKS_HOST", server.uri()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", format!("{}/github?x=1", server.uri())),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t".into()),
    ];
    client_of(github, &clock).tokens().list().send().await.unwrap();
    let asked = requests(&server, "/github").await;
    assert_eq!(asked[0].url.query_pairs().find(|(k, _)| k == "audience").unwrap().1, "https://audience.from.metadata");

    let metadata_requests = requests(&server, "/.well-known/databricks-config").await.len();
    let mut explicit = m2m;
    explicit.push(("DATABRICKS_DISCOVERY_URL", format!("{}/custom/discovery", server.uri())));
    client_of(explicit, &clock).tokens().list().send().await.unwrap();
    assert_eq!(requests(&server, "/.well-known/databricks-config").await.len(), metadata_requests, "not asked with discovery_url");
    assert_eq!(requests(&server, "/token-b").await.len(), 1, "the token endpoint discovery_url names");
}

#[tokio::test]
async fn token_endpoints_are_retried_on_transient_answers_within_a_minute() {
    let server = workspace().await;
    // In front of the workspace's token endpoint: 503, then 429 with Retry-After, then the real answer.
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let clock = common::FakeClock::default();
    let m2m = vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_CLIENT_ID", "id".into()), ("DATABRICKS_CLIENT_SECRET", "s".into())];
    client_of(m2m.clone(), &clock).tokens().list().send().await.unwrap();
    assert_eq!(requests(&server, "/oidc/v1/token").await.len(), 3);
    assert_eq!(clock.sleeps().len(), 2);
    assert_eq!(clock.sleeps()[1], Duration::from_secs(7), "Retry-After honoured");

    // A token endpoint that stays unavailable: given up within the budget, with the last answer.
    let down = MockServer::start().await;
    common::mount_oidc_discovery(&down).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&down).await;
    let clock = common::FakeClock::default();
    let mut env = m2m;
    env[0].1 = down.uri();
    let err = client_of(env, &clock).tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("(HTTP 503)"), "{err}");
    assert!(clock.elapsed() < databricks_tokens::limits::TOKEN_ENDPOINT_RETRY_BUDGET, "{:?}", clock.elapsed());
    assert!(requests(&down, "/oidc/v1/token").await.len() >= 3);
}

// ---------------------------------------------------------------------------------------------------
// The OIDC providers against the local workspace, which verifies the JWT for real.

#[tokio::test]
async fn env_oidc_runs_the_lifecycle_on_a_local_workspace_that_trusts_the_issuer() {
    use databricks_tokens::local::OidcIssuer;
    let issuer = OidcIssuer::new("https://ci.example").unwrap();
    let ws = LocalWorkspace::builder().trust_issuer(&issuer).start().await.unwrap();
    let jwt = issuer.mint("ci-job", &ws.token_endpoint(), Duration::from_secs(3600));
    let w =
        client_of(vec![("DATABRICKS_HOST", ws.url()), ("DATABRICKS_OIDC_TOKEN", jwt.expose().to_owned())], &common::FakeClock::default());
    assert_eq!(w.auth_type(), "env-oidc");
    let created = w.tokens().create().send().await.unwrap();
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
    w.tokens().delete(created.token_info.token_id.as_str()).send().await.unwrap();
    assert_eq!(ws.counters(databricks_tokens::local::Route::OAuthToken).processed, 1, "one exchange, then the token is cached");

    // A JWT from an issuer the workspace does not trust is refused, and the error does not quote it.
    let stranger = OidcIssuer::new("https://ci.example").unwrap().mint("ci-job", &ws.token_endpoint(), Duration::from_secs(3600));
    let w = client_of(
        vec![("DATABRICKS_HOST", ws.url()), ("DATABRICKS_OIDC_TOKEN", stranger.expose().to_owned())],
        &common::FakeClock::default(),
    );
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert!(!format!("{err} {err:?}").contains(stranger.expose()));
}

#[tokio::test]
async fn workload_identity_federation_acts_as_the_service_principal() {
    use databricks_tokens::local::OidcIssuer;
    let issuer = OidcIssuer::new("https://ci.example").unwrap();
    let ws = LocalWorkspace::builder().trust_issuer(&issuer).service_principal("sp-deployer", "unused-secret").start().await.unwrap();
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    let file = dir.join("jwt");
    std::fs::write(&file, issuer.mint("repo:acme/app", &ws.token_endpoint(), Duration::from_secs(3600)).expose()).unwrap();
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", ws.url()),
            ("DATABRICKS_CLIENT_ID", "sp-deployer".into()),
            ("DATABRICKS_OIDC_TOKEN_FILEPATH", file.display().to_string()),
        ],
        &common::FakeClock::default(),
    );
    assert_eq!(w.auth_type(), "file-oidc");
    w.tokens().create().send().await.unwrap();
    // The token belongs to the service principal: the bootstrap user does not see it.
    assert!(ws.client().unwrap().tokens().list().send().await.unwrap().is_empty());
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
}

#[tokio::test]
async fn github_oidc_runs_against_the_local_workspace_with_a_github_token_for_its_audience() {
    use databricks_tokens::local::OidcIssuer;
    let issuer = OidcIssuer::new("https://token.actions.githubusercontent.com").unwrap();
    let ws = LocalWorkspace::builder().trust_issuer(&issuer).start().await.unwrap();
    let github = MockServer::start().await;
    let minted = issuer.clone();
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(header("authorization", "Bearer actions-request-token"))
        .respond_with(move |r: &Request| {
            let audience = r.url.query_pairs().find(|(k, _)| k == "audience").map(|(_, v)| v.into_owned()).unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(
                json!({"value": minted.mint("repo:acme/app:ref:refs/heads/main", &audience, Duration::from_secs(300)).expose()}),
            )
        })
        .mount(&github)
        .await;
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", ws.url()),
            ("DATABRICKS_AUTH_TYPE", "github-oidc".into()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", format!("{}/token?api-version=2.0", github.uri())),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "actions-request-token".into()),
        ],
        &common::FakeClock::default(),
    );
    w.tokens().list().send().await.unwrap();
    let asked = &github.received_requests().await.unwrap()[0];
    let audience = asked.url.query_pairs().find(|(k, _)| k == "audience").unwrap().1.into_owned();
    assert_eq!(audience, ws.token_endpoint(), "the audience host metadata names: the workspace's token endpoint");
}
