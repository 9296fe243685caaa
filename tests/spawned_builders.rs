//! Every builder owns a clone of its client: `tokio::spawn(w.tokens().list().send())` compiles and runs, and
//! so does a `'static` stream; against the local workspace, over HTTP.

use std::time::Duration;

use databricks_tokens::local::LocalWorkspace;
use databricks_tokens::types::token_management::TokenPermissionLevel;
use futures::{Stream, TryStreamExt as _};

/// What `tokio::spawn` asks of a future, and of a stream handed to a task.
fn spawned<T: Send + 'static>(future: impl std::future::Future<Output = T> + Send + 'static) -> tokio::task::JoinHandle<T> {
    tokio::spawn(future)
}

fn owned<S: Stream + Send + 'static>(stream: S) -> S {
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tokens_builder_runs_on_a_task_of_its_own() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();

    let created = spawned(w.tokens().create().comment("spawned").lifetime(Duration::from_secs(600)).send()).await.unwrap().unwrap();
    let id = created.token_id().to_owned();
    let listed = spawned(w.tokens().list().send()).await.unwrap().unwrap();
    assert!(listed.iter().any(|t| t.token_id == id && t.comment.as_deref() == Some("spawned")));

    spawned(w.tokens().update(id.clone()).comment("renamed").send()).await.unwrap().unwrap();
    // The service handle itself is an owned value that builds any number of builders.
    let tokens = w.tokens();
    let stream = owned(tokens.list().stream());
    let streamed: Vec<_> = spawned(stream.try_collect::<Vec<_>>()).await.unwrap().unwrap();
    assert!(streamed.iter().any(|t| t.token_id == id && t.comment.as_deref() == Some("renamed")), "{streamed:?}");

    // `.await` on a builder (IntoFuture) is `'static` too.
    spawned(std::future::IntoFuture::into_future(tokens.delete(id.clone()))).await.unwrap().unwrap();
    let after = spawned(tokens.list().send()).await.unwrap().unwrap();
    assert!(after.iter().all(|t| t.token_id != id));
    // The client may go away before the call ends: the builder holds what it needs.
    let builder = w.tokens().list();
    drop(w);
    assert_eq!(spawned(builder.send()).await.unwrap().unwrap().len(), after.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_token_management_builder_runs_on_a_task_of_its_own() {
    let ws = LocalWorkspace::builder().service_principal("ci-sp", "ci-sp-secret").start().await.unwrap();
    let w = ws.client().unwrap();
    let tm = w.token_management();

    let levels = spawned(tm.permission_levels().send()).await.unwrap().unwrap();
    assert!(levels.iter().any(|l| l.permission_level == Some(TokenPermissionLevel::CanUse)), "{levels:?}");
    let granted =
        spawned(tm.update_permissions().grant_service_principal("ci-sp", TokenPermissionLevel::CanUse).send()).await.unwrap().unwrap();
    assert!(!granted.access_control_list.is_empty());
    let read = spawned(tm.permissions().send()).await.unwrap().unwrap();
    assert_eq!(read.access_control_list, granted.access_control_list);
    let set = spawned(tm.set_permissions().grant_service_principal("ci-sp", TokenPermissionLevel::CanUse).send()).await.unwrap().unwrap();
    assert!(!set.access_control_list.is_empty());

    let obo = spawned(tm.create_obo_token("ci-sp").comment("obo").send()).await.unwrap().unwrap();
    let id = obo.token_id().to_owned();
    let got = spawned(tm.get(id.clone()).send()).await.unwrap().unwrap();
    assert_eq!(got.comment.as_deref(), Some("obo"));
    let updated = spawned(tm.update(id.clone()).comment("obo (renamed)").send()).await.unwrap().unwrap();
    assert_eq!(updated.comment.as_deref(), Some("obo (renamed)"));
    let all = spawned(tm.list().send()).await.unwrap().unwrap();
    assert!(all.iter().any(|t| t.token_id == id));
    let streamed: Vec<_> = spawned(owned(w.token_management().list().stream()).try_collect::<Vec<_>>()).await.unwrap().unwrap();
    assert_eq!(streamed.len(), all.len());

    spawned(tm.delete(id.clone()).send()).await.unwrap().unwrap();
    let after = spawned(tm.list().send()).await.unwrap().unwrap();
    assert!(after.iter().all(|t| t.token_id != id));
}
