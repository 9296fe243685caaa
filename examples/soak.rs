//! A fault soak: N token operations by several workers of one principal against a local workspace that
//! injects faults into a share of the requests, then a comparison of the server's state with what the
//! workers believe.
//!
//! ```sh
//! cargo run --example soak --features local-workspace,test-util -- --ops 10000 --fault-rate 0.2 --seed 7 --workers 8
//! ```
//!
//! The workers share one principal (one token) and a small set of comments (`ci`, `deploy`, none), so an
//! exactly-once create always has look-alikes made by other workers at the same moment: the race in which
//! a search by comment would revoke another job's token. Operations: exactly-once creates, renames through
//! `update_mask=comment`, revokes, and lists, chosen at random (reproducible with `--seed`; a worker updates
//! and revokes only what it created). Faults, one per faulted request: 429 with `Retry-After`, 503, an HTML
//! 500, a connection reset before processing, a reset after processing, and (creates only) a success status
//! whose body is cut short and a create the service processes after the client gave up on it. The client
//! runs on the real clock with short waits and a small shared retry budget, so budgets run dry.
//!
//! Each create asks for a lifetime of its own (3600 s + its number), which the server's token shows: that is
//! how the soak tells which call a token on the server came from. It prints operations, faults, failed calls
//! by kind, and what must never happen:
//! - **orphans**: tokens on the server from a call that failed without saying a token may exist;
//! - **duplicates**: more than one token on the server for one call;
//! - **foreign revokes**: a token a worker holds (never revoked by it) missing from the server;
//! - **lost updates**: an acknowledged rename or revoke that the server does not show;
//!
//! and exits with status 1 when any of them is not zero. Failures that *say* a token may exist
//! (`Error::orphan_marker`) are counted apart and cleaned up as their error says, as a caller would.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use databricks_tokens::local::{Fault, LocalWorkspace, Route};
use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};

struct Options {
    ops: usize,
    fault_rate: f64,
    seed: u64,
    workers: usize,
}

