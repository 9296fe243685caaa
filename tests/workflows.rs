//! The request surface and the token workflows, against the local workspace over HTTP and against a stub.

use std::time::{Duration, SystemTime};

use databricks_tokens::local::{Fault, LocalWorkspace, Route};
use databricks_tokens::stub::{self, RequestOptions};
use databricks_tokens::types::PublicTokenInfo;
use databricks_tokens::workflows::{Cleanup, Expiry, RotateError, TokenInfoExt, TokenWorkflows};
use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};
use futures::TryStreamExt;

async fn workspace() -> (LocalWorkspace, WorkspaceClient) {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    (ws, w)
}

fn id(info: &PublicTokenInfo) -> &str {
    &info.token_id
}

#[tokio::test]
async fn create_with_a_duration_scopes_and_autoscope() {
    let (ws, w) = workspace().await;
    // `.await` alone sends a builder (IntoFuture).
    let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).scopes(["sql"]).autoscope(true).await.unwrap();
    let info = created.token_info;
    let (born, dies) = (info.created_at().unwrap(), info.expiry().unwrap());
    assert_eq!(dies, Expiry::At(born + Duration::from_secs(300)));
    assert_eq!(ws.tokens()[0].scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(ws.tokens()[0].autoscope_state.as_ref().map(|s| s.as_str()), Some("AUTOSCOPE_STATE_RUNNING"));

    for bad in [Duration::ZERO, Duration::from_millis(500), Duration::MAX] {
        let err = w.tokens().create().lifetime(bad).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:?}");
    }
    assert_eq!(ws.counters(Route::Create).received, 1, "refused before sending");
}

