//! When a failed attempt is tried again, how long to wait first, and when to give up: one rule and one
//! loop for every request the crate sends, API calls and token requests alike.
//!
//! The rule ([`is_retryable`], the one classifier; [`Retrier`] runs the loop's decisions with it, and
//! [`Error::is_retryable`](crate::Error::is_retryable) answers with it, so the two cannot disagree):
//! - **429 and 503 are retried on every operation**, create included: the server did not process the
//!   request. `Retry-After` (seconds or an HTTP date) is honoured up to [`RetryPolicy::max_retry_after`].
//! - **A connection that could not be made** is retried on every operation: nothing reached the server.
//! - **A failure after the request was sent** (the connection broke, the attempt timed out) is retried for
//!   idempotent operations only (list, update, delete; the spec's `x-databricks-idempotent`): a create
//!   can never mint two tokens.
//! - **502 and 504** (a gateway's answers) are retried for token requests only, as the Go SDK's token
//!   sources do; token requests are idempotent (a second token is harmless).
//! - Nothing else is retried: other statuses, and failures after the loop (a body that does not decode, a
//!   redirect, a response too large). A 401 is not retried either, but replayed once with fresh
//!   credentials when the credentials provider can refresh: that is authentication.
//!
//! The loop:
//! - The wait is exponential backoff with full jitter: a random delay in
//!   `[0, min(max_backoff, initial_backoff * 2^retry))`.
//! - An overall budget of 300 s (as the Python and Go SDKs) bounds the whole call, and each attempt has its
//!   own timeout (60 s, as Python and Go). The budget is spent, not cut short: the last wait ends at the
//!   deadline, and the call then fails with a timeout that keeps the last answer (its status, code and
//!   message). Rate-limit waits count against it. Token requests have a budget of their own,
//!   60 s (`auth::oauth::TOKEN_ENDPOINT_RETRY_BUDGET`, as the Go SDK).
//! - A retry budget shared by a client and its clones (smithy-rs's retry token bucket,
//!   [`RetryPolicy::with_shared_budget`]) stops a fleet of calls from multiplying the load on a failing
//!   service.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::operation::Operation;

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
///     .with_idempotent(&databricks_tokens::operation::CREATE_TOKEN, false);
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
    /// Overrides of the spec's idempotency, by operation (service and id).
    idempotent: BTreeMap<(&'static str, &'static str), bool>,
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
    /// Declares whether an operation (e.g. [`crate::operation::CREATE_TOKEN`]) is safe to repeat after a
    /// transport failure, overriding the spec's table. It applies to that operation of that service only:
    /// the Tokens API's `update_token` is not Token Management's.
    pub fn with_idempotent(mut self, operation: &'static Operation, idempotent: bool) -> Self {
        self.idempotent.insert((operation.service, operation.id), idempotent);
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
    /// 500): a retry takes 5 (10 after a timeout), a call that succeeds at once
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
    pub(crate) fn idempotent_override(&self, operation: &Operation) -> Option<bool> {
        self.idempotent.get(&(operation.service, operation.id)).copied()
    }
    /// Whether an operation is safe to repeat after a transport failure: this policy's override, else the
    /// spec's `x-databricks-idempotent` (from the generated operation table).
    pub fn is_idempotent(&self, operation: &Operation) -> bool {
        self.idempotent_override(operation).unwrap_or(operation.idempotent)
    }

    /// The full-jitter backoff before retry number `retry` (0 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.initial_backoff.saturating_mul(2u32.saturating_pow(retry.min(31))).min(self.max_backoff);
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64()).map_or(ceiling, |d| d.min(ceiling))
    }
}

/// What one attempt came to, as the retry rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered with this status (a success too).
    Status(u16),
    /// The request never reached the server: the connection could not be made.
    NotSent,
    /// The request was sent (or may have been) and no answer came: the connection broke, or the attempt's
    /// time ran out (`timed_out`). The server may have processed it.
    Sent {
        /// The attempt's time ran out (a retry after a timeout costs the shared budget more).
        timed_out: bool,
    },
}

impl Outcome {
    /// The outcome of a request that failed without an answer.
    pub(crate) fn of_transport(error: &reqwest::Error) -> Self {
        if error.is_connect() { Self::NotSent } else { Self::Sent { timed_out: error.is_timeout() } }
    }
}

/// Whose rule applies: the API's, or a token endpoint's (OAuth, OIDC, Azure, Google, metadata services).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// The Databricks REST API the client calls.
    Api,
    /// An endpoint that hands out tokens; its requests are always idempotent (a second token is harmless).
    Token,
}

