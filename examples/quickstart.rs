//! The seed lifecycle: create a token with a comment and a lifetime, list, rename it through a field mask,
//! revoke it.
//!
//! `cargo run --example quickstart --features local-workspace`
//!
//! Which workspace it uses ([`choose`]): yours when any `DATABRICKS_*` variable is set (`DATABRICKS_HOST`,
//! `DATABRICKS_TOKEN`, `DATABRICKS_CONFIG_PROFILE`, ...), configured by `WorkspaceClient::from_env()`
//! from them and `~/.databrickscfg`: a configuration that cannot authenticate, or a profile that does not
//! exist, is an error, never a silent fallback. Otherwise it starts the built-in local workspace on loopback,
//! even when `~/.databrickscfg` exists, and says how to use that file instead
//! (`DATABRICKS_CONFIG_PROFILE=DEFAULT`). It prints the choice first, and never a token's secret value.
//!
//! An error prints as a person reads it (the message, then each cause) on stderr, with exit status 1.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use databricks_tokens::WorkspaceClient;
use databricks_tokens::local::LocalWorkspace;
use databricks_tokens::types::PublicTokenInfo;

/// Which workspace the demo runs against.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// The user's workspace, from `WorkspaceClient::from_env()`, because these variables are set.
    Configured { because: Vec<String> },
    /// The built-in local workspace: no `DATABRICKS_*` variable is set.
    Local,
}

/// Chooses the workspace from the environment's variables: any non-empty `DATABRICKS_*` variable (a host,
/// a credential, a profile, a config file, ...) means "use my workspace"; none means the local workspace.
/// An empty variable counts as unset, as in the configuration. `DATABRICKS_TOKENS_*` variables are this
/// crate's build-time values (`cargo:rustc-env` in `build.rs`), which `cargo run` also sets for the program:
/// they configure nothing.
fn choose(vars: impl IntoIterator<Item = (String, String)>) -> Target {
    let configures = |name: &str| name.starts_with("DATABRICKS_") && !name.starts_with("DATABRICKS_TOKENS_");
    let mut because: Vec<String> =
        vars.into_iter().filter(|(name, value)| configures(name) && !value.is_empty()).map(|(name, _)| name).collect();
    because.sort();
    if because.is_empty() { Target::Local } else { Target::Configured { because } }
}

/// The line that says the local workspace was chosen and how to choose the user's workspace instead;
/// `config_file` is `~/.databrickscfg` when it exists.
fn local_note(url: &str, config_file: Option<&Path>) -> String {
    match config_file {
        Some(file) => format!(
            "No DATABRICKS_* variable set: started the built-in local workspace at {url} (not the profiles of {}; \
             run with DATABRICKS_CONFIG_PROFILE=DEFAULT, or another profile, to use yours)",
            file.display()
        ),
        None => format!(
            "No DATABRICKS_* variable set: started the built-in local workspace at {url} (set DATABRICKS_HOST and \
             DATABRICKS_TOKEN, or DATABRICKS_CONFIG_PROFILE, to use yours)"
        ),
    }
}

/// "DATABRICKS_HOST is set", "DATABRICKS_HOST, DATABRICKS_TOKEN are set".
fn are_set(names: &[String]) -> String {
    format!("{} {} set", names.join(", "), if names.len() == 1 { "is" } else { "are" })
}

