//! Exactly-once token creation over an API that has no idempotency key.
//!
//! A create whose answer is lost (the connection reset after the server processed it, an attempt that
//! timed out, a success status whose body never arrived, a gateway's 502 or 504 in front of a service that
//! went on) may have minted a token whose value nobody holds. Creating again could leave two; giving up
//! could leave an orphan. This module resolves it without ever touching a token another caller made, even
//! one of the same principal with the same comment created at the same moment:
//!
//! 1. every attempt of one call carries a **marker** in its comment: 128 random bits drawn for this call
//!    alone (from the operating system's randomness, through the standard library's hasher keys, mixed
//!    with the process id, the time and a counter), so no other caller can carry it by accident;
//! 2. after an ambiguous failure the call waits the **grace period** (a request the service is still
//!    holding gets the time to land), then lists the tokens and revokes those, and only those, whose
//!    comment carries its marker; then it creates again (3 creates at most);
//! 3. once a create answers after an ambiguous failure, it searches once more (an earlier attempt may have
//!    landed meanwhile) and revokes every marked token but the one it keeps;
//! 4. then the token's value is in hand, and an update sets the comment the caller asked for, so the marker
//!    does not stay.
//!
//! The searches, revokes and the comment update are retried (5 rounds at most, with the call's backoff);
//! the whole call, waits included, runs within one budget: the retry policy's timeout (the call's, else the
//! client's), of which each request gets what is left. When a search still fails, the call ends with the
//! create's error, never retryable, saying that a token may exist and which ([`Error::orphan_marker`]).
//!
//! **The guarantee, and its bound:** no duplicate and no orphan, provided the service processes a request
//! within the grace period of the moment the client gave up on it (default 10 s) — and provided the call is
//! not cancelled: a dropped future ends wherever it is; the builder tells its marker before it is sent, so a
//! caller who bounds it with a timeout can clean up after it. A success status proves the request was
//! processed, so that case needs no grace.
//!
//! **Cost in requests:** 2 when nothing goes wrong (the create and the comment update); per ambiguous
//! failure, one `list`, one revoke per token it finds, the grace period, one more create, and one more
//! `list` after the create that answers.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::stub::RequestOptions;

/// How long an exactly-once create waits after an ambiguous failure before it searches for the token the
/// failed attempt may have created.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Creates sent at most by one exactly-once call.
const MAX_CREATES: u32 = 3;

/// Rounds of a search-and-revoke, or of the comment update, at most.
const ROUNDS: u32 = 5;

/// The text that starts a marker in a comment.
const MARKER_PREFIX: &str = "[exactly-once:";

/// What an exactly-once create needs of an API: create with a comment, find its own tokens, revoke one,
/// set a comment. The Tokens API and Token Management's on-behalf-of tokens implement it. Each request
/// runs with the options given (what is left of the call's budget).
pub(crate) trait Minter: Sync {
    /// What a create answers (it holds the token's value).
    type Created: Send;
    /// Creates a token with this comment (the caller's, marked).
    fn create(&self, comment: String, options: RequestOptions) -> impl Future<Output = Result<Self::Created>> + Send;
    /// The ids of the tokens whose comment contains `marker`.
    fn find(&self, marker: &str, options: RequestOptions) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Revokes a token.
    fn revoke(&self, token_id: &str, options: RequestOptions) -> impl Future<Output = Result<()>> + Send;
    /// Sets a token's comment.
    fn set_comment(&self, token_id: &str, comment: &str, options: RequestOptions) -> impl Future<Output = Result<()>> + Send;
    /// The id of a created token.
    fn id(created: &Self::Created) -> &str;
    /// Records in the answer the comment the token ends with.
    fn record_comment(created: &mut Self::Created, comment: String);
}

/// A marker no other caller carries: `[exactly-once:` 32 hex digits `]` (47 bytes; with the space before
/// it, a marked comment is 48 bytes longer than the caller's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Marker(String);

impl Marker {
    /// A new marker, unique to this call.
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        // Each `RandomState` is keyed from the operating system's randomness (per thread, then stepped).
        let half = |salt: u64| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(salt);
            h.write_u32(std::process::id());
            h.write_u128(nanos);
            h.write_u64(count);
            h.finish()
        };
        Self(format!("{MARKER_PREFIX}{:016x}{:016x}]", half(1), half(2)))
    }

    /// The marker's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The comment an attempt sends: the caller's, then the marker.
    pub(crate) fn mark(&self, comment: Option<&str>) -> String {
        match comment {
            Some(c) if !c.is_empty() => format!("{c} {}", self.0),
            _ => self.0.clone(),
        }
    }
}

