//! What several clients share: a rate limit, a retry budget, and (for the workspace clients an account
//! client derives) an HTTP client and a clock. One type, [`SharedLimits`], one way in:
//! [`ClientBuilder::shared_limits`](crate::ClientBuilder::shared_limits).
//!
//! - A fleet run's ([`crate::fleet::Fleet::limits`]): the run's rate limit and retry budget; each client's
//!   budget is a child of the run's, capped at the run's per-workspace share.
//! - An account client's: its rate limit, retry budget, connection pool and clock, shared by every
//!   workspace client it derives ([`crate::AccountClient::workspace_client`]).
//! - A fleet run's over an account ([`crate::fleet::Fleet::account_members`]): the run's retry budget, the
//!   run's rate limit (the account's when the run sets none), the account's connection pool and clock.

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::rate_limit::RateLimiter;
use crate::retry::RetryBudget;

/// A rate limiter and a retry budget (and, for an account's clients, a connection pool and a clock) that
/// several clients share. The default shares nothing.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::WorkspaceClient;
/// use databricks_tokens::fleet::{Fleet, FleetOptions};
/// let limits = Fleet::new(FleetOptions::default().rate_limit(20.0))?.limits().clone();
/// let w = WorkspaceClient::builder().host("https://a.cloud.databricks.com").token("dapi-x").shared_limits(&limits).build()?;
/// # Ok(()) }
/// ```
///
/// A client built with them sends no faster than the shared rate limit (which replaces its own), and
/// pays each retry from its own budget (at most the per-client share) and from the shared one: one
/// failing client cannot spend the others' retries, and many failing at once stop retrying together.
#[derive(Clone, Default)]
pub struct SharedLimits {
    rate_limiter: Option<RateLimiter>,
    /// The parent of every client's budget.
    budget: Option<Arc<RetryBudget>>,
    /// The most of `budget` one client may spend.
    per_client: u32,
    http: Option<reqwest::Client>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimits")
            .field("rate_limiter", &self.rate_limiter)
            .field("budget", &self.budget)
            .field("per_client", &self.per_client)
            .field("shares_http_client", &self.http.is_some())
            .field("clock", &self.clock)
            .finish()
    }
}

impl SharedLimits {
    /// At most `requests_per_second` (none when `None`) for all the clients together, and a shared retry
    /// budget of `budget` of which one client may spend `per_client`.
    pub(crate) fn new(requests_per_second: Option<f64>, budget: u32, per_client: u32) -> Result<Self> {
        Ok(Self {
            rate_limiter: rate_limiter(requests_per_second)?,
            budget: Some(Arc::new(RetryBudget::new(budget))),
            per_client,
            ..Self::default()
        })
    }

    /// The same limits, sending through `http` (its connection pool and TLS set-up) with `clock`.
    pub(crate) fn with_transport(mut self, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        self.http = Some(http);
        self.clock = Some(clock);
        self
    }

    /// These limits over `base`'s: `base`'s rate limiter when these have none, `base`'s HTTP client and
    /// clock.
    pub(crate) fn over(mut self, base: &SharedLimits) -> Self {
        if self.rate_limiter.is_none() {
            self.rate_limiter = base.rate_limiter.clone();
        }
        self.http = self.http.or_else(|| base.http.clone());
        self.clock = self.clock.or_else(|| base.clock.clone());
        self
    }

    /// The shared rate limiter, if any.
    pub(crate) fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.rate_limiter.as_ref()
    }

    /// The HTTP client to send through, if shared.
    pub(crate) fn http(&self) -> Option<&reqwest::Client> {
        self.http.as_ref()
    }

    /// The clock, if shared.
    pub(crate) fn clock(&self) -> Option<&Arc<dyn Clock>> {
        self.clock.as_ref()
    }

    /// Whether a retry budget is shared (then token requests spend from the client's budget too).
    pub(crate) fn shares_budget(&self) -> bool {
        self.budget.is_some()
    }

    /// The retry budget of one client whose policy asks for `own`: a child of the shared budget (paid
    /// from it too) holding at most the per-client share; the client's own budget when none is shared.
    pub(crate) fn client_budget(&self, own: u32) -> Arc<RetryBudget> {
        Arc::new(match &self.budget {
            Some(parent) => RetryBudget::with_parent(own.min(self.per_client), Arc::clone(parent)),
            None => RetryBudget::new(own),
        })
    }
}

/// The rate limiter of `rate_limit` requests a second, validated.
pub(crate) fn rate_limiter(rate_limit: Option<f64>) -> Result<Option<RateLimiter>> {
    match rate_limit {
        Some(r) if r.is_finite() && r > 0.0 => Ok(Some(RateLimiter::new(r))),
        Some(r) => Err(Error::config(format!("rate_limit must be a positive number of requests per second, got {r}"))),
        None => Ok(None),
    }
}
