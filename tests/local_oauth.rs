//! The local workspace's OAuth side over HTTP: host metadata, discovery, the client-credentials and
//! token-exchange grants, issued access tokens on the Tokens API, counters and faults.

use std::time::Duration;

use databricks_tokens::local::{Fault, JwtAlgorithm, LocalWorkspace, OidcIssuer, Route, TrustedIssuer, WORKSPACE_ID};
use databricks_tokens::{RetryPolicy, SecretString, WorkspaceClient};
use serde_json::{Value, json};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const SP: (&str, &str) = ("ci-sp", "sp-secret-0123456789");

/// The fields of a form.
type Form<'a> = &'a [(&'a str, &'a str)];
/// HTTP Basic client credentials.
type Basic<'a> = Option<(&'a str, &'a str)>;

/// A token request: a form, optionally with HTTP Basic client credentials.
async fn token_request(
    ws: &LocalWorkspace,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().post(ws.token_endpoint()).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, response.json().await.unwrap(), headers)
}

async fn client_credentials(ws: &LocalWorkspace, id: &str, secret: &str) -> (u16, Value) {
    let (status, body, _) = token_request(ws, &[("grant_type", "client_credentials"), ("scope", "all-apis")], Some((id, secret))).await;
    (status, body)
}

async fn exchange(ws: &LocalWorkspace, jwt: &str, client_id: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", TOKEN_EXCHANGE), ("subject_token_type", JWT_TYPE), ("subject_token", jwt), ("scope", "all-apis")];
    form.extend(client_id.map(|id| ("client_id", id)));
    let (status, body, _) = token_request(ws, &form, None).await;
    (status, body)
}

fn access_token(body: &Value) -> String {
    body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token in {body}")).to_owned()
}

/// The Tokens API as the holder of a Bearer credential.
fn as_bearer(ws: &LocalWorkspace, credential: &str) -> WorkspaceClient {
    WorkspaceClient::builder().host(ws.url()).token(credential.to_owned()).retry_policy(RetryPolicy::disabled()).build().unwrap()
}

async fn create(w: &WorkspaceClient, comment: &str) -> String {
    w.tokens().create().comment(comment).send().await.unwrap().token_info.token_id
}

async fn comments(w: &WorkspaceClient) -> Vec<String> {
    w.tokens().list().send().await.unwrap().into_iter().filter_map(|t| t.comment).collect()
}

/// An OAuth error body: the `error`, after checking that no secret leaked into the description.
fn oauth_error(body: &Value, secrets: &[&str]) -> String {
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "a secret leaked into {text}");
    }
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{text}");
    body["error"].as_str().unwrap_or_else(|| panic!("no error in {text}")).to_owned()
}

#[tokio::test]
async fn host_metadata_and_discovery_lead_to_the_token_endpoint() {
    let ws = LocalWorkspace::start().await.unwrap();
    let http = reqwest::Client::new();
    let meta: Value = http.get(format!("{}/.well-known/databricks-config", ws.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        meta,
        json!({
            "oidc_endpoint": format!("{}/oidc", ws.url()),
            "workspace_id": WORKSPACE_ID,
            "cloud": "AWS",
            "host_type": "workspace",
            "token_federation_default_oidc_audiences": [ws.token_endpoint()],
        })
    );
    let discovery_url = format!("{}/.well-known/oauth-authorization-server", meta["oidc_endpoint"].as_str().unwrap());
    let discovery: Value = http.get(discovery_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], json!(format!("{}/oidc", ws.url())));
    assert_eq!(discovery["token_endpoint"], json!(ws.token_endpoint()));
    assert_eq!(discovery["authorization_endpoint"], json!(format!("{}/oidc/v1/authorize", ws.url())));
    assert_eq!(discovery["grant_types_supported"], json!(["client_credentials", TOKEN_EXCHANGE]));
    for route in [Route::HostMetadata, Route::OidcDiscovery] {
        let c = ws.counters(route);
        assert_eq!((c.received, c.processed, c.faulted), (1, 1, 0), "{route:?}");
    }
    assert_eq!(ws.counters(Route::OAuthToken).received, 0);
}

