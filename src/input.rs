//! The checks of a request's input that the builders of every service share (hand-written and generated),
//! each refusal named after the operation.
//!
//! They are methods of [`Operation`](crate::operation::Operation) written here, above the errors they return,
//! so that the operation type stays a leaf that the retry engine and the errors can read.

/// The checks of a request's input that the builders of every service share, named after the operation.
impl crate::operation::Operation {
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
