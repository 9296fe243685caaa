//! Redaction of secrets before text reaches a log line or an error.
//!
//! Two rules, both always applied:
//! - **by key**: in a JSON body (whole, or only its first bytes), the string value of every secret key
//!   (the spec's secret fields, `format: password` — `token_value` — read from the generated table, and the
//!   OAuth protocol's `access_token`, `refresh_token`, `id_token`, `client_secret`, `password`,
//!   `subject_token`) is replaced with `**REDACTED**`, at any depth; a body that is not JSON but mentions a
//!   secret key is not logged at all;
//! - **by value**: every secret the client knows ([`KnownSecrets`]: its credentials, the access tokens it
//!   obtained, the token values it received) is replaced with `***` wherever it appears — in a server's
//!   error message that echoes the credential, in a field nobody expected to hold one.
//!
//! - **by shape**: anything shaped like a token the service issues ([`scrub_token_shaped`]: `dapi` and the
//!   other prefixes, then 32 or more letters and digits; at the end of a body cut short, any prefixed run) is
//!   replaced with `***` in a logged body, whatever key holds it: a malformed response may carry a new
//!   token's value where no rule above looks.
//!
//! A logged body shows at most [`MAX_LOGGED_BODY`] bytes. Server text is never trusted to be well formed: a
//! body cut inside a multi-byte character, an unterminated string or a stray escape is logged, never a panic.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The most bytes of a body that a log line shows.
pub const MAX_LOGGED_BODY: usize = 1024;

/// Secret keys of the OAuth protocol (RFC 6749, RFC 8693), which no API spec of ours describes.
const OAUTH_SECRET_KEYS: &[&str] = &["access_token", "refresh_token", "id_token", "client_secret", "password", "subject_token"];

/// Whether a JSON key holds a secret: the spec's secret fields (`format: password`, from the generated
/// table) and the OAuth protocol's.
fn is_secret_key(key: &str) -> bool {
    crate::operation::tables::schema::SECRET_FIELDS.contains(&key) || OAUTH_SECRET_KEYS.contains(&key)
}

fn secret_keys() -> impl Iterator<Item = &'static str> {
    crate::operation::tables::schema::SECRET_FIELDS.iter().chain(OAUTH_SECRET_KEYS).copied()
}

/// How many received secrets (token values) a client remembers; the oldest are forgotten first.
const MAX_RECEIVED_SECRETS: usize = 256;

/// How many of its own credentials a client remembers; the least recently used are forgotten first.
const MAX_CREDENTIALS: usize = 16;

/// A secret shorter than this is not scrubbed by value: it would match ordinary words.
const MIN_SECRET_LEN: usize = 8;

/// The secrets a client knows, to scrub them by value from errors and log lines: its own credentials and
/// the secrets responses carried, kept apart so that creating many tokens never pushes the client's own
/// credential out.
#[derive(Default)]
pub(crate) struct KnownSecrets {
    credentials: Mutex<VecDeque<String>>,
    received: Mutex<VecDeque<String>>,
}

impl std::fmt::Debug for KnownSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = lock(&self.credentials).len() + lock(&self.received).len();
        write!(f, "KnownSecrets({n} remembered, ***)")
    }
}

fn lock(values: &Mutex<VecDeque<String>>) -> std::sync::MutexGuard<'_, VecDeque<String>> {
    values.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts `secret` last in `values` (moving it there when it is already known), forgetting the first past `max`.
fn remember_in(values: &Mutex<VecDeque<String>>, secret: &str, max: usize) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut values = lock(values);
    if values.back().is_some_and(|last| last == secret) {
        return; // the common case: the credential of the previous call
    }
    match values.iter().position(|v| v == secret) {
        Some(i) => {
            let known = values.remove(i).unwrap_or_default();
            values.push_back(known);
        }
        None => {
            if values.len() == max {
                values.pop_front();
            }
            values.push_back(secret.to_owned());
        }
    }
}

impl KnownSecrets {
    /// Remembers one of the client's own credentials (a token it sends).
    pub(crate) fn remember_credential(&self, secret: &str) {
        remember_in(&self.credentials, secret, MAX_CREDENTIALS);
    }

    /// Remembers a secret a response carried (a new token's value).
    pub(crate) fn remember_received(&self, secret: &str) {
        remember_in(&self.received, secret, MAX_RECEIVED_SECRETS);
    }

    /// `text` with every known secret replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for values in [&self.credentials, &self.received] {
            for secret in lock(values).iter() {
                if out.contains(secret.as_str()) {
                    out = out.replace(secret.as_str(), "***");
                }
            }
        }
        out
    }
}

