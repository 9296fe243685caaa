//! Fleet runs over a local account on loopback, its workspaces discovered through `AccountClient`:
//! failures isolated, the shared retry budget, dry runs, secrets.

#[path = "../examples/support/local_fleet.rs"]
mod local_fleet;

use std::collections::BTreeMap;
use std::time::Duration;

use databricks_tokens::RetryPolicy;
use databricks_tokens::admin::RevokePlan;
use databricks_tokens::fleet::{
    AuditEvent, CsvWriter, Failure, Filter, Fleet, FleetOptions, FleetRecord, JsonLinesWriter, Outcome, Progress,
};
use databricks_tokens::local::{Fault, Route};
use futures::StreamExt;
use local_fleet::{AUDITOR_SECRET, FOREVER, Health};

/// Quick retries: the tests wait milliseconds, not the default seconds.
fn quick() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(2), Duration::from_millis(10)).with_max_retry_after(Duration::from_millis(10))
}

/// Runs an audit; returns the records, each workspace's outcome by name, and the last progress.
async fn audit(
    fleet: &Fleet,
    members: impl IntoIterator<Item = databricks_tokens::fleet::Member, IntoIter: ExactSizeIterator + Send + 'static>,
) -> (Vec<FleetRecord>, BTreeMap<String, Outcome>, Progress) {
    let mut events = std::pin::pin!(fleet.audit(members));
    let (mut records, mut outcomes, mut last) = (Vec::new(), BTreeMap::new(), Progress::default());
    while let Some(event) = events.next().await {
        match event {
            AuditEvent::Token(r) => records.push(*r),
            AuditEvent::Workspace(done) => {
                last = done.progress;
                outcomes.insert(done.workspace.name, done.outcome);
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    (records, outcomes, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_workspace_failing_is_reported_and_the_run_goes_on() {
    let healths = [
        Health::Healthy,
        Health::NotAdmin,
        Health::Unavailable,
        Health::Reset,
        Health::Slow(Duration::from_secs(30)),
        Health::Healthy,
        Health::NotRunning,
    ];
    let lf = local_fleet::start(&healths, 4, 4).await.unwrap();
    let fleet = Fleet::new(FleetOptions::default().workspace_timeout(Duration::from_secs(2)).concurrency(3)).unwrap();
    let (records, outcomes, progress) = audit(&fleet, lf.members(&fleet, quick()).await).await;

    let reason = |name: &str| match &outcomes[name] {
        Outcome::Failed(f) => f.reason(),
        other => panic!("{name}: {other:?}"),
    };
    assert!(matches!(outcomes["ws-0000"], Outcome::Done { tokens: 4 }), "{:?}", outcomes["ws-0000"]);
    assert!(matches!(outcomes["ws-0005"], Outcome::Done { tokens: 4 }));
    assert_eq!(reason("ws-0001"), "permission denied (not an admin?)");
    assert!(matches!(&outcomes["ws-0002"], Outcome::Failed(Failure::Api(e)) if e.status() == Some(503)), "{:?}", outcomes["ws-0002"]);
    assert_eq!(reason("ws-0003"), "unreachable");
    assert!(matches!(outcomes["ws-0004"], Outcome::Failed(Failure::TimedOut(t)) if t == Duration::from_secs(2)));
    assert!(matches!(&outcomes["ws-0006"], Outcome::Skipped { status } if status == "PROVISIONING"));
    assert_eq!(lf.ws(6).counters(Route::ManagementList).received, 0, "a skipped workspace is never called");
    assert_eq!(lf.ws(6).counters(Route::OAuthToken).received, 0, "nor asked for a token");

    assert_eq!(records.len(), 8, "the two healthy workspaces' tokens, no other");
    let mut per_ws = BTreeMap::new();
    for r in &records {
        *per_ws.entry(r.workspace_name.as_str()).or_insert(0) += 1;
    }
    assert_eq!(per_ws, BTreeMap::from([("ws-0000", 4), ("ws-0005", 4)]));
    let p = progress;
    assert_eq!((p.done, p.failed, p.skipped, p.remaining, p.tokens), (2, 4, 1, Some(0), 8), "{p}");
    // Flags: alice's tokens live 400 days (beyond the 90-day policy), bob's 60.
    for r in &records {
        assert_eq!(r.expires_beyond_policy, r.owner == "alice@example.com", "{r:?}");
        assert!(!r.unused && !r.never_expiring && !r.expiring_soon, "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flags_follow_the_clock() {
    let mut lf = local_fleet::start(&[Health::Healthy], 4, 1).await.unwrap();
    lf.advance(Duration::from_secs(100 * 24 * 3600));
    let fleet = Fleet::new(FleetOptions::default()).unwrap();
    let (records, _, _) = audit(&fleet, lf.members(&fleet, quick()).await).await;
    // Bob's 60-day tokens expired; alice's (400 days) are unused for 100 days.
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().all(|r| r.owner == "alice@example.com" && r.unused && r.unused_days == Some(100) && r.age_days == Some(100)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_in_one_workspace_does_not_exhaust_the_others_retries() {
    // One at a time, the storm first: it spends what it may before the others start. The others each
    // need 3 retries (15 of the budget) for 3 transient 503s.
    let run = |per_workspace: u32| async move {
        let lf = local_fleet::start(&[Health::Healthy; 7], 2, 4).await.unwrap();
        // A storm on Token Management's list only (the token endpoint answers): 429 forever.
        lf.ws(0).inject(Route::ManagementList, std::iter::repeat_n(Fault::TooManyRequests { retry_after_seconds: 1 }, FOREVER));
        for i in 1..7 {
            lf.ws(i).inject(Route::ManagementList, [Fault::Unavailable, Fault::Unavailable, Fault::Unavailable]);
        }
        let fleet = Fleet::new(FleetOptions::default().concurrency(1).retry_budget(200, per_workspace)).unwrap();
        let (_, outcomes, progress) = audit(&fleet, lf.members(&fleet, quick()).await).await;
        let storm_requests = lf.ws(0).counters(Route::ManagementList).received;
        (outcomes, progress, storm_requests)
    };
    let (outcomes, progress, storm_requests) = run(50).await;
    assert!(matches!(&outcomes["ws-0000"], Outcome::Failed(Failure::Api(e)) if e.status() == Some(429)), "{:?}", outcomes["ws-0000"]);
    assert_eq!(storm_requests, 11, "the storm's share: 50 = 10 retries after the first attempt");
    assert_eq!((progress.done, progress.failed), (6, 1), "every other workspace retried through its 503s: {outcomes:?}");

    // The same storm with no per-workspace share empties the run's budget: the others then fail at their
    // first 503. (What the share is for.)
    let (outcomes, progress, storm_requests) = run(200).await;
    assert_eq!(storm_requests, 41);
    assert_eq!((progress.done, progress.failed), (0, 7), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_region_is_not_hammered() {
    let lf = local_fleet::start(&[Health::Healthy; 8], 1, 8).await.unwrap();
    for i in 0..8 {
        lf.ws(i).inject(Route::ManagementList, std::iter::repeat_n(Fault::Unavailable, FOREVER));
    }
    let fleet = Fleet::new(FleetOptions::default().retry_budget(100, 50)).unwrap();
    let (_, _, progress) = audit(&fleet, lf.members(&fleet, quick()).await).await;
    assert_eq!(progress.failed, 8);
    // 8 first attempts and the 20 retries the run's budget pays for; without it, 8 x 11 = 88.
    assert_eq!(lf.received(Route::ManagementList), 8 + 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_wide_rate_limit_is_shared_by_every_workspace() {
    let lf = local_fleet::start(&[Health::Healthy; 8], 1, 8).await.unwrap();
    let fleet = Fleet::new(FleetOptions::default().rate_limit(4.0)).unwrap();
    let start = std::time::Instant::now();
    let (_, _, progress) = audit(&fleet, lf.members(&fleet, quick()).await).await;
    assert_eq!(progress.done, 8);
    // 8 lists at 4 a second with a burst of 4: the last 4 wait for 1 s in all. (Each client alone would not
    // wait at all.)
    assert!(start.elapsed() >= Duration::from_millis(950), "{:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_revokes_nothing_and_a_real_run_revokes_the_plan_per_workspace() {
    let lf = local_fleet::start(&[Health::Healthy, Health::NotAdmin, Health::Healthy], 6, 3).await.unwrap();
    let fleet = Fleet::new(FleetOptions::default()).unwrap();
    let bob = || RevokePlan::created_by("bob@example.com");

    let dry: Vec<_> = fleet.revoke(lf.members(&fleet, quick()).await, bob().dry_run()).collect().await;
    assert_eq!(dry.len(), 3);
    for w in &dry {
        if w.done.workspace.name == "ws-0001" {
            assert!(matches!(&w.done.outcome, Outcome::Failed(f) if f.reason().starts_with("permission denied")), "{w:?}");
            continue;
        }
        let report = w.report.as_ref().unwrap();
        assert!(report.dry_run && report.revoked.is_empty());
        assert_eq!(report.selected.len(), 3, "bob's 3 of 6");
        assert!(report.selected.iter().all(|t| t.created_by_username.as_deref() == Some("bob@example.com")));
    }
    assert_eq!(lf.received(Route::ManagementDelete), 0, "a dry run sends no delete");
    assert!((0..3).all(|i| lf.ws(i).tokens().len() == 6));

    let real: Vec<_> = fleet.revoke(lf.members(&fleet, quick()).await, bob()).collect().await;
    let revoked: usize = real.iter().filter_map(|w| w.report.as_ref()).map(|r| r.revoked.len()).sum();
    assert_eq!(revoked, 6);
    assert_eq!(real.last().unwrap().done.progress.failed, 1);
    for i in 0..3 {
        assert_eq!(lf.ws(i).tokens().len(), if i == 1 { 6 } else { 3 }, "ws-{i:04}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_events_errors_or_writers() {
    let lf = local_fleet::start(&[Health::Healthy, Health::NotAdmin, Health::Reset], 2, 3).await.unwrap();
    let fleet = Fleet::new(FleetOptions::default()).unwrap();
    let members: Vec<_> = lf.members(&fleet, quick()).await.collect();
    let mut printed = format!("{members:?}");
    let mut events = std::pin::pin!(fleet.audit(members));
    let (mut csv, mut jsonl) = (CsvWriter::new(Vec::new()), JsonLinesWriter::new(Vec::new()));
    while let Some(event) = events.next().await {
        printed.push_str(&format!("{event:?}\n"));
        match &event {
            AuditEvent::Token(r) => {
                csv.write(r).unwrap();
                jsonl.write(r).unwrap();
            }
            AuditEvent::Workspace(done) => {
                if let Outcome::Failed(f) = &done.outcome {
                    printed.push_str(&format!("{f} {f:?} {}\n", f.reason()));
                }
                printed.push_str(&format!("{}\n", done.progress));
            }
            _ => {}
        }
    }
    let csv = String::from_utf8(csv.finish().unwrap()).unwrap();
    let jsonl = String::from_utf8(jsonl.finish().unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2, "a header and the healthy workspace's 2 tokens:\n{csv}");
    assert_eq!(jsonl.lines().count(), 2);
    assert!(printed.contains("ws-0001") && printed.contains("ws-0002"), "the failures were printed: {printed}");
    for output in [&printed, &csv, &jsonl] {
        assert!(!output.contains(AUDITOR_SECRET), "the client secret leaked");
        assert!(!output.contains("dapi"), "a token value leaked: {output}");
        for token in &lf.alice_tokens {
            let alice = token.as_ref().unwrap().expose();
            assert!(!output.contains(alice) && !output.contains(&alice[4..]));
        }
    }
}

#[tokio::test]
async fn bad_options_are_typed_errors() {
    for options in
        [FleetOptions::default().concurrency(0), FleetOptions::default().rate_limit(0.0), FleetOptions::default().rate_limit(f64::NAN)]
    {
        let err = Fleet::new(options).unwrap_err();
        assert_eq!(err.kind(), databricks_tokens::ErrorKind::Config, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accounts_workspaces_feed_the_run_filtered_and_their_clients_built_lazily() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut healths = vec![Health::Healthy; 10];
    healths[2] = Health::NotRunning;
    healths[7] = Health::NotRunning;
    let lf = local_fleet::start(&healths, 2, 4).await.unwrap();
    // Clients are built through a URL resolver that counts them; workspace 5 has no URL (its client
    // cannot be built).
    let built = Arc::new(AtomicUsize::new(0));
    let (counter, template) = (Arc::clone(&built), lf.account.workspace_url_template());
    let unreachable = lf.account.workspace_id(5).unwrap();
    let a = lf
        .account
        .client_builder()
        .retry_policy(quick())
        .workspace_url_resolver(move |ws| {
            counter.fetch_add(1, Ordering::SeqCst);
            (ws.workspace_id.0 != unreachable).then(|| template.replace("{deployment_name}", ws.deployment_name.as_deref().unwrap_or("")))
        })
        .build()
        .unwrap();

    let concurrency = 2;
    let fleet = Fleet::new(FleetOptions::default().concurrency(concurrency)).unwrap();
    let members = fleet.account_members(&a).await.unwrap();
    assert_eq!(members.len(), 10, "every workspace of the account, whatever its status");
    assert_eq!(built.load(Ordering::SeqCst), 0, "no client is built before the run takes its member");
    let mut events = std::pin::pin!(fleet.audit(members));
    let (mut finished, mut outcomes) = (0, BTreeMap::new());
    while let Some(event) = events.next().await {
        if let AuditEvent::Workspace(done) = event {
            finished += 1;
            let alive = built.load(Ordering::SeqCst) - finished.min(built.load(Ordering::SeqCst));
            assert!(alive <= concurrency, "{alive} clients alive after {finished} workspaces");
            outcomes.insert(done.workspace.name, done.outcome);
        }
    }
    assert_eq!(built.load(Ordering::SeqCst), 8, "a client for each RUNNING workspace, none for the skipped");
    assert!(matches!(&outcomes["ws-0002"], Outcome::Skipped { status } if status == "PROVISIONING"));
    assert!(matches!(&outcomes["ws-0005"], Outcome::Failed(f) if f.reason() == "configuration"), "{:?}", outcomes["ws-0005"]);
    let done = outcomes.values().filter(|o| matches!(o, Outcome::Done { tokens: 2 })).count();
    assert_eq!(done, 7);
    assert_eq!(lf.ws(2).counters(Route::OAuthToken).received + lf.ws(5).counters(Route::OAuthToken).received, 0);

    // The filter by id and by name: only those are worked on, the others are skipped.
    let ids = [lf.account.workspace_id(0).unwrap(), lf.account.workspace_id(1).unwrap()];
    let fleet = Fleet::new(FleetOptions::default().filter(Filter::default().ids(ids))).unwrap();
    let (records, outcomes, progress) = audit(&fleet, fleet.account_members(&a).await.unwrap()).await;
    assert_eq!((progress.done, progress.skipped, records.len()), (2, 8, 4), "{outcomes:?}");
    let fleet = Fleet::new(FleetOptions::default().filter(Filter::default().names(["ws-0003"]))).unwrap();
    let (records, _, progress) = audit(&fleet, fleet.account_members(&a).await.unwrap()).await;
    assert_eq!((progress.done, progress.skipped), (1, 9));
    assert!(records.iter().all(|r| r.workspace_name == "ws-0003" && r.workspace_id == lf.account.workspace_id(3).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_request_per_workspace_host_reused_for_all_its_calls() {
    let lf = local_fleet::start(&[Health::Healthy; 4], 6, 4).await.unwrap();
    let fleet = Fleet::new(FleetOptions::default()).unwrap();
    // A real revoke: a list and three deletes per workspace, on one token of the workspace's own endpoint.
    let revoked: usize = fleet
        .revoke(lf.members(&fleet, quick()).await, RevokePlan::created_by("bob@example.com"))
        .filter_map(|w| async move { w.report.map(|r| r.revoked.len()) })
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    assert_eq!(revoked, 12);
    for i in 0..4 {
        assert_eq!(lf.ws(i).counters(Route::OAuthToken).received, 1, "ws-{i:04}: one token request");
        assert_eq!(lf.ws(i).counters(Route::ManagementDelete).received, 3);
    }
    assert_eq!(lf.account.token_requests(), 1, "one account token, for the workspace list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_accounts_health_modes_fail_alone() {
    let healths = [Health::Healthy, Health::PatsDisabled, Health::PrivateLink, Health::Slow(Duration::from_secs(30)), Health::Healthy];
    let lf = local_fleet::start(&healths, 2, 5).await.unwrap();
    let fleet = Fleet::new(FleetOptions::default().workspace_timeout(Duration::from_secs(1))).unwrap();
    let (records, outcomes, progress) = audit(&fleet, lf.members(&fleet, quick()).await).await;
    let reason = |name: &str| match &outcomes[name] {
        Outcome::Failed(f) => (f.reason(), f.to_string()),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(reason("ws-0001").0, "personal access tokens disabled");
    assert!(reason("ws-0001").1.contains("FEATURE_DISABLED"), "{}", reason("ws-0001").1);
    assert_eq!(reason("ws-0002").0, "private link only");
    assert!(reason("ws-0002").1.contains("PRIVATE_LINK_VALIDATION_ERROR"), "{}", reason("ws-0002").1);
    assert_eq!(reason("ws-0003").0, "timed out");
    assert_eq!((progress.done, progress.failed, records.len()), (2, 3, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_whose_token_endpoints_fail_spends_the_runs_budget_not_a_minute_each() {
    // Every request of these workspaces, their OAuth endpoints' included, answers 503: the token requests'
    // retries are paid from the run's budget, so the run ends in seconds (without it, each workspace's token
    // requests would retry for the token endpoints' 60 s and the 10 s timeout would end them).
    let healths = [Health::Healthy; 8];
    let lf = local_fleet::start(&healths, 1, 8).await.unwrap();
    for i in 0..8 {
        lf.account.set_health(i, databricks_tokens::local::Health::Unavailable);
    }
    let fleet = Fleet::new(FleetOptions::default().retry_budget(100, 50).workspace_timeout(Duration::from_secs(10))).unwrap();
    let (_, outcomes, progress) = audit(&fleet, lf.members(&fleet, quick()).await).await;
    assert_eq!(progress.failed, 8);
    for (name, outcome) in &outcomes {
        assert!(matches!(outcome, Outcome::Failed(Failure::Api(_))), "{name}: failed on its own, not timed out: {outcome:?}");
    }
    let auth = lf.received(Route::HostMetadata) + lf.received(Route::OidcDiscovery) + lf.received(Route::OAuthToken);
    // At most each workspace's first attempts at its three OAuth endpoints, and the 20 retries the run pays for.
    assert!(auth <= 8 * 3 + 20, "{auth} OAuth requests");
    assert_eq!(lf.received(Route::ManagementList), 0, "no token, no call");
}
