//! Token Management through the builders: the wire (methods, paths, queries, bodies) over loopback, the
//! errors admins hit, and the admin workflows over a stub.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use databricks_tokens::admin::{AuditOptions, RevokePlan, TokenAdminWorkflows};
use databricks_tokens::stub::{self, RequestOptions, TokenFilter};
use databricks_tokens::types::token_management::{CreateOboTokenRequest, CreateOboTokenResponse, TokenInfo, TokenPermissionLevel};
use databricks_tokens::workflows::RotateError;
use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> WorkspaceClient {
    common::client(&server.uri(), RetryPolicy::disabled()).0
}

async fn only_request(server: &MockServer) -> wiremock::Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests.remove(0)
}

fn body(r: &wiremock::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn create_obo_token_sends_the_application_id_and_answers_with_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token-management/on-behalf-of/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_info": {"token_id": "t1", "owner_id": "42", "created_by_username": "admin"},
            "token_value": "dapi-obo-secret"
        })))
        .mount(&server)
        .await;
    let w = client(&server);
    let created = w
        .token_management()
        .create_obo_token("sp-app")
        .comment("ci")
        .lifetime(Duration::from_secs(600))
        .scopes(["sql"])
        .send()
        .await
        .unwrap();
    assert_eq!((created.token_id(), created.token_value().expose()), ("t1", "dapi-obo-secret"));
    assert_eq!(created.token_info().owner_id.map(i64::from), Some(42));
    let r = only_request(&server).await;
    assert_eq!(body(&r), json!({"application_id": "sp-app", "comment": "ci", "lifetime_seconds": 600, "scopes": ["sql"]}));
    assert!(!format!("{created:?}").contains("dapi-obo-secret"));

    let err = w.token_management().create_obo_token("").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn list_filters_get_update_and_delete_go_where_the_spec_says() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token-management/tokens"))
        .and(query_param("created_by_id", "7"))
        .and(query_param("created_by_username", "alice"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_infos": [{"token_id": "a", "created_by_id": 7}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token-management/tokens/a%2Fb"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token_info": {"token_id": "a/b", "last_used_day": 1_700_000_000_000_i64}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/2.0/token-management/tokens/a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_id": "a", "comment": "audited"})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/2.0/token-management/tokens/a"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let tm = client(&server);
    let tm = tm.token_management();
    let listed = tm.list().created_by_id(7).created_by_username("alice").send().await.unwrap();
    assert_eq!(listed[0].created_by_id.map(i64::from), Some(7));
    assert_eq!(tm.get("a/b").send().await.unwrap().last_used_day.map(i64::from), Some(1_700_000_000_000));
    let updated = tm.update("a").comment("audited").send().await.unwrap();
    assert_eq!(updated.comment.as_deref(), Some("audited"));
    tm.delete("a").await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let patch = requests.iter().find(|r| r.method.as_str() == "PATCH").unwrap();
    assert_eq!(
        body(patch),
        json!({"token": {"comment": "audited"}, "update_mask": "comment"}),
        "the mask is in the body, the id only in the path"
    );
    assert!(requests.iter().any(|r| r.method.as_str() == "DELETE"));
    let err = tm.update("a").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "nothing to update is refused locally");
}

