//! When a failed attempt is tried again, how long to wait first, and when to give up.
//!
//! The defaults:
//! - **429 and 503 are retried on every operation**, create included: the server did not process the
//!   request. `Retry-After` (seconds or an HTTP date) is honoured up to [`RetryPolicy::max_retry_after`].
//! - **Transport failures** are retried for idempotent operations (list, update, delete); for
//!   non-idempotent ones (create) only when the connection was never made, so a create can never mint two
//!   tokens.
//! - Otherwise the wait is exponential backoff with full jitter: a random delay in
//!   `[0, min(max_backoff, initial_backoff * 2^retry))`.
//! - An overall budget of 300 s (as the Python and Go SDKs) bounds the whole call, and each attempt has its
//!   own timeout (60 s, as Python and Go). The budget is spent, not cut short: the last wait ends at the
//!   deadline, and the call then fails with a timeout that keeps the last answer (its status, code and
//!   message). Rate-limit waits count against it.
//! - A retry budget shared by a client and its clones (smithy-rs's retry token bucket,
//!   [`RetryPolicy::with_shared_budget`]) stops a fleet of calls from multiplying the load on a failing
//!   service.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The default capacity of a client's shared retry budget (as smithy-rs's retry token bucket).
pub const DEFAULT_SHARED_RETRY_BUDGET: u32 = 500;
/// What a retry takes from the shared budget.
const RETRY_COST: u32 = 5;
/// What a retry after a timeout takes.
const TIMEOUT_RETRY_COST: u32 = 10;

/// A retry budget shared by a client and its clones: each retry spends from it, each call that succeeds
/// at its first attempt gives one back. When a service keeps failing, the fleet of calls stops retrying
/// together instead of multiplying the load.
///
/// A budget may have a parent shared by several clients (a fleet run's, see [`crate::fleet`]): a retry is
/// paid by both, so one client can spend at most its own capacity of the parent, and an empty parent stops
/// every client's retries.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    capacity: u32,
    tokens: std::sync::atomic::AtomicU32,
    parent: Option<std::sync::Arc<RetryBudget>>,
}

impl RetryBudget {
    pub(crate) fn new(capacity: u32) -> Self {
        Self { capacity, tokens: std::sync::atomic::AtomicU32::new(capacity), parent: None }
    }

    /// A budget of `capacity` whose retries are also paid from `parent`.
    pub(crate) fn with_parent(capacity: u32, parent: std::sync::Arc<RetryBudget>) -> Self {
        Self { parent: Some(parent), ..Self::new(capacity) }
    }

    /// Takes the cost of one retry; `false` when the budget (or its parent) cannot pay for it.
    pub(crate) fn try_spend(&self, after_timeout: bool) -> bool {
        use std::sync::atomic::Ordering;
        let cost = if after_timeout { TIMEOUT_RETRY_COST } else { RETRY_COST };
        if self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost)).is_err() {
            return false;
        }
        if let Some(parent) = &self.parent
            && !parent.try_spend(after_timeout)
        {
            // The parent cannot pay: the retry does not happen, so this budget keeps its tokens.
            self.tokens.fetch_add(cost, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Gives one token back after a call that succeeded without retrying (to the parent too).
    pub(crate) fn refund_success(&self) {
        use std::sync::atomic::Ordering;
        if self.tokens.load(Ordering::Relaxed) < self.capacity {
            let _ = self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| (t < self.capacity).then_some(t + 1));
        }
        if let Some(parent) = &self.parent {
            parent.refund_success();
        }
    }
}

/// How the client retries.
///
/// ```
/// use std::time::Duration;
/// use databricks_tokens::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .with_timeout(Duration::from_secs(30))
///     .with_max_attempts(5)
///     .with_idempotent("create_token", false);
/// assert_eq!(policy.timeout(), Duration::from_secs(30));
/// assert!(RetryPolicy::disabled().max_attempts() == 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_attempts: u32,
    timeout: Duration,
    attempt_timeout: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    idempotent: BTreeMap<String, bool>,
    shared_budget: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: u32::MAX,
            timeout: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            idempotent: BTreeMap::new(),
            shared_budget: DEFAULT_SHARED_RETRY_BUDGET,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry; the attempt and overall timeouts still apply. (A 401 is still replayed
    /// once with fresh credentials when the credentials provider can refresh: that is authentication.)
    pub fn disabled() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }
    /// Limits the number of attempts (first try included). Default: unlimited within the budget.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// The overall budget of a call, retries and waits included. Default 300 s.
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    /// The limit of one attempt. Default 60 s.
    pub fn with_attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = t;
        self
    }
    /// First backoff and its cap. Defaults 1 s and 10 s.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
    /// The longest `Retry-After` honoured; longer ones are cut to it. Default 60 s.
    pub fn with_max_retry_after(mut self, t: Duration) -> Self {
        self.max_retry_after = t;
        self
    }
    /// Declares whether an operation (by operation id, e.g. `create_token`) is safe to repeat after a
    /// transport failure, overriding the built-in table.
    pub fn with_idempotent(mut self, operation_id: &str, idempotent: bool) -> Self {
        self.idempotent.insert(operation_id.to_owned(), idempotent);
        self
    }

    /// Attempts at most.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    /// The overall budget of a call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// The limit of one attempt.
    pub fn attempt_timeout(&self) -> Duration {
        self.attempt_timeout
    }
    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
    /// The capacity of the retry budget a client and its clones share (default
    /// [`DEFAULT_SHARED_RETRY_BUDGET`]): a retry takes 5 (10 after a timeout), a call that succeeds at once
    /// gives 1 back; an empty budget means no more retries until calls succeed again.
    pub fn with_shared_budget(mut self, capacity: u32) -> Self {
        self.shared_budget = capacity;
        self
    }
    /// The capacity of the shared retry budget.
    pub fn shared_budget(&self) -> u32 {
        self.shared_budget
    }
    /// The idempotency this policy sets for an operation, if it overrides the spec's.
    pub(crate) fn idempotent_override(&self, operation_id: &str) -> Option<bool> {
        self.idempotent.get(operation_id).copied()
    }
    /// Whether an operation is safe to repeat after a transport failure.
    pub fn is_idempotent(&self, operation_id: &str) -> bool {
        self.idempotent.get(operation_id).copied().unwrap_or_else(|| {
            // The spec says, through the generated operation tables (`x-databricks-idempotent`).
            crate::operation::every().any(|op| op.id == operation_id && op.idempotent)
        })
    }

    /// The full-jitter backoff before retry number `retry` (0 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.initial_backoff.saturating_mul(2u32.saturating_pow(retry.min(31))).min(self.max_backoff);
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64()).map_or(ceiling, |d| d.min(ceiling))
    }
}

