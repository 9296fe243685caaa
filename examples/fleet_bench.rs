//! The fleet audit's benchmark: a local fleet of 1,000 workspaces x 100 tokens audited at the default
//! concurrency, against the notebook's sequential loop (the same crate, one workspace after the other) and,
//! with `--python <interpreter with databricks-sdk>`, the Python SDK's loop over the same workspaces.
//!
//! `cargo run --release --example fleet_bench --features local-workspace -- [--workspaces 1000] [--small 100]
//! [--tokens 100] [--runs 3] [--latency-ms 5] [--python .venv/bin/python]`
//!
//! A local account serves the workspaces (one listener, each under `/ws/<deployment name>`) in a child
//! process (`fleet_bench serve`), so that each audit's process (`fleet_bench client`, one per run) measures
//! its own peak RSS (`VmHWM`), writing the CSV to a file. Each audit is the real path: an `AccountClient`
//! (OAuth M2M) lists the workspaces, `Fleet::account_members` builds each client. Each request to a local
//! workspace (host metadata, OIDC discovery, the token endpoint, Token Management's list) is answered after
//! `--latency-ms` (the local account's `Health::Slow`; a real workspace is tens of milliseconds away; 0
//! measures loopback alone).
//! Prints every figure with its min / median / max over the runs, and the goals.

#[path = "support/local_fleet.rs"]
mod local_fleet;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use databricks_tokens::AccountClient;
use databricks_tokens::fleet::{AuditEvent, CsvWriter, Filter, Fleet, FleetOptions, Outcome};
use databricks_tokens::local::{Health, LocalAccount, Route};
use futures::StreamExt;
use local_fleet::{AUDITOR, AUDITOR_SECRET};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("client") => client(&args[1..]),
        _ => orchestrate(&args),
    }
}

/// `--name value` from the arguments.
fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Res<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a value").into()),
    }
}

const ROUTES: [Route; 4] = [Route::HostMetadata, Route::OidcDiscovery, Route::OAuthToken, Route::ManagementList];

/// The child that serves the account: prints `account <url> <account id>`, `ws <id> <name> <url>` lines
/// and `ready`, then answers `counters` on stdin with the requests each route received (over every
/// workspace) and the account's token requests, until stdin closes.
fn serve(args: &[String]) -> Res<()> {
    let (n, tokens, latency) = (arg(args, "--workspaces", 1000)?, arg(args, "--tokens", 100)?, arg(args, "--latency-ms", 5u64)?);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let account = rt.block_on(
        LocalAccount::builder()
            .service_principal(AUDITOR, AUDITOR_SECRET)
            .workspaces(n)
            .tokens_per_workspace(tokens)
            .customize(move |_, ws| if latency > 0 { ws.health(Health::Slow(Duration::from_millis(latency))) } else { ws })
            .start(),
    )?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "account {} {}", account.url(), account.account_id())?;
    for i in 0..account.len() {
        let ws = account.workspace(i).ok_or("a workspace")?;
        writeln!(out, "ws {} ws-{i} {}", account.workspace_id(i).ok_or("an id")?, ws.url())?;
    }
    writeln!(out, "ready")?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        if line? == "counters" {
            let mut counts: Vec<String> = ROUTES
                .iter()
                .map(|r| (0..account.len()).filter_map(|i| account.workspace(i)).map(|w| w.counters(*r).received).sum::<u64>().to_string())
                .collect();
            counts.push(account.token_requests().to_string());
            writeln!(out, "counters {}", counts.join(" "))?;
            out.flush()?;
        }
    }
    rt.block_on(account.stop());
    Ok(())
}

