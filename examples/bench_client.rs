//! Client-side cost of the Tokens operations, for `bench/run.sh` (which compares it with the Python SDK).
//!
//! `bench_client URL TOKEN N`: N sequential `list` calls (the workspace holds 20 tokens), then N/4
//! create + delete pairs; prints one JSON line with calls per second and the peak resident memory.

use std::time::Instant;

use databricks_tokens::WorkspaceClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, n] = args.as_slice() else {
        eprintln!("usage: bench_client URL TOKEN N");
        std::process::exit(2);
    };
    let n: usize = n.parse()?;
    let w = WorkspaceClient::builder().host(url).token(token.clone()).build()?;
    let mut seeded = Vec::new();
    for i in 0..20 {
        let created = w.tokens().create().comment(format!("bench {i}")).send().await?;
        seeded.push(created.token_id().to_owned());
    }
    w.tokens().list().send().await?; // warm the connection
    let start = Instant::now();
    for _ in 0..n {
        assert_eq!(w.tokens().list().send().await?.len(), 20);
    }
    let list_per_s = n as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..n / 4 {
        let created = w.tokens().create().comment("cycle").send().await?;
        w.tokens().delete(created.token_id()).send().await?;
    }
    let cycle_per_s = (n / 4) as f64 / start.elapsed().as_secs_f64();
    for id in seeded {
        w.tokens().delete(id).send().await?;
    }
    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .unwrap_or(0);
    println!(r#"{{"client":"rust","list_per_s":{list_per_s:.1},"create_delete_per_s":{cycle_per_s:.1},"peak_rss_kib":{peak_kib}}}"#);
    Ok(())
}
