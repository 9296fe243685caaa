//! A client-side requests-per-second limit: a token bucket shared by every clone of a client.
//!
//! Each attempt (retries included) takes one token. A caller that finds the bucket empty reserves the next
//! token and waits for it, so concurrent callers are served in turn and the long-run rate never exceeds the
//! limit. The bucket holds at most one second's worth of tokens (the burst).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;

/// A shared token bucket.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    per_second: f64,
    state: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimiter {
    /// A limiter of `per_second` requests a second (must be > 0).
    pub(crate) fn new(per_second: f64) -> Self {
        Self { per_second, state: Arc::new(Mutex::new(Bucket { tokens: per_second.max(1.0), last: None })) }
    }

    /// Waits until one request may go.
    #[cfg(test)]
    pub(crate) async fn acquire(&self, clock: &dyn Clock) {
        self.acquire_within(clock, Duration::MAX).await;
    }

    /// Waits until one request may go, unless that takes longer than `at_most`: then takes nothing,
    /// waits not at all, and returns `false`.
    pub(crate) async fn acquire_within(&self, clock: &dyn Clock, at_most: Duration) -> bool {
        let wait = {
            let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = clock.now();
            let burst = self.per_second.max(1.0);
            if let Some(last) = b.last {
                let refill = now.saturating_duration_since(last).as_secs_f64() * self.per_second;
                b.tokens = (b.tokens + refill).min(burst);
            }
            b.last = Some(now);
            let wait = (b.tokens < 1.0).then(|| Duration::try_from_secs_f64((1.0 - b.tokens) / self.per_second).unwrap_or(Duration::MAX));
            if wait.is_some_and(|w| w > at_most) {
                return false;
            }
            b.tokens -= 1.0;
            wait
        };
        if let Some(wait) = wait {
            clock.sleep(wait).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;
    use crate::clock::SystemClock;
    use std::time::Duration;

    /// Under tokio's paused clock: 25 acquisitions at 5/s with a burst of 5 take at least 4 s.
    #[tokio::test(start_paused = true)]
    async fn the_bucket_really_limits() {
        let limiter = RateLimiter::new(5.0);
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..25)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move { l.acquire(&SystemClock).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(4), "{took:?}");
        assert!(took < Duration::from_millis(4300), "no needless waiting: {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_vanishingly_small_rate_waits_instead_of_panicking() {
        let limiter = RateLimiter::new(1e-300);
        limiter.acquire(&SystemClock).await; // the burst
        let wait = tokio::time::timeout(Duration::from_secs(3600), limiter.acquire(&SystemClock)).await;
        assert!(wait.is_err(), "the second request waits (practically forever)");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_to_its_burst() {
        let limiter = RateLimiter::new(2.0);
        for _ in 0..2 {
            limiter.acquire(&SystemClock).await;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = tokio::time::Instant::now();
        for _ in 0..2 {
            limiter.acquire(&SystemClock).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "two tokens were saved up, no more");
        limiter.acquire(&SystemClock).await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
