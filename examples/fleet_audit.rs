//! An account admin's audit of every token in every workspace, written as CSV, with a progress line, a
//! summary table, and a dry run of revoking the unused ones.
//!
//! `cargo run --example fleet_audit --features local-workspace`
//!
//! With no credentials it starts a local fleet of 50 workspaces on loopback (20 tokens each; some unhealthy
//! on purpose: the auditor not an admin, 503 forever, connections reset, a slow one, a 429 storm, one still
//! provisioning), moves their clocks 100 days on (some tokens are still used), and audits them all. It
//! never prints a token's value or a credential.
//!
//! With `DATABRICKS_HOST` and `DATABRICKS_ACCOUNT_ID` set, the members come from the account's workspace
//! list (`AccountClient`, the account part of this crate): until that part is merged, the example says so
//! and stops.

#[path = "support/local_fleet.rs"]
mod local_fleet;

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use databricks_tokens::RetryPolicy;
use databricks_tokens::admin::RevokePlan;
use databricks_tokens::fleet::{AuditEvent, CsvWriter, Fleet, FleetOptions, FleetTally, Outcome};
use futures::StreamExt;
use local_fleet::Health;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("DATABRICKS_ACCOUNT_ID").is_some() {
        eprintln!(
            "DATABRICKS_ACCOUNT_ID is set, but this build lists no account's workspaces yet: the account client \
             (AccountClient) feeds fleet::Member values to the same run. Unset it to run the local fleet."
        );
        std::process::exit(2);
    }
    let mut healths = vec![Health::Healthy; 50];
    let unhealthy = [
        Health::NotAdmin,
        Health::NotAdmin,
        Health::Unavailable,
        Health::Unavailable,
        Health::Reset,
        Health::Slow(Duration::from_secs(30)),
        Health::Storm,
        Health::NotRunning,
    ];
    for (i, h) in unhealthy.into_iter().enumerate() {
        healths[3 + i * 6] = h;
    }
    let started = Instant::now();
    let mut lf = local_fleet::start(&healths, 20, 16).await?;
    // 100 days later (bob's 60-day tokens expired): alice's first token is still used in every other
    // workspace, and bob made a 5-day token for a hotfix in every third.
    lf.advance(100 * DAY);
    for (i, m) in lf.members.iter().enumerate() {
        let as_user = |token| databricks_tokens::WorkspaceClient::builder().host(m.ws.url()).token(token).build();
        // An unhealthy workspace may refuse these: that is fine here.
        if i % 2 == 0 {
            let _ = as_user(m.alice_token.clone().ok_or("no token")?)?.tokens().list().send().await;
        }
        if i % 3 == 0 {
            let bob = as_user(format!("dapi-bob-{i}").into())?;
            let _ = bob.tokens().create().comment("bob: hotfix").lifetime(5 * DAY).send().await;
        }
    }
    println!(
        "Started a local fleet of {} workspaces x 20 tokens in {:.1} s ({} unhealthy on purpose)",
        lf.members.len(),
        started.elapsed().as_secs_f64(),
        healths.iter().filter(|h| **h != Health::Healthy).count()
    );

    // Quick retries so that the demo's storm and 503s end in seconds (the defaults wait up to 60 s).
    let retry = RetryPolicy::default()
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_max_retry_after(Duration::from_millis(200));
    let fleet = Fleet::new(FleetOptions::default().workspace_timeout(Duration::from_secs(3)))?;
    let path = std::env::temp_dir().join(format!("fleet-audit-{}.csv", std::process::id()));
    let mut csv = CsvWriter::new(std::fs::File::create(&path)?);
    let mut tally = FleetTally::default();
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut events = std::pin::pin!(fleet.audit(lf.members(&fleet, retry.clone())));
    while let Some(event) = events.next().await {
        tally.add(&event);
        match &event {
            AuditEvent::Token(record) => csv.write(record)?,
            AuditEvent::Workspace(done) if terminal => eprint!("\r\x1b[2K  {}", done.progress),
            AuditEvent::Workspace(done) if done.progress.remaining == Some(0) => eprintln!("  {}", done.progress),
            _ => {}
        }
    }
    if terminal {
        eprintln!();
    }
    csv.finish()?.flush()?;
    println!("\nAudited in {:.1} s (concurrency {})", started.elapsed().as_secs_f64(), fleet.options().concurrency);
    println!("   {:<34} {:>6}", "WORKSPACES", "");
    println!("   {:<34} {:>6}", "audited", tally.workspaces_done);
    println!("   {:<34} {:>6}", "skipped (not RUNNING)", tally.workspaces_skipped);
    println!("   {:<34} {:>6}", "failed (reported, the run went on)", tally.failed.len());
    println!("   {:<34} {:>6}", "TOKENS", tally.tokens);
    println!("   {:<34} {:>6}", "unused for 90 days", tally.unused);
    println!("   {:<34} {:>6}", "beyond the 90-day lifetime policy", tally.beyond_policy);
    println!("   {:<34} {:>6}", "never expiring", tally.never_expiring);
    println!("   {:<34} {:>6}", "expiring within 7 days", tally.expiring_soon);
    println!("\n   {:<8} {:<34} WHAT THE WORKSPACE SAID", "FAILED", "REASON");
    for (ws, reason, message) in &tally.failed {
        let message: String = message.chars().take(70).collect();
        println!("   {:<8} {:<34} {message}", ws.name, reason);
    }
    println!("\nCSV: {} ({} rows and a header)", path.display(), tally.tokens);

    println!("\nRevoke the tokens unused for 90 days (dry run)");
    let mut would = 0;
    let mut runs = std::pin::pin!(fleet.revoke(lf.members(&fleet, retry), RevokePlan::unused_for(90 * DAY).dry_run()));
    while let Some(w) = runs.next().await {
        if let (Outcome::Done { tokens }, Some(report)) = (&w.done.outcome, &w.report) {
            assert!(report.dry_run && report.revoked.is_empty(), "a dry run revokes nothing");
            would += tokens;
        }
    }
    let deletes = lf.received(databricks_tokens::local::Route::ManagementDelete);
    println!("   would revoke {would} tokens; revoked none ({deletes} delete requests sent)");
    assert_eq!(deletes, 0);
    assert_eq!(would, tally.unused, "the dry run selects what the audit flagged");
    Ok(())
}
