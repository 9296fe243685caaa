//! This crate against a raw `reqwest` client, in one process, on the same loopback server: the cost the SDK
//! adds to a call, as ratios (SDK / raw) measured in alternating pairs, with min / median / max.
//!
//! ```sh
//! cargo run --release --example bench_vs_raw --features local-workspace            # everything
//! cargo run --release --example bench_vs_raw --features local-workspace -- --quick # a smaller run
//! cargo run --release --example bench_vs_raw --features local-workspace -- --no-python
//! cargo run --release --example bench_vs_raw --no-default-features --features native-tls,local-workspace -- --quick
//! cargo run --release --example bench_vs_raw --features local-workspace -- --out-of-process # those rows alone
//! cargo run --release --example bench_vs_raw --features local-workspace -- --out-of-process --pairs 64 --per-task 50
//! ```
//!
//! Rows (each with its goal):
//! - **sequential `list`**: blocks of calls, SDK then raw then raw then SDK..., wall time per call;
//! - **instructions per `list`**: under `valgrind --tool=callgrind` when it is installed (skipped otherwise),
//!   in a child process, `(Ir(2n calls) - Ir(n calls)) / n`, so start-up and client construction cancel out;
//! - **64 in flight**: 64 tasks on one client, multi-thread runtime (2 workers), throughput and the client's
//!   CPU time per call (the runtime's threads and the one driving it, from `/proc/self/task/*/schedstat`),
//!   with the server in this process (the local workspace) and **out of process** (a child process of this
//!   binary, `serve-list`: a minimal hyper server on a current-thread runtime answering a fixed 20-token
//!   list, keep-alive), in 32,000-call blocks, one ratio per pair of blocks;
//! - **100,000-token list** (20 MB): one child process per side and round, peak RSS (VmHWM) over the
//!   payload size, and the time of the call; the raw side downloads the body whole and decodes it with bare
//!   `serde_json` into plain structs;
//! - **client construction**: in a fresh child process, the first and the second client, and the first
//!   call (construction included);
//! - **vs the Python SDK**: `bench/run.sh` (the official `databricks-sdk`), min / median / max over K runs.
//!
//! For a profiler: `bench_vs_raw serve-list TOKEN` serves the fixed 20-token list until its stdin closes,
//! and `bench_vs_raw child-load sdk|raw URL TOKEN BLOCKS` runs one side's blocks of 64 in flight alone.
//!
//! The workspace is `databricks_tokens::local::LocalWorkspace` on its own thread and runtime, holding 20
//! tokens. The 100,000-token list comes from a minimal loopback server that answers a fixed body of the same
//! shape (the local workspace's create is linear in the tokens held, so seeding 100,000 would take minutes).

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use databricks_tokens::WorkspaceClient;
use databricks_tokens::local::LocalWorkspace;
use serde::Deserialize;

const TOKENS: usize = 20;
const BIG: usize = 100_000;
const IN_FLIGHT: usize = 64;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A token as the raw side decodes it: plain types, the same fields.
#[derive(Deserialize)]
#[allow(dead_code)]
struct RawToken {
    token_id: String,
    comment: Option<String>,
    creation_time: Option<i64>,
    expiry_time: Option<i64>,
    scopes: Option<Vec<String>>,
    autoscope_state: Option<String>,
    #[serde(default)]
    backfill_scopes: Vec<String>,
    #[serde(default)]
    inferred_scopes: Vec<String>,
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    token_infos: Vec<RawToken>,
}

/// The raw client: what a user would write with reqwest and serde_json alone.
#[derive(Clone)]
struct Raw {
    http: reqwest::Client,
    url: String,
    authorization: reqwest::header::HeaderValue,
}

