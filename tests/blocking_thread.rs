//! The blocking client's runtime thread ends when the last clone is dropped, inside an async runtime too.
//! Alone in its test binary: it counts the process's threads by name (Linux's `/proc/self/task`).
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use databricks_tokens::blocking::WorkspaceClient;
use databricks_tokens::local::LocalWorkspace;

/// The threads named `databricks-tokens-blocking` (cut to 15 bytes by the kernel).
fn runtime_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "databricks-toke")
        .count()
}

/// The count once it has settled at `expected` (a thread that was joined leaves `/proc` at once, but allow
/// for the kernel), or the last count seen.
fn settled(expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = runtime_threads();
        if n == expected || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test]
async fn one_thread_per_client_and_its_clones_gone_with_the_last_clone() {
    let server = tokio::runtime::Runtime::new().unwrap();
    let ws = server.spawn(LocalWorkspace::start()).await.unwrap().unwrap();
    assert_eq!(runtime_threads(), 0);

    let w = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    let clone = w.clone();
    assert_eq!(runtime_threads(), 1, "clones share the thread");
    let other = WorkspaceClient::new(ws.client().unwrap()).unwrap();
    assert_eq!(runtime_threads(), 2);
    clone.tokens().create().comment("c").send().unwrap();
    drop(w);
    assert_eq!(settled(2), 2, "a clone is left: the thread runs on");
    assert_eq!(clone.tokens().list().send().unwrap().len(), 1);
    drop(clone);
    assert_eq!(settled(1), 1, "the last clone took its thread with it");
    assert_eq!(other.tokens().list().send().unwrap().len(), 1);
    drop(other);
    assert_eq!(settled(0), 0);

    drop(ws);
    server.shutdown_background();
}
