//! Our client against the local workspace: the service's semantics, fault injection, concurrency.

mod common;

use std::time::Duration;

use databricks_tokens::local::{DEFAULT_LIFETIME, Fault, LocalWorkspace, Route};
use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};
use serde_json::{Value, json};

/// A request sent as it is, bypassing the client's own checks: to test what the server validates.
async fn raw(ws: &LocalWorkspace, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", ws.url()))
        .bearer_auth(ws.bootstrap_token().expose())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A client of `ws` with a fake clock, so retries do not really wait.
fn fast_client(ws: &LocalWorkspace) -> (WorkspaceClient, common::FakeClock) {
    let clock = common::FakeClock::default();
    let w = WorkspaceClient::builder().host(ws.url()).token(ws.bootstrap_token().clone()).clock(clock.clone()).build().unwrap();
    (w, clock)
}

#[tokio::test]
async fn the_seed_lifecycle() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).send().await.unwrap();
    let info = created.token_info;
    let id = info.token_id.clone();
    assert_eq!(id.len(), 64, "the id is a SHA-256 in hex");
    assert!(created.token_value.expose().starts_with("dapi"));
    assert_eq!(i64::from(info.expiry_time.unwrap()) - i64::from(info.creation_time.unwrap()), 300_000);

    let listed = w.tokens().list().send().await.unwrap();
    assert_eq!(listed, vec![info.clone()]);

    w.tokens().update(&id).comment("ci (renamed)").scopes(["sql"]).send().await.unwrap();
    let after = &w.tokens().list().send().await.unwrap()[0];
    assert_eq!(after.comment.as_deref(), Some("ci (renamed)"));
    assert_eq!(after.scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(ws.tokens()[0].comment.as_deref(), Some("ci (renamed)"), "the server's own view agrees");

    w.tokens().update(&id).clear_scopes().send().await.unwrap();
    assert_eq!(w.tokens().list().send().await.unwrap()[0].scopes.as_deref(), Some(&[][..]), "scopes cleared with []");

    w.tokens().delete(&id).send().await.unwrap();
    assert!(w.tokens().list().send().await.unwrap().is_empty());
    assert!(ws.tokens().is_empty());
}

#[tokio::test]
async fn lifetimes_default_to_two_years_and_are_validated() {
    let ws = LocalWorkspace::builder().max_lifetime(Duration::from_secs(3600)).start().await.unwrap();
    let w = ws.client().unwrap();
    let info = w.tokens().create().comment("default").send().await.unwrap().token_info;
    let lifetime_ms = i64::from(info.expiry_time.unwrap()) - i64::from(info.creation_time.unwrap());
    assert_eq!(lifetime_ms, DEFAULT_LIFETIME.as_millis() as i64);
    // The server validates what it receives...
    for bad in [0, -5, 3601] {
        let (status, body) =
            raw(&ws, reqwest::Method::POST, "/api/2.0/token/create", json!({"comment": "bad", "lifetime_seconds": bad})).await;
        assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_PARAMETER_VALUE")), "{bad}: {body}");
    }
    let err = w.tokens().create().lifetime(Duration::from_secs(3601)).send().await.unwrap_err();
    assert_eq!((err.error_code(), err.status()), (Some("INVALID_PARAMETER_VALUE"), Some(400)), "{err}");
    // ...and the client refuses what can never be valid before sending it.
    let err = w.tokens().create().lifetime(Duration::from_millis(500)).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
}