/// The retry rule, the one classifier: whether an attempt that came to `outcome` is tried again, for an
/// operation that is (or is not) `idempotent`. The attempt loop ([`Retrier`]) and
/// [`Error::is_retryable`](crate::Error::is_retryable) both ask it, so they cannot disagree.
pub(crate) fn is_retryable(endpoint: Endpoint, outcome: Outcome, idempotent: bool) -> bool {
    match outcome {
        // "Not processed, try again later": safe for every operation, create included.
        Outcome::Status(429 | 503) => true,
        // A gateway's answer while the service behind it restarts: token endpoints only, as the Go SDK's
        // token sources retry them (the service behind an API gateway may have done the work).
        Outcome::Status(502 | 504) => endpoint == Endpoint::Token && idempotent,
        Outcome::Status(_) => false,
        // Nothing reached the server.
        Outcome::NotSent => true,
        // Maybe processed: only what is safe to repeat.
        Outcome::Sent { .. } => idempotent,
    }
}

/// The least time an attempt is given: with less of the budget left, the call ends instead.
pub(crate) const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Hand the result to the caller, for this reason.
    Return(Stop),
    /// Wait this long, then send the same request again.
    Retry(Duration),
    /// Send it again at once with fresh credentials (once per call, after a 401).
    ReplayWithFreshCredentials,
}

/// Why an attempt's result is handed to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A success, or a failure the rule does not retry.
    Final,
    /// The policy's `max_attempts` were made.
    AttemptsExhausted,
    /// The call's time budget is spent: an API call's error says so (a timeout that keeps the last answer).
    BudgetSpent,
    /// The retry budget a client and its clones share is empty.
    SharedBudgetEmpty,
    /// The request cannot be sent again (a streamed body).
    NotReplayable,
}

impl Stop {
    /// For the log line.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Final => "done",
            Self::AttemptsExhausted => "not retried: attempts exhausted",
            Self::BudgetSpent => "not retried: the retry budget is spent",
            Self::SharedBudgetEmpty => "not retried: the client's shared retry budget is empty",
            Self::NotReplayable => "not retried: the request body cannot be replayed",
        }
    }
}

/// The attempt loop's decisions for one call: made per call from the policy, the clock, the call's start
/// and whether its operation is idempotent; told each attempt's outcome, it answers [`Verdict`]s, counting
/// attempts and retries and spending the budgets.
pub(crate) struct Retrier<'a> {
    policy: &'a RetryPolicy,
    endpoint: Endpoint,
    clock: &'a dyn crate::clock::Clock,
    shared: Option<&'a RetryBudget>,
    /// Whether a first-attempt success refills `shared` (API calls do; token requests only spend).
    refunds: bool,
    /// `None`: a budget too large for an `Instant`, that is no budget.
    deadline: Option<std::time::Instant>,
    idempotent: bool,
    attempts: u32,
    retries: u32,
    replayed_after_401: bool,
}

impl<'a> Retrier<'a> {
    /// The decisions of a call to `endpoint` that started at `start`.
    pub(crate) fn new(
        policy: &'a RetryPolicy,
        endpoint: Endpoint,
        clock: &'a dyn crate::clock::Clock,
        start: std::time::Instant,
        idempotent: bool,
    ) -> Self {
        Self {
            policy,
            endpoint,
            clock,
            shared: None,
            refunds: false,
            deadline: start.checked_add(policy.timeout()),
            idempotent,
            attempts: 0,
            retries: 0,
            replayed_after_401: false,
        }
    }

    /// Retries also spend from (and a first-attempt success refills) the budget a client shares.
    pub(crate) fn with_shared_budget(mut self, budget: &'a RetryBudget) -> Self {
        self.shared = Some(budget);
        self.refunds = true;
        self
    }

    /// Retries also spend from the budget a client shares, and a success gives nothing back: for the
    /// requests that obtain credentials, whose success says nothing of the service's health.
    pub(crate) fn spending_from(mut self, budget: &'a RetryBudget) -> Self {
        self.shared = Some(budget);
        self.refunds = false;
        self
    }

