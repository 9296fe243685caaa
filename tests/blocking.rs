//! The blocking client (feature `blocking`): the async client's builders with a blocking `send()`, Token
//! Management, `from_diff` and the workflows, from plain synchronous code against the local workspace
//! (served on a runtime of its own); and the client built, used and dropped inside async runtimes.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use databricks_tokens::ErrorKind;
use databricks_tokens::admin::{AuditOptions, RevokePlan};
use databricks_tokens::blocking::WorkspaceClient;
use databricks_tokens::local::{Fault, LocalWorkspace, LocalWorkspaceBuilder, Route};
use databricks_tokens::types::token_management::TokenPermissionLevel;
use databricks_tokens::workflows::Cleanup;

/// A local workspace on a runtime of its own threads, as a synchronous program would have it.
fn workspace_with(builder: LocalWorkspaceBuilder) -> (tokio::runtime::Runtime, LocalWorkspace) {
    let server = tokio::runtime::Runtime::new().unwrap();
    let ws = server.block_on(builder.start()).unwrap();
    (server, ws)
}

fn workspace() -> (tokio::runtime::Runtime, LocalWorkspace) {
    workspace_with(LocalWorkspace::builder())
}

/// A blocking client with a personal access token of the workspace.
fn client_with_token(ws: &LocalWorkspace, token: impl Into<databricks_tokens::SecretString>) -> WorkspaceClient {
    WorkspaceClient::new(databricks_tokens::WorkspaceClient::builder().host(ws.url()).token(token).build().unwrap()).unwrap()
}

#[test]
fn the_seed_lifecycle_from_synchronous_code() {
    let (_server, ws) = workspace();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).scopes(["sql"]).send().unwrap();
    assert!(created.token_value().expose().starts_with("dapi"));
    let listed = w.tokens().list().send().unwrap();
    assert_eq!(listed.len(), 1);
    w.tokens().update(created.token_id()).comment("ci (renamed)").clear_scopes().send().unwrap();
    let now = &w.tokens().list().send().unwrap()[0];
    assert_eq!((now.comment.as_deref(), now.scopes.as_deref()), (Some("ci (renamed)"), Some(&[][..])));
    w.tokens().delete(created.token_id()).send().unwrap();
    assert!(ws.tokens().is_empty());
}

#[test]
fn errors_validation_options_and_clones_work_the_same() {
    let (_server, ws) = workspace();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    let err = w.tokens().create().lifetime(Duration::ZERO).send().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    let err = w.tokens().delete("no-such-token").send().unwrap_err();
    assert!(err.is_not_found());
    // Per-call options reach the pipeline: with retries off, one 503 is the answer.
    ws.inject(Route::List, [Fault::Unavailable]);
    let err = w.tokens().list().retry_policy(databricks_tokens::RetryPolicy::disabled()).send().unwrap_err();
    assert_eq!(err.status(), Some(503));
    // A clone shares the runtime thread and the client; it works from another thread.
    let clone = w.clone();
    let from_thread =
        std::thread::spawn(move || clone.tokens().create().exactly_once().comment("thread").send().map(|c| c.token_id().to_owned()));
    let id = from_thread.join().unwrap().unwrap();
    assert_eq!(w.tokens().list().send().unwrap()[0].token_id, id);
    assert_eq!(w.as_async().auth_type(), "pat");
}

