//! The blocking client (feature `blocking`): the same builders with a blocking `send()`, from plain
//! synchronous code, against the local workspace (served on a runtime of its own).

use std::time::Duration;

use databricks_tokens::ErrorKind;
use databricks_tokens::blocking::WorkspaceClient;
use databricks_tokens::local::{Fault, LocalWorkspace, Route};

/// A local workspace on a runtime of its own thread, as a synchronous program would have it.
fn workspace() -> (tokio::runtime::Runtime, LocalWorkspace) {
    let server = tokio::runtime::Runtime::new().unwrap();
    let ws = server.block_on(LocalWorkspace::start()).unwrap();
    (server, ws)
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
    // A clone shares the runtime and the client; it works from another thread.
    let clone = w.clone();
    let from_thread =
        std::thread::spawn(move || clone.tokens().create().exactly_once().comment("thread").send().map(|c| c.token_id().to_owned()));
    let id = from_thread.join().unwrap().unwrap();
    assert_eq!(w.tokens().list().send().unwrap()[0].token_id, id);
    assert_eq!(w.as_async().auth_type(), "pat");
}