#[tokio::test]
async fn client_credentials_act_as_the_service_principal_with_tokens_of_its_own() {
    let ws = LocalWorkspace::builder().service_principal(SP.0, SP.1).service_principal("other-sp", "other-secret").start().await.unwrap();
    let (status, body, headers) = token_request(&ws, &[("grant_type", "client_credentials"), ("scope", "all-apis")], Some(SP)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["token_type"], &body["expires_in"], &body["scope"]), (&json!("Bearer"), &json!(3600), &json!("all-apis")));
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let sp = as_bearer(&ws, &access_token(&body));
    create(&sp, "the SP's").await;
    assert_eq!(comments(&sp).await, ["the SP's"]);

    // Per-caller isolation: the bootstrap user and another service principal see none of it.
    let admin = ws.client().unwrap();
    create(&admin, "the admin's").await;
    assert_eq!(comments(&admin).await, ["the admin's"]);
    let (status, body) = client_credentials(&ws, "other-sp", "other-secret").await;
    assert_eq!(status, 200, "{body}");
    assert!(comments(&as_bearer(&ws, &access_token(&body))).await.is_empty());

    // Credentials in the form work too, and each grant is a new token for the same identity.
    let form = [("grant_type", "client_credentials"), ("client_id", SP.0), ("client_secret", SP.1), ("scope", "all-apis")];
    let (status, second, _) = token_request(&ws, &form, None).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(access_token(&second), access_token(&body));
    assert_eq!(comments(&as_bearer(&ws, &access_token(&second))).await, ["the SP's"]);
    assert_eq!(ws.counters(Route::OAuthToken).processed, 3);
    let debug = format!("{ws:?}");
    for secret in [SP.1, "other-secret", &access_token(&body), &access_token(&second), ws.bootstrap_token().expose()] {
        assert!(!debug.contains(secret), "a secret in the workspace's Debug output: {debug}");
    }
}