#[tokio::test]
async fn minted_tokens_authenticate_until_they_expire_or_are_revoked() {
    let ws = LocalWorkspace::start().await.unwrap();
    let admin = ws.client().unwrap();
    let short = admin.tokens().create().comment("short").lifetime(Duration::from_secs(60)).send().await.unwrap();
    let as_short = WorkspaceClient::builder().host(ws.url()).token(short.token_value.clone()).build().unwrap();
    assert_eq!(as_short.tokens().list().send().await.unwrap().len(), 1);

    ws.advance_clock(Duration::from_secs(61));
    let err = as_short.tokens().list().send().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(admin.tokens().list().send().await.unwrap().is_empty(), "an expired token is not listed");

    let revoked = admin.tokens().create().comment("revoked").send().await.unwrap();
    let as_revoked = WorkspaceClient::builder().host(ws.url()).token(revoked.token_value.clone()).build().unwrap();
    admin.tokens().delete(revoked.token_info.token_id.as_str()).send().await.unwrap();
    assert!(as_revoked.tokens().list().send().await.unwrap_err().is_permission_denied());

    let stranger = WorkspaceClient::builder().host(ws.url()).token("dapi-unknown").build().unwrap();
    let err = stranger.tokens().list().send().await.unwrap_err();
    // As the real service answers: HTTP 403 with a numeric error code.
    assert_eq!((err.status(), err.error_code(), err.message()), (Some(403), Some("403"), "Invalid access token."));
    assert!(err.is_permission_denied());
}

#[tokio::test]
async fn the_quota_is_per_user() {
    let ws = LocalWorkspace::builder().quota(2).user("alice", "dapi-alice").start().await.unwrap();
    let me = ws.client().unwrap();
    let alice = WorkspaceClient::builder().host(ws.url()).token("dapi-alice").build().unwrap();
    for i in 0..2 {
        me.tokens().create().comment(format!("mine {i}")).send().await.unwrap();
    }
    let err = me.tokens().create().comment("one too many").send().await.unwrap_err();
    assert!(err.is_quota_exceeded(), "{err:?}");
    alice.tokens().create().comment("alice's").send().await.unwrap();
    assert_eq!(alice.tokens().list().send().await.unwrap().len(), 1, "each user sees only their own");

    let mine = me.tokens().list().send().await.unwrap();
    let err = alice.tokens().delete(&mine[0].token_id).send().await.unwrap_err();
    assert!(err.is_not_found(), "another user's token does not exist for alice");
}

