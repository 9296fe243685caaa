//! Exactly-once creation against the local workspace, over HTTP, under scripted faults: two callers of
//! one principal racing, late processing and its grace period, answers lost after a success status, and
//! searches that fail. Every test checks the workspace's own record of tokens, not only what the call says.

use std::time::Duration;

use databricks_tokens::local::{Fault, LocalWorkspace, Route};
use databricks_tokens::{RetryPolicy, WorkspaceClient};

/// The text every exactly-once marker starts with.
const MARKER: &str = "[exactly-once:";

/// A short grace period: the local workspace processes at once unless told otherwise.
const GRACE: Duration = Duration::from_millis(200);

/// A comment a caller may give that looks like a marker: it is not one.
const FAKE_MARKER: &str = "[exactly-once:00000000000000000000000000000000]";

fn marked_tokens(ws: &LocalWorkspace) -> Vec<String> {
    ws.tokens().into_iter().filter_map(|t| t.comment.filter(|c| c.replace(FAKE_MARKER, "").contains(MARKER))).collect()
}

/// Waits until the workspace has processed `n` creates.
async fn processed_creates(ws: &LocalWorkspace, route: Route, n: u64) {
    for _ in 0..1000 {
        if ws.counters(route).processed >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the workspace never processed {n} creates");
}

/// How the other caller creates its token.
#[derive(Clone, Copy, PartialEq)]
enum Other {
    /// A plain create: its token carries no marker.
    Plain,
    /// An exactly-once create whose comment update the workspace delays, so its token carries its own marker
    /// while A searches: a search that matched any marker, not A's own, would revoke it.
    ExactlyOnce,
}

/// Caller A (exactly once) loses the answer of its first create; caller B, the same principal, creates its
/// own token right then, before A's search for its orphan (which the workspace delays). B's token must
/// survive, A must end with exactly one token carrying the comment it asked for, and no marker may stay.
async fn two_callers_of_one_principal(comment_a: Option<&str>, comment_b: Option<&str>, other: Other) {
    let ws = LocalWorkspace::start().await.unwrap();
    let (a, b) = (ws.client().unwrap(), ws.client().unwrap());
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    // A's search waits, while B's token is there.
    ws.inject(Route::List, [Fault::Delay(Duration::from_millis(300))]);
    if other == Other::ExactlyOnce {
        // B's comment update (the first update of the workspace) waits past A's search.
        ws.inject(Route::Update, [Fault::Delay(Duration::from_millis(800))]);
    }
    let create_a = async {
        let builder = a.tokens().create().lifetime(Duration::from_secs(600)).exactly_once_grace(GRACE);
        match comment_a {
            Some(c) => builder.comment(c).send().await,
            None => builder.send().await,
        }
    };
    let create_b = async {
        processed_creates(&ws, Route::Create, 1).await;
        let mut builder = b.tokens().create().lifetime(Duration::from_secs(600));
        if other == Other::ExactlyOnce {
            builder = builder.exactly_once_grace(GRACE);
        }
        match comment_b {
            Some(c) => builder.comment(c).send().await,
            None => builder.send().await,
        }
    };
    let (created_a, created_b) = tokio::join!(create_a, create_b);
    let (created_a, created_b) = (created_a.unwrap(), created_b.unwrap());
    let tokens = ws.tokens();
    let ids: Vec<&str> = tokens.iter().map(|t| t.token_id.as_str()).collect();
    assert!(ids.contains(&created_b.token_id()), "the other caller's token was revoked: {tokens:?}");
    assert!(ids.contains(&created_a.token_id()), "{tokens:?}");
    assert_eq!(tokens.len(), 2, "no orphan, no duplicate: {tokens:?}");
    assert_eq!(ws.counters(Route::Create).processed, 3, "A's lost create, B's, and A's second");
    assert!(marked_tokens(&ws).is_empty(), "no marker stays: {tokens:?}");
    for (created, asked) in [(&created_a, comment_a), (&created_b, comment_b)] {
        let listed = tokens.iter().find(|t| t.token_id == created.token_id()).unwrap();
        assert_eq!(listed.comment.as_deref().unwrap_or_default(), asked.unwrap_or_default());
    }
    assert_eq!(created_a.token_info().comment.as_deref().unwrap_or_default(), comment_a.unwrap_or_default(), "the answer says the comment");
    // Both values work.
    for created in [&created_a, &created_b] {
        let as_token = WorkspaceClient::builder().host(ws.url()).token(created.token_value().clone()).build().unwrap();
        as_token.tokens().list().send().await.unwrap();
    }
}

#[tokio::test]
async fn the_other_callers_token_survives_when_neither_has_a_comment() {
    two_callers_of_one_principal(None, None, Other::Plain).await;
}

#[tokio::test]
async fn the_other_callers_token_survives_a_shared_comment() {
    two_callers_of_one_principal(Some("ci"), Some("ci"), Other::Plain).await;
}

#[tokio::test]
async fn the_other_callers_token_survives_distinct_comments() {
    two_callers_of_one_principal(Some("job-a"), Some("job-b"), Other::Plain).await;
}

#[tokio::test]
async fn the_other_exactly_once_callers_marked_token_survives() {
    two_callers_of_one_principal(Some("ci"), Some("ci"), Other::ExactlyOnce).await;
    two_callers_of_one_principal(None, None, Other::ExactlyOnce).await;
}

#[tokio::test]
async fn a_comment_that_looks_like_a_marker_is_only_a_comment() {
    two_callers_of_one_principal(Some(FAKE_MARKER), Some(FAKE_MARKER), Other::Plain).await;
    two_callers_of_one_principal(Some(FAKE_MARKER), Some(FAKE_MARKER), Other::ExactlyOnce).await;
}

#[tokio::test]
async fn a_create_processed_after_the_client_gave_up_is_found_within_the_grace_period() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    // The service processes the first create 600 ms after it arrived; the client gives up after 200 ms.
    ws.inject(Route::Create, [Fault::ProcessLate(Duration::from_millis(600))]);
    let created = w
        .tokens()
        .create()
        .comment("late")
        .attempt_timeout(Duration::from_millis(200))
        .exactly_once_grace(Duration::from_secs(1))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 1, "the late token was revoked, no duplicate: {tokens:?}");
    assert_eq!(tokens[0].token_id, created.token_id());
    assert_eq!(tokens[0].comment.as_deref(), Some("late"));
    assert_eq!(ws.counters(Route::Create).processed, 2);
}

