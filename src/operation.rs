//! The facts about an operation that the spec carries and the client acts on, generated once.
//!
//! The generated `operations` table holds one [`Operation`] per operation of the spec; the pipeline (retry
//! safety, spans), the redaction and the local workspace (routing) read it instead of re-typing methods,
//! paths or idempotency.
//!
//! # Every spec fact generated once
//!
//! `codegen/` emits, next to the client, the tables the hand-written code reads instead of re-typing the
//! spec: [`CREATE_TOKEN`], [`LIST_TOKENS`], [`UPDATE_TOKEN`], [`REVOKE_TOKEN`] (method, path template, whether a
//! retry after the request may have reached the server is safe — the spec's `x-databricks-idempotent` —
//! whether "not found" after such a retry means done, whether it is paginated), the writable, required and
//! object fields of each type (field masks, update bodies), and the secret fields (`format: password`, for
//! redaction). The pipeline, spans, retries, redaction, field masks and the local workspace's routing and
//! validation read them. A unit test (`retry_safety_follows_the_spec_fixture`, in `src/paginate.rs`)
//! generates a client from another spec, `tests/fixtures/paginated.json`, and shows the retries following
//! its `x-databricks-idempotent`.

/// One operation of the spec.
///
/// ```
/// use databricks_tokens::operation::{LIST_TOKENS, UPDATE_TOKEN};
/// assert_eq!((LIST_TOKENS.method, LIST_TOKENS.path, LIST_TOKENS.idempotent), ("GET", "/api/2.0/token/list", true));
/// assert_eq!(UPDATE_TOKEN.matches("PATCH", "/api/2.0/token/abc"), Some(vec!["abc"]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The service whose spec declares it, e.g. `tokens` or `token_management`: an operation is its service
    /// and its id (`list_tokens` is an operation of both).
    pub service: &'static str,
    /// The `operationId`, e.g. `create_token`, unique within its service.
    pub id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, e.g. `/api/2.0/token/{token_id}`.
    pub path: &'static str,
    /// Whether the operation may be sent again after a request may have reached the server
    /// (`x-databricks-idempotent`).
    pub idempotent: bool,
    /// Whether "not found" after such an attempt means the earlier attempt did the work
    /// (`x-databricks-not-found-means-done`).
    pub not_found_means_done: bool,
    /// Whether it is token-paginated (`page_token` in, `next_page_token` out).
    pub paginated: bool,
}

impl Operation {
    /// Whether a request's method and path are this operation's; the values of the path's `{parameters}`
    /// (still percent-encoded), in order, when they are.
    pub fn matches<'p>(&self, method: &str, path: &'p str) -> Option<Vec<&'p str>> {
        if !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let mut values = Vec::new();
        let mut template = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return Some(values),
                (Some(t), Some(a)) if t.starts_with('{') && t.ends_with('}') => {
                    if a.is_empty() {
                        return None;
                    }
                    values.push(a);
                }
                (Some(t), Some(a)) if t == a => {}
                _ => return None,
            }
        }
    }
}

/// The checks of a request's input that the builders of every service share, named after the operation.
impl Operation {
    /// A token lifetime in whole seconds: at least one, and within i64.
    pub(crate) fn lifetime_seconds(&self, lifetime: std::time::Duration) -> crate::Result<i64> {
        let operation = self.id;
        if lifetime < std::time::Duration::from_secs(1) {
            return Err(crate::Error::invalid_request(format!("{operation}: a token lifetime must be at least 1 s, got {lifetime:?}")));
        }
        i64::try_from(lifetime.as_secs())
            .map_err(|_| crate::Error::invalid_request(format!("{operation}: the token lifetime {lifetime:?} does not fit in i64 seconds")))
    }

    /// `value` of the parameter `name`, refused when empty.
    pub(crate) fn non_empty(&self, name: &str, value: &str) -> crate::Result<()> {
        if value.is_empty() {
            return Err(crate::Error::invalid_request(format!("{}: {name} is empty", self.id)));
        }
        Ok(())
    }
}

impl Operation {
    /// The path with its `{parameters}` replaced by `values`, in order (a parameter without a value stays).
    pub(crate) fn fill(&self, values: &[&str]) -> String {
        let mut values = values.iter();
        let segments: Vec<&str> = self
            .path
            .split('/')
            .map(|segment| match segment.starts_with('{') && segment.ends_with('}') {
                true => values.next().copied().unwrap_or(segment),
                false => segment,
            })
            .collect();
        segments.join("/")
    }
}

/// The operations of the Tokens API, generated from `spec/tokens.json`.
pub use crate::generated::operations::{ALL, CREATE_TOKEN, LIST_TOKENS, REVOKE_TOKEN, UPDATE_TOKEN};

/// The operations of the Token Management API, generated from `spec/token_management.json`: its
/// `LIST_TOKENS` and `UPDATE_TOKEN` are other operations than the Tokens API's.
///
/// ```
/// use databricks_tokens::{RetryPolicy, operation};
/// let policy = RetryPolicy::default().with_idempotent(&operation::token_management::UPDATE_TOKEN, false);
/// assert!(!policy.is_idempotent(&operation::token_management::UPDATE_TOKEN));
/// assert!(policy.is_idempotent(&operation::UPDATE_TOKEN));
/// ```
pub mod token_management {
    pub use crate::generated::token_management::operations::*;
}

/// Every operation this crate calls: the Tokens API's, then Token Management's, then the account
/// Workspaces API's.
pub(crate) fn every() -> impl Iterator<Item = &'static Operation> {
    ALL.iter().chain(crate::generated::token_management::operations::ALL).chain(crate::generated::workspaces::operations::ALL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_spec() {
        assert_eq!((CREATE_TOKEN.method, CREATE_TOKEN.path, CREATE_TOKEN.idempotent), ("POST", "/api/2.0/token/create", false));
        const { assert!(REVOKE_TOKEN.idempotent && REVOKE_TOKEN.not_found_means_done) };
        assert_eq!(UPDATE_TOKEN.matches("PATCH", "/api/2.0/token/abc%2F1"), Some(vec!["abc%2F1"]));
        assert_eq!(UPDATE_TOKEN.matches("PATCH", "/api/2.0/token/a/b"), None);
        assert_eq!(UPDATE_TOKEN.matches("GET", "/api/2.0/token/a"), None);
        assert_eq!(UPDATE_TOKEN.fill(&["abc"]), "/api/2.0/token/abc");
        assert_eq!(LIST_TOKENS.fill(&[]), "/api/2.0/token/list");
        assert_eq!(ALL.len(), 4);
        assert!(ALL.iter().all(|op| !op.paginated), "the Tokens API answers lists in one page");
    }

    #[test]
    fn operations_are_their_service_and_id() {
        use crate::generated::token_management::operations as tm;
        assert_eq!((LIST_TOKENS.service, tm::LIST_TOKENS.service), ("tokens", "token_management"));
        assert_eq!(LIST_TOKENS.id, tm::LIST_TOKENS.id);
        assert!(LIST_TOKENS != tm::LIST_TOKENS && UPDATE_TOKEN != tm::UPDATE_TOKEN);
        let mut keys: Vec<_> = every().map(|op| (op.service, op.id)).collect();
        let count = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), count, "no two operations share a service and an id");
    }
}