#[test]
fn from_diff_and_the_workflows_from_synchronous_code() {
    let (_server, ws) = workspace();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    let hour = Duration::from_secs(3600);
    let deploy = w.tokens().create().comment("deploy bot").scopes(["sql"]).lifetime(hour).send().unwrap();
    let ci = w.tokens().create().comment("ci-1").lifetime(Duration::from_secs(60)).send().unwrap();

    assert_eq!(w.get_token_by_comment("deploy bot").unwrap().token_id, deploy.token_id());
    assert_eq!(w.get_token(ci.token_id()).unwrap().comment.as_deref(), Some("ci-1"));
    assert!(w.get_token("no-such-token").unwrap_err().is_not_found());

    // from_diff sends only what changed: the comment; the scopes stay.
    let current = w.get_token(deploy.token_id()).unwrap();
    let desired = current.clone().set_comment("deploy bot (v2)");
    let err = w.tokens().update(deploy.token_id()).from_diff(&current, &current).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    w.tokens().update(deploy.token_id()).from_diff(&current, &desired).unwrap().send().unwrap();
    let now = w.get_token(deploy.token_id()).unwrap();
    assert_eq!((now.comment.as_deref(), now.scopes.as_deref()), (Some("deploy bot (v2)"), Some(&["sql".to_owned()][..])));

    let soon = w.tokens_expiring_within(Duration::from_secs(120)).unwrap();
    assert_eq!(soon.iter().map(|t| t.token_id.as_str()).collect::<Vec<_>>(), [ci.token_id()]);

    let rotated = w.rotate_token(deploy.token_id(), 2 * hour).unwrap();
    assert_ne!(rotated.token_id(), deploy.token_id());
    assert_eq!(w.get_token_by_comment("deploy bot (v2)").unwrap().token_id, rotated.token_id());
    assert!(w.get_token(deploy.token_id()).unwrap_err().is_not_found(), "the old token is revoked");
    let err = w.rotate_token("no-such-token", hour).unwrap_err();
    assert!(err.to_string().contains("could not be read"), "{err}");

    let plan = || Cleanup::expiring_within(Duration::from_secs(120)).comment_starts_with("ci-");
    let preview = w.cleanup_tokens(plan().dry_run()).unwrap();
    assert_eq!((preview.selected.len(), preview.revoked.len()), (1, 0));
    assert_eq!(w.tokens().list().send().unwrap().len(), 2, "the dry run revoked nothing");
    let report = w.cleanup_tokens(plan()).unwrap();
    assert_eq!(report.revoked, [ci.token_id()]);

    assert!(w.delete_token_if_exists(rotated.token_id()).unwrap());
    assert!(!w.delete_token_if_exists(rotated.token_id()).unwrap());
    assert!(ws.tokens().is_empty());
}

#[test]
fn token_management_and_the_admin_workflows_from_synchronous_code() {
    let builder = LocalWorkspace::builder().user("alice", "dapi-alice-login").service_principal("sp-etl", "sp-secret");
    let (_server, ws) = workspace_with(builder);
    let admin = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    let alice = client_with_token(&ws, "dapi-alice-login");
    let mine = alice.tokens().create().comment("alice's").scopes(["sql"]).send().unwrap();
    let tm = admin.token_management();

    let err = alice.token_management().list().send().unwrap_err();
    assert!(err.is_permission_denied(), "{err}");
    let alices = tm.list().created_by_username("alice").send().unwrap();
    assert_eq!(alices.iter().map(|t| t.token_id.as_str()).collect::<Vec<_>>(), [mine.token_id()]);
    assert_eq!(tm.list().created_by_id(ws.principal_id("alice").unwrap()).send().unwrap(), alices);

    // from_diff on the admin's update: only the comment is sent, and alice sees it.
    let current = tm.get(mine.token_id()).send().unwrap();
    let desired = current.clone().set_comment("audited");
    let updated = tm.update(mine.token_id()).from_diff(&current, &desired).unwrap().send().unwrap();
    assert_eq!((updated.comment.as_deref(), updated.scopes.as_deref()), (Some("audited"), Some(&["sql".to_owned()][..])));
    assert_eq!(alice.tokens().list().send().unwrap()[0].comment.as_deref(), Some("audited"));

    // Permissions: only alice may use tokens, so the service principal may not have one; then it may.
    let levels = tm.permission_levels().send().unwrap();
    assert!(levels.iter().any(|l| l.permission_level.as_ref().map(|l| l.as_str()) == Some("CAN_USE")), "{levels:?}");
    tm.set_permissions().grant_user("alice", TokenPermissionLevel::CanUse).send().unwrap();
    let err = tm.create_obo_token("sp-etl").comment("etl").send().unwrap_err();
    assert!(err.is_permission_denied() && err.to_string().contains("grant_service_principal"), "{err}");
    tm.update_permissions().grant_service_principal("sp-etl", TokenPermissionLevel::CanUse).send().unwrap();
    let acl = tm.permissions().send().unwrap().access_control_list;
    assert!(acl.iter().any(|e| e.service_principal_name.as_deref() == Some("sp-etl")), "{acl:?}");
    let obo = tm.create_obo_token("sp-etl").comment("etl").lifetime(Duration::from_secs(3600)).send().unwrap();
    assert_eq!(obo.token_info().owner_id.map(i64::from), ws.principal_id("sp-etl"));
    let as_sp = client_with_token(&ws, obo.token_value().clone());
    assert_eq!(as_sp.tokens().list().send().unwrap()[0].token_id, obo.token_id(), "the OBO token is the service principal's");

    let fresh = admin.rotate_obo_token("sp-etl", obo.token_id(), Duration::from_secs(7200)).unwrap();
    assert_eq!(fresh.token_info().comment.as_deref(), Some("etl"));
    assert!(tm.get(obo.token_id()).send().unwrap_err().is_not_found(), "the old OBO token is revoked");

    let audit = admin.audit_tokens(AuditOptions::default()).unwrap();
    assert_eq!(audit.summary.total, 2);
    let preview = admin.revoke_tokens(RevokePlan::created_by("alice").dry_run()).unwrap();
    assert_eq!((preview.selected.len(), preview.revoked.len()), (1, 0));
    let report = admin.revoke_tokens(RevokePlan::created_by("alice")).unwrap();
    assert_eq!(report.revoked, [mine.token_id()]);
    tm.delete(fresh.token_id()).send().unwrap();
    assert!(tm.list().send().unwrap().is_empty());
}

