//! The machinery every token-based provider shares: a cached token, refreshed shortly before it expires,
//! by one task at a time.
//!
//! A provider supplies a [`TokenSource`] (run the CLI, ask the metadata service, call a token endpoint);
//! [`Refreshing`] turns it into a [`CredentialsProvider`]. Concurrent callers with a cold or stale cache
//! wait for one refresh; a 401 drops the cache so that the next call fetches afresh. A token may carry
//! headers besides `Authorization` (Azure's management token, Google's service-account token): they are
//! cached and refreshed with it, as one unit.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::{AuthHeader, CredentialsProvider};
use crate::clock::{BoxFuture, Clock};
use crate::error::Result;
use crate::secret::SecretString;

/// How early a cached token is refreshed before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(40);

/// A token whose lifetime the server did not say is kept this long.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// A token is never cached longer than this, whatever the server said.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An access token and when it stops being valid.
pub(crate) struct Token {
    /// The full `Authorization` value, e.g. `Bearer eyJ...`.
    pub(crate) header: SecretString,
    pub(crate) expires_at: Instant,
    /// Headers sent with `Authorization`, valid as long as it is.
    pub(crate) extra: Vec<AuthHeader>,
}

impl Token {
    /// A token of `token_type` (default `Bearer`) valid for `lifetime` from `issued_at`. A lifetime the
    /// server got wrong (absent, zero, absurd) is clamped: refreshing early is harmless.
    pub(crate) fn new(access_token: &SecretString, token_type: Option<&str>, issued_at: Now, lifetime: Option<Duration>) -> Self {
        let issued_at = issued_at.instant;
        let lifetime = lifetime.filter(|l| !l.is_zero()).unwrap_or(DEFAULT_LIFETIME).min(MAX_LIFETIME);
        let token_type = token_type.map(str::trim).filter(|t| !t.is_empty()).unwrap_or("Bearer");
        // Servers say "bearer" as often as "Bearer"; the API expects the canonical case.
        let token_type = if token_type.eq_ignore_ascii_case("bearer") { "Bearer" } else { token_type };
        Self {
            header: SecretString::new(format!("{token_type} {}", access_token.expose())),
            expires_at: issued_at.checked_add(lifetime).unwrap_or(issued_at),
            extra: Vec::new(),
        }
    }

    /// Adds a header sent with this token; the pair is valid until the earlier of the two expiries.
    pub(crate) fn with_header(mut self, name: &str, value: SecretString, expires_at: Option<Instant>) -> Self {
        if let Some(at) = expires_at {
            self.expires_at = self.expires_at.min(at);
        }
        self.extra.push((name.to_owned(), value));
        self
    }
}

/// When a token request started, on the client's [`Clock`]: its instant (what a token's expiry is measured
/// in) and its wall time (what a server's absolute expiry is compared with).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    pub(crate) instant: Instant,
    pub(crate) wall: SystemTime,
}

impl Now {
    /// The clock's present.
    pub(crate) fn of(clock: &dyn Clock) -> Self {
        Self { instant: clock.now(), wall: clock.system_now() }
    }

    /// The lifetime left until a wall-clock expiry (zero once it has passed).
    pub(crate) fn lifetime_until(self, expiry: SystemTime) -> Duration {
        expiry.duration_since(self.wall).unwrap_or(Duration::ZERO)
    }
}

/// Where a [`Refreshing`] provider gets a new token.
pub(crate) trait TokenSource: Send + Sync + fmt::Debug {
    /// Obtains a fresh token. `now` is the clock's instant when the request started.
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>>;
}

/// An RFC 3339 date-time (a `T` or a space between date and time) as a `SystemTime`; `None` when it does
/// not parse or the platform's `SystemTime` cannot hold it (`time`'s own conversion panics then).
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    let parse = |t: &str| time::OffsetDateTime::parse(t, &Rfc3339).ok();
    let parsed = parse(text).or_else(|| {
        let (date, rest) = text.split_once(' ')?;
        parse(&format!("{date}T{rest}"))
    })?;
    let seconds = parsed.unix_timestamp();
    let whole = match u64::try_from(seconds) {
        Ok(after) => SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(after)),
        Err(_) => SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs())),
    };
    whole?.checked_add(Duration::from_nanos(u64::from(parsed.nanosecond())))
}

