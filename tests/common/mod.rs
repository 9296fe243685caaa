//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use databricks_tokens::clock::{BoxFuture, Clock};
use databricks_tokens::{RetryPolicy, WorkspaceClient};

pub const TOKEN: &str = "dapi-test-credential-0123456789";

/// A client of `uri` with a PAT, a fake clock and the given retry policy.
pub fn client(uri: &str, retry: RetryPolicy) -> (WorkspaceClient, FakeClock) {
    let clock = FakeClock::default();
    let w = WorkspaceClient::builder().host(uri).token(TOKEN).retry_policy(retry).clock(clock.clone()).build().expect("client builds");
    (w, clock)
}

/// A clock whose `sleep` returns at once and advances `now`, recording every wait.
#[derive(Debug, Clone)]
pub struct FakeClock {
    start: Instant,
    state: Arc<Mutex<(Duration, Vec<Duration>)>>,
}

impl Default for FakeClock {
    fn default() -> Self {
        Self { start: Instant::now(), state: Arc::default() }
    }
}

impl FakeClock {
    /// Every wait asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().unwrap().1.clone()
    }
    /// The total virtual time slept.
    pub fn elapsed(&self) -> Duration {
        self.state.lock().unwrap().0
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + self.state.lock().unwrap().0
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        let mut s = self.state.lock().unwrap();
        s.0 += d;
        s.1.push(d);
        Box::pin(async {})
    }
}
