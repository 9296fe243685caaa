//! The Tokens service: one builder per operation, each ending in `.send()` (or `.await`).
//!
//! ```no_run
//! # async fn example() -> databricks_tokens::Result<()> {
//! use std::time::Duration;
//! use databricks_tokens::WorkspaceClient;
//!
//! let w = WorkspaceClient::from_env()?;
//! let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).scopes(["sql"]).send().await?;
//! let id = created.token_id();
//! let all = w.tokens().list().send().await?;
//! w.tokens().update(id).comment("ci (renamed)").clear_scopes().send().await?; // mask: comment,scopes
//! w.tokens().delete(id).send().await?;
//! # Ok(()) }
//! ```
//!
//! Setters take Rust types and are checked before anything is sent: a lifetime that is zero or does not
//! fit in i64 seconds, an empty token id, an update with no field set are [`ErrorKind::InvalidRequest`]
//! errors. Every builder takes per-call options: [`CreateToken::retry_policy`] and
//! [`CreateToken::attempt_timeout`] (and the same on the others).
//!
//! # Exactly once
//!
//! A create is never retried after its request may have reached the service: a lost answer (a reset, an
//! attempt that timed out, a success status whose body never came) is an error for which
//! [`Error::may_have_been_processed`](crate::Error::may_have_been_processed) is true and [`Error::is_retryable`](crate::Error::is_retryable) false, because a token may exist
//! whose value nobody holds. [`CreateToken::exactly_once`] resolves it, for the Tokens API and Token
//! Management's on-behalf-of tokens alike:
//!
//! - every attempt of the call carries, at the end of its comment, a marker of this call alone
//!   (`[exactly-once:` 32 hex digits `]`, 128 bits from the operating system's randomness; the comment sent is
//!   48 bytes longer than the one asked for); [`CreateToken::exactly_once_marker`] tells it before sending;
//! - after an ambiguous failure (also a 500, 502 or 504, which a gateway may send while the service goes on)
//!   the call waits the grace period (10 s; [`CreateToken::exactly_once_grace`]; none after a success
//!   status, which proves the request was processed), lists the tokens, revokes those carrying its marker —
//!   never another caller's token, whatever its comment — and creates again, 3 creates at most; after the
//!   create that answers, it searches once more and revokes every marked token but that one;
//! - then an update sets the comment asked for (with none, an empty comment), and the answer's
//!   `token_info.comment` says the comment the token ends with (the marked one, in the rare case where that
//!   update kept failing: the token is valid and its value in hand).
//!
//! The searches, revokes and the comment update are retried up to 5 rounds with the call's backoff, and the
//! whole call, grace period included, runs within one budget: the timeout of its retry policy (the call's,
//! else the client's). When a search still fails, the error says a token may exist and which
//! ([`Error::orphan_marker`](crate::Error::orphan_marker)), and is not retryable.
//!
//! **Guarantee:** no duplicate and no orphan, provided the service processes a request within the grace
//! period of the moment the client gave up on it, and the call is not cancelled (a dropped future stops
//! where it is: keep [`CreateToken::exactly_once_marker`] to clean up after a timeout around it).
//! **Cost:** 2 requests when nothing goes wrong (the create and the comment update); per ambiguous failure,
//! the grace period, one `list`, one revoke per token found, one more create, and one more `list`.
//!
//! # Generated and hand-written
//!
//! Generated from `spec/tokens.json`: every method of the service and its builder ([`CreateToken`],
//! [`ListTokens`], [`UpdateToken`], [`DeleteToken`], re-exported here), and every method of the stub trait
//! ([`crate::stub::Tokens`]) and of the pipeline's implementation. Hand-written here: what the spec cannot
//! say — on top of the generated [`CreateToken`], its `Duration` lifetime, scopes and autoscope setters,
//! exactly-once and its send (`x-rust-hand-setters`, `x-rust-builder-extra`, `x-rust-send`); on top of the
//! generated [`UpdateToken`], its field-mask setters and the send that makes the body of them
//! (`x-rust-hand-body`); and [`ListTokens::stream`].
//!
//! [`ErrorKind::InvalidRequest`]: crate::ErrorKind::InvalidRequest

