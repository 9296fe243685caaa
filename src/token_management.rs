//! The Token Management service: every token of the workspace, for its admins — list (by creator), get,
//! update, revoke; on-behalf-of tokens for service principals; and who may use tokens.
//!
//! ```no_run
//! # async fn example() -> databricks_tokens::Result<()> {
//! use std::time::Duration;
//! use databricks_tokens::WorkspaceClient;
//! use databricks_tokens::types::token_management::TokenPermissionLevel;
//!
//! let w = WorkspaceClient::from_env()?; // a workspace admin
//! let tm = w.token_management();
//! let all = tm.list().send().await?;
//! let alices = tm.list().created_by_username("alice@example.com").send().await?;
//! tm.update_permissions().grant_service_principal("6f3b...", TokenPermissionLevel::CanUse).send().await?;
//! let ci = tm.create_obo_token("6f3b...").comment("ci").lifetime(Duration::from_secs(3600)).send().await?;
//! tm.delete(ci.token_id()).send().await?;
//! # Ok(()) }
//! ```
//!
//! The same builder surface as [`crate::tokens`]: `.send()` or `.await`, typed masks, per-call options,
//! streams. What admins hit comes back typed with the fix in the message: not an admin
//! ([`Error::is_permission_denied`]), on-behalf-of tokens not enabled or no `CAN_USE` for the service
//! principal (how to grant it), an unknown application id ([`Error::is_not_found`]).
//!
//! Generated from `spec/token_management.json`: the service's methods `create_obo_token`, `list`, `get`,
//! `update`, `delete`, `permission_levels` and `permissions` and their builders ([`CreateOboToken`],
//! [`ListAllTokens`], [`GetToken`], [`UpdateManagedToken`], [`DeleteManagedToken`], [`GetPermissionLevels`],
//! [`GetPermissions`], re-exported here),
//! every method of the stub trait and of the pipeline's implementation, and [`crate::stub::TokenFilter`].
//! Hand-written here: what the spec cannot say — on top of the generated [`CreateOboToken`], its
//! `Duration` lifetime, scopes and autoscope setters, exactly-once and its send; on top of the generated
//! [`UpdateManagedToken`], its field-mask setters and the send that makes the body of them; the builder of
//! `set_permissions` / `update_permissions` (one for two operations, grant helpers), which hands its request
//! to the generated stub method; [`ListAllTokens::stream`]; and the hints added to the service's errors
//! (`explain`).

use futures::Stream;

use crate::WorkspaceClient;
use crate::error::{Error, Result};
use crate::generated::token_management as generated;
pub use crate::generated::token_management::builders::*;
use crate::paginate::paginate;
use crate::pipeline::Pipeline;
use crate::secret::SecretString;
use crate::stub;
use crate::types::token_management::{CreateOboTokenResponse, TokenAccessControlRequest, TokenInfo, TokenPermissionLevel};

pub use service::TokenManagement;

/// The service struct the generated builders hang their methods on (`x-rust-service`): a module of its
/// own, which the generated code names, so that it does not depend on the module that uses the generated
/// code (no module circle).
pub(crate) mod service {
    use crate::WorkspaceClient;

    /// The Token Management service of a workspace (admins).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// let every_token = w.token_management().list().send().await?;
    /// # Ok(()) }
    /// ```
    #[derive(Clone, Debug)]
    pub struct TokenManagement {
        client: WorkspaceClient,
    }

    impl TokenManagement {
        pub(crate) fn new(client: WorkspaceClient) -> Self {
            Self { client }
        }

        /// The client the builders own a clone of.
        pub(crate) fn client(&self) -> &WorkspaceClient {
            &self.client
        }
    }
}

impl TokenManagement {
    /// Adds the grants given to who may use tokens (admins only): the generated [`SetPermissions`] of
    /// `set_permissions`, sent as `update_permissions` (one builder for the two operations).
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// use databricks_tokens::types::token_management::TokenPermissionLevel;
    /// w.token_management().update_permissions().grant_service_principal("6f3b...", TokenPermissionLevel::CanUse).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update_permissions(&self) -> SetPermissions {
        let mut builder = self.set_permissions();
        builder.extra.add = true;
        builder
    }
}