/// One audit in a process of its own: `client --account URL ID --ids FILE --first N --concurrency C --csv
/// FILE`; prints `wall_s tokens failed peak_rss_kib`. The wall time includes listing the workspaces.
fn client(args: &[String]) -> Res<()> {
    let (url, account_id): (String, String) = (arg(args, "--account", String::new())?, arg(args, "--account-id", String::new())?);
    let (first, concurrency, csv_path) =
        (arg(args, "--first", usize::MAX)?, arg(args, "--concurrency", 0usize)?, arg(args, "--csv", String::new())?);
    let ids: Vec<i64> = std::fs::read_to_string(arg(args, "--urls", String::new())?)?
        .lines()
        .take(first)
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut options = FleetOptions::default().filter(Filter::default().ids(ids));
    if concurrency > 0 {
        options = options.concurrency(concurrency);
    }
    let fleet = Fleet::new(options)?;
    let a = AccountClient::builder()
        .host(&url)
        .account_id(account_id)
        .oauth_m2m(AUDITOR, AUDITOR_SECRET)
        .workspace_url_template(format!("{url}/ws/{{deployment_name}}"))
        .build()?;
    let mut csv = CsvWriter::new(std::fs::File::create(&csv_path)?);
    let start = Instant::now();
    let (tokens, failed) = rt.block_on(async {
        let (mut tokens, mut failed) = (0usize, 0usize);
        let mut events = std::pin::pin!(fleet.audit(fleet.account_members(&a).await.map_err(std::io::Error::other)?));
        while let Some(event) = events.next().await {
            match event {
                AuditEvent::Token(r) => {
                    tokens += 1;
                    csv.write(&r)?;
                }
                AuditEvent::Workspace(done) if matches!(done.outcome, Outcome::Failed(_)) => {
                    eprintln!("{}: {:?}", done.workspace.name, done.outcome);
                    failed += 1;
                }
                _ => {}
            }
        }
        Ok::<_, std::io::Error>((tokens, failed))
    })?;
    csv.finish()?.sync_all()?;
    let wall = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    println!("{wall} {tokens} {failed} {}", hwm.unwrap_or(0));
    Ok(())
}

/// One run's figures.
struct Audited {
    wall: f64,
    tokens: usize,
    rss_kib: u64,
}