fn usage() -> ! {
    eprintln!("usage: soak [--ops N] [--fault-rate P] [--seed S] [--workers W]");
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options { ops: 1000, fault_rate: 0.2, seed: 1, workers: 4 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--ops" => o.ops = value.parse().unwrap_or_else(|_| usage()),
            "--fault-rate" => o.fault_rate = value.parse().ok().filter(|p: &f64| (0.0..=1.0).contains(p)).unwrap_or_else(|| usage()),
            "--seed" => o.seed = value.parse().unwrap_or_else(|_| usage()),
            "--workers" => o.workers = value.parse().ok().filter(|w| *w > 0).unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    o
}

/// The lifetime of the create numbered `n`, which names its call on the server.
const BASE_LIFETIME: u64 = 3600;

/// How long the service may sit on a create after the client gave up on it, in this soak.
const LATE: Duration = Duration::from_millis(150);

/// What a worker believes about one token it created.
#[derive(Debug)]
struct Known {
    /// The comment the server acknowledged last, and whether a later rename may have gone through.
    comment: String,
    comment_uncertain: Option<String>,
    /// Revoked and acknowledged; or a revoke that may have gone through.
    revoked: bool,
    revoke_uncertain: bool,
}

/// How each create call ended.
#[derive(Debug)]
enum Outcome {
    Created,
    /// Failed, saying a token carrying this marker may exist.
    Declared(String),
    Failed,
}

#[derive(Default)]
struct Report {
    /// Per create number: how it ended.
    creates: HashMap<u64, Outcome>,
    /// Per token id: what its worker believes.
    known: HashMap<String, Known>,
    failed: BTreeMap<String, usize>,
    ops_by_kind: BTreeMap<&'static str, usize>,
    injected: usize,
}

const COMMENTS: [Option<&str>; 3] = [Some("ci"), Some("deploy"), None];

async fn worker(w: WorkspaceClient, ws: &LocalWorkspace, o: &Options, id: usize) -> Report {
    let mut rng = fastrand::Rng::with_seed(o.seed.wrapping_add(id as u64));
    let faults = [
        Fault::TooManyRequests { retry_after_seconds: 1 },
        Fault::Unavailable,
        Fault::HtmlServerError,
        Fault::ResetBeforeProcessing,
        Fault::ResetAfterProcessing,
    ];
    let create_faults = [Fault::BodyCutAfterStatus, Fault::ProcessLate(LATE)];
    let mut r = Report::default();
    for step in 0..o.ops / o.workers {
        let n = (step * o.workers + id) as u64;
        let live: Vec<String> = r.known.iter().filter(|(_, k)| !k.revoked).map(|(id, _)| id.clone()).collect();
        let op = match rng.u8(0..10) {
            _ if live.is_empty() => "create",
            0..=3 => "create",
            4..=5 => "update",
            6..=7 => "delete",
            _ => "list",
        };
        *r.ops_by_kind.entry(op).or_default() += 1;
        let route = match op {
            "create" => Route::Create,
            "update" => Route::Update,
            "delete" => Route::Delete,
            _ => Route::List,
        };
        if rng.f64() < o.fault_rate {
            let fault = match route {
                Route::Create if rng.u8(0..4) == 0 => create_faults[rng.usize(..create_faults.len())].clone(),
                _ => faults[rng.usize(..faults.len())].clone(),
            };
            ws.inject(route, [fault]);
            r.injected += 1;
        }
        let outcome = match op {
            "create" => {
                let comment = COMMENTS[rng.usize(..COMMENTS.len())];
                let mut create = w.tokens().create().lifetime(Duration::from_secs(BASE_LIFETIME + n));
                if let Some(c) = comment {
                    create = create.comment(c);
                }
                match create.exactly_once_grace(2 * LATE).send().await {
                    Ok(created) => {
                        let token_id = created.token_id().to_owned();
                        r.creates.insert(n, Outcome::Created);
                        // The comment the token ends with, as the answer says (the one asked for, unless its
                        // update failed: then the marked one).
                        let comment = created.token_info().comment.clone().unwrap_or_default();
                        r.known.insert(token_id, Known { comment, comment_uncertain: None, revoked: false, revoke_uncertain: false });
                        Ok(())
                    }
                    Err(e) => {
                        r.creates.insert(n, e.orphan_marker().map_or(Outcome::Failed, |m| Outcome::Declared(m.to_owned())));
                        Err(e)
                    }
                }
            }
            "update" => {
                let token_id = &live[rng.usize(..live.len())];
                let comment = format!("renamed-{n}");
                let result = w.tokens().update(token_id).comment(&comment).send().await;
                let k = r.known.get_mut(token_id).expect("a live token is known");
                match &result {
                    Ok(()) => {
                        k.comment = comment;
                        k.comment_uncertain = None;
                    }
                    Err(_) => k.comment_uncertain = Some(comment),
                }
                result
            }
            "delete" => {
                let token_id = &live[rng.usize(..live.len())];
                let result = w.tokens().delete(token_id).send().await;
                let k = r.known.get_mut(token_id).expect("a live token is known");
                match &result {
                    Ok(()) => k.revoked = true,
                    Err(_) => k.revoke_uncertain = true,
                }
                result
            }
            _ => w.tokens().list().send().await.map(drop),
        };
        if let Err(e) = outcome {
            // Every failure is typed: its kind is what the soak counts.
            assert_ne!(e.kind(), ErrorKind::NotImplementedByStub);
            *r.failed.entry(format!("{op}: {:?}", e.kind())).or_default() += 1;
        }
    }
    r
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options();
    let ws = LocalWorkspace::builder().quota(usize::MAX).start().await?;
    // One principal for every worker; short real waits; a small retry budget shared by the workers.
    let w = WorkspaceClient::builder()
        .host(ws.url())
        .token(ws.bootstrap_token().clone())
        .retry_policy(
            RetryPolicy::default()
                .with_attempt_timeout(Duration::from_millis(100))
                .with_backoff(Duration::from_millis(1), Duration::from_millis(20))
                .with_max_retry_after(Duration::from_millis(20))
                .with_shared_budget(50),
        )
        .build()?;
    let started = std::time::Instant::now();
    let workers = (0..o.workers).map(|id| worker(w.clone(), &ws, &o, id));
    let mut all = Report::default();
    for r in futures::future::join_all(workers).await {
        all.creates.extend(r.creates);
        all.known.extend(r.known);
        all.injected += r.injected;
        for (k, v) in r.failed {
            *all.failed.entry(k).or_default() += v;
        }
        for (k, v) in r.ops_by_kind {
            *all.ops_by_kind.entry(k).or_default() += v;
        }
    }
    // Late creates land after their call ended: give them the time the service takes.
    tokio::time::sleep(2 * LATE).await;

    let server = ws.tokens();
    let mut per_call: HashMap<u64, usize> = HashMap::new();
    let (mut orphans, mut lost, mut declared) = (0, 0, Vec::new());
    for token in &server {
        let lifetime_ms = token.expiry_time.map(i64::from).unwrap_or_default() - token.creation_time.map(i64::from).unwrap_or_default();
        let n = (lifetime_ms / 1000) as u64 - BASE_LIFETIME;
        *per_call.entry(n).or_default() += 1;
        match all.creates.get(&n) {
            Some(Outcome::Created) => {
                let Some(k) = all.known.get(&token.token_id) else { continue }; // a duplicate: counted below
                let comment = token.comment.as_deref().unwrap_or_default();
                let comment_ok = comment == k.comment || k.comment_uncertain.as_deref() == Some(comment);
                if !comment_ok || k.revoked {
                    lost += 1;
                }
            }
            Some(Outcome::Declared(marker)) if token.comment.as_deref().is_some_and(|c| c.contains(marker.as_str())) => {
                declared.push(token.token_id.clone());
            }
            _ => orphans += 1,
        }
    }
    let duplicates: usize = per_call.values().map(|n| n.saturating_sub(1)).sum();
    // A token a worker holds and never revoked must be on the server.
    let alive_on_server: std::collections::HashSet<&str> = server.iter().map(|t| t.token_id.as_str()).collect();
    let foreign_revokes =
        all.known.iter().filter(|(id, k)| !k.revoked && !k.revoke_uncertain && !alive_on_server.contains(id.as_str())).count();
    // What a caller does with an error that names its marker: revoke what carries it.
    for token_id in &declared {
        w.tokens().delete(token_id).send().await?;
    }

    let faulted: u64 = ws.all_counters().iter().map(|(_, c)| c.faulted).sum();
    println!("operations: {} by {} workers of one principal ({:?})", o.ops, o.workers, all.ops_by_kind);
    println!("faults injected: {} (requests that met one: {faulted}), fault rate {:.0} %", all.injected, o.fault_rate * 100.0);
    println!("failed calls (typed): {}", all.failed.values().sum::<usize>());
    for (kind, count) in &all.failed {
        println!("  {kind}: {count}");
    }
    println!("tokens on the server: {}, held by the workers: {}", server.len(), all.known.len());
    println!("time: {:.1} s", started.elapsed().as_secs_f64());
    println!("tokens an error declared (revoked now, as the error says): {}", declared.len());
    println!("orphans: {orphans}");
    println!("duplicates: {duplicates}");
    println!("foreign revokes: {foreign_revokes}");
    println!("lost updates: {lost}");
    if orphans + duplicates + lost + foreign_revokes > 0 {
        eprintln!("FAIL: the server and the workers disagree");
        std::process::exit(1);
    }
    Ok(())
}