/// A body (or its first bytes, of `total` in all) as a log line may show it.
pub(crate) fn body_for_log(shown: &[u8], total: usize, secrets: &KnownSecrets) -> String {
    if shown.is_empty() {
        return String::new();
    }
    let text = String::from_utf8_lossy(shown);
    let looks_like_json = text.trim_start().starts_with(['{', '[']);
    let mentions_secret_key = secret_keys().any(|k| text.contains(k));
    if !looks_like_json && mentions_secret_key {
        return format!("<{total} bytes, not logged: may hold a secret>");
    }
    let redacted = scrub_token_shaped(&secrets.scrub(&redact_by_key(&text)), total > shown.len());
    let mut line = truncate(&redacted, MAX_LOGGED_BODY);
    if total > shown.len() {
        line.push_str(&format!("... ({total} bytes in all)"));
    }
    line
}

/// Replaces the string value of every secret key with `**REDACTED**`; works on a cut-short body too.
fn redact_by_key(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            let next = text[i..].find('"').map_or(bytes.len(), |n| i + n);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let end = string_end(bytes, i);
        let key = &text[i..end];
        out.push_str(key);
        i = end;
        // Only a whole key (a body cut short may end inside a string, even inside a character).
        let is_secret_key = key.strip_prefix('"').and_then(|k| k.strip_suffix('"')).is_some_and(is_secret_key);
        if !is_secret_key {
            continue;
        }
        // `"key"` then optional blanks, `:`, optional blanks, then a string value.
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= bytes.len() || bytes[j] != b':' {
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'"' {
            out.push_str(&text[i..j]);
            out.push_str("\"**REDACTED**\"");
            i = string_end(bytes, j);
        }
    }
    out
}

/// The index just past the JSON string starting at `start` (a `"`), or the end of a cut-short text.
/// Always a character boundary of `bytes` (a `"` is one byte, and the end is one).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The prefixes of the tokens the service issues: personal access tokens (`dapi`), OAuth secrets (`dose`),
/// and the other Databricks secret prefixes secret scanners know (`dkea`, `dsapi`).
const TOKEN_PREFIXES: &[&str] = &["dapi", "dose", "dkea", "dsapi"];

/// The fewest letters and digits after a prefix for a run to be token-shaped (a PAT has 32 hex digits).
const TOKEN_BODY_LEN: usize = 32;

/// `text` with every token-shaped run replaced with `***`: a [`TOKEN_PREFIXES`] prefix, wherever it starts,
/// then at least 32 ASCII letters and digits (and a `-N` suffix, as PATs may carry). When `cut` (the text is
/// the first bytes of a longer body), a prefixed run that reaches the end is replaced whatever its length:
/// it may be the start of a token.
pub(crate) fn scrub_token_shaped(text: &str, cut: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        let prefix = TOKEN_PREFIXES.iter().find(|p| bytes[i..].starts_with(p.as_bytes()));
        let Some(prefix) = prefix else {
            i += 1;
            continue;
        };
        let run_start = i + prefix.len();
        let mut end = run_start + bytes[run_start..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if end - run_start < TOKEN_BODY_LEN && !(cut && end == bytes.len()) {
            i += 1;
            continue;
        }
        let digits = bytes.get(end + 1..).map_or(0, |rest| rest.iter().take_while(|b| b.is_ascii_digit()).count());
        if bytes.get(end) == Some(&b'-') && digits > 0 {
            end += 1 + digits;
        }
        // `i` and `end` are at ASCII bytes (or the end): character boundaries.
        out.push_str(&text[copied..i]);
        out.push_str("***");
        (copied, i) = (end, end);
    }
    out.push_str(&text[copied..]);
    out
}

