//! A fault soak: N token operations against a local workspace that injects faults into a share of the
//! requests, then a comparison of the server's state with what the client believes.
//!
//! ```sh
//! cargo run --example soak --features local-workspace,test-util -- --ops 10000 --fault-rate 0.2 --seed 7
//! ```
//!
//! Operations: exactly-once creates (`.exactly_once()`, each with a unique comment), renames
//! through `update_mask=comment`, revokes, and lists, chosen at random (reproducible with `--seed`).
//! Faults, one per faulted request: 429 with `Retry-After`, 503, an HTML 500, a connection reset before
//! processing, a reset after processing. Waits run on a fake clock, so the soak takes the time of its
//! requests only.
//!
//! It prints operations, faults, failed calls by kind, and the three things that must never happen:
//! - **orphans**: tokens on the server whose id the client never learned;
//! - **duplicates**: more than one token for one create;
//! - **lost updates**: an acknowledged rename or revoke that the server does not show.
//!
//! and exits with status 1 when any of them is not zero.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use databricks_tokens::clock::FakeClock;
use databricks_tokens::local::{Fault, LocalWorkspace, Route};
use databricks_tokens::types::PublicTokenInfo;
use databricks_tokens::{ErrorKind, RetryPolicy, WorkspaceClient};

struct Options {
    ops: usize,
    fault_rate: f64,
    seed: u64,
}

fn usage() -> ! {
    eprintln!("usage: soak [--ops N] [--fault-rate P] [--seed S]");
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options { ops: 1000, fault_rate: 0.2, seed: 1 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--ops" => o.ops = value.parse().unwrap_or_else(|_| usage()),
            "--fault-rate" => o.fault_rate = value.parse().ok().filter(|p: &f64| (0.0..=1.0).contains(p)).unwrap_or_else(|| usage()),
            "--seed" => o.seed = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    o
}

/// What the client believes about one token it created.
#[derive(Debug)]
struct Known {
    /// The comment of its create, which names it uniquely.
    created_as: String,
    /// The comment the server acknowledged last, and whether a later rename may have gone through.
    comment: String,
    comment_uncertain: Option<String>,
    /// Revoked and acknowledged; or a revoke that may have gone through.
    revoked: bool,
    revoke_uncertain: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options();
    let ws = LocalWorkspace::builder().quota(usize::MAX).start().await?;
    let clock = FakeClock::default();
    let w = WorkspaceClient::builder()
        .host(ws.url())
        .token(ws.bootstrap_token().clone())
        .clock(clock.clone())
        .retry_policy(RetryPolicy::default().with_attempt_timeout(Duration::from_secs(10)))
        .build()?;
    let mut rng = fastrand::Rng::with_seed(o.seed);
    let faults = [
        Fault::TooManyRequests { retry_after_seconds: 1 },
        Fault::Unavailable,
        Fault::HtmlServerError,
        Fault::ResetBeforeProcessing,
        Fault::ResetAfterProcessing,
    ];
    let mut known: HashMap<String, Known> = HashMap::new();
    let mut failed: BTreeMap<String, usize> = BTreeMap::new();
    let mut ops_by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut injected = 0usize;

    for n in 0..o.ops {
        let live: Vec<String> = known.iter().filter(|(_, k)| !k.revoked).map(|(id, _)| id.clone()).collect();
        let op = match rng.u8(0..10) {
            _ if live.is_empty() => "create",
            0..=3 => "create",
            4..=5 => "update",
            6..=7 => "delete",
            _ => "list",
        };
        *ops_by_kind.entry(op).or_default() += 1;
        let route = match op {
            "create" => Route::Create,
            "update" => Route::Update,
            "delete" => Route::Delete,
            _ => Route::List,
        };
        if rng.f64() < o.fault_rate {
            ws.inject(route, [faults[rng.usize(..faults.len())].clone()]);
            injected += 1;
        }
        let outcome = match op {
            "create" => {
                let comment = format!("soak-{n}");
                match w.tokens().create().comment(&comment).lifetime(Duration::from_secs(3600)).exactly_once().send().await {
                    Ok(created) => {
                        let id = created.token_id().to_owned();
                        known.insert(
                            id,
                            Known {
                                created_as: comment.clone(),
                                comment,
                                comment_uncertain: None,
                                revoked: false,
                                revoke_uncertain: false,
                            },
                        );
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            "update" => {
                let id = &live[rng.usize(..live.len())];
                let comment = format!("renamed-{n}");
                let result = w.tokens().update(id).comment(&comment).send().await;
                let k = known.get_mut(id).expect("a live token is known");
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
                let id = &live[rng.usize(..live.len())];
                let result = w.tokens().delete(id).send().await;
                let k = known.get_mut(id).expect("a live token is known");
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
            *failed.entry(format!("{op}: {:?}", e.kind())).or_default() += 1;
        }
    }

    let server: Vec<PublicTokenInfo> = ws.tokens();
    let mut by_create: HashMap<&str, usize> = HashMap::new();
    let mut orphans = 0;
    let mut lost = 0;
    for token in &server {
        match known.get(&token.token_id) {
            None => orphans += 1,
            Some(k) => {
                *by_create.entry(k.created_as.as_str()).or_default() += 1;
                let comment = token.comment.as_deref().unwrap_or_default();
                let comment_ok = comment == k.comment || k.comment_uncertain.as_deref() == Some(comment);
                if !comment_ok || k.revoked {
                    lost += 1;
                }
            }
        }
    }
    // A revoke acknowledged is checked above; a token the client believes alive must be on the server.
    let alive_on_server: std::collections::HashSet<&str> = server.iter().map(|t| t.token_id.as_str()).collect();
    lost += known.iter().filter(|(id, k)| !k.revoked && !k.revoke_uncertain && !alive_on_server.contains(id.as_str())).count();
    let duplicates: usize = by_create.values().map(|n| n.saturating_sub(1)).sum();

    let faulted: u64 = ws.all_counters().iter().map(|(_, c)| c.faulted).sum();
    println!("operations: {} ({ops_by_kind:?})", o.ops);
    println!("faults injected: {injected} (requests that met one: {faulted}), fault rate {:.0} %", o.fault_rate * 100.0);
    println!("failed calls (typed): {}", failed.values().sum::<usize>());
    for (kind, count) in &failed {
        println!("  {kind}: {count}");
    }
    println!("tokens on the server: {}, known to the client: {}", server.len(), known.len());
    println!("virtual time waited: {:.0} s", clock.elapsed().as_secs_f64());
    println!("orphans: {orphans}");
    println!("duplicates: {duplicates}");
    println!("lost updates: {lost}");
    if orphans + duplicates + lost > 0 {
        eprintln!("FAIL: the server and the client disagree");
        std::process::exit(1);
    }
    Ok(())
}
