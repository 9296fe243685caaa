//! The local workspace's Token Management API and token permissions over HTTP, with plain `reqwest`:
//! admins and non-admins, filters, on-behalf-of tokens, permissions enforced on creation, faults, counters.

use std::time::Duration;

use databricks_tokens::local::{Fault, LocalWorkspace, OidcIssuer, Route, WORKSPACE_ID};
use databricks_tokens::types::token_management::TokenPermissionLevel;
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "dapi-admin-root";
const ALICE: &str = "dapi-alice";
const BOB: &str = "dapi-bob";
const SP: (&str, &str) = ("ci-sp", "ci-sp-secret");
const OTHER_SP: (&str, &str) = ("other-sp", "other-sp-secret");

const TM: &str = "/api/2.0/token-management/tokens";
const OBO: &str = "/api/2.0/token-management/on-behalf-of/tokens";
const PERMISSIONS: &str = "/api/2.0/permissions/authorization/tokens";
const LEVELS: &str = "/api/2.0/permissions/authorization/tokens/permissionLevels";

/// The bootstrap admin `local-user`, an admin `root`, users `alice` and `bob`, two service principals.
async fn workspace() -> LocalWorkspace {
    LocalWorkspace::builder()
        .admin("root", ADMIN)
        .user("alice", ALICE)
        .user("bob", BOB)
        .service_principal(SP.0, SP.1)
        .service_principal(OTHER_SP.0, OTHER_SP.1)
        .start()
        .await
        .unwrap()
}

