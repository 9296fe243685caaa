//! The fleet writers hold constant memory: the bytes allocated at the peak while writing 100,000 records
//! are no more than while writing 1,000 (measured by a counting allocator; one test in this binary, so
//! nothing else allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use databricks_tokens::fleet::{AuditEvent, CsvWriter, Fleet, FleetOptions, FleetRecord, JsonLinesWriter, Member};
use databricks_tokens::stub::{RequestOptions, TokenFilter};
use databricks_tokens::types::token_management::TokenInfo;
use futures::StreamExt;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes above the starting point while `write` runs.
fn peak_during(write: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    write();
    PEAK.load(Ordering::SeqCst) - base
}

#[test]
fn writers_hold_constant_memory_whatever_the_number_of_records() {
    let one = sample_record();
    let (csv_small, csv_large, json_small, json_large) = (
        peak_during(|| write_csv(&one, 1_000)),
        peak_during(|| write_csv(&one, 100_000)),
        peak_during(|| write_json(&one, 1_000)),
        peak_during(|| write_json(&one, 100_000)),
    );
    // The same peak (buffers), whatever the count; a writer that kept records would hold ~100x more.
    assert!(csv_large <= csv_small + 1024, "csv: {csv_small} B for 1,000 records, {csv_large} B for 100,000");
    assert!(json_large <= json_small + 1024, "json lines: {json_small} B for 1,000 records, {json_large} B for 100,000");
    assert!(csv_large < 64 * 1024 && json_large < 64 * 1024, "{csv_large} {json_large}");
}

/// Counts bytes and drops them.
struct Sink(usize);
impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_csv(r: &databricks_tokens::fleet::FleetRecord, n: usize) {
    let mut w = CsvWriter::new(Sink(0));
    for _ in 0..n {
        w.write(r).unwrap();
    }
    let sink = w.finish().unwrap();
    assert!(sink.0 > n * 50, "every record was written");
}

fn write_json(r: &databricks_tokens::fleet::FleetRecord, n: usize) {
    let mut w = JsonLinesWriter::new(Sink(0));
    for _ in 0..n {
        w.write(r).unwrap();
    }
    let sink = w.finish().unwrap();
    assert!(sink.0 > n * 100, "every record was written");
}

#[derive(Debug)]
struct OneToken;
impl databricks_tokens::stub::Tokens for OneToken {}
impl databricks_tokens::stub::TokenManagement for OneToken {
    async fn list(&self, _: TokenFilter, _: RequestOptions) -> databricks_tokens::Result<Vec<TokenInfo>> {
        Ok(vec![TokenInfo::new("0f3a9c").set_comment("nightly export, \"prod\"").set_creation_time(1_700_000_000_000).set_expiry_time(-1)])
    }
}

/// One record from a fleet run over a stub workspace.
fn sample_record() -> FleetRecord {
    let fleet = Fleet::new(FleetOptions::default()).unwrap();
    let client = databricks_tokens::WorkspaceClient::from_stub(OneToken).with_token_management_stub(OneToken);
    let events: Vec<AuditEvent> = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fleet.audit([Member::new(7, "stubbed", client)]).collect());
    match events.into_iter().next() {
        Some(AuditEvent::Token(r)) => {
            assert!(r.never_expiring && r.expires_beyond_policy);
            *r
        }
        other => panic!("{other:?}"),
    }
}