#[tokio::test]
async fn list_as_a_vec_and_as_a_lazy_stream() {
    let (ws, w) = workspace().await;
    for c in ["a", "b", "c"] {
        w.tokens().create().comment(c).send().await.unwrap();
    }
    let listed = w.tokens().list().send().await.unwrap();
    let stream = w.tokens().list().stream();
    assert_eq!(ws.counters(Route::List).received, 1, "the stream has not asked yet");
    let streamed: Vec<PublicTokenInfo> = stream.try_collect().await.unwrap();
    assert_eq!(streamed, listed);
    assert_eq!(listed.iter().map(|t| t.comment.as_deref().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
}

#[tokio::test]
async fn get_by_id_and_by_comment() {
    let (_ws, w) = workspace().await;
    let one = w.tokens().create().comment("unique").send().await.unwrap().token_info;
    w.tokens().create().comment("twin").send().await.unwrap();
    w.tokens().create().comment("twin").send().await.unwrap();
    assert_eq!(w.get_token(id(&one)).await.unwrap(), one);
    assert_eq!(w.get_token_by_comment("unique").await.unwrap(), one);
    assert!(w.get_token("nope").await.unwrap_err().is_not_found());
    assert!(w.get_token_by_comment("nobody").await.unwrap_err().is_not_found());
    let err = w.get_token_by_comment("twin").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.to_string().contains("2 tokens have the comment \"twin\""), "{err}");
}

#[tokio::test]
async fn update_through_a_typed_mask_and_from_a_diff() {
    let (ws, w) = workspace().await;
    let info = w.tokens().create().comment("ci").scopes(["sql", "jobs"]).send().await.unwrap().token_info;
    w.tokens().update(id(&info)).comment("ci (renamed)").clear_scopes().send().await.unwrap();
    let now = &ws.tokens()[0];
    assert_eq!((now.comment.as_deref(), now.scopes.as_deref()), (Some("ci (renamed)"), Some(&[][..])));

    let mut desired = now.clone();
    desired.scopes = Some(["sql"].into_iter().collect());
    w.tokens().update(id(&info)).from_diff(now, &desired).unwrap().send().await.unwrap();
    assert_eq!(ws.tokens()[0].scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(ws.tokens()[0].comment.as_deref(), Some("ci (renamed)"), "fields outside the mask are untouched");

    let err = w.tokens().update(id(&info)).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn delete_and_delete_if_exists() {
    let (_ws, w) = workspace().await;
    let info = w.tokens().create().send().await.unwrap().token_info;
    assert!(w.delete_token_if_exists(id(&info)).await.unwrap());
    assert!(!w.delete_token_if_exists(id(&info)).await.unwrap(), "already gone counts as done");
    assert!(w.tokens().delete(id(&info)).send().await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn rotate_replaces_a_token_keeping_comment_and_scopes() {
    let (ws, w) = workspace().await;
    let old = w.tokens().create().comment("deploy").scopes(["sql"]).lifetime(Duration::from_secs(60)).send().await.unwrap().token_info;
    let new = w.rotate_token(id(&old), Duration::from_secs(7200)).await.unwrap();
    let new_info = new.token_info().clone();
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].token_id, new_info.token_id);
    assert_eq!((tokens[0].comment.as_deref(), tokens[0].scopes.as_deref()), (Some("deploy"), Some(&["sql".to_owned()][..])));
    let lifetime = new_info.expiry().unwrap();
    assert_eq!(lifetime, Expiry::At(new_info.created_at().unwrap() + Duration::from_secs(7200)));
    assert!(new.token_value().expose().starts_with("dapi"));
}

#[tokio::test]
async fn a_failed_revoke_during_rotation_leaves_the_user_the_new_token() {
    let (ws, w) = workspace().await;
    let old = w.tokens().create().comment("deploy").send().await.unwrap().token_info;
    ws.inject(Route::Delete, [Fault::HtmlServerError]);
    let err = w.rotate_token(id(&old), Duration::from_secs(600)).await.unwrap_err();
    let RotateError::Revoke { replacement, old_token_id, cause } = &err else { panic!("{err}") };
    assert_eq!(old_token_id, id(&old));
    assert_eq!(cause.status(), Some(500));
    assert!(err.to_string().contains(&format!("the old token {} is still alive", id(&old))), "{err}");
    assert!(replacement.token_value.expose().starts_with("dapi"), "the new secret is in hand");
    assert!(!format!("{err} {err:?}").contains(replacement.token_value.expose()), "but never printed");
    assert_eq!(ws.tokens().len(), 2, "both tokens are alive, as the error says");

    let err = w.rotate_token("no-such-token", Duration::from_secs(600)).await.unwrap_err();
    assert!(matches!(&err, RotateError::Lookup(e) if e.is_not_found()), "{err}");
}

#[tokio::test]
async fn expiring_within_and_cleanup_with_a_dry_run() {
    let (ws, w) = workspace().await;
    let soon = w.tokens().create().comment("ci-1").lifetime(Duration::from_secs(60)).send().await.unwrap().token_info;
    w.tokens().create().comment("ci-2").lifetime(Duration::from_secs(3 * 3600)).send().await.unwrap();
    w.tokens().create().comment("keep").lifetime(Duration::from_secs(30)).send().await.unwrap();
    w.tokens().create().comment("ci-default").send().await.unwrap();

    let expiring: Vec<String> =
        w.tokens_expiring_within(Duration::from_secs(600)).await.unwrap().iter().map(|t| t.comment.clone().unwrap()).collect();
    assert_eq!(expiring, ["ci-1", "keep"]);

    let plan = || Cleanup::expiring_within(Duration::from_secs(4 * 3600)).comment_starts_with("ci-");
    let report = w.cleanup_tokens(plan().dry_run()).await.unwrap();
    assert!(report.dry_run && report.revoked.is_empty());
    assert_eq!(report.selected.iter().map(|t| t.comment.clone().unwrap()).collect::<Vec<_>>(), ["ci-1", "ci-2"]);
    assert_eq!(ws.tokens().len(), 4, "a dry run revokes nothing");
    assert_eq!(ws.counters(Route::Delete).received, 0);

    let report = w.cleanup_tokens(plan()).await.unwrap();
    assert_eq!(report.revoked.len(), 2);
    assert!(report.revoked.contains(&id(&soon).to_owned()));
    let left: Vec<String> = ws.tokens().iter().map(|t| t.comment.clone().unwrap()).collect();
    assert_eq!(left, ["keep", "ci-default"]);
}

/// A test double of the user's: a fixed list, deletes recorded.
#[derive(Debug, Default)]
struct Recorder {
    tokens: Vec<PublicTokenInfo>,
    deleted: std::sync::Mutex<Vec<String>>,
}

impl stub::Tokens for Recorder {
    async fn list(&self, _options: RequestOptions) -> databricks_tokens::Result<Vec<PublicTokenInfo>> {
        Ok(self.tokens.clone())
    }
    async fn delete(&self, token_id: &str, _options: RequestOptions) -> databricks_tokens::Result<()> {
        self.deleted.lock().unwrap().push(token_id.to_owned());
        Ok(())
    }
}

#[tokio::test]
async fn the_real_client_type_runs_over_a_stub_and_unimplemented_operations_say_so() {
    let ms = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    let now = SystemTime::now();
    let token = |id: &str, expiry: i64| PublicTokenInfo::new(id).set_expiry_time(expiry);
    let recorder = Recorder {
        tokens: vec![
            token("expired", ms(now - Duration::from_secs(10))),
            token("fine", ms(now + Duration::from_secs(3600))),
            token("forever", -1),
        ],
        ..Default::default()
    };
    let w = WorkspaceClient::from_stub(recorder);
    let report = w.cleanup_tokens(Cleanup::expired()).await.unwrap();
    assert_eq!(report.revoked, ["expired"]);

    let err = w.tokens().create().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplementedByStub);
    assert!(err.to_string().contains("implement stub::Tokens::create"), "{err}");
    let err = w.tokens().update("fine").comment("x").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplementedByStub);
    // The client's input checks run before the stub is asked.
    assert_eq!(w.tokens().delete("").send().await.unwrap_err().kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn a_stub_sees_the_options_of_each_call() {
    #[derive(Debug, Default, Clone)]
    struct Options(std::sync::Arc<std::sync::Mutex<Vec<RequestOptions>>>);
    impl stub::Tokens for Options {
        async fn list(&self, options: RequestOptions) -> databricks_tokens::Result<Vec<PublicTokenInfo>> {
            self.0.lock().unwrap().push(options);
            Ok(Vec::new())
        }
    }
    let seen = Options::default();
    let w = WorkspaceClient::from_stub(seen.clone());
    let policy = RetryPolicy::default().with_max_attempts(2);
    w.tokens().list().send().await.unwrap();
    w.tokens().list().retry_policy(policy.clone()).attempt_timeout(Duration::from_secs(7)).await.unwrap();
    let seen = seen.0.lock().unwrap();
    assert_eq!(seen[0], RequestOptions::default());
    assert_eq!((seen[1].retry_policy(), seen[1].attempt_timeout()), (Some(&policy), Some(Duration::from_secs(7))));
}