/// A request with a Bearer credential: status and JSON body (`Null` if none).
async fn call(ws: &LocalWorkspace, credential: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", ws.url())).bearer_auth(credential);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a token with the Tokens API as the holder of `credential`: its id and value.
async fn create(ws: &LocalWorkspace, credential: &str, comment: &str) -> (String, String) {
    let (status, body) = call(ws, credential, Method::POST, "/api/2.0/token/create", Some(json!({"comment": comment}))).await;
    assert_eq!(status, 200, "{body}");
    (body["token_info"]["token_id"].as_str().unwrap().to_owned(), body["token_value"].as_str().unwrap().to_owned())
}

/// An OAuth access token of a service principal (client credentials).
async fn sp_token(ws: &LocalWorkspace, (id, secret): (&str, &str)) -> String {
    let response = reqwest::Client::new()
        .post(ws.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

fn error_code(body: &Value) -> Option<&str> {
    body["error_code"].as_str()
}

/// The token ids of a Token Management list answer, in order.
fn ids(body: &Value) -> Vec<String> {
    body.get("token_infos")
        .and_then(Value::as_array)
        .map(|infos| infos.iter().map(|i| i["token_id"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The access control list of a permissions answer: (principal, levels) in order.
fn acl(body: &Value) -> Vec<(String, String)> {
    let Some(entries) = body["access_control_list"].as_array() else { panic!("no access_control_list: {body}") };
    entries
        .iter()
        .map(|e| {
            let name = ["group_name", "user_name", "service_principal_name"].iter().find_map(|k| e[*k].as_str()).unwrap();
            let levels: Vec<&str> =
                e["all_permissions"].as_array().unwrap().iter().map(|p| p["permission_level"].as_str().unwrap()).collect();
            (name.to_owned(), levels.join(","))
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn every_route_is_for_admins_only_except_the_permission_levels() {
    let ws = workspace().await;
    let (id, _) = create(&ws, ALICE, "alice's").await;
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, OBO.to_owned(), Some(json!({"application_id": SP.0}))),
        (Method::GET, TM.to_owned(), None),
        (Method::GET, format!("{TM}/{id}"), None),
        (Method::PATCH, format!("{TM}/{id}"), Some(json!({"token": {"comment": "x"}, "update_mask": "comment"}))),
        (Method::DELETE, format!("{TM}/{id}"), None),
        (Method::GET, PERMISSIONS.to_owned(), None),
        (Method::PUT, PERMISSIONS.to_owned(), Some(json!({"access_control_list": []}))),
        (Method::PATCH, PERMISSIONS.to_owned(), Some(json!({"access_control_list": []}))),
    ];
    let sp = sp_token(&ws, SP).await;
    for (method, path, body) in &routes {
        for credential in [ALICE, sp.as_str()] {
            let (status, answer) = call(&ws, credential, method.clone(), path, body.clone()).await;
            assert_eq!(
                (status, answer),
                (403, json!({"error_code": "PERMISSION_DENIED", "message": "Only Admins can access token management APIs."})),
                "{method} {path}"
            );
        }
    }
    assert_eq!(ws.tokens().len(), 1, "nothing was done");
    // The levels are the same for everyone.
    let levels = json!({"permission_levels": [
        {"permission_level": "CAN_USE", "description": "Can create and use tokens"},
        {"permission_level": "CAN_MANAGE", "description": "Can use and modify permissions on tokens"},
    ]});
    for credential in [ALICE, ADMIN] {
        assert_eq!(call(&ws, credential, Method::GET, LEVELS, None).await, (200, levels.clone()));
    }
    // Both admins may do everything; without credentials, or with bad ones, as the Tokens API.
    for credential in [ADMIN, ws.bootstrap_token().expose()] {
        let (status, body) = call(&ws, credential, Method::GET, TM, None).await;
        assert_eq!((status, ids(&body)), (200, vec![id.clone()]));
    }
    let missing = reqwest::Client::new().get(format!("{}{TM}", ws.url())).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(call(&ws, "dapi-wrong", Method::GET, TM, None).await, (403, json!({"error_code": 403, "message": "Invalid access token."})));
    // An unknown method on a known path is no route.
    let (status, body) = call(&ws, ADMIN, Method::POST, &format!("{TM}/{id}"), None).await;
    assert_eq!((status, error_code(&body)), (404, Some("ENDPOINT_NOT_FOUND")));
}

#[tokio::test]
async fn admins_see_every_token_and_filter_by_creator() {
    let ws = workspace().await;
    let (root_id, alice_id) = (ws.principal_id("root").unwrap(), ws.principal_id("alice").unwrap());
    let (a1, _) = create(&ws, ALICE, "a1").await;
    let (r1, _) = create(&ws, ADMIN, "r1").await;
    let (a2, _) = create(&ws, ALICE, "a2").await;
    let (status, obo) = call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0, "comment": "obo"}))).await;
    assert_eq!(status, 200, "{obo}");
    let o1 = obo["token_info"]["token_id"].as_str().unwrap().to_owned();

    let (status, all) = call(&ws, ADMIN, Method::GET, TM, None).await;
    assert_eq!((status, ids(&all)), (200, vec![a1.clone(), r1.clone(), a2.clone(), o1.clone()]), "every principal's, oldest first");
    let first = &all["token_infos"][0];
    assert_eq!((first["created_by_id"].as_i64(), first["owner_id"].as_i64()), (Some(alice_id), Some(alice_id)));
    assert_eq!(first["created_by_username"], "alice");
    assert_eq!(first["workspace_id"].as_i64(), Some(WORKSPACE_ID.parse().unwrap()));

    let list = |query: String| {
        let ws = &ws;
        async move { call(ws, ADMIN, Method::GET, &format!("{TM}{query}"), None).await }
    };
    assert_eq!(ids(&list(format!("?created_by_id={alice_id}")).await.1), [a1.clone(), a2.clone()]);
    assert_eq!(ids(&list("?created_by_username=alice".into()).await.1), [a1.clone(), a2.clone()]);
    assert_eq!(ids(&list("?created_by_username=root".into()).await.1), [r1.clone(), o1.clone()], "root created the OBO token");
    assert_eq!(ids(&list(format!("?created_by_id={root_id}&created_by_username=root")).await.1), [r1.clone(), o1.clone()]);
    // Filters that match nothing answer {}: a mismatch of the two, an unknown name or id, a principal without tokens.
    for query in [
        format!("?created_by_id={alice_id}&created_by_username=root"),
        "?created_by_username=nobody".into(),
        "?created_by_id=42".into(),
        "?created_by_username=bob".into(),
        format!("?created_by_username={}", SP.0),
    ] {
        assert_eq!(list(query.clone()).await, (200, json!({})), "{query}");
    }
    // An empty parameter is no filter; a malformed id is refused.
    assert_eq!(ids(&list("?created_by_username=&created_by_id=".into()).await.1).len(), 4);
    let (status, body) = list("?created_by_id=alice".into()).await;
    assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{body}");

    // Expired tokens are not listed; an empty list is {}.
    ws.advance_clock(Duration::from_secs(3 * 365 * 24 * 3600));
    assert_eq!(list(String::new()).await, (200, json!({})));
}

#[tokio::test]
async fn the_tokens_api_answers_as_before() {
    let ws = workspace().await;
    let (id, _) = create(&ws, ALICE, "mine").await;
    let (status, body) = call(&ws, ALICE, Method::GET, "/api/2.0/token/list", None).await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = body["token_infos"][0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["autoscope_state", "comment", "creation_time", "expiry_time", "token_id"], "no admin fields");
    assert_eq!(call(&ws, BOB, Method::GET, "/api/2.0/token/list", None).await, (200, json!({})), "still per caller");
    let (status, _) = call(&ws, ADMIN, Method::POST, "/api/2.0/token/delete", Some(json!({"token_id": id}))).await;
    assert_eq!(status, 404, "an admin revokes others' tokens through Token Management, not the Tokens API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tokens_list_in_one_request() {
    const N: usize = 10_000;
    let ws = LocalWorkspace::builder().quota(N).admin("root", ADMIN).user("alice", ALICE).start().await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/api/2.0/token/create", ws.url());
    let statuses: Vec<u16> = futures::stream::iter(0..N)
        .map(|i| {
            let request = client.post(&url).bearer_auth(if i % 10 == 0 { ALICE } else { ADMIN }).json(&json!({"comment": format!("t{i}")}));
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert_eq!(ws.counters(Route::Create).processed, N as u64);

    let (status, all) = call(&ws, ADMIN, Method::GET, TM, None).await;
    assert_eq!(status, 200);
    let listed = ids(&all);
    assert_eq!(listed.len(), N);
    let expected: Vec<String> = ws.token_records().into_iter().map(|r| r.token_id).collect();
    assert_eq!(listed, expected, "oldest first, as the server keeps them");
    let (_, alices) = call(&ws, ADMIN, Method::GET, &format!("{TM}?created_by_username=alice"), None).await;
    let alices = &alices["token_infos"].as_array().unwrap();
    assert_eq!(alices.len(), N / 10);
    assert!(alices.iter().all(|t| t["created_by_username"] == "alice"));
    let c = ws.counters(Route::ManagementList);
    assert_eq!((c.received, c.processed), (2, 2), "one request per list: the service answers in one page");
}

#[tokio::test]
async fn get_update_and_delete_any_principals_token() {
    let ws = workspace().await;
    let (id, value) = create(&ws, ALICE, "alice's").await;
    let (status, got) = call(&ws, ADMIN, Method::GET, &format!("{TM}/{id}"), None).await;
    assert_eq!(status, 200);
    let info = &got["token_info"];
    assert_eq!((info["token_id"].as_str(), info["comment"].as_str()), (Some(id.as_str()), Some("alice's")));
    assert_eq!(info["owner_id"].as_i64(), ws.principal_id("alice"));

    let update = |body: Value| {
        let (ws, path) = (&ws, format!("{TM}/{id}"));
        async move { call(ws, ADMIN, Method::PATCH, &path, Some(body)).await }
    };
    let (status, updated) = update(json!({"token": {"comment": "renamed", "scopes": ["sql"]}, "update_mask": "comment,scopes"})).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!((updated["comment"].as_str(), updated["scopes"].clone()), (Some("renamed"), json!(["sql"])));
    assert_eq!(updated["token_id"].as_str(), Some(id.as_str()), "the whole TokenInfo, not wrapped");
    assert_eq!(updated["created_by_username"], "alice");
    let (_, listed) = call(&ws, ALICE, Method::GET, "/api/2.0/token/list", None).await;
    assert_eq!(listed["token_infos"][0]["comment"], "renamed", "the owner sees the change");

    // The mask is validated against TokenInfo's fields, as the Tokens API validates its own.
    for (mask, why) in [
        ("owner_id", "cannot be updated"),
        ("created_by_username", "cannot be updated"),
        ("last_used_day", "cannot be updated"),
        ("autoscope_state", "cannot be updated"),
        ("token_id", "cannot be updated"),
        ("nonsense", "unknown field"),
        ("comment, scopes", "malformed"),
        ("comment,", "malformed"),
        ("scopes", "does not set it"),
    ] {
        let (status, body) =
            update(json!({"token": {"comment": "x", "owner_id": 1, "autoscope_state": "AUTOSCOPE_STATE_RUNNING"}, "update_mask": mask}))
                .await;
        assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{mask}: {body}");
        assert!(body["message"].as_str().unwrap().contains(why), "{mask}: {body}");
    }
    let (status, body) = update(json!({"token": {"comment": "x"}})).await;
    assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "no mask: {body}");
    let (status, body) = update(json!({"token": {"comment": "all"}, "update_mask": "*"})).await;
    assert_eq!((status, body["comment"].as_str(), body.get("scopes")), (200, Some("all"), None), "* replaces: scopes cleared");
    let (status, body) = call(&ws, ADMIN, Method::PATCH, &format!("{TM}/{id}"), None).await;
    assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "no body: {body}");

    // Unknown ids: 404 RESOURCE_DOES_NOT_EXIST on get, update and delete.
    for (method, body) in
        [(Method::GET, None), (Method::PATCH, Some(json!({"token": {"comment": "x"}, "update_mask": "comment"}))), (Method::DELETE, None)]
    {
        let (status, answer) = call(&ws, ADMIN, method.clone(), &format!("{TM}/no-such-id"), body).await;
        assert_eq!((status, error_code(&answer)), (404, Some("RESOURCE_DOES_NOT_EXIST")), "{method}: {answer}");
    }

    // Delete: any principal's token; it stops authenticating; a second delete is 404.
    assert_eq!(call(&ws, ADMIN, Method::DELETE, &format!("{TM}/{id}"), None).await, (200, json!({})));
    assert!(ws.tokens().is_empty());
    assert_eq!(call(&ws, &value, Method::GET, "/api/2.0/token/list", None).await.0, 403, "revoked");
    assert_eq!(call(&ws, ADMIN, Method::DELETE, &format!("{TM}/{id}"), None).await.0, 404);
}

#[tokio::test]
async fn on_behalf_of_tokens_belong_to_the_service_principal() {
    let ws = LocalWorkspace::builder().quota(2).admin("root", ADMIN).service_principal(SP.0, SP.1).start().await.unwrap();
    let (root_id, sp_id) = (ws.principal_id("root").unwrap(), ws.principal_id(SP.0).unwrap());
    let body = json!({"application_id": SP.0, "comment": "deploy", "lifetime_seconds": 600, "scopes": ["sql"], "autoscope_enabled": true});
    let (status, created) = call(&ws, ADMIN, Method::POST, OBO, Some(body)).await;
    assert_eq!(status, 200, "{created}");
    let info = &created["token_info"];
    let value = created["token_value"].as_str().unwrap();
    assert!(value.starts_with("dapi"));
    assert_eq!((info["owner_id"].as_i64(), info["created_by_id"].as_i64()), (Some(sp_id), Some(root_id)));
    assert_eq!((info["created_by_username"].as_str(), info["comment"].as_str()), (Some("root"), Some("deploy")));
    assert_eq!(info["expiry_time"].as_i64().unwrap() - info["creation_time"].as_i64().unwrap(), 600_000);
    assert_eq!(info["autoscope_state"], "AUTOSCOPE_STATE_RUNNING");

    // The token authenticates as the service principal: the Tokens API shows it among the SP's own.
    let (status, mine) = call(&ws, value, Method::GET, "/api/2.0/token/list", None).await;
    assert_eq!((status, mine["token_infos"][0]["token_id"].clone()), (200, info["token_id"].clone()));
    let oauth = sp_token(&ws, SP).await;
    assert_eq!(call(&ws, &oauth, Method::GET, "/api/2.0/token/list", None).await.1, mine, "the same principal as OAuth M2M");
    assert!(call(&ws, ADMIN, Method::GET, "/api/2.0/token/list", None).await.1.get("token_infos").is_none(), "not root's");
    let record = &ws.token_records()[0];
    assert_eq!((record.owner_name.as_str(), record.created_by_username.as_str()), (SP.0, "root"));

    // The same lifetime validation as the Tokens API; the quota is the owner's (the SP's).
    for lifetime in [json!(0), json!(-1), json!(10 * 366 * 24 * 3600), json!("soon")] {
        let (status, body) = call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0, "lifetime_seconds": lifetime}))).await;
        assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{lifetime}: {body}");
    }
    assert_eq!(call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0, "lifetime_seconds": "60"}))).await.0, 200);
    let (status, body) = call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0}))).await;
    assert_eq!((status, error_code(&body)), (400, Some("QUOTA_EXCEEDED")), "{body}");
    let (status, _) = call(&ws, ADMIN, Method::POST, "/api/2.0/token/create", Some(json!({}))).await;
    assert_eq!(status, 200, "root's own quota is untouched");
    let (status, body) = call(&ws, ADMIN, Method::POST, OBO, Some(json!({"comment": "no application id"}))).await;
    assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{body}");
}

