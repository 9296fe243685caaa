//! Lazy pagination of any Databricks list operation, as streams of pages or of items.
//!
//! A list operation is a function from a page token to a page ([`paginate`] takes it as a closure, so
//! every other request parameter is captured once and sent unchanged on each page). The rules, which two
//! official SDKs have each broken once:
//! - nothing is requested until the stream is polled;
//! - it stops when `next_page_token` is absent **or empty**;
//! - an empty page that still carries a token does **not** end the listing;
//! - the first error is yielded, then the stream ends;
//! - a server that sends a token it already sent is detected (an error), instead of looping forever;
//! - a listing can resume from a saved token ([`Paginator::resume_from`]).
//!
//! Unpaginated lists (the token list) are a single page whose `next_page_token` is always `None`.

use std::collections::HashSet;
use std::future::Future;

use futures::{Stream, TryStreamExt, stream};

use crate::error::{Error, Result};

/// One page of a list response.
///
/// ```
/// use databricks_tokens::paginate::Page;
/// /// A page of some paginated API: its items and the token of the next page.
/// struct Things { things: Vec<String>, next_page_token: Option<String> }
/// impl Page for Things {
///     type Item = String;
///     fn next_page_token(&self) -> Option<&str> { self.next_page_token.as_deref() }
///     fn into_items(self) -> Vec<String> { self.things }
/// }
/// let page = Things { things: vec!["a".into()], next_page_token: None };
/// assert_eq!(page.next_page_token(), None);
/// assert_eq!(page.into_items(), ["a"]);
/// ```
pub trait Page {
    /// What the page lists.
    type Item;
    /// The token of the next page; `None` or empty on the last page.
    fn next_page_token(&self) -> Option<&str>;
    /// The page's items.
    fn into_items(self) -> Vec<Self::Item>;
}

impl Page for crate::types::ListPublicTokensResponse {
    type Item = crate::types::PublicTokenInfo;
    fn next_page_token(&self) -> Option<&str> {
        None
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.token_infos
    }
}

/// A lazy listing; see [`paginate`].
#[must_use = "a paginator does nothing until its pages or items are polled"]
pub struct Paginator<F> {
    fetch: F,
    start: Option<String>,
}

impl<F> std::fmt::Debug for Paginator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator").field("start", &self.start).finish_non_exhaustive()
    }
}

/// Paginates a list operation given as `fetch(page_token) -> page`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::paginate::{Page, paginate};
/// struct Things { things: Vec<u32>, next: Option<String> }
/// impl Page for Things {
///     type Item = u32;
///     fn next_page_token(&self) -> Option<&str> { self.next.as_deref() }
///     fn into_items(self) -> Vec<u32> { self.things }
/// }
/// // A fake API of two pages; a real one sends `page_token` and reads `next_page_token`.
/// let fetch = |token: Option<String>| async move {
///     Ok(match token.as_deref() {
///         None => Things { things: vec![1, 2], next: Some("p2".into()) },
///         _ => Things { things: vec![3], next: None },
///     })
/// };
/// assert_eq!(paginate(fetch).collect_items().await?, [1, 2, 3]);
/// # Ok(()) }
/// ```
///
/// The Tokens API's own list answers in one page; `w.tokens().list().stream()` goes through this
/// machinery all the same.
pub fn paginate<P, F, Fut>(fetch: F) -> Paginator<F>
where
    P: Page,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P>>,
{
    Paginator { fetch, start: None }
}

/// What to do next.
enum Next {
    Fetch(Option<String>),
    Fail(Error),
    Done,
}