    /// The attempts decided on so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Decides after an attempt that came to `outcome`. `retry_after` is the answer's `Retry-After`
    /// header; `replayable` whether the request can be sent again; `refresh` drops the cached
    /// credentials after a 401 and says whether fresh ones may differ (asked once per call at most).
    pub(crate) fn decide(
        &mut self,
        outcome: Outcome,
        retry_after: Option<&str>,
        replayable: bool,
        refresh: impl FnOnce() -> bool,
    ) -> Verdict {
        self.attempts += 1;
        if outcome == Outcome::Status(401) && !self.replayed_after_401 && refresh() {
            if !replayable {
                return Verdict::Return(Stop::NotReplayable);
            }
            // Authentication, not a retry: whatever the policy says, once (bounded by the flag).
            self.replayed_after_401 = true;
            return Verdict::ReplayWithFreshCredentials;
        }
        if !is_retryable(self.endpoint, outcome, self.idempotent) {
            if let (Outcome::Status(200..=299), 0, Some(shared), true) = (outcome, self.retries, self.shared, self.refunds) {
                shared.refund_success();
            }
            return Verdict::Return(Stop::Final);
        }
        let hinted =
            retry_after.filter(|_| matches!(outcome, Outcome::Status(_))).and_then(|v| parse_retry_after(v, self.clock.system_now()));
        let delay = hinted.map_or_else(|| self.policy.backoff(self.retries), |d| d.min(self.policy.max_retry_after()));
        if self.attempts >= self.policy.max_attempts() {
            return Verdict::Return(Stop::AttemptsExhausted);
        }
        // Spend the budget: the last wait ends at the deadline, then the call times out. An attempt needs
        // some time of its own: less than MIN_ATTEMPT left is no time for one.
        let remaining = self.deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(self.clock.now()));
        if remaining <= MIN_ATTEMPT {
            return Verdict::Return(Stop::BudgetSpent);
        }
        if !replayable {
            return Verdict::Return(Stop::NotReplayable);
        }
        if let Some(shared) = self.shared
            && !shared.try_spend(matches!(outcome, Outcome::Sent { timed_out: true }))
        {
            return Verdict::Return(Stop::SharedBudgetEmpty);
        }
        self.retries += 1;
        Verdict::Retry(delay.min(remaining - MIN_ATTEMPT))
    }
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
        use crate::operation::tables::token_management::operations as tm;
        use crate::operation::{CREATE_TOKEN, LIST_TOKENS, REVOKE_TOKEN, UPDATE_TOKEN};
        let p = RetryPolicy::default();
        assert!(!p.is_idempotent(&CREATE_TOKEN));
        assert!(p.is_idempotent(&LIST_TOKENS) && p.is_idempotent(&REVOKE_TOKEN) && p.is_idempotent(&UPDATE_TOKEN));
        assert!(p.clone().with_idempotent(&CREATE_TOKEN, true).is_idempotent(&CREATE_TOKEN));
        // An override names one service's operation: Token Management's update_token keeps the spec's.
        let p = p.with_idempotent(&UPDATE_TOKEN, false);
        assert!(!p.is_idempotent(&UPDATE_TOKEN) && p.is_idempotent(&tm::UPDATE_TOKEN));
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
        assert!(!lone.try_spend(false), "a parent of capacity 0 never pays, refunds or not");
    }

    #[test]
    fn the_api_retries_exactly_429_and_503_and_token_endpoints_also_502_and_504() {
        for idempotent in [false, true] {
            let api: Vec<u16> = (100..600).filter(|s| is_retryable(Endpoint::Api, Outcome::Status(*s), idempotent)).collect();
            assert_eq!(api, [429, 503], "idempotent: {idempotent}");
        }
        let token: Vec<u16> = (100..600).filter(|s| is_retryable(Endpoint::Token, Outcome::Status(*s), true)).collect();
        assert_eq!(token, [429, 502, 503, 504]);
        for endpoint in [Endpoint::Api, Endpoint::Token] {
            assert!(is_retryable(endpoint, Outcome::NotSent, false), "nothing reached the server");
            for timed_out in [false, true] {
                assert!(!is_retryable(endpoint, Outcome::Sent { timed_out }, false), "maybe processed, not idempotent");
                assert!(is_retryable(endpoint, Outcome::Sent { timed_out }, true), "maybe processed, idempotent");
            }
        }
    }
}

/// The engine, one scenario per row: each step is an attempt's outcome and the verdict expected.
#[cfg(test)]
mod retrier_tests {
    use std::cell::Cell;
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;
    use crate::clock::{BoxFuture, Clock};

    /// A clock that moves only when a step says.
    #[derive(Debug)]
    struct StepClock(Mutex<(Instant, SystemTime)>);

