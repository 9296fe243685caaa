//! The code generated at build time (see `build.rs`; progenitor's types, this crate's `codegen` for the
//! rest): the Tokens API (`spec/tokens.json`, at the root of this module), the Token Management API
//! (`spec/token_management.json`, in [`token_management`]) and the account Workspaces API
//! (`spec/workspaces.json`, in [`workspaces`]).
//!
//! The spec's tables (`operations`, `schema`) are generated into `crate::operation::tables`, below the
//! pipeline, the errors and the redaction that read them; this module, which depends on those, only brings
//! them into scope.
//!
//! Private: the crate re-exports a curated surface. Their committed, reviewable copies are
//! `tests/snapshots/*_client.rs`, refreshed by `cargo xtask regen`.
#![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]

pub(crate) use crate::operation::tables::{operations, schema};
include!(concat!(env!("OUT_DIR"), "/tokens_client.rs"));

/// The Token Management API's client, generated from `spec/token_management.json`.
pub(crate) mod token_management {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    pub(crate) use crate::operation::tables::token_management::{operations, schema};
    include!(concat!(env!("OUT_DIR"), "/token_management_client.rs"));
}

/// The account Workspaces API's client, generated from `spec/workspaces.json` (see [`crate::account`]).
pub(crate) mod workspaces {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    pub(crate) use crate::operation::tables::workspaces::{operations, schema};
    include!(concat!(env!("OUT_DIR"), "/workspaces_client.rs"));
}

/// A token-paginated list generated from `tests/fixtures/paginated.json` by the same function: it proves
/// the generic pagination machinery over real HTTP in this crate's tests.
#[cfg(test)]
pub(crate) mod paginated_fixture {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    pub(crate) use crate::operation::tables::paginated_fixture::{operations, schema};
    include!(concat!(env!("OUT_DIR"), "/paginated_fixture_client.rs"));
}

/// The Tokens API with one more operation, `get_token_info`, added to a copy of its spec
/// (`tests/fixtures/tokens_with_get_token_info.json`, written by `cargo xtask regen`): its builder
/// `w.tokens().get_token_info(id)` is generated, nothing else written by hand. Generated beside
/// `spec/tokens.json` (`codegen::generate_parts_beside`): the operations the two share are the main
/// spec's; this module adds what the new operation gets, as a regeneration of the edited spec would.
#[cfg(test)]
pub(crate) mod get_token_info_fixture {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    pub(crate) use crate::operation::tables::get_token_info_fixture::{operations, schema};
    include!(concat!(env!("OUT_DIR"), "/get_token_info_fixture_client.rs"));
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::{ErrorKind, WorkspaceClient};

    #[tokio::test]
    async fn both_apis_list_responses_are_decoded_as_they_arrive_and_others_whole() {
        use crate::decode::tests::decoded_as_it_arrives;
        assert!(decoded_as_it_arrives::<crate::generated::types::ListPublicTokensResponse>().await);
        assert!(decoded_as_it_arrives::<crate::generated::token_management::types::ListTokensResponse>().await);
        assert!(!decoded_as_it_arrives::<crate::generated::token_management::types::GetTokenResponse>().await);
    }

    /// `GET /api/2.0/token/{token_id}/info` added to a copy of `spec/tokens.json`, regenerated, and called:
    /// the service method, its builder (owning the client), the request function, the stub trait's method
    /// with its default answer and the pipeline's implementation of it are all generated.
    #[tokio::test]
    async fn an_operation_added_to_the_spec_is_called_with_nothing_written_by_hand() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/2.0/token/abc%2F1/info"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"token_id": "abc/1", "comment": "ci"})))
            .expect(3)
            .mount(&server)
            .await;
        let w = WorkspaceClient::builder().host(server.uri()).token("dapi-proof").build().unwrap();
        let info: super::get_token_info_fixture::types::PublicTokenInfo = w.tokens().get_token_info("abc/1").send().await.unwrap();
        assert_eq!((info.token_id.as_str(), info.comment.as_deref()), ("abc/1", Some("ci")));
        // `.await`, per-call options, and a task of its own: the builder owns its client.
        let again = w.tokens().get_token_info("abc/1").attempt_timeout(std::time::Duration::from_secs(5)).await.unwrap();
        assert_eq!(again, info);
        let spawned = tokio::spawn(w.tokens().get_token_info("abc/1").into_future()).await.unwrap().unwrap();
        assert_eq!(spawned, info);
        // A path parameter is checked before anything is sent.
        let err = w.tokens().get_token_info("").send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("get_token_info: token_id is empty"), "{err}");

        #[derive(Debug)]
        struct Nothing;
        impl crate::stub::Tokens for Nothing {}
        let err = WorkspaceClient::from_stub(Nothing).tokens().get_token_info("abc").send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotImplementedByStub);
        assert!(err.to_string().contains("Tokens::get_token_info is not implemented by this stub"), "{err}");
    }

    /// The generated operation is a method of `stub::Tokens` (generated too): a test double answers it, and
    /// the builder's checks and options reach it as they reach the hand-written operations'.
    #[tokio::test]
    async fn a_stub_answers_an_operation_added_to_the_spec() {
        use super::get_token_info_fixture::types::PublicTokenInfo;
        use crate::stub::RequestOptions;

        #[derive(Debug)]
        struct Knows;
        impl crate::stub::Tokens for Knows {
            async fn get_token_info(&self, token_id: &str, options: RequestOptions) -> crate::Result<PublicTokenInfo> {
                let timeout = options.attempt_timeout().map(|t| t.as_secs());
                Ok(PublicTokenInfo::new(token_id).set_comment(format!("stub, timeout {timeout:?}")))
            }
        }
        let w = WorkspaceClient::from_stub(Knows);
        let info = w.tokens().get_token_info("abc/1").attempt_timeout(std::time::Duration::from_secs(7)).await.unwrap();
        assert_eq!((info.token_id.as_str(), info.comment.as_deref()), ("abc/1", Some("stub, timeout Some(7)")));
        // Checked before the stub is asked.
        let err = w.tokens().get_token_info("").send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        // The hand-written operations the double leaves out still answer "not implemented".
        assert_eq!(w.tokens().list().send().await.unwrap_err().kind(), ErrorKind::NotImplementedByStub);
    }
}