/// A [`TokenSource`] behind a cache refreshed [`REFRESH_MARGIN`] before expiry, one refresh at a time.
pub(crate) struct Refreshing<S> {
    auth_type: &'static str,
    source: S,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Token>>,
    refresh: tokio::sync::Mutex<()>,
}

impl<S: fmt::Debug> fmt::Debug for Refreshing<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refreshing").field("auth_type", &self.auth_type).field("source", &self.source).finish_non_exhaustive()
    }
}

impl<S: TokenSource> Refreshing<S> {
    pub(crate) fn new(auth_type: &'static str, source: S, clock: Arc<dyn Clock>) -> Self {
        Self { auth_type, source, clock, cached: Mutex::new(None), refresh: tokio::sync::Mutex::new(()) }
    }

    pub(crate) fn source(&self) -> &S {
        &self.source
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    pub(crate) fn into_source(self) -> S {
        self.source
    }

    fn cached_headers(&self) -> Option<Vec<AuthHeader>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        cached.as_ref().filter(|t| t.expires_at.checked_sub(REFRESH_MARGIN).is_some_and(|fresh_until| now < fresh_until)).map(|t| {
            let mut headers = vec![("Authorization".to_owned(), t.header.clone())];
            headers.extend(t.extra.iter().cloned());
            headers
        })
    }

    /// The current `Authorization` header and the headers that go with it, refreshed when needed.
    pub(crate) async fn current(&self) -> Result<Vec<AuthHeader>> {
        if let Some(headers) = self.cached_headers() {
            return Ok(headers);
        }
        let _one_refresh_at_a_time = self.refresh.lock().await;
        if let Some(headers) = self.cached_headers() {
            return Ok(headers);
        }
        let fresh = self.source.fetch(Now::of(self.clock.as_ref())).await?;
        let mut headers = vec![("Authorization".to_owned(), fresh.header.clone())];
        headers.extend(fresh.extra.iter().cloned());
        tracing::debug!(auth_type = self.auth_type, extra_headers = fresh.extra.len(), "obtained a new access token");
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
        Ok(headers)
    }
}

impl<S: TokenSource> CredentialsProvider for Refreshing<S> {
    fn auth_type(&self) -> &str {
        self.auth_type
    }

    fn headers(&self) -> BoxFuture<'_, Result<Vec<AuthHeader>>> {
        Box::pin(self.current())
    }

    fn invalidate(&self) -> bool {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
        true
    }
}

/// `CredentialsProvider` for a public provider type that wraps a [`Refreshing`] in its `inner` field.
macro_rules! delegate_to_refreshing {
    ($provider:ty) => {
        impl $crate::auth::CredentialsProvider for $provider {
            fn auth_type(&self) -> &str {
                self.inner.auth_type()
            }
            fn headers(&self) -> $crate::clock::BoxFuture<'_, $crate::Result<Vec<$crate::auth::AuthHeader>>> {
                self.inner.headers()
            }
            fn invalidate(&self) -> bool {
                self.inner.invalidate()
            }
        }
    };
}
pub(crate) use delegate_to_refreshing;