/// What a create builder keeps beside its body (`x-rust-builder-extra` of `create_token` and
/// `create_obo_token`): the lifetime asked for, and the grace period and marker of an exactly-once create.
#[derive(Debug, Default)]
pub(crate) struct CreateExtra {
    /// Checked and sent as whole seconds (`lifetime_seconds`).
    pub(crate) lifetime: Option<Duration>,
    /// `None`: a plain create.
    pub(crate) exactly_once: Option<(Duration, Marker)>,
}

impl CreateExtra {
    /// Exactly once with this grace period, with the marker drawn already (a new one the first time).
    pub(crate) fn set_grace(&mut self, grace: Duration) {
        let marker = self.exactly_once.take().map_or_else(Marker::new, |(_, marker)| marker);
        self.exactly_once = Some((grace, marker));
    }

    /// The marker of an exactly-once create.
    pub(crate) fn marker(&self) -> Option<&str> {
        self.exactly_once.as_ref().map(|(_, marker)| marker.as_str())
    }
}

/// How an exactly-once call runs.
pub(crate) struct Settings<'a> {
    pub marker: Marker,
    /// The wait before searching after an ambiguous failure with no success status.
    pub grace: Duration,
    /// The call's retry policy: its backoff paces the rounds, its timeout bounds the whole call.
    pub policy: RetryPolicy,
    pub clock: &'a dyn Clock,
}