#[tokio::test]
async fn update_masks_are_validated_as_the_service_documents() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    let id = w.tokens().create().comment("c").send().await.unwrap().token_info.token_id;
    // What the server refuses (sent raw: our client's typed masks refuse these before sending).
    for (mask, needle) in [
        ("comment,owner", "unknown field \"owner\""),
        ("comment,expiry_time", "expiry_time of a token cannot be updated"),
        ("comment,scopes", "names scopes but the token in the body does not set it"),
        ("comment,", "is malformed"),
        ("comment, scopes", "is malformed"),
    ] {
        let body = json!({"token": {"comment": "x"}, "update_mask": mask});
        let (status, answer) = raw(&ws, reqwest::Method::PATCH, &format!("/api/2.0/token/{id}"), body).await;
        assert_eq!((status, answer["error_code"].as_str()), (400, Some("INVALID_PARAMETER_VALUE")), "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(needle), "{needle}: {answer}");
    }
    let err = w.tokens().update("0000").comment("x").send().await.unwrap_err();
    assert_eq!((err.error_code(), err.status(), err.is_not_found()), (Some("NOT_FOUND"), Some(404), true));
    let err = w.tokens().delete("0000").send().await.unwrap_err();
    assert_eq!((err.error_code(), err.is_not_found()), (Some("RESOURCE_DOES_NOT_EXIST"), true));
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_mints_exactly_one_token() {
    let ws = LocalWorkspace::start().await.unwrap();
    let (w, _) = fast_client(&ws);
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    let err = w.tokens().create().comment("lost answer").send().await.unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    assert_eq!(ws.counters(Route::Create).processed, 1);
    assert_eq!(ws.tokens().len(), 1, "no second token was minted by a retry");
}

#[tokio::test]
async fn throttling_and_unavailability_are_retried_without_duplicate_work() {
    let ws = LocalWorkspace::start().await.unwrap();
    let (w, clock) = fast_client(&ws);
    ws.inject(Route::Create, [Fault::TooManyRequests { retry_after_seconds: 3 }, Fault::Unavailable]);
    w.tokens().create().comment("throttled").send().await.unwrap();
    let c = ws.counters(Route::Create);
    assert_eq!((c.received, c.faulted, c.processed), (3, 2, 1));
    assert_eq!(ws.tokens().len(), 1);
    assert_eq!(clock.sleeps()[0], Duration::from_secs(3), "Retry-After honoured");

    // Idempotent operations survive a reset before or after processing.
    let id = ws.tokens()[0].token_id.clone();
    ws.inject(Route::Delete, [Fault::ResetAfterProcessing]);
    // The retry finds the token already revoked: since the first attempt may have done it, that is success.
    w.tokens().delete(&id).send().await.unwrap();
    assert_eq!(ws.counters(Route::Delete).processed, 2);
    assert!(ws.tokens().is_empty());
    ws.inject(Route::List, [Fault::ResetBeforeProcessing, Fault::Delay(Duration::from_millis(10))]);
    w.tokens().list().send().await.unwrap();
    assert_eq!(ws.counters(Route::List).processed, 1);
}

#[tokio::test]
async fn an_html_error_from_a_proxy_keeps_its_status() {
    let ws = LocalWorkspace::start().await.unwrap();
    let (w, _) = fast_client(&ws);
    ws.inject(Route::List, [Fault::HtmlServerError]);
    let err = w.tokens().list().send().await.unwrap_err();
    assert_eq!((err.status(), err.kind(), err.message()), (Some(500), ErrorKind::InternalError, "500 Internal Server Error"));
}

#[tokio::test]
async fn random_faults_are_reproducible_and_counted() {
    let mut faulted = Vec::new();
    for _ in 0..2 {
        let ws = LocalWorkspace::start().await.unwrap();
        let (w, _) = fast_client(&ws);
        ws.inject_randomly(Route::List, Fault::Unavailable, 0.3, 40, 7);
        for _ in 0..20 {
            w.tokens().list().send().await.unwrap();
        }
        let c = ws.counters(Route::List);
        assert_eq!(c.processed, 20, "every call succeeded exactly once");
        assert_eq!(c.received, c.processed + c.faulted);
        faulted.push(c.faulted);
    }
    assert!(faulted[0] > 0);
    assert_eq!(faulted[0], faulted[1], "same seed, same faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_leave_a_consistent_server() {
    const TASKS: usize = 32;
    const OPS: usize = 50;
    let ws = LocalWorkspace::start().await.unwrap();
    let tasks = (0..TASKS).map(|t| {
        let w = ws.client().unwrap();
        tokio::spawn(async move {
            let mut held: Option<String> = None;
            let mut kept = Vec::new();
            for i in 0..OPS {
                match i % 4 {
                    0 => {
                        let created = w
                            .tokens()
                            .create()
                            .comment(format!("task {t} op {i}"))
                            .lifetime(Duration::from_secs(3600))
                            .send()
                            .await
                            .unwrap();
                        held = Some(created.token_info.token_id);
                    }
                    1 => {
                        let id = held.as_deref().unwrap();
                        w.tokens().update(id).comment(format!("task {t} op {i} renamed")).scopes(["sql"]).send().await.unwrap();
                    }
                    2 => {
                        let mine = w.tokens().list().send().await.unwrap();
                        assert!(mine.iter().any(|x| Some(&x.token_id) == held.as_ref()), "task {t} sees its token");
                    }
                    _ => w.tokens().delete(held.take().unwrap()).send().await.unwrap(),
                }
            }
            kept.extend(held);
            kept
        })
    });
    let mut expected: Vec<String> = Vec::new();
    for task in tasks {
        expected.extend(task.await.unwrap());
    }
    let mut on_server: Vec<String> = ws.tokens().into_iter().map(|t| t.token_id).collect();
    expected.sort();
    on_server.sort();
    assert_eq!(expected.len(), TASKS, "each task keeps the token of its last create");
    assert_eq!(on_server, expected);
    let processed: u64 = ws.all_counters().iter().map(|(_, c)| c.processed).sum();
    assert_eq!(processed, (TASKS * OPS) as u64);
}

#[tokio::test]
async fn instances_are_independent() {
    let (a, b) = (LocalWorkspace::start().await.unwrap(), LocalWorkspace::start().await.unwrap());
    a.client().unwrap().tokens().create().comment("in a").send().await.unwrap();
    assert_eq!((a.tokens().len(), b.tokens().len()), (1, 0));
    assert_ne!(a.url(), b.url());
    let url = b.url();
    b.stop().await;
    let gone = WorkspaceClient::builder().host(url).token("t").retry_policy(RetryPolicy::disabled()).build().unwrap();
    assert!(gone.tokens().list().send().await.unwrap_err().is_transport(), "a stopped workspace no longer answers");
}

/// The standalone server (`examples/local_workspace.rs`), built in this test's target directory (a no-op
/// when `cargo test` already built it). Where that build cannot run (the packaged crate, whose code generator
/// resolves only through the `--config` patch the packaging step gives the outer `cargo test`), the example
/// `cargo test` built is used.
fn standalone_server() -> std::path::PathBuf {
    let profile_dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf(); // target/debug
    let binary = profile_dir.join("examples").join(format!("local_workspace{}", std::env::consts::EXE_SUFFIX));
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "local_workspace", "--features", "local-workspace"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .status()
        .unwrap();
    assert!(status.success() || binary.exists(), "building examples/local_workspace.rs");
    binary
}

#[tokio::test]
async fn the_standalone_server_answers_help_and_has_a_flag_per_builder_method() {
    let server = standalone_server();
    for help in ["--help", "-h"] {
        let out = tokio::process::Command::new(&server).args(["--port", "1", help]).output().await.unwrap();
        let usage = String::from_utf8(out.stdout).unwrap();
        assert_eq!((out.status.code(), out.stderr.is_empty()), (Some(0), true), "{help}");
        assert!(usage.starts_with("usage: local_workspace"), "{usage}");
        for flag in
            ["--max-lifetime", "--admin-client-id", "--group", "--accept-audience", "--accept-bearer-jwt", "--require-header", "--token"]
        {
            assert!(usage.contains(flag), "{help} names {flag}");
        }
    }
    let out = tokio::process::Command::new(&server).args(["--no-such-flag", "1"]).output().await.unwrap();
    assert_eq!((out.status.code(), out.stdout.is_empty()), (Some(2), true));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option --no-such-flag"));

    // The new flags, over HTTP.
    let mut child = tokio::process::Command::new(&server)
        .args(["--port", "0", "--token", "dapi-cli", "--max-lifetime", "60", "--user", "alice=dapi-alice"])
        .args([
            "--admin-client-id",
            "deploy-sp",
            "--client-secret",
            "deploy-secret",
            "--client-id",
            "ci-sp",
            "--client-secret",
            "ci-secret",
        ])
        .args(["--group", "data-eng=alice,ci-sp"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("the server says where it listens");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    let http = reqwest::Client::new();
    let create = |credential: &'static str, lifetime: u64| {
        http.post(format!("{url}/api/2.0/token/create")).bearer_auth(credential).json(&json!({"lifetime_seconds": lifetime})).send()
    };
    let too_long = create("dapi-cli", 61).await.unwrap();
    assert_eq!(too_long.status(), 400);
    assert!(too_long.text().await.unwrap().contains("exceeds the maximum of 60 seconds"));
    assert_eq!(create("dapi-cli", 60).await.unwrap().status(), 200);
    let access_token = |id: &'static str, secret: &'static str| {
        let request = http.post(format!("{url}/oidc/v1/token")).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned() }
    };
    let management = |credential: String| http.get(format!("{url}/api/2.0/token-management/tokens")).bearer_auth(credential).send();
    assert_eq!(management(access_token("deploy-sp", "deploy-secret").await).await.unwrap().status(), 200, "an admin");
    assert_eq!(management(access_token("ci-sp", "ci-secret").await).await.unwrap().status(), 403, "not an admin");
    let only_data_eng = json!({"access_control_list": [{"group_name": "data-eng", "permission_level": "CAN_USE"}]});
    let put = http.put(format!("{url}/api/2.0/permissions/authorization/tokens")).bearer_auth("dapi-cli").json(&only_data_eng);
    assert_eq!(put.send().await.unwrap().status(), 200, "the group exists");
    assert_eq!(create("dapi-alice", 60).await.unwrap().status(), 200, "alice is in data-eng");
    child.kill().await.unwrap();
}
