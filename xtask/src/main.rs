//! Maintainer tasks. `cargo xtask regen [--check]` regenerates the committed snapshot of the generated client.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use databricks_tokens_codegen::{Target, generate};

/// One generated file: the spec it comes from and the committed snapshot it is compared with.
struct Snapshot {
    spec: &'static str,
    snapshot: &'static str,
}

const SNAPSHOTS: &[Snapshot] = &[Snapshot { spec: "spec/tokens.json", snapshot: "tests/snapshots/tokens_client.rs" }];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["regen"] => regen(false),
        ["regen", "--check"] => regen(true),
        _ => {
            eprintln!("usage: cargo xtask regen [--check]");
            eprintln!("  regen          rewrite tests/snapshots/ from spec/ and print the diff");
            eprintln!("  regen --check  fail (exit 1) with the diff when the snapshot is stale");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn regen(check: bool) -> ExitCode {
    let root = workspace_root();
    let mut stale = false;
    for snap in SNAPSHOTS {
        let spec_path = root.join(snap.spec);
        let snap_path = root.join(snap.snapshot);
        let spec = match std::fs::read_to_string(&spec_path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", spec_path.display());
                return ExitCode::FAILURE;
            }
        };
        let fresh = match generate(&spec, Target::CRATE) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {}: {e}", snap.spec);
                return ExitCode::FAILURE;
            }
        };
        let committed = std::fs::read_to_string(&snap_path).unwrap_or_default();
        if committed == fresh {
            println!("{} is up to date with {}", snap.snapshot, snap.spec);
            continue;
        }
        stale = true;
        let diff = similar::TextDiff::from_lines(&committed, &fresh);
        print!(
            "{}",
            diff.unified_diff().context_radius(3).header(snap.snapshot, &format!("{} (regenerated from {})", snap.snapshot, snap.spec))
        );
        if check {
            eprintln!("error: {} is stale: run `cargo xtask regen` and commit the result", snap.snapshot);
        } else {
            if let Some(dir) = snap_path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = std::fs::write(&snap_path, &fresh) {
                eprintln!("error: cannot write {}: {e}", snap_path.display());
                return ExitCode::FAILURE;
            }
            println!("wrote {}", snap.snapshot);
        }
    }
    if check && stale { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
