//! The token workflows, against the local workspace over HTTP and against a mock.

use std::time::{Duration, SystemTime};

use databricks_tokens::field_mask::Update;
use databricks_tokens::local::{Fault, LocalWorkspace, Route};
use databricks_tokens::types::PublicTokenInfo;
use databricks_tokens::workflows::{Cleanup, Expiry, NewToken, RotateError, TokenApi, TokenInfoExt, TokenWorkflows};
use databricks_tokens::{ErrorKind, WorkspaceClient};
use futures::TryStreamExt;

async fn workspace() -> (LocalWorkspace, WorkspaceClient) {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    (ws, w)
}

fn id(info: &PublicTokenInfo) -> &str {
    info.token_id.as_deref().unwrap()
}

#[tokio::test]
async fn create_with_a_duration_scopes_and_autoscope() {
    let (ws, w) = workspace().await;
    let created =
        w.create_token(NewToken::new().comment("ci").lifetime(Duration::from_secs(300)).scopes(["sql"]).autoscope(true)).await.unwrap();
    let info = created.token_info;
    let (born, dies) = (info.created_at().unwrap(), info.expiry().unwrap());
    assert_eq!(dies, Expiry::At(born + Duration::from_secs(300)));
    assert_eq!(ws.tokens()[0].scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(ws.tokens()[0].autoscope_state.as_ref().map(|s| s.as_str()), Some("AUTOSCOPE_STATE_RUNNING"));

    let err = w.create_token(NewToken::new().lifetime(Duration::from_millis(500))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(ws.counters(Route::Create).received, 1, "refused before sending");
}

#[tokio::test]
async fn list_as_a_vec_and_as_a_lazy_stream() {
    let (ws, w) = workspace().await;
    for c in ["a", "b", "c"] {
        w.create_token(NewToken::new().comment(c)).await.unwrap();
    }
    let listed = w.list_tokens().await.unwrap();
    let stream = w.token_stream();
    assert_eq!(ws.counters(Route::List).received, 1, "the stream has not asked yet");
    let streamed: Vec<PublicTokenInfo> = stream.try_collect().await.unwrap();
    assert_eq!(streamed, listed);
    assert_eq!(listed.iter().map(|t| t.comment.as_deref().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
}

#[tokio::test]
async fn get_by_id_and_by_comment() {
    let (_ws, w) = workspace().await;
    let one = w.create_token(NewToken::new().comment("unique")).await.unwrap().token_info;
    w.create_token(NewToken::new().comment("twin")).await.unwrap();
    w.create_token(NewToken::new().comment("twin")).await.unwrap();
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
    let info = w.create_token(NewToken::new().comment("ci").scopes(["sql", "jobs"])).await.unwrap().token_info;
    w.update_token(id(&info), Update::token().comment("ci (renamed)").clear_scopes()).await.unwrap();
    let now = &ws.tokens()[0];
    assert_eq!((now.comment.as_deref(), now.scopes.as_deref()), (Some("ci (renamed)"), Some(&[][..])));

    let mut desired = now.clone();
    desired.scopes = Some(["sql"].into_iter().collect());
    w.update_token(id(&info), Update::from_diff(now, &desired).unwrap()).await.unwrap();
    assert_eq!(ws.tokens()[0].scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(ws.tokens()[0].comment.as_deref(), Some("ci (renamed)"), "fields outside the mask are untouched");

    let err = w.update_token(id(&info), Update::token()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn delete_and_delete_if_exists() {
    let (_ws, w) = workspace().await;
    let info = w.create_token(NewToken::new()).await.unwrap().token_info;
    assert!(w.delete_token_if_exists(id(&info)).await.unwrap());
    assert!(!w.delete_token_if_exists(id(&info)).await.unwrap(), "already gone counts as done");
    assert!(w.delete_token(id(&info)).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn rotate_replaces_a_token_keeping_comment_and_scopes() {
    let (ws, w) = workspace().await;
    let old = w.create_token(NewToken::new().comment("deploy").scopes(["sql"]).lifetime(Duration::from_secs(60))).await.unwrap().token_info;
    let new = w.rotate_token(id(&old), Duration::from_secs(7200)).await.unwrap();
    let new_info = new.token_info;
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].token_id, new_info.token_id);
    assert_eq!((tokens[0].comment.as_deref(), tokens[0].scopes.as_deref()), (Some("deploy"), Some(&["sql".to_owned()][..])));
    let lifetime = new_info.expiry().unwrap();
    assert_eq!(lifetime, Expiry::At(new_info.created_at().unwrap() + Duration::from_secs(7200)));
    assert!(new.token_value.expose().starts_with("dapi"));
}

#[tokio::test]
async fn a_failed_revoke_during_rotation_leaves_the_user_the_new_token() {
    let (ws, w) = workspace().await;
    let old = w.create_token(NewToken::new().comment("deploy")).await.unwrap().token_info;
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
    let soon = w.create_token(NewToken::new().comment("ci-1").lifetime(Duration::from_secs(60))).await.unwrap().token_info;
    w.create_token(NewToken::new().comment("ci-2").lifetime(Duration::from_secs(3 * 3600))).await.unwrap();
    w.create_token(NewToken::new().comment("keep").lifetime(Duration::from_secs(30))).await.unwrap();
    w.create_token(NewToken::new().comment("ci-default")).await.unwrap();

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
#[derive(Default)]
struct Recorder {
    tokens: Vec<PublicTokenInfo>,
    deleted: std::sync::Mutex<Vec<String>>,
}

impl TokenApi for Recorder {
    async fn list(&self) -> databricks_tokens::Result<Vec<PublicTokenInfo>> {
        Ok(self.tokens.clone())
    }
    async fn delete(&self, token_id: &str) -> databricks_tokens::Result<()> {
        self.deleted.lock().unwrap().push(token_id.to_owned());
        Ok(())
    }
}

#[tokio::test]
async fn workflows_run_against_a_mock_and_unimplemented_operations_say_so() {
    let ms = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    let now = SystemTime::now();
    let token =
        |id: &str, expiry: i64| PublicTokenInfo { token_id: Some(id.into()), expiry_time: Some(expiry.into()), ..Default::default() };
    let mock = Recorder {
        tokens: vec![
            token("expired", ms(now - Duration::from_secs(10))),
            token("fine", ms(now + Duration::from_secs(3600))),
            token("forever", -1),
        ],
        ..Default::default()
    };
    let report = mock.cleanup_tokens(Cleanup::expired()).await.unwrap();
    assert_eq!(report.revoked, ["expired"]);
    assert_eq!(*mock.deleted.lock().unwrap(), ["expired"]);

    let err = mock.create_token(NewToken::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplementedByMock);
    assert!(err.to_string().contains("override TokenApi::create"), "{err}");
    let err = mock.update_token("fine", Update::token().comment("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplementedByMock);
}
