//! The macros every request builder shares: per-call options and `.await` sending the request.

/// The per-call option setters every builder has (`retry_policy`, `attempt_timeout`); the builder has an
/// `options: RequestOptions` field.
macro_rules! options_setters {
    () => {
        /// Retries this call with this policy instead of the client's.
        pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
            self.options.retry = Some(policy);
            self
        }
        /// Gives each attempt of this call this long instead of the client's attempt timeout.
        pub fn attempt_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.attempt_timeout = Some(timeout);
            self
        }
    };
}

/// `.await` on a builder sends it.
macro_rules! into_future {
    ($builder:ident, $output:ty) => {
        impl<'a> std::future::IntoFuture for $builder<'a> {
            type Output = $crate::Result<$output>;
            type IntoFuture = $crate::clock::BoxFuture<'a, $crate::Result<$output>>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}
