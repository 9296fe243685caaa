//! An account admin's audit of every token in every workspace of an account, written as CSV, with a
//! progress line, a summary table, and a dry run of revoking the unused ones.
//!
//! `cargo run --example fleet_audit --features local-workspace`
//!
//! With no account configured it starts a local account of 50 workspaces on loopback (one listener, 20
//! tokens each; some unhealthy on purpose: the auditor not an admin, 503 forever, connections reset, a
//! slow one, one throttled, PATs disabled, private link only, one still provisioning), moves their clocks
//! 100 days on (some tokens are still used), and audits them all through `AccountClient` as the account's
//! service principal (OAuth M2M): the workspaces come from the account's list, each client from
//! `AccountClient::workspace_client`. It never prints a token's value or a credential.
//!
//! With `DATABRICKS_HOST` (the account console) and `DATABRICKS_ACCOUNT_ID` set, and an account-level
//! credential (`DATABRICKS_CLIENT_ID` + `DATABRICKS_CLIENT_SECRET` of an account admin service principal,
//! a profile, ...), it audits that account's `RUNNING` workspaces the same way, and revokes nothing.

#[path = "support/local_fleet.rs"]
mod local_fleet;

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use databricks_tokens::admin::RevokePlan;
use databricks_tokens::fleet::{AuditEvent, CsvWriter, Fleet, FleetOptions, FleetTally, Outcome};
use databricks_tokens::{AccountClient, RetryPolicy};
use futures::StreamExt;
use local_fleet::{Health, LocalFleet};

const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("DATABRICKS_ACCOUNT_ID").is_some() {
        let a = AccountClient::from_env()?;
        println!("Auditing account {} at {} ({})", a.account_id(), a.host(), a.auth_type());
        let fleet = Fleet::new(FleetOptions::default())?;
        audit(&a, &fleet).await?;
        return Ok(());
    }
    let lf = local_account().await?;
    // Quick retries so that the demo's 503s end in seconds (the defaults wait up to 60 s).
    let retry = RetryPolicy::default()
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_max_retry_after(Duration::from_millis(200));
    let a = lf.client(retry);
    let fleet = Fleet::new(FleetOptions::default().workspace_timeout(Duration::from_secs(3)))?;
    let (would, unused) = audit(&a, &fleet).await?;
    assert_eq!(would, unused, "the dry run selects what the audit flagged");
    let deletes = lf.received(databricks_tokens::local::Route::ManagementDelete);
    println!("   {deletes} delete requests reached the workspaces");
    assert_eq!(deletes, 0, "a dry run revokes nothing");
    Ok(())
}

/// A local account of 50 workspaces, some unhealthy, 100 days on.
async fn local_account() -> Result<LocalFleet, Box<dyn std::error::Error>> {
    let mut healths = vec![Health::Healthy; 50];
    let unhealthy = [
        Health::NotAdmin,
        Health::NotAdmin,
        Health::Unavailable,
        Health::Reset,
        Health::Slow(Duration::from_secs(30)),
        Health::Throttled,
        Health::PatsDisabled,
        Health::PrivateLink,
        Health::NotRunning,
    ];
    for (i, h) in unhealthy.into_iter().enumerate() {
        healths[3 + i * 5] = h;
    }
    let started = Instant::now();
    let mut lf = local_fleet::start(&healths, 20, 16).await?;
    // 100 days later (bob's 60-day tokens expired): alice's first token is still used in every other
    // workspace, and bob made a 5-day token for a hotfix in every third.
    lf.advance(100 * DAY);
    for i in (0..healths.len()).filter(|i| healths[*i] == Health::Healthy) {
        let as_user = |token| databricks_tokens::WorkspaceClient::builder().host(lf.ws(i).url()).token(token).build();
        if i % 2 == 0 {
            as_user(lf.alice_tokens[i].clone().ok_or("no token")?)?.tokens().list().send().await?;
        }
        if i % 3 == 0 {
            let bob = as_user(format!("dapi-bob-{i}").into())?;
            bob.tokens().create().comment("bob: hotfix").lifetime(5 * DAY).send().await?;
        }
    }
    println!(
        "Started a local account of {} workspaces x 20 tokens on one listener in {:.1} s ({} unhealthy on purpose: {})",
        lf.account.len(),
        started.elapsed().as_secs_f64(),
        unhealthy.len(),
        unhealthy.iter().map(|h| h.label()).collect::<Vec<_>>().join(", ")
    );
    Ok(lf)
}

/// Audits every workspace of the account to CSV with a progress line and a summary, then a dry run of
/// revoking the unused tokens.
/// Gives what the dry run would revoke and what the audit flagged unused.
async fn audit(a: &AccountClient, fleet: &Fleet) -> Result<(usize, usize), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("fleet-audit-{}.csv", std::process::id()));
    let mut csv = CsvWriter::new(std::fs::File::create(&path)?);
    let mut tally = FleetTally::default();
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let members = fleet.account_members(a).await?;
    println!("The account lists {} workspaces", members.len());
    let mut events = std::pin::pin!(fleet.audit(members));
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
    let mut runs = std::pin::pin!(fleet.revoke(fleet.account_members(a).await?, RevokePlan::unused_for(90 * DAY).dry_run()));
    while let Some(w) = runs.next().await {
        if let (Outcome::Done { tokens }, Some(report)) = (&w.done.outcome, &w.report) {
            assert!(report.dry_run && report.revoked.is_empty(), "a dry run revokes nothing");
            would += tokens;
        }
    }
    println!("   would revoke {would} tokens; revoked none (a dry run)");
    Ok((would, tally.unused))
}