/// What the spec cannot say of the generated [`CreateOboToken`] (`x-rust-hand-setters`,
/// `x-rust-builder-extra` and `x-rust-send` of `create_obo_token`): a `Duration` lifetime, the scopes as any
/// list of strings, and exactly-once. The builder, `create_obo_token(application_id)` (`x-rust-body-args`),
/// the `comment` setter, the per-call options and `.await` are generated.
impl CreateOboToken {
    /// How long the token lives: whole seconds, at least one.
    pub fn lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.extra.lifetime = Some(lifetime);
        self
    }
    /// The API scopes it may use.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.body.scopes = Some(scopes.into_iter().collect());
        self
    }
    /// Whether the service collects the scopes the token uses.
    pub fn autoscope(mut self, enabled: bool) -> Self {
        self.body.autoscope_enabled = Some(enabled);
        self
    }
    /// Creates the token exactly once, as [`CreateToken::exactly_once`](crate::tokens::CreateToken::exactly_once)
    /// does, through Token Management.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// let ci = w.token_management().create_obo_token("6f3b...").comment("ci").exactly_once().send().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// Every attempt carries a marker of this call alone in its comment; after an ambiguous failure the
    /// call waits the grace period (10 s; [`CreateOboToken::exactly_once_grace`]), lists every token of the
    /// workspace (`GET /api/2.0/token-management/tokens`: an admin sees them all, whoever owns them),
    /// revokes those carrying its marker and creates again (3 creates at most); once a create answers, an
    /// update through Token Management sets the comment asked for. Same guarantee, bound and cost as the
    /// Tokens API's; the admin needs nothing beyond what the create needs.
    pub fn exactly_once(self) -> Self {
        self.exactly_once_grace(crate::exactly_once::DEFAULT_GRACE)
    }
    /// [`CreateOboToken::exactly_once`] with another grace period.
    pub fn exactly_once_grace(mut self, grace: std::time::Duration) -> Self {
        self.extra.set_grace(grace);
        self
    }
    /// The marker every attempt of this exactly-once create carries in its comment, as
    /// [`CreateToken::exactly_once_marker`](crate::tokens::CreateToken::exactly_once_marker).
    pub fn exactly_once_marker(&self) -> Option<&str> {
        self.extra.marker()
    }
}

/// The send of the generated [`CreateOboToken`] (`x-rust-send`): a module of its own, which the generated
/// code names, so that it does not depend on the module that uses the generated code (no module circle).
pub(crate) mod create {
    use crate::WorkspaceClient;
    use crate::error::Result;
    use crate::exactly_once::CreateExtra;
    use crate::operation::tables::token_management::operations as ops;
    use crate::stub::{RequestOptions, TokenFilter};
    use crate::types::token_management::{CreateOboTokenRequest, CreateOboTokenResponse};

    /// Sends the create (its `application_id` checked by the generated `send()`): the lifetime checked,
    /// then one create, or the exactly-once engine.
    pub(crate) async fn send(
        client: &WorkspaceClient,
        mut body: CreateOboTokenRequest,
        extra: CreateExtra,
        options: RequestOptions,
    ) -> Result<CreateOboTokenResponse> {
        if let Some(lifetime) = extra.lifetime {
            body.lifetime_seconds = Some(ops::CREATE_OBO_TOKEN.lifetime_seconds(lifetime)?.into());
        }
        let Some((grace, marker)) = extra.exactly_once else {
            return client.token_management_stub().create_obo_token(body, options).await;
        };
        let comment = body.comment.take();
        let minter = OboMinter { client, request: body };
        let settings = crate::exactly_once::Settings::of_call(client.retry_and_clock(), &options, grace, marker);
        crate::exactly_once::create(&minter, comment, settings).await
    }

    /// Token Management as an exactly-once on-behalf-of create uses it.
    struct OboMinter<'a> {
        client: &'a WorkspaceClient,
        request: CreateOboTokenRequest,
    }

    impl crate::exactly_once::Minter for OboMinter<'_> {
        type Created = CreateOboTokenResponse;
        async fn create(&self, comment: String, options: RequestOptions) -> Result<CreateOboTokenResponse> {
            self.client.token_management_stub().create_obo_token(self.request.clone().set_comment(comment), options).await
        }
        async fn find(&self, marker: &str, options: RequestOptions) -> Result<Vec<String>> {
            let tokens = self.client.token_management_stub().list(TokenFilter::default(), options).await?;
            Ok(tokens.into_iter().filter(|t| t.comment.as_deref().is_some_and(|c| c.contains(marker))).map(|t| t.token_id).collect())
        }
        async fn revoke(&self, token_id: &str, options: RequestOptions) -> Result<()> {
            self.client.token_management_stub().delete(token_id, options).await
        }
        async fn set_comment(&self, token_id: &str, comment: &str, options: RequestOptions) -> Result<()> {
            let mut update = self.client.token_management().update(token_id).comment(comment);
            update.options = options;
            update.send().await.map(drop)
        }
        fn id(created: &CreateOboTokenResponse) -> &str {
            created.token_id()
        }
        fn record_comment(created: &mut CreateOboTokenResponse, comment: String) {
            created.token_info.comment = Some(comment);
        }
    }
}