#[tokio::test]
async fn permissions_get_set_and_update() {
    let server = MockServer::start().await;
    let acl = json!({"object_id": "authorization/tokens", "object_type": "tokens", "access_control_list": [
        {"group_name": "users", "all_permissions": [{"permission_level": "CAN_USE", "inherited": false}]}
    ]});
    for m in ["GET", "PUT", "PATCH"] {
        Mock::given(method(m))
            .and(path("/api/2.0/permissions/authorization/tokens"))
            .respond_with(ResponseTemplate::new(200).set_body_json(acl.clone()))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/2.0/permissions/authorization/tokens/permissionLevels"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"permission_levels": [{"permission_level": "CAN_USE", "description": "Can use tokens"}]})),
        )
        .mount(&server)
        .await;
    let w = client(&server);
    let tm = w.token_management();
    let levels = tm.permission_levels().send().await.unwrap();
    assert_eq!(levels[0].permission_level.as_ref().map(|l| l.as_str()), Some("CAN_USE"));
    let now = tm.permissions().send().await.unwrap();
    assert_eq!(now.access_control_list[0].group_name.as_deref(), Some("users"));
    tm.set_permissions().grant_group("admins-ci", TokenPermissionLevel::CanUse).send().await.unwrap();
    tm.update_permissions()
        .grant_service_principal("sp-app", TokenPermissionLevel::CanUse)
        .grant_user("bob", TokenPermissionLevel::CanUse)
        .send()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let put = requests.iter().find(|r| r.method.as_str() == "PUT").unwrap();
    assert_eq!(body(put), json!({"access_control_list": [{"group_name": "admins-ci", "permission_level": "CAN_USE"}]}));
    let patch = requests.iter().find(|r| r.method.as_str() == "PATCH").unwrap();
    assert_eq!(
        body(patch),
        json!({"access_control_list": [
            {"service_principal_name": "sp-app", "permission_level": "CAN_USE"},
            {"user_name": "bob", "permission_level": "CAN_USE"}
        ]})
    );
    let err = tm.update_permissions().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "granting nothing is refused locally");
}

#[tokio::test]
async fn what_admins_hit_comes_back_typed_with_the_fix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error_code": "PERMISSION_DENIED", "message": "Only Admins can access token management APIs."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token-management/on-behalf-of/tokens"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error_code": "PERMISSION_DENIED", "message": "On-behalf-of token creation for service principals is not enabled for this workspace"})))
        .mount(&server)
        .await;
    let w = client(&server);
    let err = w.token_management().list().send().await.unwrap_err();
    assert!(err.is_permission_denied());
    assert!(err.to_string().contains("Token Management is for workspace admins"), "{err}");
    assert!(err.to_string().contains("Only Admins can access token management APIs."), "the service's message is kept: {err}");

    let err = w.token_management().create_obo_token("sp-app").send().await.unwrap_err();
    assert!(err.is_permission_denied());
    assert!(err.to_string().contains("grant_service_principal(\"sp-app\", TokenPermissionLevel::CanUse)"), "{err}");

    let missing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Service principal with application ID nope not found"}),
        ))
        .mount(&missing)
        .await;
    let err = client(&missing).token_management().create_obo_token("nope").send().await.unwrap_err();
    assert!(err.is_not_found());
    assert!(err.to_string().contains("no service principal with the application id \"nope\""), "{err}");

    // Not every 403 or 404 is an admin's problem: an invalid credential (the service's numeric code) and
    // a wrong host get no admin hint.
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error_code": 403, "message": "Invalid access token."})))
        .mount(&other)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found"})))
        .mount(&other)
        .await;
    let err = client(&other).token_management().list().send().await.unwrap_err();
    assert!(err.is_permission_denied() && err.to_string().contains("Invalid access token."), "{err}");
    assert!(!err.to_string().contains("workspace admins"), "{err}");
    let err = client(&other).token_management().create_obo_token("sp-app").send().await.unwrap_err();
    assert!(err.is_not_found() && !err.to_string().contains("no service principal"), "{err}");
}

// ---------------------------------------------------------------------------------------------------
// The admin workflows over a stub.

/// An admin's workspace in memory: tokens, deletes and OBO creates recorded.
#[derive(Debug, Clone, Default)]
struct Workspace {
    tokens: Arc<Mutex<Vec<TokenInfo>>>,
    deleted: Arc<Mutex<Vec<String>>>,
    fail_deletes: bool,
}

#[derive(Debug)]
struct NoTokens;
impl stub::Tokens for NoTokens {}