/// Tests that pin what the mutation run (`cargo mutants --file src/auth/refresh.rs`) found unchecked: the
/// cache, its refresh margin, its invalidation, and the lifetimes a token is given.
#[cfg(test)]
mod cache_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A clock that moves only when told.
    #[derive(Debug)]
    struct StillClock {
        start: (Instant, SystemTime),
        elapsed: Mutex<Duration>,
    }

    impl StillClock {
        fn new() -> Arc<Self> {
            Arc::new(Self { start: (Instant::now(), SystemTime::now()), elapsed: Mutex::new(Duration::ZERO) })
        }
        fn advance(&self, by: Duration) {
            *self.elapsed.lock().unwrap() += by;
        }
    }

    impl Clock for StillClock {
        fn now(&self) -> Instant {
            self.start.0 + *self.elapsed.lock().unwrap()
        }
        fn system_now(&self) -> SystemTime {
            self.start.1 + *self.elapsed.lock().unwrap()
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            self.advance(duration);
            Box::pin(async {})
        }
    }

    /// Tokens `token-1`, `token-2`... valid 100 s, with a header that expires after 80 s.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl TokenSource for Counting {
        fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                let token = Token::new(&SecretString::new(format!("token-{n}")), Some("bearer"), now, Some(Duration::from_secs(100)));
                Ok(token.with_header("X-Extra", SecretString::new(format!("extra-{n}")), Some(now.instant + Duration::from_secs(80))))
            })
        }
    }

    fn exposed(headers: &[AuthHeader]) -> Vec<(&str, &str)> {
        headers.iter().map(|(name, value)| (name.as_str(), value.expose())).collect()
    }

    #[tokio::test]
    async fn a_token_is_cached_until_the_margin_before_its_earliest_expiry_and_dropped_by_invalidate() {
        let clock = StillClock::new();
        let provider = Refreshing::new("test-auth", Counting::default(), clock.clone());
        assert_eq!(provider.auth_type(), "test-auth");
        let first = provider.headers().await.unwrap();
        assert_eq!(exposed(&first), [("Authorization", "Bearer token-1"), ("X-Extra", "extra-1")]);
        // The pair expires with its header, at 80 s: fresh until 40 s, stale from then on.
        clock.advance(Duration::from_secs(39));
        assert_eq!(exposed(&provider.headers().await.unwrap())[0], ("Authorization", "Bearer token-1"));
        clock.advance(Duration::from_secs(1));
        assert_eq!(exposed(&provider.headers().await.unwrap()), [("Authorization", "Bearer token-2"), ("X-Extra", "extra-2")]);
        assert_eq!(provider.source().0.load(Ordering::SeqCst), 2);
        assert!(provider.invalidate());
        assert_eq!(exposed(&provider.headers().await.unwrap())[0], ("Authorization", "Bearer token-3"));
        assert_eq!(exposed(&provider.headers().await.unwrap())[0], ("Authorization", "Bearer token-3"), "cached again");
        assert_eq!(provider.into_source().0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn lifetimes_are_clamped_and_debug_names_the_provider() {
        let clock = StillClock::new();
        let now = Now::of(clock.as_ref());
        let lifetime = |l: Option<Duration>| Token::new(&SecretString::new("t"), None, now, l).expires_at - now.instant;
        assert_eq!(lifetime(Some(Duration::from_secs(3 * 24 * 3600))), Duration::from_secs(24 * 3600), "a day at most");
        assert_eq!(lifetime(Some(Duration::from_secs(7200))), Duration::from_secs(7200));
        assert_eq!(lifetime(None), DEFAULT_LIFETIME);
        assert_eq!(lifetime(Some(Duration::ZERO)), DEFAULT_LIFETIME);
        assert_eq!(now.lifetime_until(clock.system_now() + Duration::from_secs(90)), Duration::from_secs(90));
        assert_eq!(now.lifetime_until(clock.system_now() - Duration::from_secs(90)), Duration::ZERO);
        let provider = Refreshing::new("test-auth", Counting::default(), clock);
        assert_eq!(format!("{provider:?}"), "Refreshing { auth_type: \"test-auth\", source: Counting(0), .. }");
        assert_eq!(Arc::as_ptr(&provider.clock()).cast::<()>(), Arc::as_ptr(&provider.clock).cast::<()>());
    }

    #[test]
    fn rfc3339_dates_with_a_t_or_a_space() {
        let at = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.5Z"), Some(at));
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20.5Z"), Some(at));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(SystemTime::UNIX_EPOCH - Duration::from_secs(1)));
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }
}