/// What the spec cannot say of the generated [`ListAllTokens`]: its answer as a stream.
impl ListAllTokens {
    /// The tokens as a lazy stream through the crate's pagination machinery: one request, made when the
    /// stream is first polled.
    pub fn stream(self) -> impl Stream<Item = Result<TokenInfo>> + Send + 'static {
        let (client, filter, options) = (self.client, self.filter, self.options);
        paginate(move |_page_token| {
            let (client, filter, options) = (client.clone(), filter.clone(), options.clone());
            async move {
                client
                    .token_management_stub()
                    .list(filter, options)
                    .await
                    .map(|infos| generated::types::ListTokensResponse::new().set_token_infos(infos))
            }
        })
        .items()
    }
}

/// What the spec cannot say of the generated [`UpdateManagedToken`] (`x-rust-hand-body`,
/// `x-rust-builder-extra` and `x-rust-send` of `update_token`): the field-mask setters, the mask (sent in the
/// body) coming from the setters called.
///
/// ```no_run
/// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
/// let updated = w.token_management().update("5f1e...").comment("audited").send().await?;
/// # Ok(()) }
/// ```
impl UpdateManagedToken {
    update_setters!(
        TokenInfo,
        r#"
```no_run
# async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
use databricks_tokens::field_mask::TypedFieldMask;
use databricks_tokens::types::token_management::TokenInfo;
let token = TokenInfo::new("5f1e...").set_comment("c");
w.token_management().update("5f1e...").mask(TypedFieldMask::parse("comment")?).token(token).send().await?;
# Ok(()) }
```"#
    );
}

/// The send of the generated [`UpdateManagedToken`] (`x-rust-send`), in a module the generated code names.
pub(crate) mod update {
    use crate::WorkspaceClient;
    use crate::error::Result;
    use crate::field_mask::{PendingUpdate, Update};
    use crate::operation::tables::token_management::operations as ops;
    use crate::stub::RequestOptions;
    use crate::types::token_management::{TokenInfo, UpdateTokenManagementRequest};

    /// Sends the update (its `token_id` checked by the generated `send()`); the answer is the updated
    /// token. An update with no field set is refused before anything is sent.
    pub(crate) async fn send(
        client: &WorkspaceClient,
        token_id: &str,
        update: PendingUpdate<TokenInfo>,
        options: RequestOptions,
    ) -> Result<TokenInfo> {
        let update = update.unwrap_or_else(|| Update::empty(TokenInfo::new(token_id)));
        let (token, mask) = update.into_checked(ops::UPDATE_TOKEN.id)?;
        client.token_management_stub().update(token_id, UpdateTokenManagementRequest::new(token, mask.to_string()), options).await
    }
}

/// What the spec cannot say of the generated [`SetPermissions`] (`x-rust-hand-setters`, `x-rust-builder-extra`
/// and `x-rust-send` of `set_permissions`): the grant helpers, and that the same builder also adds grants
/// ([`TokenManagement::update_permissions`]).
///
/// ```no_run
/// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
/// use databricks_tokens::types::token_management::TokenPermissionLevel;
/// w.token_management().set_permissions().grant_group("ci-admins", TokenPermissionLevel::CanUse).send().await?;
/// # Ok(()) }
/// ```
impl SetPermissions {
    /// Grants `level` to a user.
    pub fn grant_user(mut self, user_name: impl Into<String>, level: TokenPermissionLevel) -> Self {
        self.body.access_control_list.push(TokenAccessControlRequest::new().set_user_name(user_name.into()).set_permission_level(level));
        self
    }
    /// Grants `level` to a group (`users` is every principal of the workspace).
    pub fn grant_group(mut self, group_name: impl Into<String>, level: TokenPermissionLevel) -> Self {
        self.body.access_control_list.push(TokenAccessControlRequest::new().set_group_name(group_name.into()).set_permission_level(level));
        self
    }
    /// Grants `level` to a service principal, by application id.
    pub fn grant_service_principal(mut self, application_id: impl Into<String>, level: TokenPermissionLevel) -> Self {
        self.body
            .access_control_list
            .push(TokenAccessControlRequest::new().set_service_principal_name(application_id.into()).set_permission_level(level));
        self
    }
}