impl stub::TokenManagement for Workspace {
    async fn list(&self, filter: TokenFilter, _options: RequestOptions) -> databricks_tokens::Result<Vec<TokenInfo>> {
        assert_eq!(filter, TokenFilter::default());
        Ok(self.tokens.lock().unwrap().clone())
    }
    async fn get(&self, token_id: &str, _options: RequestOptions) -> databricks_tokens::Result<TokenInfo> {
        self.tokens
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.token_id == token_id)
            .cloned()
            .ok_or_else(|| databricks_tokens::Error::not_found("no such token"))
    }
    async fn delete(&self, token_id: &str, _options: RequestOptions) -> databricks_tokens::Result<()> {
        if self.fail_deletes {
            return Err(databricks_tokens::ApiError::new(503, Some("TEMPORARILY_UNAVAILABLE"), "busy").into());
        }
        self.deleted.lock().unwrap().push(token_id.to_owned());
        self.tokens.lock().unwrap().retain(|t| t.token_id != token_id);
        Ok(())
    }
    async fn create_obo_token(
        &self,
        request: CreateOboTokenRequest,
        _options: RequestOptions,
    ) -> databricks_tokens::Result<CreateOboTokenResponse> {
        let info = TokenInfo::new(format!("new-for-{}", request.application_id)).set_comment(request.comment.unwrap_or_default());
        self.tokens.lock().unwrap().push(info.clone());
        Ok(CreateOboTokenResponse::new(info, "dapi-rotated"))
    }
}

const DAY_MS: i64 = 24 * 3600 * 1000;

fn fleet(now_ms: i64) -> Vec<TokenInfo> {
    vec![
        // alice: used yesterday, expires in 3 days
        TokenInfo::new("a1")
            .set_created_by_username("alice")
            .set_created_by_id(1)
            .set_owner_id(1)
            .set_creation_time(now_ms - 200 * DAY_MS)
            .set_expiry_time(now_ms + 3 * DAY_MS)
            .set_last_used_day(now_ms - DAY_MS),
        // alice: never used, created 100 days ago, never expires
        TokenInfo::new("a2")
            .set_created_by_username("alice")
            .set_created_by_id(1)
            .set_owner_id(1)
            .set_creation_time(now_ms - 100 * DAY_MS)
            .set_expiry_time(-1)
            .set_comment("old, \"quoted\""),
        // a service principal's OBO token created by the admin, last used 120 days ago
        TokenInfo::new("s1")
            .set_created_by_username("admin")
            .set_created_by_id(9)
            .set_owner_id(77)
            .set_creation_time(now_ms - 130 * DAY_MS)
            .set_expiry_time(now_ms + 300 * DAY_MS)
            .set_last_used_day(now_ms - 120 * DAY_MS)
            .set_comment("ci"),
    ]
}

fn admin_client(workspace: &Workspace) -> (WorkspaceClient, i64) {
    let now_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    *workspace.tokens.lock().unwrap() = fleet(now_ms);
    (WorkspaceClient::from_stub(NoTokens).with_token_management_stub(workspace.clone()), now_ms)
}

#[tokio::test]
async fn the_audit_sums_up_owners_expiry_and_use_and_serializes() {
    let workspace = Workspace::default();
    let (w, _) = admin_client(&workspace);
    let audit = w.audit_tokens(AuditOptions::default()).await.unwrap();
    let s = &audit.summary;
    assert_eq!((s.total, s.expiring_soon, s.never_expiring, s.unused), (3, 1, 1, 2));
    assert_eq!(s.by_owner.get("alice"), Some(&2));
    assert_eq!(s.by_owner.get("id:77"), Some(&1), "an OBO token is the service principal's");
    let a2 = audit.rows.iter().find(|r| r.token_id == "a2").unwrap();
    assert_eq!((a2.unused, a2.unused_days, a2.expires_in_days), (true, Some(100), None));
    let json: Value = serde_json::from_str(&audit.to_json().unwrap()).unwrap();
    assert_eq!(json["summary"]["total"], 3);
    assert_eq!(json["rows"].as_array().unwrap().len(), 3);
    let csv = audit.to_csv().unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and three rows:\n{csv}");
    assert!(csv.contains("\"old, \"\"quoted\"\"\""), "{csv}");
}

