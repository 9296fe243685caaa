//! The account client with the Azure, Google and basic credentials of a configuration, over real HTTP on
//! loopback: a wiremock server stands in for the account API (`GET /api/2.0/accounts/{id}/workspaces`)
//! and checks what each method sends; local fakes of Entra ID and Google's token endpoint issue the tokens.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use databricks_tokens::AccountClient;
use databricks_tokens::ErrorKind;
use databricks_tokens::config::Config;
use databricks_tokens::local::OidcIssuer;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCOUNT_ID: &str = "acc-0d4c6a2e";
const APP_ID: &str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";
const MANAGEMENT: &str = "https://management.core.windows.net/";
const TENANT: &str = "72f988bf-0000-0000-0000-0000000000aa";
const CLIENT_ID: &str = "a1b2c3d4-0000-0000-0000-0000000000cc";
const CLIENT_SECRET: &str = "azure-SP-secret-value-31";
const SA_EMAIL: &str = "deployer@test-project.iam.gserviceaccount.com";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

fn workspaces_path() -> String {
    format!("/api/2.0/accounts/{ACCOUNT_ID}/workspaces")
}

/// The account API: the workspaces list, answered only with the `Authorization` header given.
async fn account_api(authorization: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(workspaces_path()))
        .and(header("authorization", authorization))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"workspace_id": 7, "deployment_name": "adb-7", "workspace_status": "RUNNING"},
        ])))
        .mount(&server)
        .await;
    server
}

async fn received(server: &MockServer, p: &str) -> Vec<Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == p).collect()
}

fn form(r: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&r.body).into_owned().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn account_client(env: Vec<(&str, String)>) -> AccountClient {
    let config = Config::builder().env_vars(env).build().unwrap();
    AccountClient::builder().config(&config).build().unwrap()
}

#[tokio::test]
async fn basic_auth_reaches_the_account_api_and_never_prints_the_password() {
    let password = "account-admin-password-8472";
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin@example.com:{password}")));
    let api = account_api(&expected).await;
    let a = account_client(vec![
        ("DATABRICKS_HOST", api.uri()),
        ("DATABRICKS_ACCOUNT_ID", ACCOUNT_ID.to_owned()),
        ("DATABRICKS_USERNAME", "admin@example.com".to_owned()),
        ("DATABRICKS_PASSWORD", password.to_owned()),
        ("HOME", "/nonexistent".to_owned()),
    ]);
    assert_eq!(a.auth_type(), "basic");
    let workspaces = a.workspaces().list().send().await.unwrap();
    assert_eq!(workspaces.len(), 1);
    assert_eq!(i64::from(workspaces[0].workspace_id), 7);
    let sent = received(&api, &workspaces_path()).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].headers.get("authorization").unwrap().to_str().unwrap(), expected);
    assert!(!format!("{a:?}").contains(password));

    // A wrong password: the account refuses (no mock answers it), and the error never quotes it.
    let wrong = "not-the-password-5531";
    let a = account_client(vec![
        ("DATABRICKS_HOST", api.uri()),
        ("DATABRICKS_ACCOUNT_ID", ACCOUNT_ID.to_owned()),
        ("DATABRICKS_USERNAME", "admin@example.com".to_owned()),
        ("DATABRICKS_PASSWORD", wrong.to_owned()),
        ("HOME", "/nonexistent".to_owned()),
    ]);
    let err = a.workspaces().list().send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let printed = format!("{err} {err:?} {a:?}");
    assert!(!printed.contains(wrong), "{printed}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("admin@example.com:{wrong}"));
    assert!(!printed.contains(&encoded), "{printed}");
}

