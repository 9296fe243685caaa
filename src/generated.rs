//! The code generated at build time (see `build.rs`; progenitor's types, this crate's `codegen` for the
//! rest): the Tokens API (`spec/tokens.json`, at the root of this module) and the Token Management API
//! (`spec/token_management.json`, in [`token_management`]).
//!
//! Private: the crate re-exports a curated surface. Their committed, reviewable copies are
//! `tests/snapshots/*_client.rs`, refreshed by `cargo xtask regen`.
#![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/tokens_client.rs"));

/// The Token Management API's client, generated from `spec/token_management.json`.
pub(crate) mod token_management {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/token_management_client.rs"));
}

/// A token-paginated list generated from `tests/fixtures/paginated.json` by the same function: it proves
/// the generic pagination machinery over real HTTP in this crate's tests.
#[cfg(test)]
pub(crate) mod paginated_fixture {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/paginated_fixture.rs"));
}

/// The Tokens API with one more operation, `get_token_info`, added to a copy of its spec
/// (`tests/fixtures/tokens_with_get_token_info.json`, written by `cargo xtask regen`): its builder
/// `w.tokens().get_token_info(id)` is generated, nothing else written by hand.
#[cfg(test)]
pub(crate) mod get_token_info_fixture {
    #![allow(missing_docs, dead_code, unused_imports, unreachable_pub, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/get_token_info_fixture.rs"));
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::{ErrorKind, WorkspaceClient};

    /// `GET /api/2.0/token/{token_id}/info` added to a copy of `spec/tokens.json`, regenerated, and called:
    /// the service method, its builder (owning the client), the request function and the stub's answer are
    /// all generated.
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
        assert!(err.to_string().contains("Tokens::get_token_info"), "{err}");
    }
}