/// Truncates on a character boundary and says how much was cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(body: &[u8]) -> String {
        body_for_log(body, body.len(), &KnownSecrets::default())
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let line = log(br#"{"token_value":"dapiSECRET","token_info":{"comment":"ci"},"x":[{"access_token" : "eyJ\"SECRET"}]}"#);
        assert!(!line.contains("SECRET"), "{line}");
        assert!(line.contains("**REDACTED**") && line.contains("\"comment\":\"ci\""), "{line}");
    }

    #[test]
    fn a_cut_short_body_is_redacted_too() {
        let body = br#"{"token_info":{"comment":"ci"},"token_value":"dapiSECRETVALUE"#;
        let line = body_for_log(&body[..body.len() - 3], 10_000, &KnownSecrets::default());
        assert!(!line.contains("dapiSECRET"), "{line}");
        assert!(line.ends_with("(10000 bytes in all)"), "{line}");
    }

    #[test]
    fn known_secrets_are_scrubbed_by_value_anywhere() {
        let secrets = KnownSecrets::default();
        secrets.remember_credential("dapi-known-secret");
        secrets.remember_received("short");
        let line = body_for_log(br#"{"note":"echo dapi-known-secret","w":"short"}"#, 44, &secrets);
        assert_eq!(line, r#"{"note":"echo ***","w":"short"}"#);
    }

    #[test]
    fn the_spec_names_the_api_secrets() {
        assert_eq!(crate::operation::tables::schema::SECRET_FIELDS, ["token_value"]);
        assert!(is_secret_key("token_value") && is_secret_key("access_token") && !is_secret_key("comment"));
    }

    #[test]
    fn non_json_with_a_secret_key_is_withheld() {
        assert!(!log(b"token_value=dapiSECRET").contains("SECRET"));
        assert_eq!(log(b"plain text"), "plain text");
    }

    #[test]
    fn a_body_cut_inside_a_multibyte_character_is_logged_not_a_panic() {
        // A list longer than the cut whose comment is non-ASCII where the cut falls: every cut position.
        let comment = "é".repeat(600);
        let body = format!(r#"{{"token_infos":[{{"token_id":"t1","comment":"{comment}"}},{{"token_id":"t2","comment":"{comment}"}}]}}"#);
        for cut in 0..body.len().min(3 * MAX_LOGGED_BODY) {
            let line = body_for_log(&body.as_bytes()[..cut], body.len(), &KnownSecrets::default());
            assert!(line.len() <= MAX_LOGGED_BODY + 64, "{cut}: {}", line.len());
        }
        // A key cut inside a character, and an escape before a multi-byte character.
        for text in ["{\"é", "{\"token_value\":\"\\é\"}", "\"\\", "\"é\\"] {
            let _ = body_for_log(text.as_bytes(), text.len(), &KnownSecrets::default());
        }
    }

    #[test]
    fn token_shaped_values_are_scrubbed_whatever_the_key() {
        let pat = "dapi0123456789abcdef0123456789abcdef";
        let body = format!(
            r#"{{"token_info":{{"token_id":"t","comment":"{pat}","creation_time":"{pat}-2","scopes":["x{pat}"]}},"x":"dose{}"}}"#,
            "A1".repeat(20)
        );
        let line = log(body.as_bytes());
        assert!(!line.contains("0123456789abcdef0123456789abcdef") && !line.contains("A1A1"), "{line}");
        assert_eq!(line.matches("***").count(), 4, "{line}");
        assert!(line.contains(r#""x***""#) && !line.contains("-2"), "inside a word, and with its suffix: {line}");
        // Ordinary words, ids and short prefixed words stay.
        let plain = r#"{"comment":"dapi is a prefix, dapi0123 too short","token_id":"5f1e0123456789abcdef0123456789abcdef"}"#;
        assert_eq!(log(plain.as_bytes()), plain);
        // A body cut short inside a token: what is shown of it goes too.
        let cut = format!(r#"{{"comment":"{}"#, &pat[..12]);
        assert_eq!(body_for_log(cut.as_bytes(), 2000, &KnownSecrets::default()), r#"{"comment":"***... (2000 bytes in all)"#);
        assert_eq!(scrub_token_shaped("a dapi", false), "a dapi");
    }

    #[test]
    fn the_memory_of_secrets_is_bounded() {
        let secrets = KnownSecrets::default();
        for i in 0..(MAX_RECEIVED_SECRETS + 10) {
            secrets.remember_received(&format!("secret-number-{i}"));
        }
        assert_eq!(secrets.received.lock().unwrap().len(), MAX_RECEIVED_SECRETS);
        assert_eq!(secrets.scrub("secret-number-0"), "secret-number-0", "the oldest is forgotten");
    }

    #[test]
    fn the_clients_own_credential_outlives_any_number_of_received_secrets() {
        let secrets = KnownSecrets::default();
        secrets.remember_credential("dapi-the-clients-own-pat");
        for i in 0..(MAX_RECEIVED_SECRETS * 2) {
            secrets.remember_received(&format!("created-token-value-{i}"));
        }
        assert_eq!(secrets.scrub("echo dapi-the-clients-own-pat"), "echo ***");
        // A refreshing provider's current credential is the most recently used, so it is never the one forgotten.
        for i in 0..MAX_CREDENTIALS {
            secrets.remember_credential(&format!("oauth-access-token-{i}"));
            secrets.remember_credential("dapi-the-clients-own-pat");
        }
        assert_eq!(secrets.scrub("echo dapi-the-clients-own-pat"), "echo ***");
        assert_eq!(secrets.credentials.lock().unwrap().len(), MAX_CREDENTIALS);
    }
}