#[tokio::test]
async fn the_guarantee_holds_only_within_its_grace_period() {
    // The bound, shown: with no grace, a create the service processes after the client gave up lands after
    // the search, and its token stays (marked, so its owner can tell it apart).
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::ProcessLate(Duration::from_millis(400))]);
    let created = w
        .tokens()
        .create()
        .comment("late")
        .attempt_timeout(Duration::from_millis(100))
        .exactly_once_grace(Duration::ZERO)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_eq!(marked_tokens(&ws).len(), 1, "the late one carries the call's marker: {tokens:?}");
    assert!(tokens.iter().any(|t| t.token_id == created.token_id() && t.comment.as_deref() == Some("late")));
}

#[tokio::test]
async fn a_success_status_whose_body_is_lost_is_processed_not_retryable() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::BodyCutAfterStatus]);
    let err = w.tokens().create().comment("cut").send().await.unwrap_err();
    assert!(err.may_have_been_processed(), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("HTTP 200 arrived, so the request was processed"), "{err}");
    assert_eq!(ws.tokens().len(), 1, "the token exists, its value lost");

    // Exactly once resolves it, with no grace period to wait: the status proved it was processed.
    ws.inject(Route::Create, [Fault::BodyCutAfterStatus]);
    let started = std::time::Instant::now();
    let created = w.tokens().create().comment("cut").exactly_once_grace(Duration::from_secs(30)).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "no grace period after a success status");
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 2, "the first test's token and this call's one: {tokens:?}");
    assert!(tokens.iter().any(|t| t.token_id == created.token_id()));
    assert!(marked_tokens(&ws).is_empty(), "{tokens:?}");

    // A list (safe to repeat) whose body is lost after the status is processed but still retryable.
    ws.inject(Route::List, [Fault::BodyCutAfterStatus]);
    let err = w.tokens().list().retry_policy(RetryPolicy::disabled()).send().await.unwrap_err();
    assert!(err.may_have_been_processed() && err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_gateways_500_on_a_create_is_resolved_like_a_lost_answer() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::HtmlServerError]);
    let err = w.tokens().create().comment("ci").send().await.unwrap_err();
    assert_eq!(err.status(), Some(500), "a plain create reports it");
    ws.inject(Route::Create, [Fault::HtmlServerError]);
    let created = w.tokens().create().comment("ci").exactly_once_grace(GRACE).send().await.unwrap();
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 1, "searched, nothing found, created: {tokens:?}");
    assert_eq!(tokens[0].token_id, created.token_id());
    assert_eq!(ws.counters(Route::List).received, 2, "the search, and the one after the create that answered");
}