use std::time::Duration;

use futures::Stream;

use crate::WorkspaceClient;
use crate::error::Result;
pub use crate::generated::builders::*;
use crate::paginate::paginate;
use crate::pipeline::Pipeline;
use crate::secret::SecretString;
use crate::stub;
use crate::types::{CreateTokenResponse, ListPublicTokensResponse, PublicTokenInfo};

pub use service::Tokens;

/// The service struct the generated builders hang their methods on (`x-rust-service`): a module of its
/// own, which the generated code names, so that it does not depend on the module that uses the generated
/// code (no module circle).
pub(crate) mod service {
    use crate::WorkspaceClient;

    /// The Tokens service of a workspace: the caller's personal access tokens.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// let n = w.tokens().list().send().await?.len();
    /// # Ok(()) }
    /// ```
    #[derive(Clone, Debug)]
    pub struct Tokens {
        client: WorkspaceClient,
    }

    impl Tokens {
        pub(crate) fn new(client: WorkspaceClient) -> Self {
            Self { client }
        }

        /// The client the builders own a clone of.
        pub(crate) fn client(&self) -> &WorkspaceClient {
            &self.client
        }
    }
}

/// What the spec cannot say of the generated [`CreateToken`] (`x-rust-hand-setters`, `x-rust-builder-extra`
/// and `x-rust-send` of `create_token`): a `Duration` lifetime, the scopes as any list of strings, and
/// exactly-once. The builder, its `comment` setter, the per-call options and `.await` are generated.
impl CreateToken {
    /// How long the token lives: whole seconds, at least one (default: the service's, 2 years).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.extra.lifetime = Some(lifetime);
        self
    }
    /// The API scopes it may use.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.body.scopes = Some(scopes.into_iter().collect());
        self
    }
    /// Whether the service collects the scopes the token uses (autoscope).
    pub fn autoscope(mut self, enabled: bool) -> Self {
        self.body.autoscope_enabled = Some(enabled);
        self
    }
    /// Creates the token exactly once, even when an answer is lost: no orphan, no duplicate, and never
    /// another caller's token touched.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use std::time::Duration;
    /// let created = w.tokens().create().comment("ci").lifetime(Duration::from_secs(300)).exactly_once().send().await?;
    /// assert_eq!(created.token_info().comment.as_deref(), Some("ci"));
    /// # Ok(()) }
    /// ```
    ///
    /// The API has no idempotency key, so every attempt of this call carries a marker no other caller can
    /// produce (`[exactly-once:` and 128 random bits) at the end of its comment. When a create fails in a
    /// way that may have been processed ([`Error::may_have_been_processed`](crate::Error::may_have_been_processed)), the call waits a grace period
    /// (10 s; [`CreateToken::exactly_once_grace`]) for a late create to land, lists the tokens, revokes
    /// those carrying its marker — only those — and creates again (3 creates at most). Once a create
    /// answers, an update sets the comment asked for, so the marker does not stay.
    ///
    /// **Guarantee:** no duplicate and no orphan, provided the service processes a request within the grace
    /// period of the moment the client gave up on it, and the call is not cancelled. When the search keeps
    /// failing, the error says a token may exist and which ([`Error::orphan_marker`](crate::Error::orphan_marker)) and is not retryable.
    /// **Cost:** 2 requests (the create and the comment update); per ambiguous failure, the grace period,
    /// one `list`, one revoke per token found, one more create and one more `list`. See
    /// [the module's section](crate::tokens#exactly-once).
    pub fn exactly_once(self) -> Self {
        self.exactly_once_grace(crate::exactly_once::DEFAULT_GRACE)
    }
    /// [`CreateToken::exactly_once`] with another grace period: how long a request may stay in the
    /// service after the client gave up on it and still be processed. Shorter answers faster after an
    /// ambiguous failure, and weakens the guarantee to that bound.
    pub fn exactly_once_grace(mut self, grace: Duration) -> Self {
        self.extra.set_grace(grace);
        self
    }
    /// The marker every attempt of this exactly-once create carries in its comment (`None` for a plain
    /// create): known before it is sent, so that a caller who cancels the call (a timeout around it) can
    /// revoke what carries it.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use std::time::Duration;
    /// use databricks_tokens::workflows::{Cleanup, TokenWorkflows};
    /// let create = w.tokens().create().comment("ci").exactly_once();
    /// let marker = create.exactly_once_marker().unwrap_or_default().to_owned();
    /// if tokio::time::timeout(Duration::from_secs(30), create.send()).await.is_err() {
    ///     w.cleanup_tokens(Cleanup::matching(move |t, _| t.comment.as_deref().is_some_and(|c| c.contains(&marker)))).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn exactly_once_marker(&self) -> Option<&str> {
        self.extra.marker()
    }
}