#[tokio::test]
async fn on_behalf_of_tokens_need_a_known_service_principal_with_can_use() {
    let ws = workspace().await;
    // Unknown, and a user's name (users are not service principals).
    for application_id in ["no-such-sp", "alice"] {
        let (status, body) = call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": application_id}))).await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": format!("Service principal with application ID {application_id} not found")})
            )
        );
    }
    // Without CAN_USE (nobody but the admins, then only the other service principal).
    let denied = json!({
        "error_code": "PERMISSION_DENIED",
        "message": "On-behalf-of token creation for service principals is not enabled for this workspace or the service principal does not have CAN_USE permission on tokens",
    });
    for acl in [json!([]), json!([{"service_principal_name": OTHER_SP.0, "permission_level": "CAN_USE"}])] {
        assert_eq!(call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(json!({"access_control_list": acl}))).await.0, 200);
        assert_eq!(call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0}))).await, (403, denied.clone()), "{acl}");
    }
    assert_eq!(call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": OTHER_SP.0}))).await.0, 200);
    // Granted directly, it works again.
    let grant = json!({"access_control_list": [{"service_principal_name": SP.0, "permission_level": "CAN_USE"}]});
    assert_eq!(call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(grant)).await.0, 200);
    assert_eq!(call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0}))).await.0, 200);
    assert_eq!(ws.tokens().len(), 2);
}