    impl Clock for StepClock {
        fn now(&self) -> Instant {
            self.0.lock().unwrap().0
        }
        fn system_now(&self) -> SystemTime {
            self.0.lock().unwrap().1
        }
        fn sleep(&self, _: Duration) -> BoxFuture<'static, ()> {
            Box::pin(std::future::ready(()))
        }
    }

    impl StepClock {
        fn advance(&self, by: Duration) {
            let mut t = self.0.lock().unwrap();
            t.0 += by;
            t.1 += by;
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Expect {
        Verdict(Verdict),
        /// A retry after a jittered backoff, within this cap.
        RetryWithin(Duration),
    }
    use Expect::RetryWithin;

    fn ret(stop: Stop) -> Expect {
        Expect::Verdict(Verdict::Return(stop))
    }
    fn retry(after: Duration) -> Expect {
        Expect::Verdict(Verdict::Retry(after))
    }
    const REPLAY: Expect = Expect::Verdict(Verdict::ReplayWithFreshCredentials);

    #[derive(Clone)]
    struct Step {
        outcome: Outcome,
        retry_after: Option<&'static str>,
        replayable: bool,
        /// What the credentials provider answers to a refresh after a 401.
        refreshes: bool,
        /// Time that passes before the decision.
        advance: Duration,
        expect: Expect,
    }

    fn step(outcome: Outcome, expect: Expect) -> Step {
        Step { outcome, retry_after: None, replayable: true, refreshes: false, advance: Duration::ZERO, expect }
    }
    fn status(code: u16, expect: Expect) -> Step {
        step(Outcome::Status(code), expect)
    }

    struct Row {
        name: &'static str,
        endpoint: Endpoint,
        idempotent: bool,
        policy: RetryPolicy,
        /// The shared budget's capacity and what was spent from it before the call.
        shared: Option<(u32, u32)>,
        steps: Vec<Step>,
        /// The shared budget left after the call: whether a retry (cost 5) could still be paid.
        shared_can_pay_after: Option<bool>,
    }

    fn row(name: &'static str, idempotent: bool, steps: Vec<Step>) -> Row {
        Row {
            name,
            endpoint: Endpoint::Api,
            idempotent,
            policy: RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO),
            shared: None,
            steps,
            shared_can_pay_after: None,
        }
    }

    const ZERO: Duration = Duration::ZERO;
    const CREATE: bool = false;
    const LIST: bool = true;
    const SENT: Outcome = Outcome::Sent { timed_out: false };
    const TIMED_OUT: Outcome = Outcome::Sent { timed_out: true };

    fn rows() -> Vec<Row> {
        let secs = Duration::from_secs;
        let mut rows = vec![
            row("429 on create", CREATE, vec![status(429, retry(ZERO)), status(200, ret(Stop::Final))]),
            row("503 on create", CREATE, vec![status(503, retry(ZERO)), status(503, retry(ZERO)), status(201, ret(Stop::Final))]),
            row("502 on list", LIST, vec![status(502, ret(Stop::Final))]),
            row("504 on list", LIST, vec![status(504, ret(Stop::Final))]),
            row("500 on list", LIST, vec![status(500, ret(Stop::Final))]),
            row("501 on create", CREATE, vec![status(501, ret(Stop::Final))]),
            row("400 on list", LIST, vec![status(400, ret(Stop::Final))]),
            row("404 on list", LIST, vec![status(404, ret(Stop::Final))]),
            row("409 on create", CREATE, vec![status(409, ret(Stop::Final))]),
            row("200 at once", LIST, vec![status(200, ret(Stop::Final))]),
            row("connect failure on create", CREATE, vec![step(Outcome::NotSent, retry(ZERO)), status(200, ret(Stop::Final))]),
            row("dropped after send on create", CREATE, vec![step(SENT, ret(Stop::Final))]),
            row("timed out on create", CREATE, vec![step(TIMED_OUT, ret(Stop::Final))]),
            row(
                "dropped after send on list",
                LIST,
                vec![step(SENT, retry(ZERO)), step(TIMED_OUT, retry(ZERO)), status(200, ret(Stop::Final))],
            ),
            row("401 without fresh credentials", LIST, vec![status(401, ret(Stop::Final))]),
            row(
                "401 replayed once with fresh credentials",
                CREATE,
                vec![
                    Step { refreshes: true, ..status(401, REPLAY) },
                    // A second 401 is the answer: the refresh is not asked again (it would say yes).
                    Step { refreshes: true, ..status(401, ret(Stop::Final)) },
                ],
            ),
            row(
                "401 whose request cannot be sent again",
                LIST,
                vec![Step { refreshes: true, replayable: false, ..status(401, ret(Stop::NotReplayable)) }],
            ),
            row("503 whose request cannot be sent again", LIST, vec![Step { replayable: false, ..status(503, ret(Stop::NotReplayable)) }]),
            row("Retry-After in seconds", CREATE, vec![Step { retry_after: Some("2"), ..status(429, retry(secs(2))) }]),
            row("Retry-After beyond the policy's cap", LIST, vec![Step { retry_after: Some("86400"), ..status(503, retry(secs(60))) }]),
            row("Retry-After that does not parse", LIST, vec![Step { retry_after: Some("soon"), ..status(503, retry(ZERO)) }]),
            row("Retry-After on an answer not retried", LIST, vec![Step { retry_after: Some("1"), ..status(500, ret(Stop::Final)) }]),
            row(
                "a Retry-After that ends past the budget is cut to it",
                LIST,
                vec![Step { retry_after: Some("300"), advance: secs(290), ..status(503, retry(secs(10) - MIN_ATTEMPT)) }],
            ),
            row("the budget spent", LIST, vec![Step { advance: secs(300) - MIN_ATTEMPT, ..status(503, ret(Stop::BudgetSpent)) }]),
            row("the budget not spent", CREATE, vec![Step { advance: secs(299), ..step(Outcome::NotSent, retry(ZERO)) }]),
        ];
        rows.push(Row {
            policy: RetryPolicy::default().with_backoff(ZERO, ZERO).with_max_attempts(3),
            ..row("max attempts", LIST, vec![status(503, retry(ZERO)), step(SENT, retry(ZERO)), status(503, ret(Stop::AttemptsExhausted))])
        });
        rows.push(Row { policy: RetryPolicy::disabled(), ..row("disabled", CREATE, vec![status(429, ret(Stop::AttemptsExhausted))]) });
        rows.push(Row {
            policy: RetryPolicy::disabled(),
            ..row(
                "disabled still replays a 401",
                LIST,
                vec![Step { refreshes: true, ..status(401, REPLAY) }, status(200, ret(Stop::Final))],
            )
        });
        rows.push(Row {
            policy: RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_millis(400)),
            ..row(
                "jittered exponential backoff",
                LIST,
                vec![
                    status(503, RetryWithin(Duration::from_millis(100))),
                    status(503, RetryWithin(Duration::from_millis(200))),
                    status(503, RetryWithin(Duration::from_millis(400))),
                    status(503, RetryWithin(Duration::from_millis(400))),
                ],
            )
        });
        // The shared budget: a retry takes 5, 10 after a timeout; a first-attempt success gives 1 back.
        rows.push(Row {
            shared: Some((10, 0)),
            shared_can_pay_after: Some(false),
            ..row(
                "the shared budget pays two retries",
                LIST,
                vec![status(503, retry(ZERO)), status(503, retry(ZERO)), status(503, ret(Stop::SharedBudgetEmpty))],
            )
        });
        rows.push(Row {
            shared: Some((10, 0)),
            shared_can_pay_after: Some(false),
            ..row("a retry after a timeout takes 10", LIST, vec![step(TIMED_OUT, retry(ZERO)), step(SENT, ret(Stop::SharedBudgetEmpty))])
        });
        rows.push(Row {
            shared: Some((10, 0)),
            shared_can_pay_after: Some(true),
            ..row("nothing is spent on what is not retried", CREATE, vec![step(SENT, ret(Stop::Final))])
        });
        rows.push(Row {
            shared: Some((10, 0)),
            shared_can_pay_after: Some(true),
            ..row(
                "nothing is spent on a request that cannot be sent again",
                LIST,
                vec![Step { replayable: false, ..status(503, ret(Stop::NotReplayable)) }],
            )
        });
        rows.push(Row {
            shared: Some((10, 6)),
            shared_can_pay_after: Some(true),
            ..row("a first-attempt success gives one back", LIST, vec![status(200, ret(Stop::Final))])
        });
        rows.push(Row {
            shared: Some((10, 6)),
            shared_can_pay_after: Some(false),
            ..row("a first-attempt failure gives nothing back", LIST, vec![status(404, ret(Stop::Final))])
        });
        rows.push(Row {
            shared: Some((15, 6)),
            shared_can_pay_after: Some(false),
            ..row("a success after a retry gives nothing back", LIST, vec![status(503, retry(ZERO)), status(200, ret(Stop::Final))])
        });
        // Token endpoints: the same loop, with 502 and 504 retried too.
        for (name, code) in [("token endpoint 502", 502), ("token endpoint 504", 504), ("token endpoint 503", 503)] {
            rows.push(Row { endpoint: Endpoint::Token, ..row(name, true, vec![status(code, retry(ZERO)), status(200, ret(Stop::Final))]) });
        }
        rows.push(Row { endpoint: Endpoint::Token, ..row("token endpoint 400", true, vec![status(400, ret(Stop::Final))]) });
        rows.push(Row {
            endpoint: Endpoint::Token,
            policy: RetryPolicy::default().with_backoff(ZERO, ZERO).with_timeout(Duration::from_secs(60)),
            ..row(
                "token endpoint budget",
                true,
                vec![step(SENT, retry(ZERO)), Step { advance: Duration::from_secs(60), ..step(SENT, ret(Stop::BudgetSpent)) }],
            )
        });
        rows
    }

    fn check(row: Row) -> std::result::Result<(), String> {
        let start = Instant::now();
        let clock = StepClock(Mutex::new((start, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))));
        let shared = row.shared.map(|(capacity, spent)| {
            let budget = RetryBudget::new(capacity);
            budget.tokens.fetch_sub(spent, std::sync::atomic::Ordering::SeqCst);
            budget
        });
        let mut retrier = Retrier::new(&row.policy, row.endpoint, &clock, start, row.idempotent);
        if let Some(shared) = &shared {
            retrier = retrier.with_shared_budget(shared);
        }
        let refreshes_asked = Cell::new(0);
        for (i, step) in row.steps.iter().enumerate() {
            clock.advance(step.advance);
            let verdict = retrier.decide(step.outcome, step.retry_after, step.replayable, || {
                refreshes_asked.set(refreshes_asked.get() + 1);
                step.refreshes
            });
            let ok = match step.expect {
                Expect::Verdict(v) => verdict == v,
                RetryWithin(cap) => matches!(verdict, Verdict::Retry(d) if d <= cap),
            };
            if !ok {
                return Err(format!("step {i} ({:?}): expected {:?}, got {verdict:?}", step.outcome, step.expect));
            }
        }
        if retrier.attempts() as usize != row.steps.len() {
            return Err(format!("{} attempts counted for {} steps", retrier.attempts(), row.steps.len()));
        }
        if refreshes_asked.get() > 1 {
            return Err(format!("the credentials were refreshed {} times", refreshes_asked.get()));
        }
        if let (Some(shared), Some(expected)) = (&shared, row.shared_can_pay_after) {
            let left = shared.tokens.load(std::sync::atomic::Ordering::SeqCst);
            if (left >= RETRY_COST) != expected {
                return Err(format!("the shared budget holds {left} after the call"));
            }
        }
        Ok(())
    }

    #[test]
    fn every_scenario_gets_its_verdicts() {
        let mut failures = Vec::new();
        let mut count = 0;
        for row in rows() {
            count += 1;
            let name = row.name;
            if let Err(why) = check(row) {
                failures.push(format!("- {name}: {why}"));
            }
        }
        assert!(failures.is_empty(), "{} of {count} rows failed:\n{}", failures.len(), failures.join("\n"));
    }

    /// The engine's first decision on every outcome is what the classifier says, for both endpoints and
    /// both kinds of operation: the loop retries exactly what `is_retryable` calls retryable.
    #[test]
    fn the_engine_retries_exactly_what_the_classifier_calls_retryable() {
        let clock = StepClock(Mutex::new((Instant::now(), SystemTime::UNIX_EPOCH)));
        let policy = RetryPolicy::default();
        let outcomes = (100..600).map(Outcome::Status).chain([Outcome::NotSent, SENT, TIMED_OUT]);
        let mut failures = Vec::new();
        for outcome in outcomes {
            for endpoint in [Endpoint::Api, Endpoint::Token] {
                for idempotent in [false, true] {
                    let mut retrier = Retrier::new(&policy, endpoint, &clock, clock.now(), idempotent);
                    let retried = matches!(retrier.decide(outcome, None, true, || false), Verdict::Retry(_));
                    if retried != is_retryable(endpoint, outcome, idempotent) {
                        failures.push(format!("{outcome:?} {endpoint:?} idempotent={idempotent}: retried={retried}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
