//! Redaction of secrets in bodies before they reach a log line.
//!
//! JSON bodies are parsed and every value under a secret key (`token_value`, `access_token`,
//! `refresh_token`, `id_token`, `client_secret`, `password`) is replaced with `**REDACTED**`, at any
//! depth. A body that is not JSON is logged only up to [`MAX_LOGGED_BODY`] bytes; a body that is not JSON
//! but mentions a secret key is not logged at all.

/// The most bytes of a body that a log line shows.
pub const MAX_LOGGED_BODY: usize = 1024;

const SECRET_KEYS: &[&str] = &["token_value", "access_token", "refresh_token", "id_token", "client_secret", "password"];

/// The body as a log line may show it.
pub(crate) fn body_for_log(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact(&mut value);
            crate::error::truncate(&value.to_string(), MAX_LOGGED_BODY)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            if SECRET_KEYS.iter().any(|k| text.contains(k)) {
                format!("<{} bytes, not logged: may hold a secret>", body.len())
            } else {
                crate::error::truncate(&text, MAX_LOGGED_BODY)
            }
        }
    }
}

fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) {
                    *v = serde_json::Value::String("**REDACTED**".to_owned());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::body_for_log;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let line = body_for_log(br#"{"token_value":"dapiSECRET","token_info":{"comment":"ci"},"x":[{"access_token":"eyJSECRET"}]}"#);
        assert!(!line.contains("SECRET"), "{line}");
        assert!(line.contains("**REDACTED**") && line.contains("\"comment\":\"ci\""), "{line}");
    }

    #[test]
    fn non_json_with_a_secret_key_is_withheld() {
        assert!(!body_for_log(b"token_value=dapiSECRET").contains("SECRET"));
        assert_eq!(body_for_log(b"plain text"), "plain text");
    }
}