#[tokio::test]
async fn permissions_put_replaces_and_patch_adds() {
    let ws = workspace().await;
    let (status, default) = call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await;
    assert_eq!(status, 200);
    assert_eq!((default["object_id"].as_str(), default["object_type"].as_str()), (Some("/authorization/tokens"), Some("tokens")));
    assert_eq!(acl(&default), owned(&[("admins", "CAN_MANAGE"), ("users", "CAN_USE")]));
    assert_eq!(default["access_control_list"][1]["all_permissions"][0]["inherited"], false);

    let put = json!({"access_control_list": [
        {"user_name": "alice", "permission_level": "CAN_USE"},
        {"service_principal_name": SP.0, "permission_level": "CAN_USE"},
    ]});
    let (status, after_put) = call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(put)).await;
    assert_eq!(status, 200, "{after_put}");
    assert_eq!(acl(&after_put), owned(&[("admins", "CAN_MANAGE"), ("alice", "CAN_USE"), (SP.0, "CAN_USE")]), "users is gone");
    assert_eq!(after_put["access_control_list"][1]["display_name"], "alice");
    assert_eq!(call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await.1, after_put, "PUT answers what GET then shows");

    let patch = json!({"access_control_list": [{"group_name": "users", "permission_level": "CAN_USE"}, {"user_name": "alice", "permission_level": "CAN_USE"}]});
    let (status, after_patch) = call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(patch)).await;
    assert_eq!(status, 200);
    assert_eq!(
        acl(&after_patch),
        owned(&[("admins", "CAN_MANAGE"), ("users", "CAN_USE"), ("alice", "CAN_USE"), (SP.0, "CAN_USE")]),
        "added, without duplicates"
    );
    let (_, emptied) = call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(json!({}))).await;
    assert_eq!(acl(&emptied), owned(&[("admins", "CAN_MANAGE")]), "PUT without a list empties it; the admins stay");

    // Refused entries, and nothing of a refused list is applied.
    let entry = |e: Value| json!({"access_control_list": [{"user_name": "bob", "permission_level": "CAN_USE"}, e]});
    for (bad, why) in [
        (json!({"user_name": "alice", "permission_level": "CAN_MANAGE"}), "Only admins can be given CAN_MANAGE permission on tokens"),
        (json!({"user_name": "alice", "permission_level": "IS_OWNER"}), "IS_OWNER is not supported on tokens"),
        (json!({"user_name": "alice"}), "permission_level is required"),
        (json!({"user_name": "alice", "group_name": "users", "permission_level": "CAN_USE"}), "exactly one principal"),
        (json!({"permission_level": "CAN_USE"}), "exactly one principal"),
        (json!({"user_name": "nobody", "permission_level": "CAN_USE"}), "Principal: UserName(nobody) does not exist."),
        (json!({"user_name": SP.0, "permission_level": "CAN_USE"}), "Principal: UserName(ci-sp) does not exist."),
        (json!({"service_principal_name": "alice", "permission_level": "CAN_USE"}), "ServicePrincipalName(alice) does not exist"),
        (json!({"group_name": "data-eng", "permission_level": "CAN_USE"}), "GroupName(data-eng) does not exist"),
        (json!({"group_name": "admins", "permission_level": "CAN_USE"}), "admins group always has CAN_MANAGE"),
        (json!("alice"), "must be an object"),
    ] {
        for method in [Method::PUT, Method::PATCH] {
            let (status, body) = call(&ws, ADMIN, method.clone(), PERMISSIONS, Some(entry(bad.clone()))).await;
            assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{method} {bad}: {body}");
            assert!(body["message"].as_str().unwrap().contains(why), "{bad}: {body}");
        }
    }
    let (status, body) = call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(json!({"access_control_list": "users"}))).await;
    assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")));
    assert_eq!(acl(&call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await.1), owned(&[("admins", "CAN_MANAGE")]), "unchanged");
}

