//! `databricks-cli`: tokens from the Databricks CLI's own login (`databricks auth login`), obtained by
//! running `databricks auth token`, as every official SDK does.
//!
//! The binary is `DATABRICKS_CLI_PATH` or `databricks` on `PATH`; a file under 1 MiB is the legacy Python
//! CLI, which cannot issue tokens, and is refused. The CLI runs without a shell, arguments as a list,
//! with a timeout; its output `{access_token, token_type, expiry}` is cached until shortly before
//! `expiry`, then the CLI runs again.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::refresh::{Now, Refreshing, Token, TokenSource};
use crate::clock::{BoxFuture, Clock, SystemClock};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Where to get the CLI.
pub(crate) const CLI_INSTALL_DOCS: &str = "https://docs.databricks.com/dev-tools/cli/install.html";

/// A CLI binary smaller than this is the legacy Python CLI (as the Go SDK decides).
const LEGACY_CLI_MAX_SIZE: u64 = 1024 * 1024;

/// How long `databricks auth token` may run by default.
pub const DEFAULT_CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes of the CLI's standard error that an error message quotes.
const MAX_STDERR: usize = 1024;

/// Finds the CLI: an explicit path (`DATABRICKS_CLI_PATH`, a bare name is looked up on `path`), else
/// `databricks` on `path`. `Err` says why not, in words fit for the chain's listing.
pub(crate) fn find_cli(explicit: Option<&str>, path: Option<OsString>) -> std::result::Result<PathBuf, String> {
    let name = explicit.unwrap_or("databricks");
    let candidates: Vec<PathBuf> = if Path::new(name).components().count() > 1 {
        vec![PathBuf::from(name)]
    } else {
        let Some(path) = path else {
            return Err(format!("no {name:?} on PATH (PATH is not set)"));
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        which::which_in_all(name, Some(path), cwd).map(Iterator::collect).unwrap_or_default()
    };
    // As the Go SDK does: the first candidate that is not the legacy CLI wins.
    let mut why = format!("no {name:?} on PATH");
    for candidate in candidates {
        match std::fs::metadata(&candidate) {
            Ok(m) if m.is_file() && m.len() >= LEGACY_CLI_MAX_SIZE => return Ok(candidate),
            Ok(m) if m.is_file() => {
                why = format!(
                    "{} is the legacy Python Databricks CLI (under 1 MiB), which cannot issue tokens: install the new CLI ({CLI_INSTALL_DOCS})",
                    candidate.display()
                );
            }
            Ok(_) => why = format!("{} is not a file", candidate.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => why = format!("{} does not exist", candidate.display()),
            Err(e) => why = format!("{} cannot be used ({})", candidate.display(), e.kind()),
        }
    }
    Err(why)
}

/// Credentials from the Databricks CLI: runs `databricks auth token` and caches what it prints.
///
/// ```no_run
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::WorkspaceClient;
/// use databricks_tokens::auth::DatabricksCliCredentials;
/// let cli = DatabricksCliCredentials::for_profile("databricks", "dev");
/// let w = WorkspaceClient::builder().host("https://example.cloud.databricks.com").credentials(cli).build()?;
/// # Ok(()) }
/// ```
///
/// With a profile the CLI runs as `databricks auth token --profile <profile>`, else as
/// `databricks auth token --host <host>`. Configured through [`crate::config`] (`auth_type =
/// databricks-cli`, or by the default chain when the CLI is installed), the binary is found for you;
/// built by hand, `program` is run as given. Nothing runs until the first request.
pub struct DatabricksCliCredentials {
    inner: Refreshing<CliTokenSource>,
}

impl fmt::Debug for DatabricksCliCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.inner.source();
        f.debug_struct("DatabricksCliCredentials").field("program", &source.program).field("args", &source.args).finish_non_exhaustive()
    }
}

struct CliTokenSource {
    program: PathBuf,
    args: Vec<String>,
    timeout: Duration,
}

impl fmt::Debug for CliTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CliTokenSource").field("program", &self.program).field("args", &self.args).finish()
    }
}

impl DatabricksCliCredentials {
    /// Runs `program auth token --profile <profile>`.
    pub fn for_profile(program: impl Into<PathBuf>, profile: &str) -> Self {
        Self::with_args(program.into(), vec!["auth".into(), "token".into(), "--profile".into(), profile.to_owned()])
    }

    /// Runs `program auth token --host <host>`.
    pub fn for_host(program: impl Into<PathBuf>, host: &str) -> Self {
        Self::with_args(program.into(), vec!["auth".into(), "token".into(), "--host".into(), host.to_owned()])
    }

