//! The Azure and Google providers against local fakes of the cloud identity services (Microsoft Entra ID,
//! the Azure instance metadata service, `az`, Google's token and IAM services, the GCE metadata server)
//! that check what they receive and answer like the real ones, and against a local workspace that
//! verifies the tokens they issue. Nothing leaves loopback.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use databricks_tokens::config::{AuthType, Config};
use databricks_tokens::local::{LocalWorkspace, OidcIssuer, Route};
use databricks_tokens::{ErrorKind, WorkspaceClient};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const APP_ID: &str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";
const MANAGEMENT: &str = "https://management.core.windows.net/";
const TENANT: &str = "72f988bf-0000-0000-0000-0000000000aa";
const CLIENT_ID: &str = "a1b2c3d4-0000-0000-0000-0000000000cc";
const CLIENT_SECRET: &str = "azure-SP-secret-value-31";
const SP_OBJECT_ID: &str = "sp-object-id-0001";
const RESOURCE_ID: &str = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/ws-1";
const MANAGEMENT_HEADER: &str = "X-Databricks-Azure-SP-Management-Token";
const RESOURCE_ID_HEADER: &str = "X-Databricks-Azure-Workspace-Resource-Id";
const SA_EMAIL: &str = "deployer@test-project.iam.gserviceaccount.com";
const SA_SUBJECT: &str = "100000000000000000001";
const SA_HEADER: &str = "X-Databricks-GCP-SA-Access-Token";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

fn form(r: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn field(r: &Request, name: &str) -> Option<String> {
    form(r).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn client_of(env: Vec<(&str, String)>, clock: &common::FakeClock) -> WorkspaceClient {
    let config = Config::builder().env_vars(env).build().unwrap();
    WorkspaceClient::builder().config(&config).clock(clock.clone()).build().unwrap()
}

async fn requests(server: &MockServer, p: &str) -> Vec<Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == p).collect()
}

/// A local workspace that takes Entra ID tokens for the AzureDatabricks application from `entra`, with a
/// management token for the same principal and the workspace's resource id.
async fn azure_workspace(entra: &OidcIssuer) -> LocalWorkspace {
    LocalWorkspace::builder()
        .trust_issuer(entra)
        .accept_bearer_jwt(APP_ID)
        .require_jwt_header(MANAGEMENT_HEADER, MANAGEMENT)
        .require_header(RESOURCE_ID_HEADER, RESOURCE_ID)
        .start()
        .await
        .unwrap()
}

/// The answer of Entra ID's v1 token endpoint: lifetimes are strings.
fn entra_answer(token: &str, lifetime: u64) -> serde_json::Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    json!({
        "token_type": "Bearer",
        "expires_in": lifetime.to_string(),
        "ext_expires_in": lifetime.to_string(),
        "expires_on": (now + lifetime).to_string(),
        "not_before": now.to_string(),
        "resource": "r",
        "access_token": token,
    })
}

/// A fake Microsoft Entra ID: the v1 token endpoint of `TENANT`, which checks the client-credentials form
/// and issues JWTs signed by `issuer` for the resource asked for; a wrong secret is refused as Entra ID
/// refuses it.
async fn fake_entra(issuer: &OidcIssuer) -> MockServer {
    let server = MockServer::start().await;
    let issuer = issuer.clone();
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/token")))
        .respond_with(move |r: &Request| {
            let get = |k: &str| field(r, k).unwrap_or_default();
            if get("grant_type") != "client_credentials" || get("client_id") != CLIENT_ID || r.headers.get("authorization").is_some() {
                return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the following parameter: 'grant_type'.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2026-01-01 00:00:00Z", "error_codes": [900144]}));
            }
            if get("client_secret") != CLIENT_SECRET {
                return ResponseTemplate::new(401).set_body_json(json!({
                    "error": "invalid_client",
                    "error_description": format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.\r\nTrace ID: 0c1d\r\nCorrelation ID: 9f2e\r\nTimestamp: 2026-01-01 00:00:00Z"),
                    "error_codes": [7000215],
                    "timestamp": "2026-01-01 00:00:00Z",
                    "trace_id": "0c1d",
                    "correlation_id": "9f2e",
                    "error_uri": "https://login.microsoftonline.com/error?code=7000215",
                }));
            }
            let resource = get("resource");
            if resource != APP_ID && resource != MANAGEMENT {
                return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_resource", "error_description": "AADSTS500011: The resource principal was not found."}));
            }
            ResponseTemplate::new(200).set_body_json(entra_answer(issuer.mint(SP_OBJECT_ID, &resource, Duration::from_secs(3600)).expose(), 3599))
        })
        .mount(&server)
        .await;
    server
}

fn entra_issuer() -> OidcIssuer {
    OidcIssuer::new(format!("https://sts.windows.net/{TENANT}/")).unwrap()
}