#[tokio::test]
async fn can_use_is_enforced_when_the_tokens_api_creates() {
    let ws = workspace().await;
    let (kept, kept_value) = create(&ws, ALICE, "before").await;
    let sp = sp_token(&ws, SP).await;
    // Only alice, by name.
    let only_alice = json!({"access_control_list": [{"user_name": "alice", "permission_level": "CAN_USE"}]});
    assert_eq!(call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(only_alice)).await.0, 200);
    create(&ws, ALICE, "granted by name").await;
    for (credential, name) in [(BOB, "bob"), (sp.as_str(), SP.0)] {
        let (status, body) = call(&ws, credential, Method::POST, "/api/2.0/token/create", Some(json!({"comment": "x"}))).await;
        assert_eq!((status, error_code(&body)), (403, Some("PERMISSION_DENIED")), "{name}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(name) && message.contains("CAN_USE"), "{message}");
    }
    create(&ws, ADMIN, "admins always may").await;
    create(&ws, ws.bootstrap_token().expose(), "the bootstrap user is an admin").await;
    // Alice's token made before keeps working: she still holds CAN_USE.
    let (status, listed) = call(&ws, &kept_value, Method::GET, "/api/2.0/token/list", None).await;
    assert_eq!((status, ids(&listed).contains(&kept)), (200, true));
    // With the group back, everyone may again.
    let users = json!({"access_control_list": [{"group_name": "users", "permission_level": "CAN_USE"}]});
    assert_eq!(call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(users)).await.0, 200);
    create(&ws, BOB, "bob again").await;
    create(&ws, &sp, "the SP again").await;
}

#[tokio::test]
async fn faults_and_counters_cover_the_management_routes() {
    let ws = workspace().await;
    let (id, _) = create(&ws, ALICE, "x").await;
    ws.inject(Route::ManagementList, [Fault::Unavailable, Fault::TooManyRequests { retry_after_seconds: 2 }]);
    let (status, body) = call(&ws, ADMIN, Method::GET, TM, None).await;
    assert_eq!((status, error_code(&body)), (503, Some("TEMPORARILY_UNAVAILABLE")));
    let response = reqwest::Client::new().get(format!("{}{TM}", ws.url())).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers()["retry-after"].to_str().unwrap()), (429, "2"));
    assert_eq!(ids(&call(&ws, ADMIN, Method::GET, TM, None).await.1), vec![id.clone()]);
    let c = ws.counters(Route::ManagementList);
    assert_eq!((c.received, c.processed, c.faulted), (3, 1, 2));

    // A delete whose answer is lost was done: the retry finds nothing.
    ws.inject(Route::ManagementDelete, [Fault::ResetAfterProcessing]);
    let lost = reqwest::Client::new().delete(format!("{}{TM}/{id}", ws.url())).bearer_auth(ADMIN).send().await;
    assert!(lost.is_err(), "the connection was closed without an answer");
    assert!(ws.tokens().is_empty());
    assert_eq!(call(&ws, ADMIN, Method::DELETE, &format!("{TM}/{id}"), None).await.0, 404);
    assert_eq!(ws.counters(Route::ManagementDelete).processed, 2);

    ws.inject(Route::CreateOboToken, [Fault::ResetBeforeProcessing]);
    let dropped =
        reqwest::Client::new().post(format!("{}{OBO}", ws.url())).bearer_auth(ADMIN).json(&json!({"application_id": SP.0})).send().await;
    assert!(dropped.is_err() && ws.tokens().is_empty(), "nothing minted");
    ws.inject(Route::SetPermissions, [Fault::HtmlServerError]);
    let (status, body) = call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(json!({"access_control_list": []}))).await;
    assert_eq!((status, body), (500, Value::Null), "HTML, not JSON");
    assert_eq!(call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await.1["access_control_list"].as_array().unwrap().len(), 2, "not applied");

    // Every route is counted under its own name, refusals included.
    call(&ws, ALICE, Method::GET, &format!("{TM}/{id}"), None).await;
    call(&ws, ADMIN, Method::PATCH, &format!("{TM}/{id}"), Some(json!({"token": {"comment": "x"}, "update_mask": "comment"}))).await;
    call(&ws, ALICE, Method::GET, LEVELS, None).await;
    call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(json!({}))).await;
    let seen: Vec<(Route, u64, u64)> =
        ws.all_counters().into_iter().filter(|(_, c)| c.received > 0).map(|(r, c)| (r, c.received, c.processed)).collect();
    assert_eq!(
        seen,
        [
            (Route::Create, 1, 1),
            (Route::CreateOboToken, 1, 0),
            (Route::ManagementList, 3, 1),
            (Route::ManagementGet, 1, 1),
            (Route::ManagementUpdate, 1, 1),
            (Route::ManagementDelete, 2, 2),
            (Route::PermissionLevels, 1, 1),
            (Route::GetPermissions, 1, 1),
            (Route::SetPermissions, 1, 0),
            (Route::UpdatePermissions, 1, 1),
        ]
    );
}