impl<'a> Settings<'a> {
    /// The settings of a call with these options on a client with this policy and clock: the call's retry
    /// policy, else the client's.
    pub(crate) fn of_call(client: (&RetryPolicy, &'a dyn Clock), options: &RequestOptions, grace: Duration, marker: Marker) -> Self {
        let (client_policy, clock) = client;
        let policy = options.effective_retry(client_policy).unwrap_or_else(|| client_policy.clone());
        Self { marker, grace, policy, clock }
    }

    /// The options of the next request: what is left of the call's budget, or a timeout when nothing is.
    fn options(&self, deadline: Option<Instant>) -> Result<RequestOptions> {
        let Some(deadline) = deadline else { return Ok(RequestOptions { retry: Some(self.policy.clone()), attempt_timeout: None }) };
        let left = deadline.saturating_duration_since(self.clock.now());
        if left.is_zero() {
            return Err(Error::timeout(format!(
                "the exactly-once create's budget of {:.1} s ran out",
                self.policy.timeout().as_secs_f64()
            )));
        }
        Ok(RequestOptions { retry: Some(self.policy.clone().with_timeout(left)), attempt_timeout: None })
    }
}

/// Whether a failed create may have made a token: the pipeline says so (a failure after the request was
/// sent, or after a success status), or a 500, 502 or 504 answered it, which a gateway may send while the
/// service goes on.
fn ambiguous(error: &Error) -> bool {
    error.may_have_been_processed() || matches!(error.status(), Some(500 | 502 | 504))
}

/// Creates one token with `comment` through `minter`, exactly once (see the module doc).
pub(crate) async fn create<M: Minter>(minter: &M, comment: Option<String>, settings: Settings<'_>) -> Result<M::Created> {
    let deadline = settings.clock.now().checked_add(settings.policy.timeout());
    let marker = &settings.marker;
    let marked = marker.mark(comment.as_deref());
    let mut creates = 0;
    loop {
        creates += 1;
        let error = match minter.create(marked.clone(), settings.options(deadline)?).await {
            Ok(mut created) => {
                if creates > 1 {
                    // An earlier attempt may have landed since its search: keep this one only.
                    let keep = M::id(&created).to_owned();
                    let others = in_rounds(&settings, deadline, |options| revoke_marked(minter, marker, Some(&keep), options)).await;
                    if let Err(e) = others {
                        tracing::warn!(error = %e, marker = marker.as_str(), "the search after the create failed: a token carrying the marker may remain");
                    }
                }
                restore_comment(minter, &mut created, comment, &marked, &settings, deadline).await;
                return Ok(created);
            }
            Err(e) if ambiguous(&e) => e,
            // Nothing was created by this attempt, and every earlier one was resolved.
            Err(e) => return Err(e),
        };
        tracing::debug!(error = %error, marker = marker.as_str(), "the create may have been processed: looking for its token");
        if !error.was_processed() {
            settings.clock.sleep(settings.grace).await;
        }
        if let Err(search) = in_rounds(&settings, deadline, |options| revoke_marked(minter, marker, None, options)).await {
            return Err(error.with_possible_orphan(marker.as_str(), &search));
        }
        if creates == MAX_CREATES || settings.options(deadline).is_err() {
            return Err(error.cleaned_up(format!(
                "{creates} creates were ambiguous; every token they may have created was found and revoked, so nothing of the call is left"
            )));
        }
    }
}

/// Sets the comment the caller asked for on the created token (the marker goes), and says in the answer
/// the comment the token ends with. A failure leaves the token as it is — valid, its value in the caller's
/// hands, its comment still carrying the marker, which the answer shows — and is logged: the create
/// succeeded.
async fn restore_comment<M: Minter>(
    minter: &M,
    created: &mut M::Created,
    comment: Option<String>,
    marked: &str,
    settings: &Settings<'_>,
    deadline: Option<Instant>,
) {
    let token_id = M::id(created).to_owned();
    let comment = comment.unwrap_or_default();
    match in_rounds(settings, deadline, |options| minter.set_comment(&token_id, &comment, options)).await {
        Ok(()) => M::record_comment(created, comment),
        Err(e) => {
            tracing::warn!(token_id, error = %e, "the token was created, but its comment could not be set: it keeps the marker");
            M::record_comment(created, marked.to_owned());
        }
    }
}

/// Runs `step` until it succeeds, at most [`ROUNDS`] times, waiting the policy's backoff between rounds,
/// while the failure may pass and the call's budget lasts.
async fn in_rounds<F, Fut>(settings: &Settings<'_>, deadline: Option<Instant>, mut step: F) -> Result<()>
where
    F: FnMut(RequestOptions) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut round = 0;
    loop {
        let error = match step(settings.options(deadline)?).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        round += 1;
        let delay = settings.policy.backoff(round - 1);
        // A backoff too long for an `Instant` (a policy's cap may be `Duration::MAX`) is past any budget.
        let past_budget = deadline.is_some_and(|d| settings.clock.now().checked_add(delay).is_none_or(|then| then >= d));
        if round == ROUNDS || past_budget || !may_pass(&error) {
            return Err(error);
        }
        tracing::debug!(round, error = %error, "trying again");
        settings.clock.sleep(delay).await;
    }
}

/// Lists the tokens carrying `marker` and revokes them, but `keep`.
async fn revoke_marked<M: Minter>(minter: &M, marker: &Marker, keep: Option<&str>, options: RequestOptions) -> Result<()> {
    for token_id in minter.find(marker.as_str(), options.clone()).await? {
        if keep == Some(token_id.as_str()) {
            continue;
        }
        match minter.revoke(&token_id, options.clone()).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => tracing::debug!(token_id, "revoked the token of an ambiguous create"),
        }
    }
    Ok(())
}

/// Whether a failed request may succeed when tried again (throttling, unavailability, timeouts, transport,
/// 500s); a refusal (401, 403, 400) will not.
fn may_pass(error: &Error) -> bool {
    error.is_retryable() || error.is_server_error() || error.may_have_been_processed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_unique_and_shaped_for_a_comment() {
        let markers: std::collections::HashSet<_> = (0..10_000).map(|_| Marker::new().0).collect();
        assert_eq!(markers.len(), 10_000);
        let m = Marker::new();
        assert_eq!(m.as_str().len(), MARKER_PREFIX.len() + 33);
        assert!(m.as_str().starts_with(MARKER_PREFIX) && m.as_str().ends_with(']'));
        assert_eq!(crate::redact::scrub_token_shaped(m.as_str(), true), m.as_str(), "a marker is never taken for a secret");
        assert_eq!(m.mark(Some("ci")), format!("ci {}", m.as_str()));
        assert_eq!(m.mark(None), m.as_str());
        assert_eq!(m.mark(Some("")), m.as_str());
    }
}