impl Raw {
    fn new(host: &str, token: &str) -> Result<Self, BoxError> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        // The SDK's TLS backend on both sides: with `rustls` (the default) raw reqwest uses rustls too, as
        // reqwest 0.13 does by default (with `native-tls` also enabled, reqwest would pick native-tls).
        #[cfg(feature = "rustls")]
        let http = http.tls_backend_rustls();
        let http = http.build()?;
        let mut authorization = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
        authorization.set_sensitive(true);
        Ok(Self { http, url: format!("{host}/api/2.0/token/list"), authorization })
    }

    async fn list(&self) -> Result<usize, BoxError> {
        let response = self
            .http
            .get(&self.url)
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?
            .error_for_status()?;
        let body = response.bytes().await?;
        Ok(serde_json::from_slice::<RawList>(&body)?.token_infos.len())
    }
}

fn sdk(host: &str, token: &str) -> Result<WorkspaceClient, BoxError> {
    Ok(WorkspaceClient::builder().host(host).token(token).build()?)
}

async fn sdk_list(w: &WorkspaceClient) -> Result<usize, BoxError> {
    Ok(w.tokens().list().send().await?.len())
}

// ---------------------------------------------------------------------------------------------------
// Statistics

#[derive(Clone, Copy)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
}

struct Row {
    name: String,
    ratios: Vec<f64>,
    detail: String,
    goal: Goal,
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 }
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

impl Row {
    fn print(&self) {
        let m = median(&self.ratios);
        let (goal, met) = match self.goal {
            Goal::AtMost(g) => (format!("<= {g:.2}"), m <= g),
            Goal::AtLeast(g) => (format!(">= {g:.2}"), m >= g),
        };
        println!(
            "| {:<50} | {:>6.3} | {:>6.3} | {:>6.3} | {:>3} | {:<8} | {:<4} | {} |",
            self.name,
            min(&self.ratios),
            m,
            max(&self.ratios),
            self.ratios.len(),
            goal,
            if met { "met" } else { "NOT" },
            self.detail
        );
    }
}

fn header() {
    println!(
        "| {:<50} | {:>6} | {:>6} | {:>6} | {:>3} | {:<8} | {:<4} | detail |",
        "metric (ratio SDK / raw)", "min", "median", "max", "n", "goal", ""
    );
    println!("|{}|--------|--------|--------|-----|----------|------|--------|", "-".repeat(52));
}

// ---------------------------------------------------------------------------------------------------
// Servers

/// A local workspace on a thread and runtime of its own, seeded with `TOKENS` tokens.
struct Workspace {
    url: String,
    token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Workspace {
    fn start() -> Result<Self, BoxError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
            runtime.block_on(async move {
                let ws = LocalWorkspace::builder().quota(10_000).start().await.expect("local workspace");
                tx.send((ws.url(), ws.bootstrap_token().expose().to_owned())).expect("send url");
                let _ = stopped.await;
                ws.stop().await;
            });
        });
        let (url, token) = rx.recv()?;
        let ws = Self { url, token, stop: Some(stop), thread: Some(thread) };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let w = sdk(&ws.url, &ws.token)?;
            for i in 0..TOKENS {
                w.tokens().create().comment(format!("bench {i}")).send().await?;
            }
            Ok::<_, BoxError>(())
        })?;
        Ok(ws)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The body of a `BIG`-token list, in the local workspace's wire shape.
fn big_body() -> Vec<u8> {
    list_body(BIG)
}