/// Whether an HTTP status means "not processed, try again later".
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// Parses `Retry-After`: delay-seconds or an HTTP date; `None` when absent or malformed.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_is_bounded_by_the_cap() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let cap = Duration::from_secs(1).saturating_mul(2u32.saturating_pow(retry.min(31))).min(Duration::from_secs(10));
            assert!(p.backoff(retry) <= cap, "retry {retry}");
        }
    }

    #[test]
    fn backoff_near_the_largest_duration_does_not_panic() {
        let p = RetryPolicy::default().with_backoff(Duration::MAX, Duration::MAX);
        let delays: Vec<Duration> = (0..100).map(|retry| p.backoff(retry)).collect();
        // Still jittered at that scale: each delay is drawn uniformly below the cap, so all 100 in the top
        // half has odds of 2^-100.
        assert!(delays.iter().any(|d| *d < Duration::MAX / 2), "{delays:?}");
    }

    #[test]
    fn idempotency_table_and_override() {
        let p = RetryPolicy::default();
        assert!(!p.is_idempotent("create_token"));
        assert!(p.is_idempotent("list_tokens") && p.is_idempotent("revoke_token") && p.is_idempotent("update_token"));
        assert!(!p.is_idempotent("some_new_operation"));
        assert!(p.with_idempotent("create_token", true).is_idempotent("create_token"));
    }
}

/// Tests that pin what the mutation run (`cargo mutants --file src/retry.rs`) found unchecked.
#[cfg(test)]
mod budget_and_jitter_tests {
    use super::*;

    #[test]
    fn the_backoff_is_jittered_across_its_whole_range() {
        let p = RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_millis(400));
        for (retry, cap) in [(0, 100), (1, 200), (2, 400), (9, 400)] {
            let cap = Duration::from_millis(cap);
            let waits: Vec<Duration> = (0..200).map(|_| p.backoff(retry)).collect();
            assert!(waits.iter().all(|w| *w <= cap), "retry {retry}: {waits:?}");
            // Full jitter: uniform in [0, cap). 200 draws all in one tenth of the range: p = 0.1^200.
            assert!(waits.iter().any(|w| *w < cap / 10), "retry {retry}: never short");
            assert!(waits.iter().any(|w| *w > cap - cap / 10), "retry {retry}: never long");
        }
        // A cap below the first backoff is raised to it.
        let p = RetryPolicy::default().with_backoff(Duration::from_secs(2), Duration::from_secs(1));
        assert!((0..200).map(|_| p.backoff(3)).any(|w| w > Duration::from_millis(1800)));
    }

    #[test]
    fn a_budget_pays_retries_and_is_refilled_up_to_its_capacity() {
        let budget = RetryBudget::new(12);
        assert!(budget.try_spend(true), "a retry after a timeout takes 10");
        assert!(!budget.try_spend(false), "2 left: not enough for 5");
        for _ in 0..3 {
            budget.refund_success();
        }
        assert!(budget.try_spend(false), "5 after three refunds");
        assert!(!budget.try_spend(false));
        for _ in 0..100 {
            budget.refund_success();
        }
        assert!(budget.try_spend(true) && !budget.try_spend(false), "refilled to 12, not beyond");
    }

    #[test]
    fn a_child_budget_pays_from_its_parent_and_keeps_its_tokens_when_the_parent_cannot() {
        let parent = std::sync::Arc::new(RetryBudget::new(15));
        let (a, b) = (RetryBudget::with_parent(10, parent.clone()), RetryBudget::with_parent(10, parent.clone()));
        assert!(a.try_spend(false) && a.try_spend(false), "a pays 10 of its own and 10 of the parent's");
        assert!(!a.try_spend(false), "a's own budget is empty");
        assert!(b.try_spend(false), "b still retries: 5 left in the parent");
        assert!(!b.try_spend(false), "the parent is empty: nobody retries");
        // b kept its 5 when the parent refused: after the parent gets 5 back, b can pay once more.
        for _ in 0..5 {
            a.refund_success();
        }
        assert!(b.try_spend(false), "b had kept its tokens and the parent was refunded by a's successes");
        assert!(!b.try_spend(false));
        assert!(!a.try_spend(true), "a after a timeout: 5 of its own, not 10");
        let lone = RetryBudget::with_parent(10, std::sync::Arc::new(RetryBudget::new(0)));
        assert!(!lone.try_spend(false), "an empty parent refuses");
        lone.refund_success();
        assert!(!lone.try_spend(false), "the refund went to a full child and an empty parent: 1 is not 5");
    }

    #[test]
    fn retryable_statuses_are_exactly_429_and_503() {
        let retryable: Vec<u16> = (100..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(retryable, [429, 503]);
    }
}