impl<P, F, Fut> Paginator<F>
where
    P: Page,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P>>,
{
    /// Starts from a page token saved from an earlier listing's page.
    pub fn resume_from(mut self, page_token: impl Into<String>) -> Self {
        self.start = Some(page_token.into()).filter(|t: &String| !t.is_empty());
        self
    }

    /// The pages, in order. Pin it (`std::pin::pin!`) to call `next()` on it.
    pub fn pages(self) -> impl Stream<Item = Result<P>> {
        let Self { fetch, start } = self;
        let seen: HashSet<String> = start.iter().cloned().collect();
        stream::unfold((fetch, Next::Fetch(start), seen), |(mut fetch, next, mut seen)| async move {
            let token = match next {
                Next::Done => return None,
                Next::Fail(e) => return Some((Err(e), (fetch, Next::Done, seen))),
                Next::Fetch(token) => token,
            };
            match fetch(token).await {
                Err(e) => Some((Err(e), (fetch, Next::Done, seen))),
                Ok(page) => {
                    let next = match page.next_page_token().filter(|t| !t.is_empty()) {
                        None => Next::Done,
                        Some(t) if !seen.insert(t.to_owned()) => Next::Fail(Error::unexpected_response(format!(
                            "the server sent page token {t:?} twice: stopping instead of listing forever"
                        ))),
                        Some(t) => Next::Fetch(Some(t.to_owned())),
                    };
                    Some((Ok(page), (fetch, next, seen)))
                }
            }
        })
    }

    /// The items of every page, in order.
    pub fn items(self) -> impl Stream<Item = Result<P::Item>> {
        self.pages().map_ok(|page| stream::iter(page.into_items().into_iter().map(Ok))).try_flatten()
    }

    /// Every item, or the first error.
    pub async fn collect_items(self) -> Result<Vec<P::Item>> {
        self.items().try_collect().await
    }

    /// Every page, or the first error.
    pub async fn collect_pages(self) -> Result<Vec<P>> {
        self.pages().try_collect().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::StreamExt;
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::*;
    use crate::auth::PatCredentials;
    use crate::clock::SystemClock;
    use crate::generated::paginated_fixture::{calls, operations};
    use crate::pipeline::{Pipeline, PipelineParts};
    use crate::retry::RetryPolicy;
    use crate::types::paginated_fixture::{ListThingsResponse, Thing};

    /// The fixture's page type is generated (`things` and `next_page_token`), nothing written by hand.
    #[test]
    fn a_paginated_lists_page_is_generated() {
        let page = ListThingsResponse::new().set_things(vec![Thing::new().set_name("a")]).set_next_page_token("n");
        assert_eq!(page.next_page_token(), Some("n"));
        assert_eq!(page.into_items().len(), 1);
    }

    type Client = Pipeline;

    fn fixture_client(uri: &str) -> Client {
        fixture_client_retrying(uri, RetryPolicy::disabled())
    }

    fn fixture_client_retrying(uri: &str, retry: RetryPolicy) -> Client {
        Pipeline::new(PipelineParts {
            http: reqwest::Client::new(),
            credentials: Arc::new(PatCredentials::new("t")),
            base_url: reqwest::Url::parse(uri).unwrap(),
            retry,
            clock: Arc::new(SystemClock),
            rate_limit: None,
            product: ("test".into(), "0".into()),
            workspace_id: None,
            max_response_size: crate::decode::DEFAULT_MAX_RESPONSE_SIZE,
            shared: Default::default(),
            retry_budget: None,
        })
        .unwrap()
    }

    type PageFuture<'a> = std::pin::Pin<Box<dyn Future<Output = Result<ListThingsResponse>> + Send + 'a>>;

    /// Lists things named like `filter`, two per page, through the generated client and the pipeline.
    fn things<'a>(client: &'a Client, filter: &'a str) -> Paginator<impl FnMut(Option<String>) -> PageFuture<'a>> {
        paginate(move |token: Option<String>| {
            Box::pin(calls::list_things(client, Some(filter.to_owned()), Some(2), token, Default::default())) as PageFuture<'a>
        })
    }

    /// Answers page requests from a script: page token (None = first) → body.
    async fn scripted(pages: Vec<(Option<&'static str>, serde_json::Value)>) -> MockServer {
        let server = MockServer::start().await;
        for (token, body) in pages {
            let m = Mock::given(method("GET")).and(path("/api/2.0/things/list"));
            let m = match token {
                None => m.and(query_param_is_missing("page_token")),
                Some(t) => m.and(query_param("page_token", t)),
            };
            m.respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(&server).await;
        }
        server
    }

    fn ids(items: &[Thing]) -> Vec<&str> {
        items.iter().map(|t| t.id.as_deref().unwrap_or("?")).collect()
    }

    #[tokio::test]
    async fn walks_every_page_sending_the_other_parameters_unchanged() {
        let server = scripted(vec![
            (None, json!({"things": [{"id": "1"}, {"id": "2"}], "next_page_token": "p2"})),
            (Some("p2"), json!({"things": [{"id": "3"}, {"id": "4"}], "next_page_token": "p3"})),
            (Some("p3"), json!({"things": [{"id": "5"}]})),
        ])
        .await;
        let client = fixture_client(&server.uri());
        let all = things(&client, "a b").collect_items().await.unwrap();
        assert_eq!(ids(&all), ["1", "2", "3", "4", "5"]);
        let requests: Vec<Request> = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3);
        for r in &requests {
            let q: Vec<(String, String)> = r.url.query_pairs().into_owned().filter(|(k, _)| k != "page_token").collect();
            assert_eq!(q, [("filter".to_owned(), "a b".to_owned()), ("page_size".to_owned(), "2".to_owned())]);
        }
    }

    #[tokio::test]
    async fn nothing_is_requested_until_polled() {
        let server = scripted(vec![(None, json!({"things": [{"id": "1"}]}))]).await;
        let client = fixture_client(&server.uri());
        let pages = things(&client, "").pages();
        assert!(server.received_requests().await.unwrap().is_empty());
        drop(pages);
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_empty_token_ends_the_listing_an_empty_page_with_a_token_does_not() {
        let server = scripted(vec![
            (None, json!({"next_page_token": "p2"})),
            (Some("p2"), json!({"things": [], "next_page_token": "p3"})),
            (Some("p3"), json!({"things": [{"id": "7"}], "next_page_token": ""})),
        ])
        .await;
        let client = fixture_client(&server.uri());
        let pages = things(&client, "").collect_pages().await.unwrap();
        assert_eq!(pages.len(), 3);
        assert_eq!(ids(&things(&client, "").collect_items().await.unwrap()), ["7"]);
    }

    #[tokio::test]
    async fn a_repeated_token_is_an_error_not_an_endless_loop() {
        let server = scripted(vec![
            (None, json!({"things": [{"id": "1"}], "next_page_token": "p2"})),
            (Some("p2"), json!({"things": [{"id": "2"}], "next_page_token": "p2"})),
        ])
        .await;
        let client = fixture_client(&server.uri());
        let results: Vec<Result<Thing>> = things(&client, "").items().collect().await;
        assert_eq!(results.len(), 3, "two items then the error");
        let err = results[2].as_ref().unwrap_err();
        assert!(err.to_string().contains("page token \"p2\" twice"), "{err}");
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn the_first_error_is_yielded_then_the_stream_ends() {
        let server = MockServer::start().await;
        Mock::given(query_param_is_missing("page_token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"things": [{"id": "1"}], "next_page_token": "p2"})))
            .mount(&server)
            .await;
        Mock::given(query_param("page_token", "p2"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad token"})),
            )
            .mount(&server)
            .await;
        let client = fixture_client(&server.uri());
        let results: Vec<Result<ListThingsResponse>> = things(&client, "").pages().collect().await;
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err().error_code(), Some("INVALID_PARAMETER_VALUE"));
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
        let err = things(&client, "").collect_items().await.unwrap_err();
        assert_eq!(err.message(), "bad token");
    }

    #[tokio::test]
    async fn a_listing_resumes_from_a_saved_token() {
        let server = scripted(vec![
            (None, json!({"things": [{"id": "1"}], "next_page_token": "p2"})),
            (Some("p2"), json!({"things": [{"id": "2"}], "next_page_token": "p3"})),
            (Some("p3"), json!({"things": [{"id": "3"}]})),
        ])
        .await;
        let client = fixture_client(&server.uri());
        let mut pages = std::pin::pin!(things(&client, "").pages());
        let first = pages.next().await.unwrap().unwrap();
        let saved = first.next_page_token.clone().unwrap();
        let rest = things(&client, "").resume_from(saved).collect_items().await.unwrap();
        assert_eq!(ids(&rest), ["2", "3"]);
    }

    /// The spec fixture says `list_things` may be repeated after a request may have reached the server
    /// and `create_thing` may not (`x-databricks-idempotent`); the generated operation table carries it,
    /// and the pipeline follows it: the same dropped connection is retried for one and not the other.
    #[tokio::test]
    async fn retry_safety_follows_the_spec_fixture() {
        const { assert!(operations::LIST_THINGS.paginated && operations::LIST_THINGS.idempotent) };
        const { assert!(!operations::CREATE_THING.paginated && !operations::CREATE_THING.idempotent) };
        let retrying = RetryPolicy::default().with_max_attempts(3).with_backoff(std::time::Duration::ZERO, std::time::Duration::ZERO);
        let client = |uri: &str| fixture_client_retrying(uri, retrying.clone());
        let (uri, seen) = drop_after_request().await;
        let c = client(&uri);
        let err = calls::list_things(&c, None, None, None, Default::default()).await.unwrap_err();
        assert_eq!((err.attempts(), seen.load(std::sync::atomic::Ordering::SeqCst)), (3, 3), "idempotent: retried");
        let (uri, seen) = drop_after_request().await;
        let c = client(&uri);
        let thing = Thing { id: Some("t".into()), name: None };
        let err = calls::create_thing(&c, &thing, Default::default()).await.unwrap_err();
        assert_eq!((err.attempts(), seen.load(std::sync::atomic::Ordering::SeqCst)), (1, 1), "not idempotent: never repeated");
        assert!(err.may_have_been_processed() && !err.is_retryable());
    }

    /// A server that reads each request and closes the connection unanswered; counts them.
    async fn drop_after_request() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut read = Vec::new();
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        read.extend_from_slice(&buf[..n]);
                        let head_end = read.windows(4).position(|w| w == b"\r\n\r\n");
                        if let Some(end) = head_end {
                            let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if read.len() >= end + 4 + len {
                                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                return;
                            }
                        }
                    }
                });
            }
        });
        (uri, seen)
    }
}

/// Tests that pin what the mutation run (`cargo mutants --file src/paginate.rs`) found unchecked.
#[cfg(test)]
mod debug_tests {
    use super::*;

    struct Empty;
    impl Page for Empty {
        type Item = ();
        fn next_page_token(&self) -> Option<&str> {
            None
        }
        fn into_items(self) -> Vec<()> {
            Vec::new()
        }
    }

    #[test]
    fn debug_shows_where_the_listing_starts() {
        let fetch = |_token: Option<String>| async { Ok(Empty) };
        assert_eq!(format!("{:?}", paginate(fetch)), "Paginator { start: None, .. }");
        assert_eq!(format!("{:?}", paginate(fetch).resume_from("p2")), "Paginator { start: Some(\"p2\"), .. }");
        assert_eq!(format!("{:?}", paginate(fetch).resume_from("")), "Paginator { start: None, .. }", "an empty token is the start");
    }
}
