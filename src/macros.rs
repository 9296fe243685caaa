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

/// `.await` on a builder sends it; with the `blocking` feature, a blocking client can send it too.
macro_rules! into_future {
    ($builder:ident, $output:ty) => {
        impl std::future::IntoFuture for $builder {
            type Output = $crate::Result<$output>;
            type IntoFuture = $crate::clock::BoxFuture<'static, $crate::Result<$output>>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }

        #[cfg(feature = "blocking")]
        impl $crate::sealed::Sealed for $builder {}

        #[cfg(feature = "blocking")]
        impl $crate::blocking::Blockable for $builder {
            type Output = $output;
            fn into_call(self) -> $crate::blocking::AsyncCall<$crate::Result<$output>> {
                // The builder owns its client, so the call is `'static` and is sent as it is to the
                // blocking client's thread.
                $crate::blocking::async_call(move |_client| Box::pin(self.send()))
            }
            fn set_retry_policy(self, policy: $crate::RetryPolicy) -> Self {
                self.retry_policy(policy)
            }
            fn set_attempt_timeout(self, timeout: std::time::Duration) -> Self {
                self.attempt_timeout(timeout)
            }
        }
    };
}

/// The setters of a generated update builder whose extra state is the update its setters make
/// (`crate::field_mask::PendingUpdate<$resource>`, field `extra`): each sets a field and names it in the mask,
/// or replaces both.
macro_rules! update_setters {
    ($resource:ty, $escape:literal) => {
        /// The update the setters make: an empty one of the token in the path the first time.
        fn update_mut(&mut self) -> &mut $crate::field_mask::Update<$resource> {
            let token_id = &self.token_id;
            self.extra.get_or_insert_with(|| $crate::field_mask::Update::empty(<$resource>::new(token_id.clone())))
        }
        /// Sets the comment.
        pub fn comment(mut self, comment: impl Into<String>) -> Self {
            self.update_mut().resource_mut().comment = Some(comment.into());
            self.update_mut().add_path("comment");
            self
        }
        /// Sets the scopes (an empty list clears them).
        pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
            self.update_mut().resource_mut().scopes = Some(scopes.into_iter().collect());
            self.update_mut().add_path("scopes");
            self
        }
        /// Clears the scopes: sends `"scopes": []` under `update_mask=scopes`.
        pub fn clear_scopes(self) -> Self {
            self.scopes(std::iter::empty::<String>())
        }
        /// The fields that turn `current` into `desired`, and only those: a field `desired` leaves out but
        /// `current` has is cleared.
        pub fn from_diff(mut self, current: &$resource, desired: &$resource) -> $crate::Result<Self> {
            self.extra = Some($crate::field_mask::Update::from_diff(current, desired)?);
            Ok(self)
        }
        /// The escape hatch: send the token given with `token` under this typed mask (a mask naming a field
        /// the token leaves out is refused when sent). Replaces what the setters set.
        #[doc = $escape]
        pub fn mask(mut self, mask: $crate::field_mask::TypedFieldMask<$resource>) -> Self {
            self.update_mut().set_mask(mask);
            self
        }
        /// The token to send with `mask`.
        pub fn token(mut self, token: $resource) -> Self {
            *self.update_mut().resource_mut() = token;
            self
        }
    };
}