    /// Runs `program auth token --host <host> --account-id <account_id>`: an account's token.
    pub fn for_account(program: impl Into<PathBuf>, host: &str, account_id: &str) -> Self {
        let args = ["auth", "token", "--host", host, "--account-id", account_id];
        Self::with_args(program.into(), args.map(str::to_owned).into())
    }

    fn with_args(program: PathBuf, args: Vec<String>) -> Self {
        let source = CliTokenSource { program, args, timeout: DEFAULT_CLI_TIMEOUT };
        Self { inner: Refreshing::new("databricks-cli", source, Arc::new(SystemClock)) }
    }

    /// How long one run of the CLI may take (default 30 s).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map_source(|s| s.timeout = timeout, None)
    }

    /// Uses this clock for token expiry (inject one in tests).
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map_source(|_| {}, Some(clock))
    }

    fn map_source(self, change: impl FnOnce(&mut CliTokenSource), clock: Option<Arc<dyn Clock>>) -> Self {
        let clock = clock.unwrap_or_else(|| self.inner.clock());
        let mut source = self.inner.into_source();
        change(&mut source);
        Self { inner: Refreshing::new("databricks-cli", source, clock) }
    }
}

super::refresh::delegate_to_refreshing!(DatabricksCliCredentials);

impl CliTokenSource {
    fn command_line(&self) -> String {
        let name = self.program.file_name().map_or_else(|| self.program.display().to_string(), |n| n.to_string_lossy().into_owned());
        format!("`{name} {}`", self.args.join(" "))
    }
}

impl TokenSource for CliTokenSource {
    fn fetch(&self, now: Now) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            let command = self.command_line();
            let program =
                Program { auth_type: "databricks-cli", path: &self.program, install: "install the Databricks CLI", docs: CLI_INSTALL_DOCS };
            let output = program.run(&command, &self.args, &[], self.timeout).await.map_err(|e| match e {
                RunError::CannotStart(e) => e.with_hint(" or set DATABRICKS_CLI_PATH"),
                RunError::Failed(e) => e,
            })?;
            if !output.status.success() {
                let stderr = scrub(&String::from_utf8_lossy(&output.stderr));
                return Err(Error::auth(format!(
                    "databricks-cli: {command} failed ({}): {stderr}. Log in with `databricks auth login`",
                    output.status
                )));
            }
            parse_output(&command, &output.stdout, now)
        })
    }
}

/// A program a provider runs: never through a shell, arguments as a list, standard input closed, killed
/// when its timeout passes or the request is dropped.
pub(crate) struct Program<'a> {
    pub(crate) auth_type: &'a str,
    pub(crate) path: &'a Path,
    /// What to do when it is missing, e.g. `install the Azure CLI`.
    pub(crate) install: &'a str,
    pub(crate) docs: &'a str,
}

/// Why a program could not be run.
pub(crate) enum RunError {
    /// It could not be started (missing, not executable).
    CannotStart(HintedError),
    /// It started but did not finish (timeout, I/O error).
    Failed(Error),
}

/// An error whose message a caller may extend before it is built.
pub(crate) struct HintedError {
    message: String,
}

impl HintedError {
    pub(crate) fn with_hint(self, hint: &str) -> Error {
        Error::auth(format!("{}{hint}", self.message))
    }
}

/// How many more times a program is started when its file is busy being written.
const SPAWN_RETRIES_WHEN_BUSY: usize = 5;

impl Program<'_> {
    /// Runs the program with `args` and the extra environment variables `env`; `command` names it in
    /// errors.
    pub(crate) async fn run(
        &self,
        command: &str,
        args: &[String],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> std::result::Result<std::process::Output, RunError> {
        let auth_type = self.auth_type;
        let spawn = || {
            tokio::process::Command::new(self.path)
                .args(args)
                .envs(env.iter().copied())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
        };
        // "Text file busy": the program was just written (an update of the CLI, or a test's fake) and a
        // process forked meanwhile still holds it open for writing; that passes within milliseconds.
        let mut spawned = spawn();
        for _ in 0..SPAWN_RETRIES_WHEN_BUSY {
            match &spawned {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    spawned = spawn();
                }
                _ => break,
            }
        }
        let child = spawned.map_err(|e| {
            RunError::CannotStart(HintedError {
                message: format!("{auth_type}: cannot run {} ({}): {} ({})", self.path.display(), e.kind(), self.install, self.docs),
            })
        })?;
        match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(RunError::Failed(Error::auth(format!("{auth_type}: running {command} failed: {}", e.kind())))),
            Err(_) => {
                Err(RunError::Failed(Error::timeout(format!("{auth_type}: {command} did not finish within {} s", timeout.as_secs_f64()))))
            }
        }
    }
}