#[tokio::test]
async fn bad_client_credentials_are_refused_without_echoing_secrets() {
    let ws = LocalWorkspace::builder().service_principal(SP.0, SP.1).start().await.unwrap();
    let (status, body, headers) =
        token_request(&ws, &[("grant_type", "client_credentials"), ("scope", "all-apis")], Some((SP.0, "wrong-secret"))).await;
    assert_eq!((status, oauth_error(&body, &["wrong-secret", SP.1]).as_str()), (401, "invalid_client"));
    assert!(headers.get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Basic")));
    let (status, body) = client_credentials(&ws, "no-such-sp", SP.1).await;
    assert_eq!((status, oauth_error(&body, &[SP.1]).as_str()), (401, "invalid_client"));

    let cases: [(Form, Basic, u16, &str); 8] = [
        (&[("grant_type", "client_credentials")], None, 401, "invalid_client"),
        (&[("grant_type", "client_credentials"), ("client_id", SP.0)], None, 401, "invalid_client"),
        (&[("scope", "all-apis")], Some(SP), 400, "invalid_request"),
        (&[("grant_type", "password"), ("username", "u"), ("password", "p")], Some(SP), 400, "unsupported_grant_type"),
        (&[("grant_type", "client_credentials"), ("scope", "sql")], Some(SP), 400, "invalid_scope"),
        (&[("grant_type", "client_credentials"), ("client_secret", SP.1)], Some(SP), 400, "invalid_request"),
        (&[("grant_type", "client_credentials"), ("grant_type", "client_credentials")], Some(SP), 400, "invalid_request"),
        (&[("grant_type", "client_credentials"), ("client_secret", SP.1)], None, 400, "invalid_request"),
    ];
    for (form, basic, status, error) in cases {
        let (got, body, _) = token_request(&ws, form, basic).await;
        assert_eq!((got, oauth_error(&body, &[SP.1]).as_str()), (status, error), "{form:?}");
    }
    // Without scope the grant defaults to all-apis.
    let (status, body, _) = token_request(&ws, &[("grant_type", "client_credentials")], Some(SP)).await;
    assert_eq!((status, &body["scope"]), (200, &json!("all-apis")), "{body}");

    // Not a form, or too big to read: an OAuth error, not a panic.
    let http = reqwest::Client::new();
    let json_body = http.post(ws.token_endpoint()).json(&json!({"grant_type": "client_credentials"})).send().await.unwrap();
    assert_eq!(json_body.status().as_u16(), 400);
    assert_eq!(json_body.json::<Value>().await.unwrap()["error"], "invalid_request");
    let huge = http
        .post(ws.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&pad={}", "x".repeat(2 << 20)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 400);
    assert_eq!(huge.json::<Value>().await.unwrap()["error"], "invalid_request");
    let garbage = http
        .post(ws.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic %%%not-base64")
        .body(&b"grant_type=client_credentials&\xff\xfe=%zz"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 401);
}

#[tokio::test]
async fn a_federated_jwt_is_exchanged_for_the_subject_or_the_service_principal() {
    let issuer = OidcIssuer::new("https://issuer.example").unwrap();
    let ws = LocalWorkspace::builder().service_principal(SP.0, SP.1).trust_issuer(&issuer).start().await.unwrap();
    let jwt = issuer.mint("ci@example.com", &ws.token_endpoint(), Duration::from_secs(300));

    // Account-wide federation: the JWT's subject is the user.
    let (status, body) = exchange(&ws, jwt.expose(), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let user = as_bearer(&ws, &access_token(&body));
    create(&user, "federated user's").await;

    // Workload identity federation: with a client_id, the identity is that service principal.
    let (status, body) = exchange(&ws, jwt.expose(), Some(SP.0)).await;
    assert_eq!(status, 200, "{body}");
    let sp = as_bearer(&ws, &access_token(&body));
    assert!(comments(&sp).await.is_empty());
    create(&sp, "SP's").await;
    let (_, body) = client_credentials(&ws, SP.0, SP.1).await;
    assert_eq!(comments(&as_bearer(&ws, &access_token(&body))).await, ["SP's"], "the same identity as client credentials");
    assert_eq!(comments(&user).await, ["federated user's"]);

    // The service principal must exist.
    let (status, body) = exchange(&ws, jwt.expose(), Some("no-such-sp")).await;
    assert_eq!((status, oauth_error(&body, &[jwt.expose()]).as_str()), (401, "invalid_client"));
}

#[tokio::test]
async fn only_a_jwt_that_really_verifies_is_exchanged() {
    let issuer = OidcIssuer::new("https://issuer.example").unwrap();
    let ws = LocalWorkspace::builder().trust_issuer(&issuer).accept_audience("https://extra.example").start().await.unwrap();
    let aud = ws.token_endpoint();
    let ttl = Duration::from_secs(60);
    let same_iss_other_key = OidcIssuer::new("https://issuer.example").unwrap();
    let untrusted = OidcIssuer::new("https://untrusted.example").unwrap();
    let cases = [
        (same_iss_other_key.mint("u", &aud, ttl), "signature does not verify"),
        (issuer.mint("u", "https://someone-else.example/oidc/v1/token", ttl), "audience"),
        (untrusted.mint("u", &aud, ttl), "not trusted"),
        (SecretString::new("garbage-that-is-no-jwt"), "not a well-formed JWT"),
        (SecretString::new("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0."), "not a well-formed JWT"),
    ];
    for (jwt, why) in &cases {
        let (status, body) = exchange(&ws, jwt.expose(), None).await;
        assert_eq!((status, oauth_error(&body, &[jwt.expose()]).as_str()), (400, "invalid_grant"), "{why}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    let (status, body) = exchange(&ws, issuer.mint("u", "https://extra.example", ttl).expose(), None).await;
    assert_eq!(status, 200, "an added audience is accepted: {body}");

    // Expiry is judged on the workspace's clock.
    let jwt = issuer.mint("u", &aud, ttl);
    ws.advance_clock(Duration::from_secs(61));
    let (status, body) = exchange(&ws, jwt.expose(), None).await;
    assert_eq!((status, oauth_error(&body, &[jwt.expose()]).as_str()), (400, "invalid_grant"));
    assert!(body["error_description"].as_str().unwrap().contains("expired"), "{body}");
    let fresh = issuer.mint_at("u", &aud, ws.now(), ttl);
    assert_eq!(exchange(&ws, fresh.expose(), None).await.0, 200);

    // Malformed exchanges are invalid requests.
    let forms: [Form; 4] = [
        &[("grant_type", TOKEN_EXCHANGE), ("subject_token_type", JWT_TYPE)],
        &[("grant_type", TOKEN_EXCHANGE), ("subject_token", fresh.expose())],
        &[("grant_type", TOKEN_EXCHANGE), ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"), ("subject_token", "x")],
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token_type", JWT_TYPE),
            ("subject_token", fresh.expose()),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
        ],
    ];
    for form in forms {
        let (status, body, _) = token_request(&ws, form, None).await;
        assert_eq!((status, oauth_error(&body, &[fresh.expose()]).as_str()), (400, "invalid_request"), "{form:?}");
    }
}

#[tokio::test]
async fn access_tokens_expire_on_the_workspace_clock() {
    let ws = LocalWorkspace::builder().service_principal(SP.0, SP.1).access_token_lifetime(Duration::from_secs(600)).start().await.unwrap();
    let (status, body) = client_credentials(&ws, SP.0, SP.1).await;
    assert_eq!((status, &body["expires_in"]), (200, &json!(600)), "{body}");
    let sp = as_bearer(&ws, &access_token(&body));
    create(&sp, "long-lived PAT").await;
    ws.advance_clock(Duration::from_secs(599));
    assert_eq!(comments(&sp).await, ["long-lived PAT"]);
    ws.advance_clock(Duration::from_secs(1));
    let err = sp.tokens().list().send().await.unwrap_err();
    assert_eq!((err.status(), err.error_code(), err.message()), (Some(403), Some("403"), "Invalid access token."));
    let (_, body) = client_credentials(&ws, SP.0, SP.1).await;
    assert_eq!(comments(&as_bearer(&ws, &access_token(&body))).await, ["long-lived PAT"], "a new access token works");
}

#[tokio::test]
async fn issuers_of_your_own_are_trusted_by_their_pem_public_key() {
    let fixture = |name: &str| std::fs::read(format!("{}/tests/fixtures/oidc/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let keys = [
        (JwtAlgorithm::Rs256, jsonwebtoken::Algorithm::RS256, "rs256", "https://rsa.example"),
        (JwtAlgorithm::Es256, jsonwebtoken::Algorithm::ES256, "es256", "https://ec.example"),
        (JwtAlgorithm::EdDsa, jsonwebtoken::Algorithm::EdDSA, "eddsa", "https://ed.example"),
    ];
    let mut builder = LocalWorkspace::builder();
    for (algorithm, _, name, iss) in keys {
        let public = fixture(&format!("{name}-public.pem"));
        builder = builder.trust_issuer(TrustedIssuer::from_public_key_pem(iss, algorithm, &public).unwrap());
        let private = fixture(&format!("{name}-private.pem"));
        assert!(TrustedIssuer::from_public_key_pem(iss, algorithm, &private).is_err(), "{name}: a private key is not a public key");
    }
    let ws = builder.start().await.unwrap();
    let now = ws.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let sign = |alg: jsonwebtoken::Algorithm, private_pem: &[u8], iss: &str| {
        let key = match alg {
            jsonwebtoken::Algorithm::RS256 => jsonwebtoken::EncodingKey::from_rsa_pem(private_pem),
            jsonwebtoken::Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(private_pem),
            _ => jsonwebtoken::EncodingKey::from_ed_pem(private_pem),
        }
        .unwrap();
        let claims = json!({"iss": iss, "sub": format!("user@{iss}"), "aud": ws.token_endpoint(), "iat": now, "exp": now + 60});
        jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &key).unwrap()
    };
    for (_, alg, name, iss) in keys {
        let jwt = sign(alg, &fixture(&format!("{name}-private.pem")), iss);
        let (status, body) = exchange(&ws, &jwt, None).await;
        assert_eq!(status, 200, "{name}: {body}");
        create(&as_bearer(&ws, &access_token(&body)), name).await;
    }
    assert_eq!(ws.tokens().len(), 3);

    // A JWT claiming the EC issuer but signed by the RSA key is refused.
    let forged = sign(jsonwebtoken::Algorithm::RS256, &fixture("rs256-private.pem"), "https://ec.example");
    let (status, body) = exchange(&ws, &forged, None).await;
    assert_eq!((status, oauth_error(&body, &[&forged]).as_str()), (400, "invalid_grant"), "{body}");
}

#[tokio::test]
async fn our_client_discovers_once_and_fetches_one_token() {
    let ws = LocalWorkspace::builder().service_principal(SP.0, SP.1).start().await.unwrap();
    let w = WorkspaceClient::builder().host(ws.url()).oauth_m2m(SP.0, SP.1).build().unwrap();
    create(&w, "via oauth-m2m").await;
    assert_eq!(comments(&w).await, ["via oauth-m2m"]);
    let processed = |route| ws.counters(route).processed;
    assert_eq!((processed(Route::OidcDiscovery), processed(Route::OAuthToken)), (1, 1));
    assert_eq!((processed(Route::Create), processed(Route::List)), (1, 1));
    let owners: Vec<_> = ws.all_counters().into_iter().filter(|(_, c)| c.received > 0).map(|(r, _)| r).collect();
    assert_eq!(owners, [Route::Create, Route::List, Route::HostMetadata, Route::OidcDiscovery, Route::OAuthToken]);
    assert_eq!(processed(Route::HostMetadata), 1, "host metadata names the OIDC root, once");

    let wrong = WorkspaceClient::builder().host(ws.url()).oauth_m2m(SP.0, "wrong").build().unwrap();
    let err = wrong.tokens().list().send().await.unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
}

#[tokio::test]
async fn faults_are_injected_into_the_oauth_routes() {
    let ws = LocalWorkspace::builder().service_principal(SP.0, SP.1).start().await.unwrap();
    ws.inject(Route::OAuthToken, [Fault::TooManyRequests { retry_after_seconds: 7 }, Fault::Unavailable]);
    let (status, body, headers) = token_request(&ws, &[("grant_type", "client_credentials")], Some(SP)).await;
    assert_eq!((status, headers.get("retry-after").unwrap().to_str().unwrap()), (429, "7"), "{body}");
    assert_eq!(client_credentials(&ws, SP.0, SP.1).await.0, 503);
    assert_eq!(client_credentials(&ws, SP.0, SP.1).await.0, 200);
    let c = ws.counters(Route::OAuthToken);
    assert_eq!((c.received, c.faulted, c.processed), (3, 2, 1));

    ws.inject(Route::OAuthToken, [Fault::ResetAfterProcessing]);
    let lost = reqwest::Client::new()
        .post(ws.token_endpoint())
        .basic_auth(SP.0, Some(SP.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert!(lost.is_err(), "the connection was reset");
    assert_eq!(ws.counters(Route::OAuthToken).processed, 2, "the token was issued, its answer lost");

    ws.inject(Route::OidcDiscovery, [Fault::HtmlServerError]);
    ws.inject(Route::HostMetadata, [Fault::Unavailable]);
    let http = reqwest::Client::new();
    let discovery = http.get(format!("{}/oidc/.well-known/oauth-authorization-server", ws.url())).send().await.unwrap();
    assert_eq!(discovery.status().as_u16(), 500);
    let meta = http.get(format!("{}/.well-known/databricks-config", ws.url())).send().await.unwrap();
    assert_eq!(meta.status().as_u16(), 503);
    assert_eq!((ws.counters(Route::OidcDiscovery).faulted, ws.counters(Route::HostMetadata).faulted), (1, 1));
}