/// The send of the generated [`CreateToken`] (`x-rust-send`): a module of its own, which the generated code
/// names, so that it does not depend on the module that uses the generated code (no module circle).
pub(crate) mod create {
    use crate::WorkspaceClient;
    use crate::error::Result;
    use crate::exactly_once::CreateExtra;
    use crate::operation::CREATE_TOKEN;
    use crate::stub::RequestOptions;
    use crate::types::{CreateTokenRequest, CreateTokenResponse};

    /// Sends the create: the lifetime checked, then one create, or the exactly-once engine.
    pub(crate) async fn send(
        client: &WorkspaceClient,
        mut body: CreateTokenRequest,
        extra: CreateExtra,
        options: RequestOptions,
    ) -> Result<CreateTokenResponse> {
        if let Some(lifetime) = extra.lifetime {
            body.lifetime_seconds = Some(CREATE_TOKEN.lifetime_seconds(lifetime)?.into());
        }
        let Some((grace, marker)) = extra.exactly_once else {
            return client.tokens_stub().create(body, options).await;
        };
        let comment = body.comment.take();
        let minter = TokenMinter { client, request: body };
        let settings = crate::exactly_once::Settings::of_call(client.retry_and_clock(), &options, grace, marker);
        crate::exactly_once::create(&minter, comment, settings).await
    }

    /// The Tokens API as an exactly-once create uses it.
    struct TokenMinter<'a> {
        client: &'a WorkspaceClient,
        request: CreateTokenRequest,
    }

    impl crate::exactly_once::Minter for TokenMinter<'_> {
        type Created = CreateTokenResponse;
        async fn create(&self, comment: String, options: RequestOptions) -> Result<CreateTokenResponse> {
            self.client.tokens_stub().create(self.request.clone().set_comment(comment), options).await
        }
        async fn find(&self, marker: &str, options: RequestOptions) -> Result<Vec<String>> {
            let tokens = self.client.tokens_stub().list(options).await?;
            Ok(tokens.into_iter().filter(|t| t.comment.as_deref().is_some_and(|c| c.contains(marker))).map(|t| t.token_id).collect())
        }
        async fn revoke(&self, token_id: &str, options: RequestOptions) -> Result<()> {
            self.client.tokens_stub().delete(token_id, options).await
        }
        async fn set_comment(&self, token_id: &str, comment: &str, options: RequestOptions) -> Result<()> {
            let mut update = self.client.tokens().update(token_id).comment(comment);
            update.options = options;
            update.send().await
        }
        fn id(created: &CreateTokenResponse) -> &str {
            created.token_id()
        }
        fn record_comment(created: &mut CreateTokenResponse, comment: String) {
            created.token_info.comment = Some(comment);
        }
    }
}

/// What the spec cannot say of the generated [`ListTokens`]: its answer as a stream.
impl ListTokens {
    /// The tokens as a lazy stream, through the crate's pagination machinery ([`crate::paginate`]): the
    /// Tokens API answers in one page, so this is one request, made when the stream is first polled.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use futures::TryStreamExt;
    /// let ci: Vec<_> = w.tokens().list().stream().try_filter(|t| std::future::ready(t.comment.as_deref() == Some("ci"))).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> impl Stream<Item = Result<PublicTokenInfo>> + Send + 'static {
        let (client, options) = (self.client, self.options);
        paginate(move |_page_token| {
            let (client, options) = (client.clone(), options.clone());
            async move {
                client.tokens_stub().list(options).await.map(|token_infos| ListPublicTokensResponse::new().set_token_infos(token_infos))
            }
        })
        .items()
    }
}