#[tokio::test]
async fn azure_client_secret_runs_the_lifecycle_on_a_workspace_that_verifies_the_entra_tokens() {
    let entra = entra_issuer();
    let login = fake_entra(&entra).await;
    let ws = azure_workspace(&entra).await;
    let clock = common::FakeClock::default();
    let env = vec![
        ("DATABRICKS_HOST", ws.url()),
        ("DATABRICKS_AZURE_RESOURCE_ID", RESOURCE_ID.to_owned()),
        ("ARM_CLIENT_ID", CLIENT_ID.to_owned()),
        ("ARM_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("ARM_TENANT_ID", TENANT.to_owned()),
        ("DATABRICKS_AZURE_LOGIN_ENDPOINT", login.uri()),
    ];
    let w = client_of(env.clone(), &clock);
    assert_eq!(w.auth_type(), "azure-client-secret");
    let created = w.tokens().create().send().await.unwrap();
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
    w.tokens().delete(created.token_info.token_id.as_str()).send().await.unwrap();
    let asked = requests(&login, &format!("/{TENANT}/oauth2/token")).await;
    let resources: Vec<String> = asked.iter().map(|r| field(r, "resource").unwrap()).collect();
    assert_eq!(resources, [APP_ID, MANAGEMENT], "one workspace token and one management token, then cached");
    assert_eq!(field(&asked[0], "client_secret").as_deref(), Some(CLIENT_SECRET), "the secret goes in the form");
    assert!(ws.tokens().is_empty());

    // Refreshed before the earlier token expires (3599 s, minus the 40 s margin).
    clock.advance(Duration::from_secs(3599 - 30));
    w.tokens().list().send().await.unwrap();
    assert_eq!(requests(&login, &format!("/{TENANT}/oauth2/token")).await.len(), 4);

    // A wrong secret: Entra ID's reason and link, without its trace ids, and without the secret.
    let mut wrong = env;
    wrong[3].1 = "not-the-secret".to_owned();
    let err = client_of(wrong, &clock).tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    let text = err.to_string();
    assert!(text.contains(&format!("refused service principal {CLIENT_ID} of tenant {TENANT}")), "{text}");
    assert!(text.contains("(HTTP 401): invalid_client: AADSTS7000215: Invalid client secret provided"), "{text}");
    assert!(text.ends_with("See https://login.microsoftonline.com/error?code=7000215"), "{text}");
    assert!(!text.contains("Trace ID") && !text.contains("not-the-secret"), "{text}");
}

#[tokio::test]
async fn the_workspace_refuses_entra_tokens_without_their_management_token_or_for_another_audience() {
    let entra = entra_issuer();
    let ws = azure_workspace(&entra).await;
    let bearer = entra.mint(SP_OBJECT_ID, APP_ID, Duration::from_secs(600));
    let call = |headers: Vec<(&'static str, String)>| {
        let url = format!("{}/api/2.0/token/list", ws.url());
        async move {
            let mut request = reqwest::Client::new().get(url);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let auth = format!("Bearer {}", bearer.expose());
    let management = entra.mint(SP_OBJECT_ID, MANAGEMENT, Duration::from_secs(600));
    let (status, body) = call(vec![("authorization", auth.clone()), (RESOURCE_ID_HEADER, RESOURCE_ID.into())]).await;
    assert_eq!((status, body.contains("X-Databricks-Azure-SP-Management-Token header is missing")), (403, true), "{body}");
    let someone_else = entra.mint("other-principal", MANAGEMENT, Duration::from_secs(600));
    let (status, body) = call(vec![
        ("authorization", auth.clone()),
        (MANAGEMENT_HEADER, someone_else.expose().into()),
        (RESOURCE_ID_HEADER, RESOURCE_ID.into()),
    ])
    .await;
    assert_eq!((status, body.contains("names another subject")), (403, true), "{body}");
    let (status, body) =
        call(vec![("authorization", auth.clone()), (MANAGEMENT_HEADER, management.expose().into()), (RESOURCE_ID_HEADER, "/other".into())])
            .await;
    assert_eq!((status, body.contains("X-Databricks-Azure-Workspace-Resource-Id header is missing or is not")), (403, true), "{body}");
    let wrong_audience = entra.mint(SP_OBJECT_ID, MANAGEMENT, Duration::from_secs(600));
    let (status, body) = call(vec![
        ("authorization", format!("Bearer {}", wrong_audience.expose())),
        (MANAGEMENT_HEADER, management.expose().into()),
        (RESOURCE_ID_HEADER, RESOURCE_ID.into()),
    ])
    .await;
    assert_eq!((status, body.contains("audience")), (403, true), "{body}");
    let stranger =
        OidcIssuer::new(format!("https://sts.windows.net/{TENANT}/")).unwrap().mint(SP_OBJECT_ID, APP_ID, Duration::from_secs(600));
    let (status, body) = call(vec![
        ("authorization", format!("Bearer {}", stranger.expose())),
        (MANAGEMENT_HEADER, management.expose().into()),
        (RESOURCE_ID_HEADER, RESOURCE_ID.into()),
    ])
    .await;
    assert_eq!((status, body.contains("signature does not verify")), (403, true), "{body}");
    ws.advance_clock(Duration::from_secs(700));
    let (status, body) =
        call(vec![("authorization", auth), (MANAGEMENT_HEADER, management.expose().into()), (RESOURCE_ID_HEADER, RESOURCE_ID.into())])
            .await;
    assert_eq!((status, body.contains("expired")), (403, true), "{body}");
}

#[tokio::test]
async fn azure_client_secret_discovers_the_tenant_and_uses_the_azure_cloud_of_arm_environment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/aad/auth"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/{TENANT}/oauth2/authorize?client_id={APP_ID}&redirect_uri=x", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/token")))
        .respond_with(|r: &Request| {
            ResponseTemplate::new(200).set_body_json(entra_answer(&format!("token-for-{}", field(r, "resource").unwrap()), 3599))
        })
        .mount(&server)
        .await;
    Mock::given(path("/api/2.0/token/list")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", server.uri()),
            ("DATABRICKS_AZURE_RESOURCE_ID", RESOURCE_ID.to_owned()),
            ("ARM_CLIENT_ID", CLIENT_ID.to_owned()),
            ("ARM_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("ARM_ENVIRONMENT", "usgovernment".to_owned()),
            ("DATABRICKS_AZURE_LOGIN_ENDPOINT", format!("{}/", server.uri())),
        ],
        &common::FakeClock::default(),
    );
    w.tokens().list().send().await.unwrap();
    w.tokens().list().send().await.unwrap();
    assert_eq!(requests(&server, "/aad/auth").await.len(), 1, "discovered once");
    let resources: Vec<String> =
        requests(&server, &format!("/{TENANT}/oauth2/token")).await.iter().map(|r| field(r, "resource").unwrap()).collect();
    assert_eq!(resources, [APP_ID, "https://management.core.usgovcloudapi.net/"]);
    let api = &requests(&server, "/api/2.0/token/list").await[0];
    let h = |name: &str| api.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("authorization").as_deref(), Some(format!("Bearer token-for-{APP_ID}").as_str()));
    assert_eq!(h(MANAGEMENT_HEADER).as_deref(), Some("token-for-https://management.core.usgovcloudapi.net/"));
    assert_eq!(h(RESOURCE_ID_HEADER).as_deref(), Some(RESOURCE_ID));

    // A workspace that does not redirect: a clear error naming the fix.
    let plain = MockServer::start().await;
    Mock::given(path("/aad/auth")).respond_with(ResponseTemplate::new(200)).mount(&plain).await;
    let err = client_of(
        vec![
            ("DATABRICKS_HOST", plain.uri()),
            ("DATABRICKS_AZURE_RESOURCE_ID", RESOURCE_ID.to_owned()),
            ("ARM_CLIENT_ID", CLIENT_ID.to_owned()),
            ("ARM_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ],
        &common::FakeClock::default(),
    )
    .tokens()
    .list()
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cannot discover the Azure tenant") && err.to_string().contains("ARM_TENANT_ID"), "{err}");
}

#[tokio::test]
async fn azure_msi_asks_the_instance_metadata_service_for_both_tokens() {
    let entra = entra_issuer();
    let imds = MockServer::start().await;
    let minting = entra.clone();
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(header("Metadata", "true"))
        .and(query_param("api-version", "2018-02-01"))
        .and(query_param("client_id", "user-assigned-identity"))
        .respond_with(move |r: &Request| {
            let resource = r.url.query_pairs().find(|(k, _)| k == "resource").unwrap().1.into_owned();
            ResponseTemplate::new(200)
                .set_body_json(entra_answer(minting.mint("msi-object-id", &resource, Duration::from_secs(86400)).expose(), 86399))
        })
        .mount(&imds)
        .await;
    let ws = azure_workspace(&entra).await;
    let env = vec![
        ("DATABRICKS_HOST", ws.url()),
        ("DATABRICKS_AZURE_RESOURCE_ID", RESOURCE_ID.to_owned()),
        ("ARM_USE_MSI", "true".to_owned()),
        ("ARM_CLIENT_ID", "user-assigned-identity".to_owned()),
        ("DATABRICKS_AZURE_MSI_ENDPOINT", format!("{}/metadata/identity/oauth2/token", imds.uri())),
    ];
    let w = client_of(env.clone(), &common::FakeClock::default());
    assert_eq!(w.auth_type(), "azure-msi");
    w.tokens().create().send().await.unwrap();
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
    let resources: Vec<String> = requests(&imds, "/metadata/identity/oauth2/token")
        .await
        .iter()
        .map(|r| r.url.query_pairs().find(|(k, _)| k == "resource").unwrap().1.into_owned())
        .collect();
    assert_eq!(resources, [APP_ID, MANAGEMENT]);

    // The metadata service's own error body.
    let refusing = MockServer::start().await;
    Mock::given(path("/metadata/identity/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request", "error_description": "Identity not found"})),
        )
        .mount(&refusing)
        .await;
    let mut env = env;
    env[4].1 = format!("{}/metadata/identity/oauth2/token", refusing.uri());
    let err = client_of(env, &common::FakeClock::default()).tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.to_string()
            .contains("refused a token for managed identity user-assigned-identity (HTTP 400): invalid_request: Identity not found"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------------
// azure-cli, with a fake `az`

/// A fake `az` that logs its arguments (and `TZ`) to `dir/args`, answers `az account show` as a user's
/// login, and prints `token_for_app` / `token_for_management` for the two resources, expiring in
/// `expiry_in_seconds`: with `expires_on` (epoch, new `az`) unless `old_az`, and always `expiresOn` (local
/// time, which `date` prints in `TZ`).
fn fake_az(dir: &std::path::Path, token_for_app: &str, token_for_management: Option<&str>, expiry_in_seconds: i64, old_az: bool) {
    let log = dir.join("args").display().to_string();
    let management = match token_for_management {
        Some(t) => format!("token='{t}'"),
        None => "echo 'ERROR: AADSTS65001: The user or administrator has not consented to use the application' >&2; exit 1".to_owned(),
    };
    let epoch = if old_az { String::new() } else { "\"expires_on\": %s, ".to_owned() };
    let printf_args = if old_az { "\"$local\"" } else { "\"$local\" \"$at\"" };
    let script = format!(
        "echo \"TZ=$TZ $*\" >> '{log}'\n\
         if [ \"$1 $2\" = 'account show' ]; then echo '{{\"user\": {{\"name\": \"someone@example.com\", \"type\": \"user\"}}}}'; exit 0; fi\n\
         case \"$*\" in *{MANAGEMENT}*) {management} ;; *) token='{token_for_app}' ;; esac\n\
         at=$(( $(date +%s) + {expiry_in_seconds} ))\n\
         local=$(date -d @$at '+%Y-%m-%d %H:%M:%S.%6N')\n\
         printf '{{\"accessToken\": \"%s\", \"expiresOn\": \"%s\", {epoch}\"subscription\": \"sub-1\", \"tenant\": \"{TENANT}\", \"tokenType\": \"Bearer\"}}' \"$token\" {printf_args}"
    );
    common::fake_az(dir, &script);
}

fn az_calls(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args")).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn azure_cli_runs_the_lifecycle_with_the_tokens_az_prints() {
    let entra = entra_issuer();
    let ws = azure_workspace(&entra).await;
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    let app = entra.mint("user-object-id", APP_ID, Duration::from_secs(3600));
    let management = entra.mint("user-object-id", MANAGEMENT, Duration::from_secs(3600));
    fake_az(dir, app.expose(), Some(management.expose()), 3600, false);
    let env = vec![
        ("DATABRICKS_HOST", ws.url()),
        ("DATABRICKS_AZURE_RESOURCE_ID", RESOURCE_ID.to_owned()),
        ("ARM_TENANT_ID", TENANT.to_owned()),
        ("PATH", dir.display().to_string()),
    ];
    let config = Config::builder().env_vars(env).build().unwrap();
    assert_eq!(databricks_tokens::auth::select(&config).unwrap(), AuthType::AzureCli);
    let w = WorkspaceClient::from_config(&config).unwrap();
    assert!(az_calls(dir).is_empty(), "building the client runs nothing");
    let created = w.tokens().create().send().await.unwrap();
    w.tokens().delete(created.token_info.token_id.as_str()).send().await.unwrap();
    assert_eq!(
        az_calls(dir),
        [
            "TZ=UTC0 account show --output json".to_owned(),
            format!("TZ=UTC0 account get-access-token --resource {APP_ID} --output json --tenant {TENANT}"),
            format!("TZ=UTC0 account get-access-token --resource {MANAGEMENT} --output json --tenant {TENANT}"),
        ],
        "arguments as a list, the tenant passed, then cached"
    );
}

async fn any_workspace() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/api/2.0/token/list")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    server
}

#[tokio::test]
async fn azure_cli_reads_both_expiry_formats_and_refreshes_before_expiry() {
    for old_az in [false, true] {
        let server = any_workspace().await;
        let dir_tmp = tempfile::tempdir().unwrap();
        let dir = dir_tmp.path();
        fake_az(dir, "app-token", Some("management-token"), 100, old_az);
        let clock = common::FakeClock::default();
        let w = client_of(
            vec![
                ("DATABRICKS_HOST", server.uri()),
                ("DATABRICKS_CLOUD", "Azure".to_owned()),
                ("ARM_TENANT_ID", TENANT.to_owned()),
                ("PATH", dir.display().to_string()),
            ],
            &clock,
        );
        w.tokens().list().send().await.unwrap();
        clock.advance(Duration::from_secs(50));
        w.tokens().list().send().await.unwrap();
        assert_eq!(az_calls(dir).len(), 3, "old_az={old_az}: still fresh 50 s before expiry");
        clock.advance(Duration::from_secs(15));
        w.tokens().list().send().await.unwrap();
        assert_eq!(az_calls(dir).len(), 5, "old_az={old_az}: refreshed 35 s before expiry (account show is asked once)");
        for api in requests(&server, "/api/2.0/token/list").await {
            assert_eq!(api.headers.get("authorization").unwrap(), "Bearer app-token");
            assert_eq!(api.headers.get(MANAGEMENT_HEADER).unwrap(), "management-token");
            assert!(api.headers.get(RESOURCE_ID_HEADER).is_none(), "no resource id configured");
        }
    }
}

#[tokio::test]
async fn azure_cli_sends_no_management_token_when_az_cannot_issue_one() {
    let server = any_workspace().await;
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    fake_az(dir, "app-token", None, 100, false);
    let clock = common::FakeClock::default();
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", server.uri()),
            ("DATABRICKS_CLOUD", "azure".to_owned()),
            ("ARM_TENANT_ID", TENANT.to_owned()),
            ("PATH", dir.display().to_string()),
        ],
        &clock,
    );
    w.tokens().list().send().await.unwrap();
    clock.advance(Duration::from_secs(90));
    w.tokens().list().send().await.unwrap();
    let management_calls = az_calls(dir).iter().filter(|c| c.contains(MANAGEMENT)).count();
    assert_eq!(management_calls, 1, "tried on the first refresh only: {:?}", az_calls(dir));
    for api in requests(&server, "/api/2.0/token/list").await {
        assert_eq!(api.headers.get("authorization").unwrap(), "Bearer app-token");
        assert!(api.headers.get(MANAGEMENT_HEADER).is_none());
    }
}

