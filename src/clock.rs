//! Time as the client sees it: what time it is, on the monotonic and on the wall clock, and how to wait.
//!
//! Retries, the retry budget, the rate limiter, token expiry, `Retry-After` dates and the workflows ask
//! a [`Clock`] instead of the system directly, so a test can inject one that records every wait and
//! advances instantly, and so be exact and fast. With the `test-util` feature the crate ships one:
//! `FakeClock`.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

/// A boxed, sendable future, as [`Clock::sleep`] returns: the same type as `futures::future::BoxFuture`,
/// which implementations outside the crate name.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of time for retries, budgets and rate limits.
///
/// ```
/// use databricks_tokens::clock::{Clock, SystemClock};
/// let clock = SystemClock;
/// let before = clock.now();
/// std::thread::sleep(std::time::Duration::from_millis(2));
/// assert!(clock.now() - before >= std::time::Duration::from_millis(2));
/// ```
///
/// Implement it to control time in your tests: [`Clock::sleep`] may return at once after advancing
/// what [`Clock::now`] reports.
pub trait Clock: Send + Sync + Debug {
    /// The current instant.
    fn now(&self) -> Instant;
    /// The current wall-clock time (for `Retry-After` dates, token expiry times, token ages). The default
    /// is [`SystemTime::now`]; a fake clock moves it together with [`Clock::now`].
    fn system_now(&self) -> SystemTime {
        SystemTime::now()
    }
    /// Waits for `duration`. The future is a `futures::future::BoxFuture<'static, ()>` (a pinned, boxed,
    /// sendable future).
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: `Instant::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock whose `sleep` returns at once and advances time, recording every wait: for tests (feature
/// `test-util`).
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::clock::{Clock, FakeClock};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let clock = FakeClock::default();
/// let (start, wall) = (clock.now(), clock.system_now());
/// clock.sleep(Duration::from_secs(5)).await; // returns at once
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(clock.now() - start, Duration::from_secs(6));
/// assert_eq!(clock.system_now().duration_since(wall).unwrap(), Duration::from_secs(6));
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(5)]);
/// # }
/// ```
///
/// Clones share their time. Both [`Clock::now`] and [`Clock::system_now`] move by the time slept and
/// advanced since the clock was made.
#[cfg(feature = "test-util")]
#[derive(Debug, Clone)]
pub struct FakeClock {
    start: Instant,
    start_system: SystemTime,
    state: std::sync::Arc<std::sync::Mutex<(Duration, Vec<Duration>)>>,
}

#[cfg(feature = "test-util")]
impl Default for FakeClock {
    fn default() -> Self {
        Self { start: Instant::now(), start_system: SystemTime::now(), state: Default::default() }
    }
}

#[cfg(feature = "test-util")]
impl FakeClock {
    fn state(&self) -> std::sync::MutexGuard<'_, (Duration, Vec<Duration>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Every wait asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().1.clone()
    }
    /// The total time slept and advanced.
    pub fn elapsed(&self) -> Duration {
        self.state().0
    }
    /// Moves time forward without anyone sleeping.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.0 = state.0.saturating_add(by);
    }
}

#[cfg(feature = "test-util")]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        let elapsed = self.state().0;
        self.start.checked_add(elapsed).unwrap_or(self.start)
    }
    fn system_now(&self) -> SystemTime {
        let elapsed = self.state().0;
        self.start_system.checked_add(elapsed).unwrap_or(self.start_system)
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let mut state = self.state();
        state.0 = state.0.saturating_add(duration);
        state.1.push(duration);
        Box::pin(async {})
    }
}