/// An error as a person reads it: its message, then each cause, one per line (not its `Debug`).
fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("Error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let target = choose(std::env::vars());
    match run(&target).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", report(error.as_ref()));
            if let Target::Configured { because } = &target {
                eprintln!(
                    "(The quickstart used your workspace because {}; unset the DATABRICKS_* variables to run it \
                     against the built-in local workspace.)",
                    are_set(because)
                );
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(target: &Target) -> Result<(), Box<dyn std::error::Error>> {
    let mut local = None;
    let w = match target {
        Target::Configured { because } => {
            let w = WorkspaceClient::from_env()?;
            println!("Using your workspace at {} (authenticated with {}), because {}", w.host(), w.auth_type(), are_set(because));
            w
        }
        Target::Local => {
            let ws = LocalWorkspace::start().await?;
            let config_file = std::env::var_os("HOME").map(|home| Path::new(&home).join(".databrickscfg"));
            println!("{}", local_note(&ws.url(), config_file.as_deref().filter(|f| f.is_file())));
            let w = ws.client()?;
            local = Some(ws);
            w
        }
    };

    println!("\n1. Create a token for a CI job (5 minutes)");
    let created = w.tokens().create().comment("quickstart: ci job").lifetime(Duration::from_secs(300)).send().await?;
    let id = created.token_id();
    let secret = created.token_value().expose().len();
    println!("   created {} (secret value: {} characters, shown to nobody)", short(id), secret);

    println!("\n2. List my tokens");
    print_table(&w.tokens().list().send().await?);

    println!("\n3. Rename it (update_mask=comment)");
    w.tokens().update(id).comment("quickstart: ci job (renamed)").send().await?;
    print_table(&w.tokens().list().send().await?);

    println!("\n4. Revoke it");
    w.tokens().delete(id).send().await?;
    let left = w.tokens().list().send().await?;
    println!("   revoked {}; {} token(s) left", short(id), left.len());

    if let Some(ws) = local {
        ws.stop().await;
    }
    Ok(())
}

fn short(id: &str) -> String {
    if id.len() > 12 { format!("{}…", &id[..12]) } else { id.to_owned() }
}

fn print_table(tokens: &[PublicTokenInfo]) {
    println!("   {:<14} {:<32} {:>12}", "TOKEN ID", "COMMENT", "EXPIRES IN");
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    for t in tokens {
        let expires = match t.expiry_time.map(i64::from) {
            Some(-1) => "never".to_owned(),
            Some(ms) => format!("{} s", (ms - now_ms).max(0) / 1000),
            None => "?".to_owned(),
        };
        println!("   {:<14} {:<32} {:>12}", short(&t.token_id), t.comment.as_deref().unwrap_or(""), expires);
    }
}

// `cargo test --example quickstart --features local-workspace` (and `cargo test`: the example sets `test = true`).
// The choice and the report are tested here, as functions, rather than by spawning `cargo run --example` from a
// test: that would take the build lock and build the example a second time for a few string checks.
#[cfg(test)]
mod tests {
    use super::*;
    use databricks_tokens::config::Config;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn no_databricks_variable_runs_the_local_workspace() {
        assert_eq!(choose(vars(&[])), Target::Local);
        // Other tools' variables, and empty ones (unset, as for the configuration), do not count.
        let env = vars(&[("HOME", "/home/u"), ("ARM_CLIENT_ID", "x"), ("DATABRICKS_HOST", ""), ("MY_DATABRICKS_HOST", "h")]);
        assert_eq!(choose(env), Target::Local);
    }

    /// `cargo run` (and `cargo test`) sets the build script's `cargo:rustc-env` variables for the program.
    #[test]
    fn the_variables_cargo_sets_for_the_program_do_not_count() {
        let from_cargo: Vec<(String, String)> = std::env::vars().filter(|(name, _)| name.starts_with("DATABRICKS_TOKENS_")).collect();
        assert!(from_cargo.iter().any(|(name, _)| name == "DATABRICKS_TOKENS_RUSTC_VERSION"), "{from_cargo:?}");
        assert_eq!(choose(from_cargo), Target::Local);
    }

    #[test]
    fn any_databricks_variable_means_the_users_workspace() {
        for name in ["DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE", "DATABRICKS_CLIENT_ID"] {
            assert_eq!(choose(vars(&[("HOME", "/home/u"), (name, "x")])), Target::Configured { because: vec![name.to_owned()] });
        }
        let both = choose(vars(&[("DATABRICKS_TOKEN", "dapi"), ("DATABRICKS_HOST", "https://h")]));
        let because = vec!["DATABRICKS_HOST".to_owned(), "DATABRICKS_TOKEN".to_owned()];
        assert_eq!(are_set(&because), "DATABRICKS_HOST, DATABRICKS_TOKEN are set");
        assert_eq!(both, Target::Configured { because });
    }

    /// A profile that does not exist is the configuration's error, read as a message, not as `Debug`.
    #[test]
    fn a_missing_profile_is_reported_as_a_message() {
        let env = vars(&[("DATABRICKS_CONFIG_PROFILE", "nope"), ("HOME", "/nonexistent-home")]);
        assert!(matches!(choose(env.clone()), Target::Configured { .. }));
        let error = Config::builder().env_vars(env).build().unwrap_err();
        let text = report(&error);
        assert!(text.starts_with("Error: profile \"nope\" was asked for but the config file"), "{text}");
        assert!(text.contains("/nonexistent-home/.databrickscfg does not exist"), "{text}");
        assert!(!text.contains("kind:") && !text.contains("Error {"), "{text}");
    }

    #[test]
    fn a_report_lists_every_cause() {
        let inner = std::io::Error::other("connection refused");
        let error = databricks_tokens::Error::transport("cannot reach the workspace", inner);
        assert_eq!(report(&error), "Error: cannot reach the workspace\n  caused by: connection refused");
    }

    #[test]
    fn the_local_note_says_how_to_use_the_users_workspace() {
        let with_file = local_note("http://127.0.0.1:1", Some(Path::new("/home/u/.databrickscfg")));
        assert!(with_file.contains("/home/u/.databrickscfg") && with_file.contains("DATABRICKS_CONFIG_PROFILE=DEFAULT"), "{with_file}");
        let without = local_note("http://127.0.0.1:1", None);
        assert!(without.contains("http://127.0.0.1:1") && without.contains("DATABRICKS_HOST"), "{without}");
    }
}