async fn az_error(script: &str, tenant: Option<&str>) -> databricks_tokens::Error {
    let server = any_workspace().await;
    let dir_tmp = tempfile::tempdir().unwrap();
    let dir = dir_tmp.path();
    common::fake_az(dir, script);
    let mut env = vec![("DATABRICKS_HOST", server.uri()), ("DATABRICKS_CLOUD", "Azure".to_owned()), ("PATH", dir.display().to_string())];
    if let Some(t) = tenant {
        env.push(("ARM_TENANT_ID", t.to_owned()));
    }
    let err = client_of(env, &common::FakeClock::default()).tokens().list().send().await.unwrap_err();
    assert!(requests(&server, "/api/2.0/token/list").await.is_empty(), "no API call without credentials");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    err
}

#[tokio::test]
async fn azure_cli_errors_say_what_to_do() {
    let err = az_error("echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1", None).await;
    assert!(err.to_string().contains("azure-cli: the Azure CLI is not logged in: run `az login`"), "{err}");
    assert!(err.to_string().contains("Please run 'az login' to setup account."), "{err}");

    let wrong_tenant = "[ \"$1 $2\" = 'account show' ] && exit 1\n\
        echo \"ERROR: AADSTS90002: Tenant '$6$7' not found. Check to make sure you have the correct tenant ID.\" >&2; exit 1";
    let err = az_error(wrong_tenant, Some("contoso-tenant")).await;
    let text = err.to_string();
    assert!(text.contains("the Azure CLI cannot get a token in tenant contoso-tenant"), "{text}");
    assert!(text.contains("`az login --tenant contoso-tenant`") && text.contains("ARM_TENANT_ID"), "{text}");

    let leaky = "echo '{\"accessToken\": 42, \"leak\": \"az-secret-output-value\"}'";
    let err = az_error(leaky, None).await;
    assert!(err.to_string().contains("is not a token"), "{err}");
    assert!(!format!("{err} {err:?}").contains("az-secret-output-value"));

    let expired =
        "printf '{\"accessToken\": \"az-secret-output-value\", \"expires_on\": 1000, \"expiresOn\": \"1970-01-01 00:16:40.000000\"}'";
    let err = az_error(expired, None).await;
    assert!(err.to_string().contains("already expired"), "{err}");
    assert!(!format!("{err} {err:?}").contains("az-secret-output-value"));

    // az missing: the chain says so, a pinned auth_type is a configuration error, and a removed az is
    // an error naming the install page.
    let empty_tmp = tempfile::tempdir().unwrap();
    let empty = empty_tmp.path();
    let err = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net".to_owned()),
            ("DATABRICKS_AUTH_TYPE", "azure-cli".to_owned()),
            ("PATH", empty.display().to_string()),
        ])
        .build()
        .and_then(|config| WorkspaceClient::from_config(&config))
        .unwrap_err();
    assert!(err.to_string().contains("auth_type is azure-cli but it is not configured: no \"az\" (the Azure CLI) on PATH"), "{err}");
    let gone_tmp = tempfile::tempdir().unwrap();
    let gone = gone_tmp.path();
    common::fake_az(gone, "exit 0");
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net".to_owned()),
            ("ARM_TENANT_ID", TENANT.to_owned()),
            ("PATH", gone.display().to_string()),
        ],
        &common::FakeClock::default(),
    );
    std::fs::remove_file(gone.join("az")).unwrap();
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.to_string().contains("install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli)"), "{err}");
}