/// What the spec cannot say of the generated [`UpdateToken`] (`x-rust-hand-body`, `x-rust-builder-extra` and
/// `x-rust-send` of `update_token`): the field-mask setters, the mask coming from the setters called.
///
/// ```no_run
/// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
/// w.tokens().update("5f1e...").comment("renamed").clear_scopes().send().await?; // sends "scopes": []
/// # Ok(()) }
/// ```
impl UpdateToken {
    update_setters!(
        PublicTokenInfo,
        r#"
```no_run
# async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
use databricks_tokens::field_mask::TypedFieldMask;
use databricks_tokens::types::PublicTokenInfo;
let token = PublicTokenInfo::new("5f1e...").set_comment("c");
w.tokens().update("5f1e...").mask(TypedFieldMask::parse("comment")?).token(token).send().await?;
# Ok(()) }
```"#
    );
}

/// The send of the generated [`UpdateToken`] (`x-rust-send`), in a module the generated code names.
pub(crate) mod update {
    use crate::WorkspaceClient;
    use crate::error::Result;
    use crate::field_mask::{PendingUpdate, Update};
    use crate::operation::UPDATE_TOKEN;
    use crate::stub::RequestOptions;
    use crate::types::{PublicTokenInfo, UpdateTokenRequest};

    /// Sends the update (its `token_id` checked by the generated `send()`); an update with no field set is
    /// refused before anything is sent.
    pub(crate) async fn send(
        client: &WorkspaceClient,
        token_id: &str,
        update: PendingUpdate<PublicTokenInfo>,
        options: RequestOptions,
    ) -> Result<()> {
        let update = update.unwrap_or_else(|| Update::empty(PublicTokenInfo::new(token_id)));
        let (token, mask) = update.into_checked(UPDATE_TOKEN.id)?;
        client.tokens_stub().update(token_id, UpdateTokenRequest::new(token, mask.to_string()), options).await
    }
}

/// What the service guarantees a create answers with.
///
/// ```
/// use databricks_tokens::types::{CreateTokenResponse, PublicTokenInfo};
/// let created = CreateTokenResponse::new(PublicTokenInfo::new("t1"), "dapi-secret");
/// assert_eq!(created.token_id(), "t1");
/// assert_eq!(created.token_value().expose(), "dapi-secret");
/// ```
impl CreateTokenResponse {
    /// The new token's id.
    pub fn token_id(&self) -> &str {
        &self.token_info.token_id
    }
    /// The new token's secret value: shown once, never printed by this crate.
    pub fn token_value(&self) -> &SecretString {
        &self.token_value
    }
    /// The new token's metadata.
    pub fn token_info(&self) -> &PublicTokenInfo {
        &self.token_info
    }
}

impl WorkspaceClient {
    /// The Tokens service: the caller's personal access tokens.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// let all = w.tokens().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn tokens(&self) -> Tokens {
        Tokens::new(self.clone())
    }

    /// Where the Tokens builders send their requests: the stub the client was given, else its pipeline.
    pub(crate) fn tokens_stub(&self) -> &dyn stub::DynTokens {
        match (self.given_tokens_stub(), self.pipeline()) {
            (Some(stub), _) => stub,
            (None, Some(pipeline)) => pipeline,
            (None, None) => &stub::Unimplemented,
        }
    }
}

/// The real service: the generated request functions over the pipeline (every method generated from the
/// spec).
impl stub::Tokens for Pipeline {
    crate::operation::tables::stub_methods!(http, [crate::types], [crate::generated::calls]);
    #[cfg(test)]
    crate::operation::tables::get_token_info_fixture::stub_methods!(
        http,
        [crate::types::get_token_info_fixture],
        [crate::generated::get_token_info_fixture::calls]
    );
}
