//! Maintainer tasks. `cargo xtask regen [--check]` regenerates the committed snapshot of the generated client.
#![forbid(unsafe_code)]

mod api_diff;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use databricks_tokens_codegen::{Target, generate, open_enum_names};

/// One generated file: the spec it comes from, the committed snapshot it is compared with, and the
/// committed byte copy of the spec that snapshot was generated from (the "old" side of the API summary).
struct Snapshot {
    spec: &'static str,
    snapshot: &'static str,
    spec_copy: &'static str,
}

const SNAPSHOTS: &[Snapshot] = &[
    Snapshot {
        spec: "spec/tokens.json",
        snapshot: "tests/snapshots/tokens_client.rs",
        spec_copy: "tests/snapshots/tokens_client.spec.json",
    },
    Snapshot {
        spec: "spec/token_management.json",
        snapshot: "tests/snapshots/token_management_client.rs",
        spec_copy: "tests/snapshots/token_management_client.spec.json",
    },
    Snapshot {
        spec: "spec/workspaces.json",
        snapshot: "tests/snapshots/workspaces_client.rs",
        spec_copy: "tests/snapshots/workspaces_client.spec.json",
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["regen"] => regen(false),
        ["regen", "--check"] => regen(true),
        _ => {
            eprintln!("usage: cargo xtask regen [--check]");
            eprintln!("  regen          rewrite tests/snapshots/ from spec/ and print the diff and the API changes");
            eprintln!("  regen --check  fail (exit 1) with the diff and the API changes when the snapshot is stale");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn regen(check: bool) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let regenerated = regen_in(&workspace_root(), SNAPSHOTS, check, &mut out)
        .and_then(|outcome| proof_fixture(&workspace_root(), check, &mut out, outcome));
    match regenerated {
        Ok(Outcome::UpToDate | Outcome::Rewritten) => ExitCode::SUCCESS,
        Ok(Outcome::Stale) => {
            eprintln!("error: the snapshot is stale: run `cargo xtask regen` and commit the result");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What `regen_in` found.
#[derive(Debug, PartialEq)]
enum Outcome {
    UpToDate,
    Rewritten,
    Stale,
}

/// Regenerates every snapshot under `root`, writing the diff and the API-change summary to `out`; with
/// `check`, writes nothing. A snapshot is stale when its code or its copy of the spec differs.
fn regen_in(root: &Path, snapshots: &[Snapshot], check: bool, out: &mut impl Write) -> Result<Outcome, String> {
    let mut outcome = Outcome::UpToDate;
    for snap in snapshots {
        let spec_path = root.join(snap.spec);
        let snap_path = root.join(snap.snapshot);
        let copy_path = root.join(snap.spec_copy);
        let spec = std::fs::read_to_string(&spec_path).map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
        let fresh = generate(&spec, Target::CRATE).map_err(|e| format!("{}: {e}", snap.spec))?;
        let committed = std::fs::read_to_string(&snap_path).unwrap_or_default();
        let recorded = std::fs::read(&copy_path).ok();
        let code_fresh = committed == fresh;
        let copy_fresh = recorded.as_deref() == Some(spec.as_bytes());
        if code_fresh && copy_fresh {
            writeln!(out, "{} is up to date with {}", snap.snapshot, snap.spec).map_err(|e| e.to_string())?;
            continue;
        }
        if !code_fresh {
            let diff = similar::TextDiff::from_lines(&committed, &fresh);
            let new_name = format!("{} (regenerated from {})", snap.snapshot, snap.spec);
            write!(out, "{}", diff.unified_diff().context_radius(3).header(snap.snapshot, &new_name)).map_err(|e| e.to_string())?;
        }
        write!(out, "{}", api_summary(snap, recorded.as_deref(), &spec)).map_err(|e| e.to_string())?;
        if check {
            outcome = Outcome::Stale;
        } else {
            if !code_fresh {
                write_file(&snap_path, fresh.as_bytes())?;
                writeln!(out, "wrote {}", snap.snapshot).map_err(|e| e.to_string())?;
            }
            if !copy_fresh {
                write_file(&copy_path, spec.as_bytes())?;
                writeln!(out, "wrote {}", snap.spec_copy).map_err(|e| e.to_string())?;
            }
            outcome = Outcome::Rewritten;
        }
    }
    Ok(outcome)
}

/// The proof that adding an operation is a spec edit: a copy of `spec/tokens.json` with one more operation,
/// `GET /api/2.0/token/{token_id}/info` (`get_token_info`, 200: `PublicTokenInfo`). The crate's tests
/// generate it (build.rs) and call `w.tokens().get_token_info("id").send().await` with nothing else written.
const PROOF_FIXTURE: &str = "tests/fixtures/tokens_with_get_token_info.json";

fn with_get_token_info(spec: &str) -> Result<String, String> {
    let mut spec: serde_json::Value = serde_json::from_str(spec).map_err(|e| format!("spec/tokens.json: {e}"))?;
    let operation = serde_json::json!({
        "get": {
            "operationId": "get_token_info",
            "tags": ["tokens"],
            "summary": "Get one of the caller's tokens",
            "description": "The metadata of one of the caller's tokens, by id.",
            "x-databricks-idempotent": true,
            "parameters": [{"name": "token_id", "in": "path", "required": true, "description": "The id of the token.", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The token.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublicTokenInfo"}}}}}
        }
    });
    let paths = spec.get_mut("paths").and_then(serde_json::Value::as_object_mut).ok_or("spec/tokens.json has no paths")?;
    paths.insert("/api/2.0/token/{token_id}/info".to_owned(), operation);
    serde_json::to_string_pretty(&spec).map(|s| s + "\n").map_err(|e| e.to_string())
}

fn proof_fixture(root: &Path, check: bool, out: &mut impl Write, outcome: Outcome) -> Result<Outcome, String> {
    let spec_path = root.join("spec/tokens.json");
    let spec = std::fs::read_to_string(&spec_path).map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let fresh = with_get_token_info(&spec)?;
    let path = root.join(PROOF_FIXTURE);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(fresh.as_str()) {
        writeln!(out, "{PROOF_FIXTURE} is up to date with spec/tokens.json").map_err(|e| e.to_string())?;
        return Ok(outcome);
    }
    if check {
        writeln!(out, "{PROOF_FIXTURE} is stale").map_err(|e| e.to_string())?;
        return Ok(Outcome::Stale);
    }
    write_file(&path, fresh.as_bytes())?;
    writeln!(out, "wrote {PROOF_FIXTURE}").map_err(|e| e.to_string())?;
    Ok(Outcome::Rewritten)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The API changes from the recorded copy of the spec (the snapshot's) to the current spec.
fn api_summary(snap: &Snapshot, recorded: Option<&[u8]>, spec: &str) -> String {
    let Some(recorded) = recorded else { return "no previous spec recorded: summary skipped\n".to_owned() };
    let old: serde_json::Value = match serde_json::from_slice(recorded) {
        Ok(old) => old,
        Err(e) => return format!("{} is not valid JSON ({e}): summary skipped\n", snap.spec_copy),
    };
    let new: serde_json::Value = match serde_json::from_str(spec) {
        Ok(new) => new,
        Err(e) => return format!("{} is not valid JSON ({e}): summary skipped\n", snap.spec),
    };
    let open = match open_enum_names(spec) {
        Ok(open) => open,
        Err(e) => return format!("{}: {e}: summary skipped\n", snap.spec),
    };
    api_diff::summary(&api_diff::diff(&old, &new, &open.iter().map(String::as_str).collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The proof fixture is the spec with `get_token_info` more, whose generated code has its builder.
    #[test]
    fn the_proof_fixture_adds_get_token_info_and_generates_its_builder() {
        let spec = std::fs::read_to_string(workspace_root().join("spec/tokens.json")).unwrap();
        let fixture = with_get_token_info(&spec).unwrap();
        let code = generate(&fixture, Target::CRATE).unwrap();
        assert!(code.contains("pub fn get_token_info(") && code.contains("pub struct GetTokenInfo"), "{code}");
        assert!(!generate(&spec, Target::CRATE).unwrap().contains("GetTokenInfo"));
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("spec")).unwrap();
        std::fs::write(tmp.path().join("spec/tokens.json"), &spec).unwrap();
        let mut out = Vec::new();
        assert_eq!(proof_fixture(tmp.path(), true, &mut out, Outcome::UpToDate).unwrap(), Outcome::Stale);
        assert_eq!(proof_fixture(tmp.path(), false, &mut out, Outcome::UpToDate).unwrap(), Outcome::Rewritten);
        assert_eq!(proof_fixture(tmp.path(), true, &mut out, Outcome::UpToDate).unwrap(), Outcome::UpToDate);
    }

    /// A spec change makes `--check` fail with a diff that names it; `regen` then makes it pass.
    #[test]
    fn a_spec_change_is_caught_by_check_and_fixed_by_regen() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("spec")).unwrap();
        let spec = std::fs::read_to_string(workspace_root().join("spec/tokens.json")).unwrap();
        std::fs::write(root.join("spec/tokens.json"), &spec).unwrap();
        let snaps = [Snapshot { spec: "spec/tokens.json", snapshot: "snap/client.rs", spec_copy: "snap/client.spec.json" }];
        let run = |check: bool| {
            let mut out = Vec::new();
            let outcome = regen_in(root, &snaps, check, &mut out).unwrap();
            (outcome, String::from_utf8(out).unwrap())
        };

        assert_eq!(run(false).0, Outcome::Rewritten);
        assert_eq!(run(true).0, Outcome::UpToDate);

        // Add an optional field to PublicTokenInfo.
        let mut doc: serde_json::Value = serde_json::from_str(&spec).unwrap();
        doc["components"]["schemas"]["PublicTokenInfo"]["properties"]["owner_id"] =
            serde_json::json!({"type": "string", "description": "Id of the user who owns the token."});
        std::fs::write(root.join("spec/tokens.json"), serde_json::to_string_pretty(&doc).unwrap()).unwrap();

        let (outcome, diff) = run(true);
        assert_eq!(outcome, Outcome::Stale);
        assert!(diff.lines().any(|l| l.starts_with('+') && l.contains("pub owner_id")), "{diff}");
        let (outcome, _) = run(false);
        assert_eq!(outcome, Outcome::Rewritten);
        assert_eq!(run(true).0, Outcome::UpToDate);

        // Deterministic: generating twice gives the same bytes.
        let spec = std::fs::read_to_string(root.join("spec/tokens.json")).unwrap();
        assert_eq!(generate(&spec, Target::CRATE).unwrap(), generate(&spec, Target::CRATE).unwrap());
    }

    /// `--check` on a stale snapshot prints the diff, then the API changes since the recorded spec, and fails;
    /// `regen` prints the same summary and records the new spec.
    #[test]
    fn check_prints_the_api_changes_after_the_diff() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("spec")).unwrap();
        let spec = std::fs::read_to_string(workspace_root().join("spec/tokens.json")).unwrap();
        std::fs::write(root.join("spec/tokens.json"), &spec).unwrap();
        let snaps = [Snapshot { spec: "spec/tokens.json", snapshot: "snap/client.rs", spec_copy: "snap/client.spec.json" }];
        let run = |check: bool| {
            let mut out = Vec::new();
            let outcome = regen_in(root, &snaps, check, &mut out).unwrap();
            (outcome, String::from_utf8(out).unwrap())
        };

        let (outcome, first) = run(false);
        assert_eq!(outcome, Outcome::Rewritten);
        assert!(
            first.contains("no previous spec recorded: summary skipped\nwrote snap/client.rs\nwrote snap/client.spec.json\n"),
            "{first}"
        );
        assert_eq!(std::fs::read(root.join("snap/client.spec.json")).unwrap(), spec.as_bytes(), "a byte copy of the spec");

        let mut doc: serde_json::Value = serde_json::from_str(&spec).unwrap();
        doc["components"]["schemas"]["PublicTokenInfo"]["properties"]["owner_id"] = serde_json::json!({"type": "string"});
        doc["components"]["schemas"]["CreateTokenRequest"]["required"] = serde_json::json!(["comment"]);
        // A required field of a body without a default is an argument of the method (else generation fails).
        doc["paths"]["/api/2.0/token/create"]["post"]["x-rust-body-args"] = serde_json::json!(["comment"]);
        std::fs::write(root.join("spec/tokens.json"), serde_json::to_string_pretty(&doc).unwrap()).unwrap();

        let summary = "breaking: CreateTokenRequest.comment became required\n\
                       additive: PublicTokenInfo.owner_id (optional field)\n\
                       API changes: 1 breaking, 1 additive\n";
        let (outcome, stale) = run(true);
        assert_eq!(outcome, Outcome::Stale);
        let diff_end = stale.rfind("pub owner_id").expect("the diff names the new field");
        let summary_at = stale.find(summary).unwrap_or_else(|| panic!("no summary in:\n{stale}"));
        assert!(diff_end < summary_at, "the summary follows the diff:\n{stale}");
        assert!(stale.ends_with(summary), "{stale}");

        let (outcome, rewritten) = run(false);
        assert_eq!(outcome, Outcome::Rewritten);
        assert!(rewritten.contains(&format!("{summary}wrote snap/client.rs\nwrote snap/client.spec.json\n")), "{rewritten}");
        assert_eq!(run(true), (Outcome::UpToDate, "snap/client.rs is up to date with spec/tokens.json\n".to_owned()));

        // A spec change that leaves the code alone (here: compact JSON) still makes the snapshot stale: its copy
        // of the spec differs.
        std::fs::write(root.join("spec/tokens.json"), serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(run(true), (Outcome::Stale, "API changes: none\n".to_owned()));
        assert_eq!(run(false), (Outcome::Rewritten, "API changes: none\nwrote snap/client.spec.json\n".to_owned()));

        // A missing or unreadable copy of the spec skips the summary, never panics.
        std::fs::remove_file(root.join("snap/client.spec.json")).unwrap();
        assert_eq!(run(true), (Outcome::Stale, "no previous spec recorded: summary skipped\n".to_owned()));
        std::fs::write(root.join("snap/client.spec.json"), "{ not json").unwrap();
        let (outcome, out) = run(true);
        assert_eq!(outcome, Outcome::Stale);
        assert!(out.starts_with("snap/client.spec.json is not valid JSON (") && out.ends_with("): summary skipped\n"), "{out}");
    }

    /// The enums the summary treats as open are really replaced by a type that keeps unknown values.
    #[test]
    fn open_enums_are_not_generated_as_closed_enums() {
        let spec = std::fs::read_to_string(workspace_root().join("spec/tokens.json")).unwrap();
        let parts = databricks_tokens_codegen::generate_parts(&spec, Target::CRATE).unwrap();
        let open = open_enum_names(&spec).unwrap();
        assert!(open.contains(&"AutoscopeState".to_owned()), "{open:?}");
        for name in &open {
            assert!(!parts.client.contains(&format!("pub enum {name} ")), "{name} is generated as a closed enum");
            assert!(parts.client.contains(&format!("crate::wire::{name}")), "{name} is not replaced by crate::wire::{name}");
            assert!(parts.open_enums.contains(&format!("pub enum {name} ")) && parts.open_enums.contains("Unknown("), "{name} is not open");
        }
    }
}
