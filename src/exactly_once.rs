//! Exactly-once token creation over an API that has no idempotency key.
//!
//! A create whose answer is lost (the connection reset after the server processed it, an attempt that
//! timed out, a success status whose body never arrived) may have minted a token whose value nobody
//! holds. Creating again could leave two; giving up could leave an orphan. This module resolves it
//! without ever touching a token another caller made, even one of the same principal with the same
//! comment created at the same moment:
//!
//! 1. every attempt of one call carries a **marker** in its comment: 128 random bits drawn for this call
//!    alone (from the operating system's randomness, through the standard library's hasher keys, mixed
//!    with the process id, the time and a counter), so no other caller can carry it by accident;
//! 2. after an ambiguous failure the call waits the **grace period** (a request the service is still
//!    holding gets the time to land), then lists the tokens and revokes those, and only those, whose
//!    comment carries its marker; then it creates again (3 creates at most);
//! 3. once a create answers, the token's value is in hand and a follow-up update sets the comment the
//!    caller asked for, so the marker does not stay.
//!
//! The search and its revokes are retried (5 rounds at most, with the call's backoff, within its overall
//! budget) when they fail in a way that may pass; when they still fail, the call ends with the create's
//! error, never retryable, saying that a token may exist and which: [`Error::orphan_marker`].
//!
//! **The guarantee, and its bound:** no duplicate and no orphan, provided the service processes a request
//! within the grace period of the moment the client gave up on it (default 10 s). A success
//! status proves the request was processed, so that case needs no grace.
//!
//! **Cost in requests:** 2 when nothing goes wrong (the create and the comment update); per ambiguous
//! failure, one `list`, one revoke per token it finds, the grace period, and one more create.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// How long an exactly-once create waits after an ambiguous failure before it searches for the token the
/// failed attempt may have created.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Creates sent at most by one exactly-once call.
const MAX_CREATES: u32 = 3;

/// Rounds of the search-and-revoke after one ambiguous failure, at most.
const CLEANUP_ROUNDS: u32 = 5;

/// The text that starts a marker in a comment.
const MARKER_PREFIX: &str = "[exactly-once:";

/// What an exactly-once create needs of an API: create with a comment, find its own tokens, revoke one,
/// set a comment. The Tokens API and Token Management's on-behalf-of tokens implement it.
pub(crate) trait Minter: Sync {
    /// What a create answers (it holds the token's value).
    type Created: Send;
    /// Creates a token with this comment (the caller's, marked).
    fn create(&self, comment: String) -> impl Future<Output = Result<Self::Created>> + Send;
    /// The ids of the tokens whose comment contains `marker`.
    fn find(&self, marker: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Revokes a token.
    fn revoke(&self, token_id: &str) -> impl Future<Output = Result<()>> + Send;
    /// Sets a token's comment.
    fn set_comment(&self, token_id: &str, comment: &str) -> impl Future<Output = Result<()>> + Send;
    /// The id of a created token.
    fn id(created: &Self::Created) -> &str;
    /// Records in the answer the comment the token ends with.
    fn record_comment(created: &mut Self::Created, comment: Option<String>);
}

/// A marker no other caller carries: `[exactly-once:` 32 hex digits `]`.
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

/// How an exactly-once call runs.
pub(crate) struct Settings<'a> {
    /// The wait before searching after an ambiguous failure with no success status.
    pub grace: Duration,
    /// The backoff and overall budget of the search-and-revoke rounds.
    pub policy: RetryPolicy,
    pub clock: &'a dyn Clock,
}

/// Creates one token with `comment` through `minter`, exactly once (see the module doc).
pub(crate) async fn create<M: Minter>(minter: &M, comment: Option<String>, settings: Settings<'_>) -> Result<M::Created> {
    let marker = Marker::new();
    let marked = marker.mark(comment.as_deref());
    let mut creates = 0;
    loop {
        creates += 1;
        let error = match minter.create(marked.clone()).await {
            Ok(mut created) => {
                restore_comment(minter, &mut created, comment).await;
                return Ok(created);
            }
            Err(e) if e.may_have_been_processed() => e,
            // Nothing was created by this attempt, and every earlier one was resolved.
            Err(e) => return Err(e),
        };
        tracing::debug!(error = %error, marker = marker.as_str(), "the create may have been processed: looking for its token");
        if !error.was_processed() {
            settings.clock.sleep(settings.grace).await;
        }
        if let Err(cleanup) = revoke_marked(minter, &marker, &settings).await {
            return Err(error.with_possible_orphan(marker.as_str(), &cleanup));
        }
        if creates == MAX_CREATES {
            return Err(error.cleaned_up(format!(
                "{creates} creates were ambiguous; every token they may have created was found and revoked, so the call may be repeated"
            )));
        }
    }
}

/// Sets the comment the caller asked for on the created token (the marker goes). A failure leaves the
/// token as it is — valid, its value in the caller's hands, its comment still carrying the marker — and
/// is logged: the create succeeded.
async fn restore_comment<M: Minter>(minter: &M, created: &mut M::Created, comment: Option<String>) {
    let token_id = M::id(created).to_owned();
    match minter.set_comment(&token_id, comment.as_deref().unwrap_or_default()).await {
        Ok(()) => M::record_comment(created, comment),
        Err(e) => tracing::warn!(token_id, error = %e, "the token was created, but its comment could not be set: it keeps the marker"),
    }
}

/// Finds the tokens carrying `marker` and revokes them, in rounds until one finds nothing left to fail on.
async fn revoke_marked<M: Minter>(minter: &M, marker: &Marker, settings: &Settings<'_>) -> Result<()> {
    let start = settings.clock.now();
    let mut round = 0;
    loop {
        let error = match revoke_round(minter, marker).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        round += 1;
        let delay = settings.policy.backoff(round - 1);
        let past_budget = settings.clock.now().saturating_duration_since(start) + delay > settings.policy.timeout();
        if round == CLEANUP_ROUNDS || past_budget || !may_pass(&error) {
            return Err(error);
        }
        tracing::debug!(round, error = %error, "the search for the token failed: trying again");
        settings.clock.sleep(delay).await;
    }
}

async fn revoke_round<M: Minter>(minter: &M, marker: &Marker) -> Result<()> {
    for token_id in minter.find(marker.as_str()).await? {
        match minter.revoke(&token_id).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => tracing::debug!(token_id, "revoked the token of an ambiguous create"),
        }
    }
    Ok(())
}

/// Whether a failed search may succeed when tried again (throttling, unavailability, timeouts, transport,
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