/// Reads `{access_token, token_type, expiry}`; never quotes the output, which holds a token.
fn parse_output(command: &str, stdout: &[u8], now: Now) -> Result<Token> {
    #[derive(serde::Deserialize)]
    struct CliToken {
        access_token: Option<SecretString>,
        token_type: Option<String>,
        expiry: Option<String>,
    }
    let unparsable = |why: String| Error::auth(format!("databricks-cli: the output of {command} is not a token: {why}"));
    let parsed: CliToken = serde_json::from_slice(stdout).map_err(|e| {
        unparsable(format!("not the expected JSON {{access_token, token_type, expiry}} ({:?} at column {})", e.classify(), e.column()))
    })?;
    let token = parsed.access_token.filter(|t| !t.is_empty()).ok_or_else(|| unparsable("no access_token".to_owned()))?;
    let expiry = match parsed.expiry.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(text) => {
            Some(crate::auth::refresh::parse_rfc3339(text).ok_or_else(|| unparsable(format!("expiry {text:?} is not an RFC 3339 time")))?)
        }
        None => None,
    };
    // The token is used until REFRESH_MARGIN before its expiry; without one, for the default lifetime.
    let lifetime = expiry.map(|expiry| now.lifetime_until(expiry));
    if lifetime == Some(Duration::ZERO) {
        return Err(Error::auth(format!("databricks-cli: {command} printed a token that has already expired: log in again")));
    }
    Ok(Token::new(&token, parsed.token_type.as_deref(), now, lifetime))
}

/// The CLI's standard error as an error may quote it: trimmed, cut to [`MAX_STDERR`] bytes, and with
/// anything that looks like a credential (a run of 32 or more token characters) replaced by `***`.
pub(crate) fn scrub(stderr: &str) -> String {
    let mut out = String::new();
    for word in stderr.trim().split_inclusive(char::is_whitespace) {
        let bare = word.trim_end();
        let tokenish = bare.len() >= 32 && bare.chars().all(|c| c.is_ascii_alphanumeric() || "._-~+/=".contains(c));
        out.push_str(if tokenish { "***" } else { bare });
        out.push_str(&word[bare.len()..]);
    }
    let out = crate::redact::truncate(out.trim(), MAX_STDERR);
    if out.is_empty() { "(nothing on standard error)".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_formats() {
        use crate::auth::refresh::parse_rfc3339;
        use std::time::SystemTime;
        let at = |t: &str| parse_rfc3339(t).map(|s| s.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos());
        // Go's zero time, before the epoch (and before what Windows' SystemTime holds: None there, never a panic).
        let zero = parse_rfc3339("0001-01-01T00:00:00Z");
        assert!(zero.is_some_and(|t| t < SystemTime::UNIX_EPOCH) || cfg!(windows), "{zero:?}");
        assert_eq!(at("2024-03-20T10:00:00Z"), Some(1_710_928_800_000_000_000));
        assert_eq!(at("2024-03-20T10:00:00.123456789Z"), Some(1_710_928_800_123_456_789));
        assert_eq!(at("2024-03-20T11:00:00+01:00"), Some(1_710_928_800_000_000_000));
        assert_eq!(at("2024-03-20 10:00:00.5Z"), Some(1_710_928_800_500_000_000));
        assert_eq!(at("tomorrow"), None);
        assert_eq!(at(""), None);
    }

    #[test]
    fn stderr_is_scrubbed_of_anything_token_shaped() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl";
        let text = scrub(&format!("Error: cannot refresh {jwt}\n  dapi0123456789abcdef0123456789abcdef rejected\n"));
        assert_eq!(text, "Error: cannot refresh ***\n  *** rejected");
        assert_eq!(scrub("   "), "(nothing on standard error)");
        assert!(scrub(&"x ".repeat(4000)).len() <= MAX_STDERR + 32);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_program_still_open_for_writing_is_started_once_it_is_closed() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("databricks");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"#!/bin/sh\necho started\n").unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o755)).unwrap();
        // The writer lets go 30 ms later, as a forked process does when it execs.
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(file);
        });
        let program = Program { auth_type: "databricks-cli", path: &path, install: "install it", docs: "docs" };
        let output = program.run("`databricks`", &[], &[], Duration::from_secs(10)).await;
        writer.join().unwrap();
        let output = output.unwrap_or_else(|_| panic!("not started"));
        assert_eq!(output.stdout, b"started\n");
    }
}