// ---------------------------------------------------------------------------------------------------
// Google

/// A local workspace on a port chosen first, so that it can trust Google ID tokens for its own URL.
async fn google_workspace(google: &OidcIssuer) -> LocalWorkspace {
    let port = common::refused_address().rsplit(':').next().unwrap().parse::<u16>().unwrap();
    LocalWorkspace::builder()
        .port(port)
        .trust_issuer(google)
        .accept_bearer_jwt(format!("http://127.0.0.1:{port}"))
        .require_jwt_header(SA_HEADER, CLOUD_PLATFORM)
        .start()
        .await
        .unwrap()
}

/// A fake Google token endpoint at `/token`: verifies the JWT bearer assertion's RS256 signature with the
/// test key's public half, its `iss`, `aud` (this endpoint) and `kid`, then answers an ID token for the
/// `target_audience` or an access token for the `scope`, minted by `google`. Anything else is refused as
/// Google refuses it. Also answers the refresh-token grant of the ADC user `adc-client`.
async fn fake_google(google: &OidcIssuer) -> MockServer {
    let server = MockServer::start().await;
    let endpoint = format!("{}/token", server.uri());
    let google = google.clone();
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(move |r: &Request| {
            let refuse = |error: &str, description: &str| {
                ResponseTemplate::new(400).set_body_json(json!({"error": error, "error_description": description}))
            };
            match field(r, "grant_type").as_deref() {
                Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {}
                Some("refresh_token") => {
                    return if field(r, "client_id").as_deref() == Some("adc-client")
                        && field(r, "client_secret").as_deref() == Some("adc-client-secret")
                        && field(r, "refresh_token").as_deref() == Some("adc-refresh-token")
                    {
                        ResponseTemplate::new(200).set_body_json(json!({"access_token": "adc-access-token", "expires_in": 3599, "token_type": "Bearer", "scope": CLOUD_PLATFORM}))
                    } else {
                        refuse("invalid_grant", "Bad Request")
                    };
                }
                _ => return refuse("unsupported_grant_type", "Invalid grant_type: "),
            }
            let assertion = field(r, "assertion").unwrap_or_default();
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(common::GOOGLE_SA_PUBLIC_KEY.as_bytes()).unwrap();
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_audience(&[&endpoint]);
            validation.set_issuer(&[SA_EMAIL]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            let Ok(header) = jsonwebtoken::decode_header(&assertion) else { return refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.") };
            let claims = match jsonwebtoken::decode::<serde_json::Value>(&assertion, &key, &validation) {
                Ok(data) if header.kid.as_deref() == Some("test-key-id") => data.claims,
                _ => return refuse("invalid_grant", "Invalid JWT Signature."),
            };
            if let Some(audience) = claims.get("target_audience").and_then(|a| a.as_str()) {
                return ResponseTemplate::new(200).set_body_json(json!({"id_token": google.mint(SA_SUBJECT, audience, Duration::from_secs(3600)).expose()}));
            }
            match claims.get("scope").and_then(|s| s.as_str()) {
                Some(scope) if scope.split(' ').any(|s| s == CLOUD_PLATFORM) => ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": google.mint(SA_SUBJECT, CLOUD_PLATFORM, Duration::from_secs(3600)).expose(),
                    "expires_in": 3599,
                    "token_type": "Bearer",
                })),
                _ => refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided."),
            }
        })
        .mount(&server)
        .await;
    server
}