#[tokio::test]
async fn the_marker_is_known_before_sending_so_a_cancelled_call_can_be_cleaned_up() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    assert_eq!(w.tokens().create().exactly_once_marker(), None, "a plain create has none");
    let create = w.tokens().create().comment("ci").exactly_once();
    let marker = create.exactly_once_marker().unwrap().to_owned();
    assert!(marker.starts_with(MARKER), "{marker}");
    assert_eq!(create.exactly_once_grace(GRACE).exactly_once_marker(), Some(marker.as_str()), "one marker per builder");
    // Cancelled while the service holds its create (which lands later): what carries the marker is found.
    ws.inject(Route::Create, [Fault::ProcessLate(Duration::from_millis(200))]);
    let create = w.tokens().create().comment("ci").exactly_once();
    let marker = create.exactly_once_marker().unwrap().to_owned();
    assert!(tokio::time::timeout(Duration::from_millis(50), create.send()).await.is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(marked_tokens(&ws), [format!("ci {marker}")]);
}

#[tokio::test]
async fn the_comment_update_is_retried_and_when_it_fails_the_answer_says_the_marked_comment() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    // Each request has one attempt (the policy): the rounds try again.
    ws.inject(Route::Update, [Fault::Unavailable, Fault::Unavailable]);
    let created = w.tokens().create().comment("ci").retry_policy(fast_retries()).exactly_once().send().await.unwrap();
    assert_eq!(created.token_info().comment.as_deref(), Some("ci"));
    assert_eq!(ws.tokens()[0].comment.as_deref(), Some("ci"));
    // When the update keeps failing, the token stays, valid, and the answer shows the comment it has.
    ws.inject(Route::Update, std::iter::repeat_n(Fault::HtmlServerError, 5)); // five 500s: the rounds run out
    let created = w.tokens().create().comment("kept").retry_policy(fast_retries()).exactly_once().send().await.unwrap();
    let comment = created.token_info().comment.clone().unwrap();
    assert!(comment.starts_with("kept [exactly-once:"), "{comment}");
    let listed = ws.tokens().into_iter().find(|t| t.token_id == created.token_id()).unwrap();
    assert_eq!(listed.comment.as_deref(), Some(comment.as_str()), "the answer tells the truth");
}

#[tokio::test]
async fn the_whole_call_runs_within_one_budget() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    // The grace period alone outlasts the call's budget: the search is not even tried.
    let policy = RetryPolicy::default().with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err =
        w.tokens().create().comment("ci").retry_policy(policy).exactly_once_grace(Duration::from_millis(500)).send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(err.orphan_marker().is_some() && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("budget"), "{err}");
    assert_eq!(ws.counters(Route::List).received, 0);
    assert_eq!(marked_tokens(&ws).len(), 1, "the error says a token may exist: it does");
}

#[tokio::test]
async fn a_backoff_too_long_for_the_clock_ends_the_search_instead_of_panicking() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    ws.inject(Route::List, [Fault::Unavailable]);
    let policy = RetryPolicy::disabled().with_backoff(Duration::MAX, Duration::MAX).with_timeout(Duration::from_secs(30));
    let err = w.tokens().create().comment("ci").retry_policy(policy).exactly_once_grace(GRACE).send().await.unwrap_err();
    assert!(err.orphan_marker().is_some() && !err.is_retryable(), "{err:?}");
    assert_eq!(ws.counters(Route::List).received, 1, "one round: the next would wait past the budget");
}

#[tokio::test]
async fn a_refused_create_is_not_ambiguous_and_is_not_searched_for() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    // Past the workspace's longest lifetime: a 400, which the service answers without creating anything.
    let err = w.tokens().create().lifetime(Duration::from_secs(20 * 366 * 24 * 3600)).exactly_once_grace(GRACE).send().await.unwrap_err();
    assert!(err.is_bad_request() && !err.may_have_been_processed() && err.orphan_marker().is_none(), "{err:?}");
    let count = |r| ws.counters(r).received;
    assert_eq!((count(Route::Create), count(Route::List)), (1, 0), "one create, no search, no second create");
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::disabled().with_backoff(Duration::from_millis(5), Duration::from_millis(5))
}

#[tokio::test]
async fn a_search_that_fails_for_a_while_is_retried_and_leaves_no_orphan() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    // One attempt per request (the policy), so the search itself must try again: 503, 429, then the list.
    ws.inject(Route::List, [Fault::Unavailable, Fault::TooManyRequests { retry_after_seconds: 0 }, Fault::Unavailable]);
    ws.inject(Route::Delete, [Fault::Unavailable]);
    let created = w.tokens().create().comment("ci").retry_policy(fast_retries()).exactly_once_grace(GRACE).send().await.unwrap();
    let tokens = ws.tokens();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0].token_id, created.token_id());
    assert_eq!(
        ws.counters(Route::List).processed,
        3,
        "the search's two lists (the one whose revoke failed, and the next), and the one after the second create"
    );
}