/// A fake Entra ID v1 token endpoint for `TENANT`: checks the client-credentials form and answers a
/// distinct token for each resource (the AzureDatabricks application, the service management endpoint).
async fn fake_entra() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/token")))
        .respond_with(|r: &Request| {
            let get = |k: &str| form(r, k).unwrap_or_default();
            if get("grant_type") != "client_credentials" || get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
                return ResponseTemplate::new(401).set_body_json(
                    json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
                );
            }
            let token = match get("resource").as_str() {
                APP_ID => "aad-token-for-azure-databricks",
                MANAGEMENT => "aad-token-for-management",
                _ => return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_resource"})),
            };
            ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer", "expires_in": "3599", "access_token": token}))
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn azure_client_secret_sends_the_entra_tokens_and_no_workspace_resource_id_to_the_account() {
    let entra = fake_entra().await;
    let api = account_api("Bearer aad-token-for-azure-databricks").await;
    let env = |secret: &str| {
        vec![
            ("DATABRICKS_HOST", api.uri()),
            ("DATABRICKS_ACCOUNT_ID", ACCOUNT_ID.to_owned()),
            // A loopback host is no Azure host: the cloud says so (accounts.azuredatabricks.net would).
            ("DATABRICKS_CLOUD", "AZURE".to_owned()),
            ("ARM_CLIENT_ID", CLIENT_ID.to_owned()),
            ("ARM_CLIENT_SECRET", secret.to_owned()),
            ("ARM_TENANT_ID", TENANT.to_owned()),
            ("DATABRICKS_AZURE_LOGIN_ENDPOINT", entra.uri()),
            ("HOME", "/nonexistent".to_owned()),
        ]
    };
    let a = account_client(env(CLIENT_SECRET));
    assert_eq!(a.auth_type(), "azure-client-secret");
    assert_eq!(a.workspaces().list().send().await.unwrap().len(), 1);
    assert_eq!(a.workspaces().list().send().await.unwrap().len(), 1);

    let asked = received(&entra, &format!("/{TENANT}/oauth2/token")).await;
    let resources: Vec<String> = asked.iter().map(|r| form(r, "resource").unwrap()).collect();
    assert_eq!(resources, [APP_ID, MANAGEMENT], "one token for each resource, then cached");
    let sent = received(&api, &workspaces_path()).await;
    assert_eq!(sent.len(), 2);
    for r in &sent {
        // As the Go SDK sends it: the management token always, the resource id only for a workspace.
        assert_eq!(r.headers.get("x-databricks-azure-sp-management-token").unwrap().to_str().unwrap(), "aad-token-for-management");
        assert!(r.headers.get("x-databricks-azure-workspace-resource-id").is_none(), "no workspace resource id at account level");
    }
    assert!(!format!("{a:?}").contains(CLIENT_SECRET));

    // A wrong secret: Entra ID's refusal, an auth error that never quotes the secret.
    let wrong = "azure-wrong-secret-0042";
    let a = account_client(env(wrong));
    let err = a.workspaces().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    let printed = format!("{err} {err:?} {a:?}");
    assert!(!printed.contains(wrong), "{printed}");
}

/// A fake Google token endpoint at `/token`: verifies the JWT bearer assertion (the test key's signature,
/// issuer, audience this endpoint), then answers an ID token for the `target_audience` (minted by
/// `google`, and recorded in `issued`) or the access token `google-sa-access-token` for the cloud-platform scope.
async fn fake_google(google: &OidcIssuer, issued: Arc<Mutex<Vec<String>>>) -> MockServer {
    let server = MockServer::start().await;
    let endpoint = format!("{}/token", server.uri());
    let google = google.clone();
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(move |r: &Request| {
            let assertion = form(r, "assertion").unwrap_or_default();
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(common::GOOGLE_SA_PUBLIC_KEY.as_bytes()).unwrap();
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_audience(&[&endpoint]);
            validation.set_issuer(&[SA_EMAIL]);
            let Ok(data) = jsonwebtoken::decode::<serde_json::Value>(&assertion, &key, &validation) else {
                return ResponseTemplate::new(400)
                    .set_body_json(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}));
            };
            if let Some(audience) = data.claims.get("target_audience").and_then(|a| a.as_str()) {
                let id_token = google.mint("100000000000000000001", audience, Duration::from_secs(3600)).expose().to_owned();
                issued.lock().unwrap().push(id_token.clone());
                return ResponseTemplate::new(200).set_body_json(json!({"id_token": id_token}));
            }
            match data.claims.get("scope").and_then(|s| s.as_str()) {
                Some(scope) if scope.split(' ').any(|s| s == CLOUD_PLATFORM) => ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "google-sa-access-token", "expires_in": 3599, "token_type": "Bearer"})),
                _ => ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_scope"})),
            }
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn google_credentials_send_the_google_id_token_for_the_account_host() {
    let google = OidcIssuer::new("https://accounts.google.com").unwrap();
    let issued = Arc::new(Mutex::new(Vec::new()));
    let token_endpoint = fake_google(&google, Arc::clone(&issued)).await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(workspaces_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"workspace_id": 7, "workspace_status": "RUNNING"}])))
        .mount(&api)
        .await;
    let a = account_client(vec![
        ("DATABRICKS_HOST", api.uri()),
        ("DATABRICKS_ACCOUNT_ID", ACCOUNT_ID.to_owned()),
        // A loopback host is no GCP host: the cloud says so (accounts.gcp.databricks.com would).
        ("DATABRICKS_CLOUD", "GCP".to_owned()),
        ("GOOGLE_CREDENTIALS", common::google_key_json(SA_EMAIL, "https://oauth2.googleapis.com/token")),
        ("DATABRICKS_GOOGLE_TOKEN_ENDPOINT", format!("{}/token", token_endpoint.uri())),
        ("HOME", "/nonexistent".to_owned()),
    ]);
    assert_eq!(a.auth_type(), "google-credentials");
    assert_eq!(a.workspaces().list().send().await.unwrap().len(), 1);

    let sent = received(&api, &workspaces_path()).await;
    assert_eq!(sent.len(), 1);
    let bearer = sent[0].headers.get("authorization").unwrap().to_str().unwrap().strip_prefix("Bearer ").unwrap().to_owned();
    // The Google-issued ID token, its audience the account host (as the Go and Python SDKs ask for it).
    assert_eq!(*issued.lock().unwrap(), std::slice::from_ref(&bearer), "the ID token Google issued");
    let payload = bearer.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!((claims["iss"].as_str(), claims["aud"].as_str()), (Some("https://accounts.google.com"), Some(api.uri().as_str())));
    assert_eq!(sent[0].headers.get("x-databricks-gcp-sa-access-token").unwrap().to_str().unwrap(), "google-sa-access-token");
    assert_eq!(received(&token_endpoint, "/token").await.len(), 2, "one ID token and one access token");
    assert!(!format!("{a:?}").contains("PRIVATE KEY"));
}