#[test]
fn a_panic_inside_a_call_reaches_the_caller_and_the_client_goes_on() {
    let (_server, ws) = workspace();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    w.tokens().create().comment("kept").send().unwrap();
    let plan = Cleanup::matching(|_, _| panic!("the predicate gave up"));
    let panic = std::panic::catch_unwind(AssertUnwindSafe(|| w.cleanup_tokens(plan))).unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"the predicate gave up"));
    assert_eq!(w.tokens().list().send().unwrap().len(), 1, "the thread still runs calls; nothing was revoked");
}

#[test]
fn a_blocking_call_from_inside_a_call_is_refused_not_a_deadlock() {
    let (_server, ws) = workspace();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    w.tokens().create().comment("kept").send().unwrap();
    let (inner, seen) = (w.clone(), std::sync::Arc::new(std::sync::Mutex::new(None)));
    let saw = std::sync::Arc::clone(&seen);
    // The predicate runs on the client's thread: a call from there could never be answered.
    let plan = Cleanup::matching(move |_, _| {
        *saw.lock().unwrap() = Some(inner.tokens().list().send().map(|t| t.len()));
        false
    });
    assert!(w.cleanup_tokens(plan).unwrap().selected.is_empty());
    let err = seen.lock().unwrap().take().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    assert!(err.to_string().contains("would wait forever"), "{err}");
    assert_eq!(w.tokens().list().send().unwrap().len(), 1);
}

/// Fails on a client that owns a runtime: `block_on` inside a runtime panics, and so does dropping one.
#[tokio::test]
async fn built_used_and_dropped_inside_a_current_thread_runtime() {
    // The server runs elsewhere: a blocking call stops this runtime until its answer comes.
    let server = tokio::runtime::Runtime::new().unwrap();
    let ws = server.spawn(LocalWorkspace::start()).await.unwrap().unwrap();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    let created = w.tokens().create().comment("inside tokio::test").send().unwrap();
    assert_eq!(w.tokens().list().send().unwrap()[0].token_id, created.token_id());
    let clone = w.clone();
    drop(w);
    clone.tokens().delete(created.token_id()).send().unwrap();
    drop(clone); // the last clone: its thread ends, here, without a panic
    assert!(ws.tokens().is_empty());
    drop(ws);
    server.shutdown_background();
}

/// Fails on a client that owns a runtime, as above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_used_and_dropped_inside_a_multi_thread_runtime_and_a_spawned_task() {
    // Served by this runtime's workers, while blocking calls hold this thread or one worker.
    let ws = LocalWorkspace::start().await.unwrap();
    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    w.tokens().create().comment("from the test body").send().unwrap();
    let async_client = ws.client().unwrap();
    let task = tokio::spawn(async move {
        let w = WorkspaceClient::new(async_client).unwrap();
        let created = w.tokens().create().comment("from a spawned task").send().unwrap();
        let listed = w.tokens().list().send().unwrap().len();
        drop(w);
        (created.token_id().to_owned(), listed)
    });
    let (id, listed) = task.await.unwrap();
    assert_eq!(listed, 2);
    // The async client works alongside on this runtime.
    let tokens = ws.client().unwrap().tokens().list().send().await.unwrap();
    assert!(tokens.iter().any(|t| t.token_id == id));
    w.tokens().delete(&id).send().unwrap();
    drop(w);
    assert_eq!(ws.tokens().len(), 1);
}
