//! Generates the clients of the Tokens API (`spec/tokens.json`) and of the Token Management API
//! (`spec/token_management.json`) and of the account Workspaces API (`spec/workspaces.json`) into `OUT_DIR` with the same function that `cargo xtask regen` uses for
//! the committed snapshots.
//!
//! It re-runs only when the spec or this file changes (and when the codegen crate does, since it is a
//! build dependency); editing `src/` does not re-run it.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=spec/tokens.json");
    println!("cargo:rerun-if-changed=spec/token_management.json");
    println!("cargo:rerun-if-changed=spec/workspaces.json");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=tests/fixtures/paginated.json");
    println!("cargo:rerun-if-changed=tests/fixtures/tokens_with_get_token_info.json");

    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set")));
    generate(&out, "spec/tokens.json", "tokens", Required::Yes);
    generate(&out, "spec/token_management.json", "token_management", Required::Yes);
    generate(&out, "spec/workspaces.json", "workspaces", Required::Yes);
    // Every enum schema of the specs, once (`AutoscopeState` is in two): `crate::wire` includes them.
    let specs: Vec<String> = ["spec/tokens.json", "spec/token_management.json", "spec/workspaces.json"]
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("cannot read {path}: {e}"))))
        .collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let open_enums = databricks_tokens_codegen::open_enums(&specs).unwrap_or_else(|e| fail(&format!("the specs' enums: {e}")));
    std::fs::write(out.join("open_enums.rs"), open_enums)
        .unwrap_or_else(|e| fail(&format!("cannot write the generated open_enums.rs: {e}")));
    // The paginated fixture proves the generic pagination machinery in the crate's own tests; it is compiled
    // only under cfg(test). A packaged crate without tests/ gets empty files.
    generate(&out, "tests/fixtures/paginated.json", "paginated_fixture", Required::No);
    // The proof that adding an operation is a spec edit (`cargo xtask regen` writes the spec): the Tokens API
    // with `get_token_info` more, compiled under cfg(test), whose generated builder a unit test calls.
    // Its service's other operations are spec/tokens.json's, generated above: only what the new one gets is
    // emitted for it (exactly what a regeneration of the edited spec emits for it).
    generate_beside(&out, "tests/fixtures/tokens_with_get_token_info.json", "spec/tokens.json", "get_token_info_fixture");

    // `rust/<version>` in the User-Agent, as the official SDKs send their language version.
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=DATABRICKS_TOKENS_RUSTC_VERSION={version}");
}

/// Whether a spec must exist (the crate's APIs) or may be missing (the test fixtures, absent from a package).
#[derive(PartialEq)]
enum Required {
    Yes,
    No,
}

/// Writes the spec's tables to `<stem>_tables.rs` (read by `src/operation.rs`), its client to
/// `<stem>_client.rs` (in `src/generated.rs`) and its open enums to `<stem>_open_enums.rs`.
fn generate(out: &std::path::Path, spec_path: &str, stem: &str, required: Required) {
    let (tables, client, open_enums) = match std::fs::read_to_string(spec_path) {
        Ok(spec) => {
            let parts = databricks_tokens_codegen::generate_parts(&spec, databricks_tokens_codegen::Target::CRATE)
                .unwrap_or_else(|e| fail(&format!("{spec_path}: {e}")));
            (parts.tables, parts.client, parts.open_enums)
        }
        Err(e) if required == Required::Yes => fail(&format!("cannot read {spec_path}: {e}")),
        Err(_) => (String::new(), String::new(), String::new()),
    };
    // `<stem>_open_enums.rs` is the spec's part of the reviewable snapshot (tests/snapshot.rs); the crate
    // compiles `open_enums.rs`, every spec's at once.
    let files =
        [(format!("{stem}_tables.rs"), tables), (format!("{stem}_client.rs"), client), (format!("{stem}_open_enums.rs"), open_enums)];
    for (file, code) in files {
        std::fs::write(out.join(&file), code).unwrap_or_else(|e| fail(&format!("cannot write the generated {file}: {e}")));
    }
}

/// [`generate`] for a test fixture whose service's other operations are generated from `base_path`.
fn generate_beside(out: &std::path::Path, spec_path: &str, base_path: &str, stem: &str) {
    let (tables, client) = match (std::fs::read_to_string(spec_path), std::fs::read_to_string(base_path)) {
        (Ok(spec), Ok(base)) => {
            let parts = databricks_tokens_codegen::generate_parts_beside(&spec, &base, databricks_tokens_codegen::Target::CRATE)
                .unwrap_or_else(|e| fail(&format!("{spec_path}: {e}")));
            (parts.tables, parts.client)
        }
        _ => (String::new(), String::new()),
    };
    for (file, code) in [(format!("{stem}_tables.rs"), tables), (format!("{stem}_client.rs"), client)] {
        std::fs::write(out.join(&file), code).unwrap_or_else(|e| fail(&format!("cannot write the generated {file}: {e}")));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