/// At account level the Azure tenant must be given: only a workspace host redirects `/aad/auth` to its
/// tenant, so the client says what to set instead of asking the account host.
#[tokio::test]
async fn azure_at_account_level_without_a_tenant_says_to_set_it_and_asks_nobody() {
    let entra = fake_entra().await;
    let api = account_api("Bearer aad-token-for-azure-databricks").await;
    let a = account_client(vec![
        ("DATABRICKS_HOST", api.uri()),
        ("DATABRICKS_ACCOUNT_ID", ACCOUNT_ID.to_owned()),
        ("DATABRICKS_CLOUD", "AZURE".to_owned()),
        ("ARM_CLIENT_ID", CLIENT_ID.to_owned()),
        ("ARM_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("DATABRICKS_AZURE_LOGIN_ENDPOINT", entra.uri()),
        ("HOME", "/nonexistent".to_owned()),
    ]);
    let err = a.workspaces().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("ARM_TENANT_ID") && err.to_string().contains("account host"), "{err}");
    assert!(!format!("{err} {err:?}").contains(CLIENT_SECRET));
    assert!(api.received_requests().await.unwrap().is_empty(), "the account host was not asked for a tenant");
    assert!(entra.received_requests().await.unwrap().is_empty(), "no token was asked for without a tenant");
}