#[tokio::test]
async fn revoke_plans_select_by_owner_age_and_use_and_dry_runs_change_nothing() {
    let workspace = Workspace::default();
    let (w, _) = admin_client(&workspace);
    let ninety = Duration::from_secs(90 * 24 * 3600);
    let preview = w.revoke_tokens(RevokePlan::unused_for(ninety).dry_run()).await.unwrap();
    let ids = |tokens: &[TokenInfo]| tokens.iter().map(|t| t.token_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&preview.selected), ["a2", "s1"]);
    assert!(preview.dry_run && preview.revoked.is_empty());
    assert!(workspace.deleted.lock().unwrap().is_empty(), "a dry run revokes nothing");
    assert_eq!(workspace.tokens.lock().unwrap().len(), 3);

    let owned = w.revoke_tokens(RevokePlan::owned_by(77).dry_run()).await.unwrap();
    assert_eq!(ids(&owned.selected), ["s1"]);
    let leaver =
        w.revoke_tokens(RevokePlan::created_by("alice").and_older_than(Duration::from_secs(150 * 24 * 3600)).dry_run()).await.unwrap();
    assert_eq!(ids(&leaver.selected), ["a1"]);
    let custom = w.revoke_tokens(RevokePlan::matching(|t, _| t.comment.as_deref() == Some("ci")).dry_run()).await.unwrap();
    assert_eq!(ids(&custom.selected), ["s1"]);

    let done = w.revoke_tokens(RevokePlan::unused_for(ninety)).await.unwrap();
    assert_eq!(done.revoked, ["a2", "s1"]);
    assert_eq!(*workspace.deleted.lock().unwrap(), ["a2", "s1"]);
}

#[tokio::test]
async fn an_obo_token_is_rotated_keeping_its_comment_and_a_failed_revoke_keeps_the_replacement() {
    let workspace = Workspace::default();
    let (w, _) = admin_client(&workspace);
    let fresh = w.rotate_obo_token("sp-77", "s1", Duration::from_secs(3600)).await.unwrap();
    assert_eq!(fresh.token_id(), "new-for-sp-77");
    assert_eq!(fresh.token_info().comment.as_deref(), Some("ci"));
    assert_eq!(*workspace.deleted.lock().unwrap(), ["s1"]);

    let failing = Workspace { fail_deletes: true, ..Default::default() };
    let (w, _) = admin_client(&failing);
    let err = w.rotate_obo_token("sp-77", "s1", Duration::from_secs(3600)).await.unwrap_err();
    let RotateError::Revoke { replacement, old_token_id, .. } = &err else { panic!("{err}") };
    assert_eq!((replacement.token_value().expose(), old_token_id.as_str()), ("dapi-rotated", "s1"));
    assert!(!format!("{err} {err:?}").contains("dapi-rotated"), "the new secret is never printed");
    let err = w.rotate_obo_token("sp-77", "nope", Duration::from_secs(3600)).await.unwrap_err();
    assert!(matches!(&err, RotateError::Lookup(e) if e.is_not_found()), "{err}");
}

// ---------------------------------------------------------------------------------------------------
// End to end against the local workspace, which knows admins, users and permissions.

use databricks_tokens::local::LocalWorkspace;