#[tokio::test]
async fn last_used_day_follows_the_workspace_clock() {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let ws = workspace().await;
    // Noon (UTC) on the workspace's clock: a day's boundary is hours away whatever the test's pace.
    let now = ws.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    ws.advance_clock(Duration::from_millis(((DAY_MS + DAY_MS / 2 - now % DAY_MS) % DAY_MS) as u64));
    let (id, value) = create(&ws, ALICE, "used").await;
    let last_used = |ws: &LocalWorkspace| ws.token_records()[0].last_used_day;
    let (_, got) = call(&ws, ADMIN, Method::GET, &format!("{TM}/{id}"), None).await;
    assert!(got["token_info"].get("last_used_day").is_none(), "absent when never used: {got}");
    assert_eq!(last_used(&ws), None);

    let today = |ws: &LocalWorkspace| {
        let now = ws.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        now - now % DAY_MS
    };
    let day = today(&ws);
    assert_eq!(call(&ws, &value, Method::GET, "/api/2.0/token/list", None).await.0, 200);
    let (_, got) = call(&ws, ADMIN, Method::GET, &format!("{TM}/{id}"), None).await;
    assert_eq!(got["token_info"]["last_used_day"].as_i64(), Some(day), "{got}");
    assert_eq!(last_used(&ws), Some(day));

    // Days later, unused: unchanged; used again (even for a request then refused): the new day.
    ws.advance_clock(Duration::from_secs(3 * 24 * 3600));
    assert_eq!(last_used(&ws), Some(day));
    assert_eq!(call(&ws, &value, Method::GET, TM, None).await.0, 403, "alice is no admin, but the token was used");
    assert_eq!(last_used(&ws), Some(today(&ws)));
    assert_eq!(today(&ws) - day, 3 * DAY_MS);
    let (_, listed) = call(&ws, ADMIN, Method::GET, TM, None).await;
    assert_eq!(listed["token_infos"][0]["last_used_day"].as_i64(), Some(today(&ws)));
}

#[tokio::test]
async fn every_principal_has_a_stable_id() {
    let issuer = OidcIssuer::new("https://issuer.example").unwrap();
    let start = || LocalWorkspace::builder().user("alice", ALICE).service_principal(SP.0, SP.1).trust_issuer(&issuer).start();
    let (one, two) = (start().await.unwrap(), start().await.unwrap());
    for name in ["local-user", "alice", SP.0] {
        let id = one.principal_id(name).unwrap();
        assert_eq!(Some(id), two.principal_id(name), "{name}: the same in every workspace");
        assert!(id > 0 && id < 1 << 53, "{id}");
    }
    assert_eq!(one.principal_id("fed@example.com"), None);

    // A federated identity (a JWT's sub) is a user from its first token exchange.
    let jwt = issuer.mint("fed@example.com", &one.token_endpoint(), Duration::from_secs(300));
    let response = reqwest::Client::new()
        .post(one.token_endpoint())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("subject_token", jwt.expose()),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    create(&one, access, "federated").await;
    let fed = one.principal_id("fed@example.com").expect("registered by the exchange");
    let (_, listed) = call(&one, one.bootstrap_token().expose(), Method::GET, &format!("{TM}?created_by_id={fed}"), None).await;
    assert_eq!(listed["token_infos"][0]["created_by_username"], "fed@example.com");
    let grant = json!({"access_control_list": [{"user_name": "fed@example.com", "permission_level": "CAN_USE"}]});
    assert_eq!(call(&one, one.bootstrap_token().expose(), Method::PUT, PERMISSIONS, Some(grant)).await.0, 200, "a user to the ACL");
}

