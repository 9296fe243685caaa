//! `~/.databrickscfg` of any content: resolving a configuration from it never panics, fails only with a
//! configuration error, and never shows a secret of the file, in the error or in the `Debug` of what it
//! built.
//!
//! Input, byte by byte:
//! - the first byte picks how a profile is named (none, the builder, `DATABRICKS_CONFIG_PROFILE`) and
//!   whether `DATABRICKS_HOST` is set;
//! - when a profile is named, the next line is its name;
//! - the rest is the file. A line that starts with `!` becomes a secret line: the byte after `!` picks a
//!   secret key (`token`, `password`, ...) and a delimiter, and the value is the marker
//!   `dapi-FUZZ-SECRET` followed by the rest of the line. The marker is removed from everything else, so it
//!   can only be a secret's value, and no output may contain it.
//!
//! It found two ways a secret of the file reached an error (reproducers in
//! `fuzz/artifacts-found/config_file/`, now part of the seed corpus): the INI parser's `\` line
//! continuation, and a section name made of a `token: ...` line. Both are fixed in `src/config.rs`; the
//! target checks them like everything else.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use databricks_tokens::ErrorKind;
use databricks_tokens::config::Config;
use libfuzzer_sys::fuzz_target;

/// Written as the value of a secret key; what the checks look for.
const MARKER: &[u8] = b"FUZZ-SECRET";
/// The value a secret line carries, the marker in it.
const SECRET: &[u8] = b"dapi-FUZZ-SECRET";
/// The INI keys whose values are secrets (config.rs marks them `secret`), in spellings a file may use.
const SECRET_KEYS: &[&[u8]] = &[b"token", b"TOKEN", b"Token", b"password", b"client_secret", b"metadata_service_url", b"  token"];
/// `key<delimiter>value`, as INI allows.
const DELIMITERS: &[&[u8]] = &[b" = ", b"=", b": ", b":", b"\t=\t"];

/// One directory per process (libFuzzer's workers are processes), made once: it is `HOME`.
fn home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("databricks-tokens-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary HOME");
        dir
    })
}

/// Removes every occurrence of the marker, also one that removing another makes.
fn without_marker(mut bytes: Vec<u8>) -> Vec<u8> {
    while let Some(i) = bytes.windows(MARKER.len()).position(|w| w == MARKER) {
        bytes.drain(i..i + MARKER.len());
    }
    bytes
}

/// The file: lines starting with `!` become secret lines.
fn config_file(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 64);
    for (i, line) in raw.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        match line {
            [b'!', pick, rest @ ..] => {
                let pick = usize::from(*pick);
                out.extend_from_slice(SECRET_KEYS[pick % SECRET_KEYS.len()]);
                out.extend_from_slice(DELIMITERS[(pick / SECRET_KEYS.len()) % DELIMITERS.len()]);
                out.extend_from_slice(SECRET);
                out.extend_from_slice(rest);
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

fn assert_no_secret(what: &str, shown: &str, file: &[u8]) {
    let marker = std::str::from_utf8(MARKER).expect("ASCII");
    assert!(
        !shown.contains(marker),
        "a secret of the config file shows in {what}: {shown}\n--- file ---\n{}",
        String::from_utf8_lossy(file)
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let data = without_marker(rest.to_vec());
    let (profile, raw) = match flags & 0b11 {
        1 | 2 => {
            let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
            let profile = String::from_utf8_lossy(&data[..end]).into_owned();
            (Some(profile), data.get(end + 1..).unwrap_or_default())
        }
        _ => (None, &data[..]),
    };
    let file = config_file(raw);
    let home = home();
    std::fs::write(home.join(".databrickscfg"), &file).expect("writing the config file");

    let mut env = vec![("HOME".to_owned(), home.display().to_string())];
    if flags & 0b100 != 0 {
        env.push(("DATABRICKS_HOST".to_owned(), "https://example.cloud.databricks.com".to_owned()));
    }
    let mut builder = Config::builder();
    match (flags & 0b11, profile) {
        (1, Some(p)) => builder = builder.profile(p),
        (2, Some(p)) => env.push(("DATABRICKS_CONFIG_PROFILE".to_owned(), p)),
        _ => {}
    }
    let builder = builder.env_vars(env);
    assert_no_secret("the builder's Debug", &format!("{builder:?}"), &file);

    match builder.build() {
        Ok(config) => {
            assert_no_secret("the config's Debug", &format!("{config:?}"), &file);
            assert_no_secret("the config's debug string", &config.debug_string(), &file);
            assert_no_secret("the host", config.host(), &file);
            let _ = config.auth_type().map(|a| a.to_string());
            if let Err(e) = databricks_tokens::auth::select(&config) {
                assert_eq!(e.kind(), ErrorKind::Config, "{e}");
                assert_no_secret("the selection's error", &e.to_string(), &file);
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert_no_secret("the error", &e.to_string(), &file);
            assert_no_secret("the error's Debug", &format!("{e:?}"), &file);
        }
    }
});