#[tokio::test]
async fn a_search_that_keeps_failing_says_a_token_may_exist_and_which() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    ws.inject(Route::List, std::iter::repeat_n(Fault::Unavailable, 50));
    let err = w.tokens().create().comment("ci").retry_policy(fast_retries()).exactly_once_grace(GRACE).send().await.unwrap_err();
    assert!(err.may_have_been_processed(), "{err:?}");
    assert!(!err.is_retryable(), "never a plain retryable error after a create that may have happened: {err:?}");
    let marker = err.orphan_marker().expect("the error names the marker");
    assert!(err.to_string().contains(marker) && err.to_string().contains("TEMPORARILY_UNAVAILABLE"), "{err}");
    // The error tells the truth: the orphan is there, and it carries that marker.
    let orphans = marked_tokens(&ws);
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0], format!("ci {marker}"));
    assert_eq!(ws.counters(Route::Create).processed, 1, "no second create while the first may exist");
    assert_eq!(ws.counters(Route::List).received, 5, "5 rounds of search");
}

#[tokio::test]
async fn a_proxys_500_during_the_search_is_searched_through() {
    let ws = LocalWorkspace::start().await.unwrap();
    ws.inject(Route::Create, [Fault::ResetAfterProcessing]);
    ws.inject(Route::List, [Fault::HtmlServerError]);
    let w = ws.client().unwrap();
    let created = w.tokens().create().retry_policy(fast_retries()).exactly_once_grace(GRACE).send().await.unwrap();
    assert_eq!(ws.counters(Route::List).received, 3, "a 500 may pass: searched again; and once after the second create");
    assert_eq!(ws.tokens().len(), 1);
    assert_eq!(ws.tokens()[0].token_id, created.token_id());
}

#[tokio::test]
async fn three_ambiguous_creates_all_revoked_end_in_an_error_that_may_be_repeated() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    ws.inject(Route::Create, std::iter::repeat_n(Fault::ResetAfterProcessing, 3));
    let err = w.tokens().create().comment("ci").exactly_once_grace(GRACE).send().await.unwrap_err();
    assert!(ws.tokens().is_empty(), "every token of the three was revoked: {:?}", ws.tokens());
    assert!(!err.may_have_been_processed() && err.is_retryable() && err.orphan_marker().is_none(), "{err:?}");
    assert!(err.to_string().contains("3 creates were ambiguous"), "{err}");
    assert_eq!(ws.counters(Route::Create).processed, 3);
}

#[tokio::test]
async fn an_on_behalf_of_create_is_exactly_once_and_spares_the_principals_other_tokens() {
    let ws = LocalWorkspace::builder().service_principal("sp-etl", "sp-secret").start().await.unwrap();
    let admin = ws.client().unwrap();
    let other_admin = ws.client().unwrap();
    ws.inject(Route::CreateOboToken, [Fault::ResetAfterProcessing]);
    ws.inject(Route::ManagementList, [Fault::Delay(Duration::from_millis(300))]); // my search waits
    let mine = admin.token_management().create_obo_token("sp-etl").comment("etl").exactly_once_grace(GRACE).send();
    let theirs = async {
        processed_creates(&ws, Route::CreateOboToken, 1).await;
        other_admin.token_management().create_obo_token("sp-etl").comment("etl").send().await
    };
    let (mine, theirs) = tokio::join!(mine, theirs);
    let (mine, theirs) = (mine.unwrap(), theirs.unwrap());
    let tokens = admin.token_management().list().send().await.unwrap();
    let ids: Vec<&str> = tokens.iter().map(|t| t.token_id.as_str()).collect();
    assert!(ids.contains(&theirs.token_id()) && ids.contains(&mine.token_id()), "{tokens:?}");
    let of_sp = tokens.iter().filter(|t| t.owner_id.map(i64::from) == ws.principal_id("sp-etl")).count();
    assert_eq!(of_sp, 2, "no orphan, no duplicate: {tokens:?}");
    assert!(tokens.iter().all(|t| t.comment.as_deref() == Some("etl")), "{tokens:?}");
    assert_eq!(mine.token_info().comment.as_deref(), Some("etl"));
    assert_eq!(ws.counters(Route::CreateOboToken).processed, 3);
}

#[tokio::test]
async fn a_plain_exactly_once_create_costs_two_requests() {
    let ws = LocalWorkspace::start().await.unwrap();
    let w = ws.client().unwrap();
    let created = w.tokens().create().comment("ci").exactly_once().send().await.unwrap();
    assert_eq!(created.token_info().comment.as_deref(), Some("ci"));
    let count = |r| ws.counters(r).received;
    assert_eq!((count(Route::Create), count(Route::Update), count(Route::List), count(Route::Delete)), (1, 1, 0, 0));
    assert_eq!(ws.tokens()[0].comment.as_deref(), Some("ci"));
}