fn google_issuer() -> OidcIssuer {
    OidcIssuer::new("https://accounts.google.com").unwrap()
}

#[tokio::test]
async fn google_credentials_runs_the_lifecycle_with_a_signed_assertion_verified_by_the_fake_google() {
    let google = google_issuer();
    let token_endpoint = fake_google(&google).await;
    let ws = google_workspace(&google).await;
    // The key names Google's real endpoint; DATABRICKS_GOOGLE_TOKEN_ENDPOINT moves it to the fake.
    let key = common::google_key_json(SA_EMAIL, "https://oauth2.googleapis.com/token");
    let env = vec![
        ("DATABRICKS_HOST", ws.url()),
        ("DATABRICKS_CLOUD", "GCP".to_owned()),
        ("GOOGLE_CREDENTIALS", key),
        ("DATABRICKS_GOOGLE_TOKEN_ENDPOINT", format!("{}/token", token_endpoint.uri())),
    ];
    let w = client_of(env.clone(), &common::FakeClock::default());
    assert_eq!(w.auth_type(), "google-credentials");
    let created = w.tokens().create().send().await.unwrap();
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
    w.tokens().delete(created.token_info.token_id.as_str()).send().await.unwrap();
    let grants = requests(&token_endpoint, "/token").await;
    assert_eq!(grants.len(), 2, "one ID token and one access token, then cached");
    assert_eq!(ws.counters(Route::OAuthToken).received, 0, "the workspace took Google's ID token directly");

    // Signed with another key: Google's refusal.
    let mut other = env;
    other[2].1 =
        common::google_key_json_with(SA_EMAIL, "https://oauth2.googleapis.com/token", include_str!("fixtures/oidc/rs256-private.pem"));
    let err = client_of(other, &common::FakeClock::default()).tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.to_string()
            .contains(&format!("refused service account {SA_EMAIL} (an ID token) (HTTP 400): invalid_grant: Invalid JWT Signature")),
        "{err}"
    );
}