#[tokio::test]
async fn can_manage_is_accepted_for_admins_and_refused_for_anyone_else() {
    const ADMIN_SP: (&str, &str) = ("admin-sp", "admin-sp-secret");
    let ws = LocalWorkspace::builder()
        .admin("root", ADMIN)
        .user("alice", ALICE)
        .service_principal(SP.0, SP.1)
        .admin_service_principal(ADMIN_SP.0, ADMIN_SP.1)
        .group("data-eng", ["alice"])
        .start()
        .await
        .unwrap();
    // What Terraform's databricks_permissions sends for tokens: its grants, plus the admins' CAN_MANAGE.
    let terraform = json!({"access_control_list": [
        {"group_name": "users", "permission_level": "CAN_USE"},
        {"group_name": "admins", "permission_level": "CAN_MANAGE"},
    ]});
    for method in [Method::PUT, Method::PATCH] {
        let (status, body) = call(&ws, ADMIN, method.clone(), PERMISSIONS, Some(terraform.clone())).await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(acl(&body), owned(&[("admins", "CAN_MANAGE"), ("users", "CAN_USE")]), "{method}: the admins once");
        assert_eq!(body["object_id"], "/authorization/tokens");
    }
    // Admins, users and service principals alike, may be given CAN_MANAGE by name.
    let admins = json!({"access_control_list": [
        {"user_name": "root", "permission_level": "CAN_MANAGE"},
        {"service_principal_name": ADMIN_SP.0, "permission_level": "CAN_MANAGE"},
        {"service_principal_name": ADMIN_SP.0, "permission_level": "CAN_USE"},
    ]});
    let (status, body) = call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(admins)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        acl(&body),
        owned(&[("admins", "CAN_MANAGE"), ("users", "CAN_USE"), ("root", "CAN_MANAGE"), (ADMIN_SP.0, "CAN_MANAGE")]),
        "the higher level of two"
    );
    // Anyone else is refused, as the service words it, and nothing of the list is applied.
    for grantee in [
        json!({"user_name": "alice"}),
        json!({"service_principal_name": SP.0}),
        json!({"group_name": "users"}),
        json!({"group_name": "data-eng"}),
    ] {
        let mut entry = grantee.clone();
        entry["permission_level"] = json!("CAN_MANAGE");
        let list = json!({"access_control_list": [{"user_name": "alice", "permission_level": "CAN_USE"}, entry]});
        for method in [Method::PUT, Method::PATCH] {
            let (status, body) = call(&ws, ADMIN, method.clone(), PERMISSIONS, Some(list.clone())).await;
            assert_eq!(
                (status, body),
                (
                    400,
                    json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "Only admins can be given CAN_MANAGE permission on tokens"})
                ),
                "{method} {grantee}"
            );
        }
    }
    let (_, now) = call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await;
    assert_eq!(acl(&now).len(), 4, "unchanged: {now}");
    // The admin service principal is an admin: Token Management answers it.
    let admin_sp = sp_token(&ws, ADMIN_SP).await;
    assert_eq!(call(&ws, &admin_sp, Method::GET, TM, None).await.0, 200);
    // Our client: TokenPermissionLevel::CanManage, and the refusal typed.
    let tm = ws.client().unwrap();
    let granted = tm.token_management().set_permissions().grant_group("admins", TokenPermissionLevel::CanManage).send().await.unwrap();
    assert_eq!(granted.access_control_list.len(), 1);
    let err = tm.token_management().update_permissions().grant_user("alice", TokenPermissionLevel::CanManage).send().await.unwrap_err();
    assert_eq!(
        (err.status(), err.error_code(), err.message()),
        (Some(400), Some("INVALID_PARAMETER_VALUE"), "Only admins can be given CAN_MANAGE permission on tokens")
    );
}

#[tokio::test]
async fn withdrawing_can_use_revokes_the_tokens_made_with_it() {
    let ws = LocalWorkspace::builder()
        .admin("root", ADMIN)
        .user("alice", ALICE)
        .user("bob", BOB)
        .service_principal(SP.0, SP.1)
        .group("data-eng", ["bob", SP.0])
        .start()
        .await
        .unwrap();
    let (alices, alices_value) = create(&ws, ALICE, "alice's").await;
    let (bobs, bobs_value) = create(&ws, BOB, "bob's").await;
    let sp = sp_token(&ws, SP).await;
    let (sps, sps_value) = create(&ws, &sp, "the SP's").await;
    let (status, obo) = call(&ws, ADMIN, Method::POST, OBO, Some(json!({"application_id": SP.0, "comment": "obo"}))).await;
    assert_eq!(status, 200, "{obo}");
    let obo_value = obo["token_value"].as_str().unwrap().to_owned();
    let (roots, roots_value) = create(&ws, ADMIN, "an admin's").await;
    let valid = |value: String| {
        let ws = &ws;
        async move { call(ws, &value, Method::GET, "/api/2.0/token/list", None).await.0 == 200 }
    };

    // Only the group data-eng (bob and the service principal) may: alice's token is revoked.
    let data_eng = json!({"access_control_list": [{"group_name": "data-eng", "permission_level": "CAN_USE"}]});
    assert_eq!(call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(data_eng)).await.0, 200);
    let ids: Vec<String> = ws.tokens().into_iter().map(|t| t.token_id).collect();
    assert_eq!(ids, [bobs.clone(), sps.clone(), obo["token_info"]["token_id"].as_str().unwrap().to_owned(), roots.clone()]);
    assert!(!valid(alices_value.clone()).await, "revoked: answered as any invalid token");
    assert!(valid(bobs_value.clone()).await && valid(sps_value.clone()).await && valid(obo_value.clone()).await);
    let (status, body) = call(&ws, ADMIN, Method::GET, &format!("{TM}/{alices}"), None).await;
    assert_eq!((status, error_code(&body)), (404, Some("RESOURCE_DOES_NOT_EXIST")));

    // Only alice by name: the group's tokens go, the service principal's on-behalf-of token with them; an
    // admin's never (admins always may); the OAuth access token is no token of the Tokens API and stays.
    let only_alice = json!({"access_control_list": [{"user_name": "alice", "permission_level": "CAN_USE"}]});
    assert_eq!(call(&ws, ADMIN, Method::PUT, PERMISSIONS, Some(only_alice)).await.0, 200);
    assert_eq!(ws.tokens().into_iter().map(|t| t.token_id).collect::<Vec<_>>(), [roots]);
    for value in [bobs_value, sps_value, obo_value] {
        assert!(!valid(value).await);
    }
    assert!(valid(roots_value).await);
    let (status, body) = call(&ws, &sp, Method::POST, "/api/2.0/token/create", Some(json!({}))).await;
    assert_eq!((status, error_code(&body)), (403, Some("PERMISSION_DENIED")), "authenticated, but may no longer create");
    // A grant given back does not bring revoked tokens back; alice creates again.
    let users = json!({"access_control_list": [{"group_name": "users", "permission_level": "CAN_USE"}]});
    assert_eq!(call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(users)).await.0, 200);
    assert!(!valid(alices_value).await);
    create(&ws, ALICE, "alice again").await;
}