fn orchestrate(args: &[String]) -> Res<()> {
    let (n, small, tokens, runs, latency) = (
        arg(args, "--workspaces", 1000usize)?,
        arg(args, "--small", 100usize)?,
        arg(args, "--tokens", 100usize)?,
        arg(args, "--runs", 3usize)?,
        arg(args, "--latency-ms", 5u64)?,
    );
    let python: Option<String> = arg(args, "--python", String::new()).map(|p| Some(p).filter(|p: &String| !p.is_empty()))?;
    let exe = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let urls = dir.join("workspaces.txt");
    let csv = dir.join("audit.csv");

    println!("fleet bench: {n} local workspaces x {tokens} tokens (and the first {small}), {runs} runs, {latency} ms per request");
    let seeding = Instant::now();
    let mut server = Command::new(&exe)
        .args(["serve", "--workspaces", &n.to_string(), "--tokens", &tokens.to_string(), "--latency-ms", &latency.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut server_in = server.stdin.take().ok_or("no stdin")?;
    let mut server_out = BufReader::new(server.stdout.take().ok_or("no stdout")?).lines();
    let mut listed = String::new();
    let (mut account_url, mut account_id) = (String::new(), String::new());
    loop {
        let line = server_out.next().ok_or("the server ended before it was ready")??;
        if line == "ready" {
            break;
        }
        if let Some(account) = line.strip_prefix("account ") {
            let (url, id) = account.split_once(' ').ok_or("unexpected server output")?;
            (account_url, account_id) = (url.to_owned(), id.to_owned());
            continue;
        }
        listed.push_str(line.strip_prefix("ws ").ok_or("unexpected server output")?);
        listed.push('\n');
    }
    std::fs::write(&urls, listed)?;
    println!("  started and seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let mut counters = || -> Res<Vec<u64>> {
        writeln!(server_in, "counters")?;
        let line = server_out.next().ok_or("the server ended")??;
        Ok(line.split(' ').skip(1).map(|c| c.parse().unwrap_or(0)).collect())
    };

    let audit = |first: usize, concurrency: usize| -> Res<Audited> {
        let out = Command::new(&exe)
            .args(["client", "--account", &account_url, "--account-id", &account_id, "--urls"])
            .arg(&urls)
            .args(["--first", &first.to_string(), "--concurrency", &concurrency.to_string(), "--csv"])
            .arg(&csv)
            .stderr(Stdio::inherit())
            .output()?;
        let text = String::from_utf8(out.stdout)?;
        let f: Vec<&str> = text.split_whitespace().collect();
        if !out.status.success() || f.len() != 4 {
            return Err(format!("the client failed: {text}").into());
        }
        let audited = Audited { wall: f[0].parse()?, tokens: f[1].parse()?, rss_kib: f[3].parse()? };
        if f[2] != "0" || audited.tokens != first.min(n) * tokens {
            return Err(format!("{} workspaces failed, {} tokens of {}", f[2], audited.tokens, first.min(n) * tokens).into());
        }
        Ok(audited)
    };
    let python_audit = |py: &str| -> Res<f64> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/fleet_python.py");
        let out = Command::new(py)
            .arg(script)
            .args([account_url.as_str(), account_id.as_str(), &n.to_string(), AUDITOR, AUDITOR_SECRET])
            .arg(dir.join("python.csv"))
            .env_clear()
            .env("HOME", &dir)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stderr(Stdio::inherit())
            .output()?;
        let text = String::from_utf8(out.stdout)?;
        let f: Vec<&str> = text.split_whitespace().collect();
        if !out.status.success() || f.len() != 2 || f[1].parse::<usize>()? != n * tokens {
            return Err(format!("the Python loop failed: {text}").into());
        }
        Ok(f[0].parse()?)
    };

    let default_concurrency = databricks_tokens::fleet::DEFAULT_CONCURRENCY;
    let (mut conc, mut seq, mut ratio, mut py, mut py_ratio) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut rss_small, mut rss_large, mut rss_ratio) = (vec![], vec![], vec![]);
    let mut per_ws: Vec<Vec<f64>> = vec![vec![]; ROUTES.len()];
    let mut account_tokens = vec![];
    for run in 1..=runs {
        let before = counters()?;
        let large = audit(n, 0)?;
        let after = counters()?;
        for (i, (b, a)) in before.iter().zip(&after).enumerate().take(ROUTES.len()) {
            per_ws[i].push((a - b) as f64 / n as f64);
        }
        account_tokens.push((after[ROUTES.len()] - before[ROUTES.len()]) as f64);
        let little = audit(small, 0)?;
        let sequential = audit(n, 1)?;
        conc.push(large.wall);
        seq.push(sequential.wall);
        ratio.push(sequential.wall / large.wall);
        rss_small.push(little.rss_kib as f64 / 1024.0);
        rss_large.push(large.rss_kib as f64 / 1024.0);
        rss_ratio.push(large.rss_kib as f64 / little.rss_kib as f64);
        let mut line = format!(
            "  run {run}: concurrent {:.2} s, sequential {:.2} s ({:.1}x); peak RSS {:.1} MiB ({small} ws) / {:.1} MiB ({n} ws)",
            large.wall,
            sequential.wall,
            sequential.wall / large.wall,
            little.rss_kib as f64 / 1024.0,
            large.rss_kib as f64 / 1024.0
        );
        if let Some(p) = &python {
            let wall = python_audit(p)?;
            py.push(wall);
            py_ratio.push(wall / large.wall);
            line.push_str(&format!("; Python loop {wall:.2} s"));
        }
        println!("{line}");
    }
    drop(server_in);
    server.wait()?;
    let _ = std::fs::remove_dir_all(&dir);

    println!("\nfigure (min / median / max over {runs} runs)");
    let show = |name: &str, v: &[f64], unit: &str| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        if !s.is_empty() {
            println!("  {name:<58} {:>8.2} / {:>8.2} / {:>8.2} {unit}", s[0], s[s.len() / 2], s[s.len() - 1]);
        }
    };
    show(&format!("wall, {n} workspaces, concurrency {default_concurrency}"), &conc, "s");
    show(&format!("wall, {n} workspaces, sequential (the notebook's loop)"), &seq, "s");
    show("speed-up over the sequential loop", &ratio, "x");
    if python.is_some() {
        show(&format!("wall, {n} workspaces, Python SDK loop"), &py, "s");
        show("speed-up over the Python loop", &py_ratio, "x");
    }
    show(&format!("peak RSS with the CSV writer, {small} workspaces"), &rss_small, "MiB");
    show(&format!("peak RSS with the CSV writer, {n} workspaces"), &rss_large, "MiB");
    show(&format!("peak RSS ratio {n} / {small} workspaces"), &rss_ratio, "x");
    for (route, v) in ROUTES.iter().zip(&per_ws) {
        show(&format!("requests per workspace: {route:?}"), v, "");
    }
    show("account token requests per audit", &account_tokens, "");
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    };
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ngoals (medians)");
    println!("  >= 10x the sequential loop: {:.1}x, {}", median(&ratio), verdict(median(&ratio) >= 10.0));
    println!("  RSS of {n} <= 1.2x RSS of {small} workspaces: {:.2}x, {}", median(&rss_ratio), verdict(median(&rss_ratio) <= 1.2));
    println!("  one token endpoint call per workspace: {:.2}, {}", median(&per_ws[2]), verdict(median(&per_ws[2]) <= 1.0));
    Ok(())
}
