//! Time as the pipeline sees it: what time it is and how to wait.
//!
//! Retries, the retry budget and the rate limiter ask a [`Clock`] instead of the system directly, so a
//! test can inject one that records every wait and advances instantly, and so be exact and fast.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed, sendable future, as [`Clock::sleep`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of time for retries, budgets and rate limits.
///
/// ```
/// use databricks_tokens::clock::{Clock, SystemClock};
/// let clock = SystemClock;
/// let before = clock.now();
/// assert!(clock.now() >= before);
/// ```
///
/// Implement it to control time in your tests: [`Clock::sleep`] may return at once after advancing
/// what [`Clock::now`] reports.
pub trait Clock: Send + Sync + Debug {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Waits for `duration`.
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