#[tokio::test]
async fn the_service_account_token_is_best_effort() {
    let server = any_workspace().await;
    // A token endpoint that issues ID tokens but refuses access tokens.
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(|r: &Request| {
            use base64::Engine as _;
            let assertion = field(r, "assertion").unwrap();
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(assertion.split('.').nth(1).unwrap()).unwrap();
            let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            if claims.get("target_audience").is_some() {
                ResponseTemplate::new(200).set_body_json(json!({"id_token": "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln"}))
            } else {
                ResponseTemplate::new(403)
                    .set_body_json(json!({"error": "access_denied", "error_description": "Requested client not authorized."}))
            }
        })
        .mount(&server)
        .await;
    let w = client_of(
        vec![
            ("DATABRICKS_HOST", server.uri()),
            ("DATABRICKS_CLOUD", "GCP".to_owned()),
            ("GOOGLE_CREDENTIALS", common::google_key_json(SA_EMAIL, &format!("{}/token", server.uri()))),
        ],
        &common::FakeClock::default(),
    );
    w.tokens().list().send().await.unwrap();
    let api = &requests(&server, "/api/2.0/token/list").await[0];
    assert_eq!(api.headers.get("authorization").unwrap(), "Bearer eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln");
    assert!(api.headers.get(SA_HEADER).is_none());
}