#[tokio::test]
async fn an_invalid_token_is_refused_with_the_services_reason_phrase() {
    let ws = workspace().await;
    let (id, value) = create(&ws, ALICE, "soon revoked").await;
    let (_, expiring) = call(&ws, ALICE, Method::POST, "/api/2.0/token/create", Some(json!({"lifetime_seconds": 60}))).await;
    let expiring = expiring["token_value"].as_str().unwrap().to_owned();
    assert_eq!(call(&ws, ADMIN, Method::DELETE, &format!("{TM}/{id}"), None).await.0, 200);
    ws.advance_clock(Duration::from_secs(61));
    let http = reqwest::Client::new();
    for credential in ["dapi-unknown", value.as_str(), expiring.as_str()] {
        for path in ["/api/2.0/token/list", TM, PERMISSIONS] {
            let response = http.get(format!("{}{path}", ws.url())).bearer_auth(credential).send().await.unwrap();
            let reason = response.headers().get("x-databricks-reason-phrase").map(|v| v.to_str().unwrap().to_owned());
            assert_eq!((response.status().as_u16(), reason.as_deref()), (403, Some("Invalid access token.")), "{path}");
            assert_eq!(response.json::<Value>().await.unwrap(), json!({"error_code": 403, "message": "Invalid access token."}));
        }
    }
    // Only there: not on a missing credential, a refusal of a valid one, or a success.
    let missing = http.get(format!("{}{TM}", ws.url())).send().await.unwrap();
    let not_admin = http.get(format!("{}{TM}", ws.url())).bearer_auth(ALICE).send().await.unwrap();
    let fine = http.get(format!("{}{TM}", ws.url())).bearer_auth(ADMIN).send().await.unwrap();
    for (response, status) in [(missing, 401), (not_admin, 403), (fine, 200)] {
        assert_eq!(response.status().as_u16(), status);
        assert!(response.headers().get("x-databricks-reason-phrase").is_none(), "{status}");
    }
}

#[tokio::test]
async fn a_request_for_another_workspace_is_refused() {
    let ws = workspace().await;
    let http = reqwest::Client::new();
    let send = |method: Method, path: &str, workspace_id: &str| {
        http.request(method, format!("{}{path}", ws.url()))
            .bearer_auth(ADMIN)
            .header("X-Databricks-Workspace-Id", workspace_id)
            .json(&json!({"comment": "x"}))
            .send()
    };
    for (method, path) in
        [(Method::POST, "/api/2.0/token/create"), (Method::GET, "/api/2.0/token/list"), (Method::GET, TM), (Method::GET, LEVELS)]
    {
        for other in ["1000000000000002", "", "not-a-number"] {
            let response = send(method.clone(), path, other).await.unwrap();
            assert_eq!(response.status(), 403, "{method} {path} for {other:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), Some("PERMISSION_DENIED"));
            assert!(body["message"].as_str().unwrap().contains(WORKSPACE_ID), "{body}");
        }
        assert!(send(method.clone(), path, WORKSPACE_ID).await.unwrap().status().is_success(), "{method} {path}: this workspace");
    }
    assert_eq!(ws.tokens().len(), 1, "only the create that named this workspace was done");
    // Our client sends the header when configured with a workspace id.
    let client = |id: &str| databricks_tokens::WorkspaceClient::builder().host(ws.url()).token(ADMIN).workspace_id(id).build().unwrap();
    let err = client("42").tokens().list().send().await.unwrap_err();
    assert!(err.is_permission_denied() && err.error_code() == Some("PERMISSION_DENIED"), "{err:?}");
    assert_eq!(client(WORKSPACE_ID).tokens().list().send().await.unwrap().len(), 1);
    // OAuth and the host metadata are not workspace APIs: the header changes nothing there.
    let metadata =
        http.get(format!("{}/.well-known/databricks-config", ws.url())).header("X-Databricks-Workspace-Id", "42").send().await.unwrap();
    assert_eq!(metadata.status(), 200);
}

#[tokio::test]
async fn an_empty_patch_of_the_permissions_is_refused() {
    let ws = workspace().await;
    let (_, before) = call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await;
    let http = reqwest::Client::new();
    let no_body = http.patch(format!("{}{PERMISSIONS}", ws.url())).bearer_auth(ADMIN).send().await.unwrap();
    let status = no_body.status().as_u16();
    let body: Value = no_body.json().await.unwrap();
    assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("access_control_list is required"), "{body}");
    for empty in [json!({}), json!({"access_control_list": null})] {
        let (status, body) = call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(empty.clone())).await;
        assert_eq!((status, error_code(&body)), (400, Some("INVALID_PARAMETER_VALUE")), "{empty}");
    }
    assert_eq!(call(&ws, ADMIN, Method::GET, PERMISSIONS, None).await.1, before, "unchanged");
    // An empty list adds nothing, and says so with the list as it is.
    assert_eq!(call(&ws, ADMIN, Method::PATCH, PERMISSIONS, Some(json!({"access_control_list": []}))).await, (200, before));
}