/// The extra state and send of the generated [`SetPermissions`], in a module the generated code names.
pub(crate) mod permissions {
    use crate::WorkspaceClient;
    use crate::error::{Error, Result};
    use crate::stub::RequestOptions;
    use crate::types::token_management::{TokenPermissions, TokenPermissionsRequest};

    /// Whether the builder adds its grants (`update_permissions`) instead of replacing every grant with
    /// them (`set_permissions`, the default).
    #[derive(Debug, Default)]
    pub(crate) struct Adding {
        pub(crate) add: bool,
    }

    /// Sends the grants: adding nothing is refused before sending; replacing with nothing takes token use
    /// away from everyone but admins.
    pub(crate) async fn send(
        client: &WorkspaceClient,
        body: TokenPermissionsRequest,
        adding: Adding,
        options: RequestOptions,
    ) -> Result<TokenPermissions> {
        let stub = client.token_management_stub();
        if !adding.add {
            return stub.set_permissions(body, options).await;
        }
        if body.access_control_list.is_empty() {
            return Err(Error::invalid_request(
                "update_permissions: nothing to grant: call grant_user, grant_group or grant_service_principal",
            ));
        }
        stub.update_permissions(body, options).await
    }
}

/// What the service guarantees an on-behalf-of create answers with.
///
/// ```
/// use databricks_tokens::types::token_management::{CreateOboTokenResponse, TokenInfo};
/// let created = CreateOboTokenResponse::new(TokenInfo::new("t1"), "dapi-secret");
/// assert_eq!((created.token_id(), created.token_value().expose()), ("t1", "dapi-secret"));
/// ```
impl CreateOboTokenResponse {
    /// The new token's id.
    pub fn token_id(&self) -> &str {
        &self.token_info.token_id
    }
    /// The new token's secret value: shown once, never printed by this crate.
    pub fn token_value(&self) -> &SecretString {
        &self.token_value
    }
    /// The new token's metadata.
    pub fn token_info(&self) -> &TokenInfo {
        &self.token_info
    }
}

impl WorkspaceClient {
    /// The Token Management service: every token of the workspace, for its admins.
    ///
    /// ```no_run
    /// # async fn example(w: databricks_tokens::WorkspaceClient) -> databricks_tokens::Result<()> {
    /// let every_token = w.token_management().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn token_management(&self) -> TokenManagement {
        TokenManagement::new(self.clone())
    }

    /// Where the Token Management builders send their requests: the stub the client was given, else its
    /// pipeline.
    pub(crate) fn token_management_stub(&self) -> &dyn stub::DynTokenManagement {
        match (self.given_token_management_stub(), self.pipeline()) {
            (Some(stub), _) => stub,
            (None, Some(pipeline)) => pipeline,
            (None, None) => &stub::Unimplemented,
        }
    }
}

/// What admins hit, with the fix in the message (the pipeline's errors pass through it: `x-rust-explain`). Only the service's own codes get a hint: a 403 for an
/// invalid credential (its code is numeric) or a 404 for a wrong host (`ENDPOINT_NOT_FOUND`) keep their
/// message alone.
fn explain(operation: &str, application_id: Option<&str>, error: Error) -> Error {
    let denied = error.is_permission_denied() && error.error_code() == Some("PERMISSION_DENIED");
    let missing = error.is_not_found() && error.error_code() == Some("RESOURCE_DOES_NOT_EXIST");
    match (denied, missing, application_id) {
        (true, _, Some(app)) => error.context(format!(
            "{operation}: the workspace refused an on-behalf-of token for {app}: on-behalf-of tokens must be enabled, the caller must be \
             an admin, and the service principal needs CAN_USE on tokens — grant it with \
             w.token_management().update_permissions().grant_service_principal(\"{app}\", TokenPermissionLevel::CanUse)"
        )),
        (true, _, None) => error.context(format!("{operation}: Token Management is for workspace admins; the caller is not one")),
        (false, true, Some(app)) => {
            error.context(format!("{operation}: no service principal with the application id {app:?} in this workspace: add it first"))
        }
        _ => error,
    }
}

/// The real service: the generated request functions over the pipeline (every method generated from the
/// spec; their errors pass through [`explain`], as `x-rust-explain` says).
impl stub::TokenManagement for Pipeline {
    crate::operation::tables::token_management::stub_methods!(
        http,
        [crate::types::token_management],
        [crate::generated::token_management::calls]
    );
}

/// Token Management's list answers in one page.
impl crate::paginate::Page for generated::types::ListTokensResponse {
    type Item = crate::types::token_management::TokenInfo;
    fn next_page_token(&self) -> Option<&str> {
        None
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.token_infos
    }
}