/// A fake IAM credentials service for `SA_EMAIL`, which accepts the ADC token `adc-access-token`.
async fn fake_iam(google: &OidcIssuer, audience: &str) -> MockServer {
    let iam = MockServer::start().await;
    let denied = ResponseTemplate::new(403).set_body_json(json!({"error": {
        "code": 403,
        "message": "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may not exist).",
        "status": "PERMISSION_DENIED",
    }}));
    let minted = google.mint(SA_SUBJECT, audience, Duration::from_secs(3600));
    Mock::given(method("POST"))
        .and(path(format!("/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateIdToken")))
        .and(header("authorization", "Bearer adc-access-token"))
        .and(body_json(json!({"audience": audience, "includeEmail": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": minted.expose()})))
        .mount(&iam)
        .await;
    let access = google.mint(SA_SUBJECT, CLOUD_PLATFORM, Duration::from_secs(3600));
    Mock::given(method("POST"))
        .and(path(format!("/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken")))
        .and(header("authorization", "Bearer adc-access-token"))
        .and(body_json(json!({"scope": [CLOUD_PLATFORM, "https://www.googleapis.com/auth/compute"], "lifetime": "3600s"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accessToken": access.expose(),
            "expireTime": "2099-01-01T00:00:00Z",
        })))
        .mount(&iam)
        .await;
    Mock::given(method("POST")).respond_with(denied).with_priority(10).mount(&iam).await;
    iam
}

#[tokio::test]
async fn google_id_impersonates_the_service_account_with_gcloud_application_default_credentials() {
    let google = google_issuer();
    let token_endpoint = fake_google(&google).await;
    let ws = google_workspace(&google).await;
    let iam = fake_iam(&google, &ws.url()).await;
    let home_tmp = tempfile::tempdir().unwrap();
    let home = home_tmp.path();
    std::fs::create_dir_all(home.join(".config/gcloud")).unwrap();
    std::fs::write(
        home.join(".config/gcloud/application_default_credentials.json"),
        json!({"type": "authorized_user", "client_id": "adc-client", "client_secret": "adc-client-secret", "refresh_token": "adc-refresh-token"}).to_string(),
    )
    .unwrap();
    let env = vec![
        ("DATABRICKS_HOST", ws.url()),
        ("DATABRICKS_CLOUD", "GCP".to_owned()),
        ("DATABRICKS_GOOGLE_SERVICE_ACCOUNT", SA_EMAIL.to_owned()),
        ("HOME", home.display().to_string()),
        ("DATABRICKS_GOOGLE_TOKEN_ENDPOINT", format!("{}/token", token_endpoint.uri())),
        ("DATABRICKS_GOOGLE_IAM_ENDPOINT", iam.uri()),
    ];
    let w = client_of(env.clone(), &common::FakeClock::default());
    assert_eq!(w.auth_type(), "google-id");
    w.tokens().create().send().await.unwrap();
    assert_eq!(w.tokens().list().send().await.unwrap().len(), 1);
    assert_eq!(requests(&token_endpoint, "/token").await.len(), 1, "one refresh-token grant, then cached");

    // Not allowed to impersonate: IAM's error.
    let mut other = env;
    other[2].1 = "someone-else@test-project.iam.gserviceaccount.com".to_owned();
    let err = client_of(other, &common::FakeClock::default()).tokens().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.to_string().contains("refused generateIdToken for someone-else@test-project.iam.gserviceaccount.com (HTTP 403): PERMISSION_DENIED: Permission 'iam.serviceAccounts.getOpenIdToken' denied"),
        "{err}"
    );
}

#[tokio::test]
async fn google_id_uses_a_service_account_key_or_the_gce_metadata_server() {
    let google = google_issuer();
    let token_endpoint = fake_google(&google).await;
    let server = any_workspace().await;
    let iam = fake_iam(&google, &server.uri()).await;
    let home_tmp = tempfile::tempdir().unwrap();
    let home = home_tmp.path();

    // No ADC file: the GCE metadata server (GCE_METADATA_HOST), which must say it is Google's.
    let metadata = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/instance/service-accounts/default/token"))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Metadata-Flavor", "Google")
                .set_body_json(json!({"access_token": "adc-access-token", "expires_in": 3599, "token_type": "Bearer"})),
        )
        .mount(&metadata)
        .await;
    let env = |extra: Vec<(&'static str, String)>| {
        let mut env = vec![
            ("DATABRICKS_HOST", server.uri()),
            ("DATABRICKS_CLOUD", "GCP".to_owned()),
            ("DATABRICKS_GOOGLE_SERVICE_ACCOUNT", SA_EMAIL.to_owned()),
            ("HOME", home.display().to_string()),
            ("DATABRICKS_GOOGLE_IAM_ENDPOINT", iam.uri()),
        ];
        env.extend(extra);
        env
    };
    let w = client_of(env(vec![("GCE_METADATA_HOST", metadata.address().to_string())]), &common::FakeClock::default());
    w.tokens().list().send().await.unwrap();
    assert_eq!(requests(&metadata, "/computeMetadata/v1/instance/service-accounts/default/token").await.len(), 1);
    let api = &requests(&server, "/api/2.0/token/list").await[0];
    assert!(api.headers.get("authorization").unwrap().to_str().unwrap().starts_with("Bearer eyJ"));
    assert!(api.headers.get(SA_HEADER).unwrap().to_str().unwrap().starts_with("eyJ"));

    // Nothing there: a clear error, quickly.
    let err = client_of(
        env(vec![("GCE_METADATA_HOST", common::refused_address().trim_start_matches("http://").to_owned())]),
        &common::FakeClock::default(),
    )
    .tokens()
    .list()
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("no application default credentials") && err.to_string().contains("gcloud auth application-default login"),
        "{err}"
    );

    // GOOGLE_APPLICATION_CREDENTIALS naming a service-account key: a signed assertion for the source token.
    let key = home.join("key.json");
    std::fs::write(&key, common::google_key_json(SA_EMAIL, &format!("{}/token", token_endpoint.uri()))).unwrap();
    let w = client_of(env(vec![("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string())]), &common::FakeClock::default());
    // The fake IAM accepts only `adc-access-token`: the key's token is refused with IAM's own error.
    let err = w.tokens().list().send().await.unwrap_err();
    assert!(err.to_string().contains("PERMISSION_DENIED"), "{err}");
    let grant = &requests(&token_endpoint, "/token").await[0];
    assert_eq!(field(grant, "grant_type").as_deref(), Some("urn:ietf:params:oauth:grant-type:jwt-bearer"), "the key signed an assertion");
}

#[test]
fn a_malformed_endpoint_is_refused_when_the_client_is_built_not_at_the_first_call() {
    let build = |env: Vec<(&str, String)>| {
        let config = Config::builder().env_vars(env).build().unwrap();
        WorkspaceClient::builder().config(&config).build().unwrap_err()
    };
    let err = build(vec![
        ("DATABRICKS_HOST", "https://adb-123.4.azuredatabricks.net".to_owned()),
        ("ARM_USE_MSI", "true".to_owned()),
        ("DATABRICKS_AZURE_MSI_ENDPOINT", "not a url".to_owned()),
    ]);
    assert!(err.to_string().contains("azure_msi_endpoint is not a URL"), "{err}");
    let home_tmp = tempfile::tempdir().unwrap();
    let home = home_tmp.path();
    std::fs::create_dir_all(home.join(".config/gcloud")).unwrap();
    std::fs::write(
        home.join(".config/gcloud/application_default_credentials.json"),
        json!({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}).to_string(),
    )
    .unwrap();
    let err = build(vec![
        ("DATABRICKS_HOST", "https://1234.5.gcp.databricks.com".to_owned()),
        ("DATABRICKS_GOOGLE_SERVICE_ACCOUNT", SA_EMAIL.to_owned()),
        ("HOME", home.display().to_string()),
        ("DATABRICKS_GOOGLE_IAM_ENDPOINT", "mailto:iam@example.com".to_owned()),
    ]);
    assert!(err.to_string().contains("google_iam_endpoint is not a base URL"), "{err}");
}