/// The body of an `n`-token list, in the local workspace's wire shape.
fn list_body(n: usize) -> Vec<u8> {
    use databricks_tokens::types::{AutoscopeState, PublicTokenInfo};
    let now = 1_764_000_000_000i64;
    let infos: Vec<PublicTokenInfo> = (0..n)
        .map(|i| {
            let id = format!("{:064x}", (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            PublicTokenInfo::new(id)
                .set_comment(format!("bench token {i:06}"))
                .set_creation_time(now + i as i64)
                .set_expiry_time(now + 63_072_000_000 + i as i64)
                .set_autoscope_state(AutoscopeState::Disabled)
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "token_infos": infos })).expect("serializes")
}

/// A minimal HTTP/1.1 server on loopback answering every request with `body` (an unauthenticated request
/// with 401), on a thread of its own.
struct FixedServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FixedServer {
    fn start(body: bytes::Bytes, token: &str) -> Result<Self, BoxError> {
        use http_body_util::Full;
        let expected = format!("Bearer {token}");
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(format!("http://{}", listener.local_addr().expect("addr"))).expect("send url");
                let expected = Arc::new(expected);
                loop {
                    let accepted = tokio::select! {
                        _ = &mut stopped => break,
                        a = listener.accept() => a,
                    };
                    let Ok((stream, _)) = accepted else { continue };
                    let (body, expected) = (body.clone(), Arc::clone(&expected));
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let ok = req.headers().get("authorization").is_some_and(|v| v.as_bytes() == expected.as_bytes());
                            let mut response = hyper::Response::new(Full::new(if ok { body.clone() } else { bytes::Bytes::new() }));
                            if !ok {
                                *response.status_mut() = hyper::StatusCode::UNAUTHORIZED;
                            }
                            response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
                            async move { Ok::<_, std::convert::Infallible>(response) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        Ok(Self { url: rx.recv()?, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Measurements in this process

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Sequential `list`: `runs` runs of `pairs` alternating pairs of blocks of `calls` calls; a run's ratio is
/// the median of its pairs' ratios.
fn sequential(ws: &Workspace, runs: usize, pairs: usize, calls: usize) -> Result<Row, BoxError> {
    let rt = current_thread();
    rt.block_on(async {
        let w = sdk(&ws.url, &ws.token)?;
        let raw = Raw::new(&ws.url, &ws.token)?;
        for _ in 0..200 {
            assert_eq!(sdk_list(&w).await?, TOKENS);
            assert_eq!(raw.list().await?, TOKENS);
        }
        let (mut ratios, mut sdk_us, mut raw_us) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut run = Vec::new();
            for pair in 0..pairs {
                let mut times = [0.0f64; 2];
                for side in if pair % 2 == 0 { [0, 1] } else { [1, 0] } {
                    let start = Instant::now();
                    for _ in 0..calls {
                        let n = if side == 0 { sdk_list(&w).await? } else { raw.list().await? };
                        debug_assert_eq!(n, TOKENS);
                    }
                    times[side] = start.elapsed().as_secs_f64() / calls as f64;
                }
                run.push(times[0] / times[1]);
                sdk_us.push(times[0] * 1e6);
                raw_us.push(times[1] * 1e6);
            }
            ratios.push(median(&run));
        }
        Ok(Row {
            name: "sequential list, wall time per call".into(),
            detail: format!(
                "median {:.1} us vs {:.1} us per call; {runs} runs of {pairs} pairs of {calls}-call blocks",
                median(&sdk_us),
                median(&raw_us)
            ),
            ratios,
            goal: Goal::AtMost(1.03),
        })
    })
}

/// One side of the comparison, as the 64 tasks of a block call it.
trait Lister: Clone + Send + Sync + 'static {
    fn list(&self) -> impl Future<Output = Result<usize, BoxError>> + Send;
}

impl Lister for WorkspaceClient {
    fn list(&self) -> impl Future<Output = Result<usize, BoxError>> + Send {
        sdk_list(self)
    }
}

impl Lister for Raw {
    fn list(&self) -> impl Future<Output = Result<usize, BoxError>> + Send {
        Raw::list(self)
    }
}

/// The threads of the client: those of its runtime (registered as they start) and the one driving it.
#[derive(Clone, Default)]
struct ClientThreads(Arc<std::sync::Mutex<Vec<u32>>>);

impl ClientThreads {
    fn register_current(&self) {
        // `/proc/thread-self` links to `<pid>/task/<tid>`.
        let tid = std::fs::read_link("/proc/thread-self").ok().and_then(|p| p.file_name()?.to_str()?.parse().ok());
        if let Some(tid) = tid {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(tid);
        }
    }

    /// The CPU time each thread has run so far (ns, from its `schedstat`), by thread id.
    fn cpu(&self) -> Vec<(u32, u64)> {
        let tids = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        tids.into_iter()
            .filter_map(|tid| {
                let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
                Some((tid, stat.split_whitespace().next()?.parse().ok()?))
            })
            .collect()
    }
}

/// The CPU time (s) the threads alive at both ends ran between `before` and `after`.
fn cpu_between(before: &[(u32, u64)], after: &[(u32, u64)]) -> f64 {
    let ns: u64 =
        after.iter().filter_map(|(tid, end)| before.iter().find(|(t, _)| t == tid).map(|(_, start)| end.saturating_sub(*start))).sum();
    ns as f64 / 1e9
}

/// A multi-thread runtime of 2 workers whose threads (and the caller's, which drives it) are `threads`.
fn client_runtime(threads: &ClientThreads) -> Result<tokio::runtime::Runtime, BoxError> {
    let registered = threads.clone();
    // BENCH_WORKERS: another number of workers, to tell contention between them from the rest.
    let workers = std::env::var("BENCH_WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .on_thread_start(move || registered.register_current())
        .build()?;
    threads.register_current();
    Ok(rt)
}

/// One block: `IN_FLIGHT` tasks of `per_task` calls each on one client; its throughput (calls/s) and the
/// client's CPU time per call (s).
async fn in_flight_block<L: Lister>(client: &L, per_task: usize, threads: &ClientThreads) -> Result<(f64, f64), BoxError> {
    let cpu = threads.cpu();
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    client.list().await?;
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let calls = (IN_FLIGHT * per_task) as f64;
    Ok((calls / elapsed, cpu_between(&cpu, &threads.cpu()) / calls))
}

/// 64 calls in flight on one client, on a multi-thread runtime of 2 workers, against the server at `url`
/// (`placement` names where it runs): throughput and the client's CPU time per call, in `runs` runs of
/// `pairs` alternating pairs of blocks of `per_task` calls a task; a run's ratio is the median of its pairs'.
fn in_flight(url: &str, token: &str, placement: &str, runs: usize, pairs: usize, per_task: usize) -> Result<(Row, Row), BoxError> {
    let threads = ClientThreads::default();
    let rt = client_runtime(&threads)?;
    rt.block_on(async {
        let w = sdk(url, token)?;
        let raw = Raw::new(url, token)?;
        assert_eq!(sdk_list(&w).await?, TOKENS);
        assert_eq!(raw.list().await?, TOKENS);
        // Warm both pools to 64 connections.
        in_flight_block(&w, 5, &threads).await?;
        in_flight_block(&raw, 5, &threads).await?;
        let (mut rate_ratios, mut cpu_ratios) = (Vec::new(), Vec::new());
        let (mut sdk_rate, mut raw_rate, mut sdk_cpu, mut raw_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut pair = 0;
        for _ in 0..runs {
            let (mut run_rate, mut run_cpu) = (Vec::new(), Vec::new());
            for _ in 0..pairs {
                let (s, r) = if pair % 2 == 0 {
                    let s = in_flight_block(&w, per_task, &threads).await?;
                    (s, in_flight_block(&raw, per_task, &threads).await?)
                } else {
                    let r = in_flight_block(&raw, per_task, &threads).await?;
                    (in_flight_block(&w, per_task, &threads).await?, r)
                };
                pair += 1;
                run_rate.push(s.0 / r.0);
                run_cpu.push(s.1 / r.1);
                sdk_rate.push(s.0);
                raw_rate.push(r.0);
                sdk_cpu.push(s.1 * 1e6);
                raw_cpu.push(r.1 * 1e6);
            }
            rate_ratios.push(median(&run_rate));
            cpu_ratios.push(median(&run_cpu));
        }
        let blocks = if runs == 1 || pairs == 1 {
            format!("{} pairs of {}-call blocks", runs * pairs, IN_FLIGHT * per_task)
        } else {
            format!("{runs} runs of {pairs} pairs of {}-call blocks", IN_FLIGHT * per_task)
        };
        Ok((
            Row {
                name: format!("{IN_FLIGHT} in flight, server {placement}: throughput"),
                detail: format!("median {:.0} vs {:.0} calls/s; {blocks}", median(&sdk_rate), median(&raw_rate)),
                ratios: rate_ratios,
                goal: Goal::AtLeast(0.97),
            },
            Row {
                name: format!("{IN_FLIGHT} in flight, server {placement}: CPU per call"),
                detail: format!(
                    "median {:.1} vs {:.1} us of client CPU per call (its runtime's threads and the one driving it)",
                    median(&sdk_cpu),
                    median(&raw_cpu)
                ),
                ratios: cpu_ratios,
                goal: Goal::AtMost(1.03),
            },
        ))
    })
}

/// The fixed 20-token list served by a child process of this binary (`serve-list`), which ends when its
/// stdin closes (when this process drops it, or dies).
struct ChildServer {
    url: String,
    child: std::process::Child,
}

impl ChildServer {
    fn start(token: &str) -> Result<Self, BoxError> {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child =
            Command::new(std::env::current_exe()?).args(["serve-list", token]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let mut url = String::new();
        if let Some(stdout) = child.stdout.take() {
            std::io::BufReader::new(stdout).read_line(&mut url)?;
        }
        let url = url.trim().to_owned();
        let server = Self { url, child };
        if !server.url.starts_with("http://") {
            return Err("the server child process did not start".into());
        }
        Ok(server)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The token the out-of-process server expects.
const SERVED_TOKEN: &str = "dapi-bench-out-of-process";

/// In a child, for a profiler: one side's blocks of 64 in flight against an out-of-process server; prints
/// each block's throughput and CPU time per call.
fn child_load(side: &str, blocks: usize) -> Result<(), BoxError> {
    let server = ChildServer::start(SERVED_TOKEN)?;
    let threads = ClientThreads::default();
    let rt = client_runtime(&threads)?;
    rt.block_on(async {
        let (w, raw) = (sdk(&server.url, SERVED_TOKEN)?, Raw::new(&server.url, SERVED_TOKEN)?);
        for i in 0..=blocks {
            let per_task = if i == 0 { 5 } else { 500 };
            let (rate, cpu) = if side == "sdk" {
                in_flight_block(&w, per_task, &threads).await?
            } else {
                in_flight_block(&raw, per_task, &threads).await?
            };
            if i > 0 {
                println!("{side}: {rate:.0} calls/s, {:.1} us CPU per call", cpu * 1e6);
            }
        }
        Ok::<_, BoxError>(())
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(|_| "?".into(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

// ---------------------------------------------------------------------------------------------------
// Measurements in child processes

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Runs this binary as a child with `args`; returns its stdout's last line, split on blanks.
fn child(args: &[&str]) -> Result<Vec<String>, BoxError> {
    let out = Command::new(std::env::current_exe()?).args(args).output()?;
    if !out.status.success() {
        return Err(format!("child {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let stdout = String::from_utf8(out.stdout)?;
    Ok(stdout.lines().last().unwrap_or_default().split_whitespace().map(str::to_owned).collect())
}

/// In a child: one side's big list, `calls` times; prints the best time (s) and the peak RSS (KiB).
fn child_big(side: &str, url: &str, token: &str, calls: usize) -> Result<(), BoxError> {
    let rt = current_thread();
    let best = rt.block_on(async {
        let mut best = f64::INFINITY;
        if side == "sdk" {
            let w = sdk(url, token)?;
            if std::env::var_os("BENCH_RSS_BEFORE").is_some() {
                eprintln!("rss before the call: {} KiB", peak_rss_kib());
            }
            for _ in 0..calls {
                let start = Instant::now();
                let n = sdk_list(&w).await?;
                best = best.min(start.elapsed().as_secs_f64());
                assert_eq!(n, BIG);
            }
        } else {
            let raw = Raw::new(url, token)?;
            for _ in 0..calls {
                let start = Instant::now();
                let n = raw.list().await?;
                best = best.min(start.elapsed().as_secs_f64());
                assert_eq!(n, BIG);
            }
        }
        Ok::<_, BoxError>(best)
    })?;
    println!("{best} {}", peak_rss_kib());
    Ok(())
}

fn big_list(rounds: usize, token: &str) -> Result<(Row, Row), BoxError> {
    let body = big_body();
    let payload = body.len() as f64;
    let server = FixedServer::start(bytes::Bytes::from(body), token)?;
    let (mut time_ratios, mut rss_sdk, mut rss_raw, mut t_sdk, mut t_raw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 { ["sdk", "raw"] } else { ["raw", "sdk"] };
        let mut got = [(0.0, 0.0); 2];
        for side in order {
            let out = child(&["child-big", side, &server.url, token, "3"])?;
            let (t, kib): (f64, f64) = (out[0].parse()?, out[1].parse()?);
            got[usize::from(side == "raw")] = (t, kib * 1024.0 / payload);
        }
        time_ratios.push(got[0].0 / got[1].0);
        t_sdk.push(got[0].0);
        t_raw.push(got[1].0);
        rss_sdk.push(got[0].1);
        rss_raw.push(got[1].1);
    }
    let mb = payload / 1e6;
    Ok((
        Row {
            name: format!("{BIG}-token list ({mb:.1} MB): peak RSS / payload"),
            detail: format!("SDK (absolute, not a ratio); raw client with a buffered body: {:.2}x payload (median)", median(&rss_raw)),
            ratios: rss_sdk,
            goal: Goal::AtMost(2.0),
        },
        Row {
            name: format!("{BIG}-token list: time of the call"),
            detail: format!(
                "median {:.0} ms vs {:.0} ms (raw: download whole + bare serde_json)",
                median(&t_sdk) * 1e3,
                median(&t_raw) * 1e3
            ),
            ratios: time_ratios,
            goal: Goal::AtMost(1.1),
        },
    ))
}

/// In a child: the first client, a second one, the first call; prints the three durations (s).
fn child_cold(side: &str, url: &str, token: &str) -> Result<(), BoxError> {
    let rt = current_thread();
    rt.block_on(async {
        if side == "sdk" {
            let t0 = Instant::now();
            let w = sdk(url, token)?;
            let t1 = Instant::now();
            let w2 = sdk(url, token)?;
            let t2 = Instant::now();
            sdk_list(&w).await?;
            let t3 = Instant::now();
            drop(w2);
            println!("{} {} {}", (t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64(), (t3 - t2).as_secs_f64());
        } else {
            let t0 = Instant::now();
            let raw = Raw::new(url, token)?;
            let t1 = Instant::now();
            let raw2 = Raw::new(url, token)?;
            let t2 = Instant::now();
            raw.list().await?;
            let t3 = Instant::now();
            drop(raw2);
            println!("{} {} {}", (t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64(), (t3 - t2).as_secs_f64());
        }
        Ok::<_, BoxError>(())
    })
}

fn cold_start(ws: &Workspace, rounds: usize) -> Result<(Row, Row), BoxError> {
    let (mut second, mut first_sdk, mut first_raw, mut cold_ratios, mut second_raw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut call_ratio = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 { ["sdk", "raw"] } else { ["raw", "sdk"] };
        let mut got = [[0.0f64; 3]; 2];
        for side in order {
            let out = child(&["child-cold", side, &ws.url, &ws.token])?;
            let i = usize::from(side == "raw");
            for (slot, v) in got[i].iter_mut().zip(&out) {
                *slot = v.parse()?;
            }
        }
        second.push(got[0][1] * 1e3);
        second_raw.push(got[1][1] * 1e3);
        first_sdk.push(got[0][0] * 1e3);
        first_raw.push(got[1][0] * 1e3);
        cold_ratios.push((got[0][0] + got[0][2]) / (got[1][0] + got[1][2]));
        call_ratio.push(got[0][2] / got[1][2]);
    }
    Ok((
        Row {
            name: "client construction after the first, ms".into(),
            detail: format!(
                "SDK, absolute (not a ratio); first client {:.1} ms; raw reqwest: first {:.1} ms, second {:.1} ms",
                median(&first_sdk),
                median(&first_raw),
                median(&second_raw)
            ),
            ratios: second,
            goal: Goal::AtMost(1.0),
        },
        Row {
            name: "fresh process: first client + first call".into(),
            detail: format!("first call alone (connection included): median ratio {:.2}", median(&call_ratio)),
            ratios: cold_ratios,
            goal: Goal::AtMost(1.0),
        },
    ))
}

/// In a child, under callgrind: `calls` list calls after a warm-up of 20.
fn child_instr(side: &str, url: &str, token: &str, calls: usize) -> Result<(), BoxError> {
    let rt = current_thread();
    rt.block_on(async {
        if side == "sdk" {
            let w = sdk(url, token)?;
            for _ in 0..20 + calls {
                sdk_list(&w).await?;
            }
        } else {
            let raw = Raw::new(url, token)?;
            for _ in 0..20 + calls {
                raw.list().await?;
            }
        }
        Ok::<_, BoxError>(())
    })
}

/// Instructions a program ran under callgrind.
fn instructions(args: &[&str]) -> Result<f64, BoxError> {
    let dir = std::env::temp_dir().join(format!("bench_vs_raw.{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out_file = dir.join("callgrind.out");
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(std::env::current_exe()?)
        .args(args)
        .output()?;
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("valgrind failed: {stderr}").into());
    }
    let collected = stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .ok_or_else(|| format!("no instruction count in valgrind's output: {stderr}"))?;
    Ok(collected.trim().parse()?)
}

fn instruction_counts(ws: &Workspace, rounds: usize, calls: usize) -> Result<Option<Row>, BoxError> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Ok(None);
    }
    let (n1, n2) = (calls.to_string(), (2 * calls).to_string());
    let (mut ratios, mut sdk_per, mut raw_per) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut per = [0.0; 2];
        for (i, side) in ["sdk", "raw"].into_iter().enumerate() {
            let small = instructions(&["child-instr", side, &ws.url, &ws.token, &n1])?;
            let large = instructions(&["child-instr", side, &ws.url, &ws.token, &n2])?;
            per[i] = (large - small) / calls as f64;
        }
        ratios.push(per[0] / per[1]);
        sdk_per.push(per[0]);
        raw_per.push(per[1]);
    }
    Ok(Some(Row {
        name: "sequential list, instructions per call".into(),
        detail: format!(
            "valgrind callgrind, median {:.0} vs {:.0} instructions per call; (Ir({}) - Ir({calls})) / {calls}",
            median(&sdk_per),
            median(&raw_per),
            2 * calls
        ),
        ratios,
        goal: Goal::AtMost(1.03),
    }))
}

/// `bench/run.sh N K` (this crate against the official Python SDK): its table of min / median / max.
fn python(n: usize, k: usize) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/run.sh");
    eprintln!("python: {} {n} {k} ...", script.display());
    match Command::new("bash").arg(&script).arg(n.to_string()).arg(k.to_string()).output() {
        Ok(out) if out.status.success() => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
            println!("(goal: the figures of bench/README.md are within these ranges)");
        }
        Ok(out) => println!("bench/run.sh failed, the Python rows are skipped: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => println!("bench/run.sh could not run, the Python rows are skipped: {e}"),
    }
    let _ = std::io::stdout().flush();
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(1) {
        "child-big" => return child_big(arg(2), arg(3), arg(4), arg(5).parse()?),
        "child-cold" => return child_cold(arg(2), arg(3), arg(4)),
        "child-instr" => return child_instr(arg(2), arg(3), arg(4), arg(5).parse()?),
        "child-load" => return child_load(arg(2), arg(3).parse()?),
        // The out-of-process server: the fixed 20-token list, until stdin closes.
        "serve-list" => {
            let server = FixedServer::start(bytes::Bytes::from(list_body(TOKENS)), arg(2))?;
            println!("{}", server.url);
            std::io::stdout().flush()?;
            std::io::copy(&mut std::io::stdin(), &mut std::io::sink())?;
            return Ok(());
        }
        // A standalone server of the big list, for profiling a child by hand.
        "serve-big" => {
            let server = FixedServer::start(bytes::Bytes::from(big_body()), arg(2))?;
            println!("{}", server.url);
            std::thread::sleep(std::time::Duration::from_secs(arg(3).parse()?));
            return Ok(());
        }
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let no_python = args.iter().any(|a| a == "--no-python");
    let out_of_process_only = args.iter().any(|a| a == "--out-of-process");
    // The out-of-process rows: `--pairs N` pairs of blocks of `--per-task M` calls a task (finer
    // interleaving when the machine is busy).
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse::<usize>().ok());
    let pairs = flag("--pairs").unwrap_or(16).max(1);
    let per_task = flag("--per-task").unwrap_or(if quick { 100 } else { 500 }).max(1);
    let runs = if quick { 3 } else { 7 };
    let load_before = load_average();
    let mut rows = Vec::new();
    let out_of_process = |rows: &mut Vec<Row>| -> Result<(), BoxError> {
        eprintln!("{IN_FLIGHT} in flight, server out of process ...");
        let server = ChildServer::start(SERVED_TOKEN)?;
        let (rate, cpu) = in_flight(&server.url, SERVED_TOKEN, "out of process", pairs, 1, per_task)?;
        rows.push(rate);
        rows.push(cpu);
        Ok(())
    };
    if out_of_process_only {
        out_of_process(&mut rows)?;
        print_rows(&rows, &load_before);
        return Ok(());
    }

    let ws = Workspace::start()?;
    eprintln!("sequential ...");
    rows.push(sequential(&ws, runs, 15, 200)?);
    eprintln!("instructions ...");
    match instruction_counts(&ws, if quick { 1 } else { 3 }, 200)? {
        Some(row) => rows.push(row),
        None => eprintln!("valgrind is not installed: the instruction row is skipped (apt-get install valgrind)"),
    }
    eprintln!("{IN_FLIGHT} in flight ...");
    let (rate, cpu) = in_flight(&ws.url, &ws.token, "in process", runs, 5, 50)?;
    rows.push(rate);
    rows.push(cpu);
    out_of_process(&mut rows)?;
    eprintln!("big list ...");
    let (rss, time) = big_list(if quick { 3 } else { 5 }, &ws.token)?;
    rows.push(rss);
    rows.push(time);
    eprintln!("cold start ...");
    let (second, first) = cold_start(&ws, if quick { 5 } else { 11 })?;
    rows.push(second);
    rows.push(first);
    drop(ws);

    print_rows(&rows, &load_before);
    if !no_python {
        println!();
        python(if quick { 500 } else { 2000 }, if quick { 3 } else { 5 });
    }
    Ok(())
}

fn print_rows(rows: &[Row], load_before: &str) {
    println!();
    println!(
        "databricks-tokens vs raw reqwest in one process, the same server on loopback; {} cores; {}; TLS: {} on both sides; load average {} before, {} after",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) { "DEBUG BUILD (use --release)" } else { "release build" },
        if cfg!(feature = "rustls") { "rustls" } else { "native-tls" },
        load_before,
        load_average()
    );
    header();
    for row in rows {
        row.print();
    }
}