#[tokio::test]
async fn an_admin_manages_every_token_and_a_user_is_told_they_are_not_one() {
    let ws = LocalWorkspace::builder().user("alice", "dapi-alice-login").start().await.unwrap();
    let admin = ws.client().unwrap();
    let alice = WorkspaceClient::builder().host(ws.url()).token("dapi-alice-login").build().unwrap();
    let mine = alice.tokens().create().comment("alice's").send().await.unwrap();

    let err = alice.token_management().list().send().await.unwrap_err();
    assert!(err.is_permission_denied() && err.to_string().contains("Token Management is for workspace admins"), "{err}");

    let alices = admin.token_management().list().created_by_username("alice").send().await.unwrap();
    assert_eq!(alices.iter().map(|t| t.token_id.as_str()).collect::<Vec<_>>(), [mine.token_id()]);
    let by_id = admin.token_management().list().created_by_id(ws.principal_id("alice").unwrap()).send().await.unwrap();
    assert_eq!(by_id, alices);
    let updated = admin.token_management().update(mine.token_id()).comment("audited").send().await.unwrap();
    assert_eq!(updated.comment.as_deref(), Some("audited"));
    assert_eq!(alice.tokens().list().send().await.unwrap()[0].comment.as_deref(), Some("audited"), "alice sees the admin's change");
    admin.token_management().delete(mine.token_id()).send().await.unwrap();
    assert!(alice.tokens().list().send().await.unwrap().is_empty());
    let err = admin.token_management().get(mine.token_id()).send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn obo_tokens_need_can_use_which_the_admin_grants() {
    let ws = LocalWorkspace::builder().service_principal("sp-etl", "sp-secret").start().await.unwrap();
    let tm_client = ws.client().unwrap();
    let tm = tm_client.token_management();
    assert_eq!(tm.permission_levels().send().await.unwrap()[0].permission_level.as_ref().map(|l| l.as_str()), Some("CAN_USE"));

    // Only admins may use tokens now: the service principal may not have one.
    tm.set_permissions().send().await.unwrap();
    let err = tm.create_obo_token("sp-etl").comment("etl").send().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err}");
    assert!(err.to_string().contains("grant_service_principal(\"sp-etl\", TokenPermissionLevel::CanUse)"), "{err}");
    let err = tm.create_obo_token("sp-unknown").send().await.unwrap_err();
    assert!(err.is_not_found() && err.to_string().contains("no service principal with the application id"), "{err}");

    let acl = tm.update_permissions().grant_service_principal("sp-etl", TokenPermissionLevel::CanUse).send().await.unwrap();
    assert!(acl.access_control_list.iter().any(|e| e.service_principal_name.as_deref() == Some("sp-etl")));
    let obo = tm.create_obo_token("sp-etl").comment("etl").lifetime(Duration::from_secs(3600)).send().await.unwrap();
    assert_eq!(obo.token_info().owner_id.map(i64::from), ws.principal_id("sp-etl"));
    // The OBO token authenticates as the service principal on the Tokens API.
    let as_sp = WorkspaceClient::builder().host(ws.url()).token(obo.token_value().clone()).build().unwrap();
    assert_eq!(as_sp.tokens().list().send().await.unwrap()[0].token_id, obo.token_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tokens_list_audit_and_preview_without_quadratic_work() {
    use futures::StreamExt;
    const N: usize = 10_000;
    let ws = LocalWorkspace::builder().quota(N + 1).start().await.unwrap();
    let admin = ws.client().unwrap();
    futures::stream::iter(0..N)
        .map(|i| {
            let w = admin.clone();
            async move { w.tokens().create().comment(format!("bulk {i}")).send().await.map(drop) }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<databricks_tokens::Result<()>>()
        .unwrap();
    let listed = admin.token_management().list().send().await.unwrap();
    assert_eq!(listed.len(), N);
    let audit = admin.audit_tokens(AuditOptions::default()).await.unwrap();
    assert_eq!((audit.summary.total, audit.rows.len()), (N, N));
    assert_eq!(audit.to_csv().unwrap().lines().count(), N + 1);
    let preview = admin.revoke_tokens(RevokePlan::created_by("local-user").dry_run()).await.unwrap();
    assert_eq!(preview.selected.len(), N);
    assert_eq!(ws.tokens().len(), N, "the dry run revoked nothing");
    assert_eq!(ws.counters(databricks_tokens::local::Route::ManagementList).received, 3, "one request per list");
}

/// The lazy listing goes through the pagination machinery: one request with the filters, made when the
/// stream is first polled, and the very tokens `send` returns.
#[tokio::test]
async fn list_as_a_lazy_stream_is_one_filtered_request_with_every_token() {
    use futures::TryStreamExt as _;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token-management/tokens"))
        .and(query_param("created_by_username", "alice"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_infos": [{"token_id": "a"}, {"token_id": "b"}]})))
        .mount(&server)
        .await;
    let w = client(&server);
    let stream = w.token_management().list().created_by_username("alice").stream();
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing is asked until polled");
    let streamed: Vec<TokenInfo> = stream.try_collect().await.unwrap();
    assert_eq!(only_request(&server).await.url.query(), Some("created_by_username=alice"));
    let ids: Vec<_> = streamed.iter().map(|t| t.token_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(streamed, w.token_management().list().created_by_username("alice").send().await.unwrap());
}

/// The stub methods generated from the spec in their curated shapes: the list's query parameters reach
/// the stub as the generated `TokenFilter` (set by the generated builder's setters), the answers are the
/// fields the spec names (`x-rust-answer`), and an operation a double leaves out names itself.
#[tokio::test]
async fn a_stub_gets_the_filter_and_answers_the_fields_the_spec_names() {
    use databricks_tokens::types::token_management::{TokenPermissions, TokenPermissionsDescription};

    #[derive(Debug, Default, Clone)]
    struct Admin(Arc<Mutex<Vec<TokenFilter>>>);
    impl stub::TokenManagement for Admin {
        async fn list(&self, filter: TokenFilter, _options: RequestOptions) -> databricks_tokens::Result<Vec<TokenInfo>> {
            self.0.lock().unwrap().push(filter);
            Ok(vec![TokenInfo::new("t1")])
        }
        async fn permission_levels(&self, _options: RequestOptions) -> databricks_tokens::Result<Vec<TokenPermissionsDescription>> {
            Ok(vec![TokenPermissionsDescription::new().set_permission_level(TokenPermissionLevel::CanUse)])
        }
        async fn get(&self, token_id: &str, _options: RequestOptions) -> databricks_tokens::Result<TokenInfo> {
            Ok(TokenInfo::new(token_id))
        }
    }
    let admin = Admin::default();
    let w = WorkspaceClient::from_stub(NoTokens).with_token_management_stub(admin.clone());
    let tm = w.token_management();
    assert_eq!(tm.list().created_by_id(7).created_by_username("alice").send().await.unwrap().len(), 1);
    let streamed: Vec<TokenInfo> = futures::TryStreamExt::try_collect(tm.list().created_by_id(8).stream()).await.unwrap();
    assert_eq!(streamed.len(), 1);
    let seen = admin.0.lock().unwrap().clone();
    assert_eq!((seen[0].created_by_id, seen[0].created_by_username.as_deref()), (Some(7), Some("alice")));
    assert_eq!((seen[1].created_by_id, seen[1].created_by_username.as_deref()), (Some(8), None));
    let levels = tm.permission_levels().await.unwrap();
    assert_eq!(levels[0].permission_level.as_ref().map(|l| l.as_str()), Some("CAN_USE"));
    assert_eq!(tm.get("t9").await.unwrap().token_id, "t9");
    // Checked before the stub is asked; what the double leaves out answers "not implemented", naming it.
    assert_eq!(tm.get("").await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    let err: databricks_tokens::Error = tm.permissions().await.map(|_: TokenPermissions| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplementedByStub);
    assert!(err.to_string().contains("TokenManagement::permissions"), "{err}");
    assert_eq!(tm.delete("t1").await.unwrap_err().kind(), ErrorKind::NotImplementedByStub);
}
