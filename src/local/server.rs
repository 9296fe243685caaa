//! The HTTP side of a local workspace: routing, faults, and connections on loopback.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use super::oauth;
use super::state::{Answer, Management, error, is_invalid_credential};
use super::{Fault, Route, Shared};

/// The largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
pub(super) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// How a request's answer is given up on, by fault injection.
enum Abort {
    /// The connection is closed without an answer.
    Drop,
    /// The status line and headers of this answer go out, then a body shorter than its `Content-Length`,
    /// then the connection is closed.
    CutBody(Response<Full<Bytes>>),
}

/// A body that sends its bytes, waits for them to go out, then fails: hyper closes the connection short of
/// the promised length.
pub(super) struct CutBody(Option<Bytes>, std::pin::Pin<Box<tokio::time::Sleep>>);

impl hyper::body::Body for CutBody {
    type Data = Bytes;
    type Error = DropConnection;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, DropConnection>>> {
        if let Some(bytes) = self.0.take() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes))));
        }
        self.1.as_mut().poll(cx).map(|()| Some(Err(DropConnection)))
    }
}

pub(super) type AnswerBody = http_body_util::Either<Full<Bytes>, CutBody>;

/// Answers a request, carrying out the faults that break an answer.
pub(super) async fn answer(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<AnswerBody>, DropConnection> {
    match handle(shared, request).await {
        Ok(response) => Ok(response.map(http_body_util::Either::Left)),
        Err(Abort::Drop) => Err(DropConnection),
        Err(Abort::CutBody(response)) => {
            let (mut parts, body) = response.into_parts();
            let whole = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            parts.headers.insert(hyper::header::CONTENT_LENGTH, hyper::header::HeaderValue::from(whole.len()));
            let half = whole.slice(..whole.len() / 2);
            let pause = Box::pin(tokio::time::sleep(std::time::Duration::from_millis(50)));
            Ok(Response::from_parts(parts, http_body_util::Either::Right(CutBody(Some(half), pause))))
        }
    }
}

/// Binds 127.0.0.1:`port` (0: a free port).
pub(super) async fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await
}

/// Serves the listener with `answer` until the returned sender says stop; `accepted` sees each connection
/// as it is accepted (a counter). The local workspace and the local account both serve through it.
pub(super) fn serve<S, A, F>(
    listener: tokio::net::TcpListener,
    state: Arc<S>,
    accepted: fn(&S),
    answer: A,
) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>)
where
    S: Send + Sync + 'static,
    A: Fn(Arc<S>, Request<Incoming>) -> F + Copy + Send + Sync + 'static,
    F: Future<Output = Result<Response<AnswerBody>, DropConnection>> + Send + 'static,
{
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                incoming = listener.accept() => {
                    let Ok((stream, _)) = incoming else { continue };
                    accepted(&state);
                    let state = Arc::clone(&state);
                    let mut stop = stop_rx.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |req| answer(Arc::clone(&state), req));
                        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = conn => {}
                            _ = stop.changed() => {}
                        }
                    });
                }
            }
            // Finished connections are reaped as they end, so that a long run holds only the live ones.
            while connections.try_join_next().is_some() {}
        }
        connections.shutdown().await;
    });
    (stop_tx, task)
}

pub(super) fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let invalid_credential = is_invalid_credential(&answer);
    let (status, body) = answer;
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    if invalid_credential {
        response.headers_mut().insert(REASON_PHRASE, hyper::header::HeaderValue::from_static("Invalid access token."));
    }
    response
}

/// The header in which the service states why it refused a credential.
const REASON_PHRASE: hyper::header::HeaderName = hyper::header::HeaderName::from_static("x-databricks-reason-phrase");
/// The header in which a client names the workspace it means (`workspace_id` in its configuration).
const WORKSPACE_ID_HEADER: &str = "x-databricks-workspace-id";

/// A request naming another workspace in `X-Databricks-Workspace-Id` is refused (`403 PERMISSION_DENIED`),
/// as the service refuses a request that reached the wrong workspace. Without the header, any is fine.
fn wrong_workspace(headers: &hyper::HeaderMap, this: &str) -> Option<Answer> {
    let named = headers.get(WORKSPACE_ID_HEADER)?;
    if named.as_bytes() == this.as_bytes() {
        return None;
    }
    let named = crate::redact::truncate(&String::from_utf8_lossy(named.as_bytes()), 100);
    Some(error(
        403,
        "PERMISSION_DENIED",
        format!("X-Databricks-Workspace-Id names workspace {named:?}, but this is workspace {this}: check the client's workspace_id."),
    ))
}

/// What a request asks for.
enum Endpoint {
    Tokens(Operation),
    Management(Management),
    HostMetadata,
    OidcDiscovery,
    OAuthToken,
}

/// An operation of the Tokens API.
enum Operation {
    Create,
    List,
    Update(String),
    Delete,
}

impl Endpoint {
    fn route(&self) -> Route {
        match self {
            Endpoint::Tokens(Operation::Create) => Route::Create,
            Endpoint::Tokens(Operation::List) => Route::List,
            Endpoint::Tokens(Operation::Update(_)) => Route::Update,
            Endpoint::Tokens(Operation::Delete) => Route::Delete,
            Endpoint::Management(m) => match m {
                Management::CreateOboToken => Route::CreateOboToken,
                Management::List => Route::ManagementList,
                Management::Get(_) => Route::ManagementGet,
                Management::Update(_) => Route::ManagementUpdate,
                Management::Delete(_) => Route::ManagementDelete,
                Management::PermissionLevels => Route::PermissionLevels,
                Management::GetPermissions => Route::GetPermissions,
                Management::SetPermissions => Route::SetPermissions,
                Management::UpdatePermissions => Route::UpdatePermissions,
            },
            Endpoint::HostMetadata => Route::HostMetadata,
            Endpoint::OidcDiscovery => Route::OidcDiscovery,
            Endpoint::OAuthToken => Route::OAuthToken,
        }
    }
}

/// The endpoint of a request: the operations of the Tokens API and of the Token Management API by their
/// specs' operation tables (method and path template), the OAuth ones by their well-known paths.
fn route_of(method: &hyper::Method, path: &str) -> Option<Endpoint> {
    use crate::operation::tables::token_management::operations as tm;
    use crate::operation::{CREATE_TOKEN, LIST_TOKENS, REVOKE_TOKEN, UPDATE_TOKEN};
    let method = method.as_str();
    // The operation, by its service and id (`list_tokens` is one of each API), and its path's `{token_id}`.
    let found = crate::operation::every().find_map(|op| op.matches(method, path).map(|values| (op, values)));
    if let Some((operation, values)) = found {
        let id = || values.first().map(|id| percent_decode(id)).unwrap_or_default();
        return Some(match *operation {
            CREATE_TOKEN => Endpoint::Tokens(Operation::Create),
            LIST_TOKENS => Endpoint::Tokens(Operation::List),
            REVOKE_TOKEN => Endpoint::Tokens(Operation::Delete),
            UPDATE_TOKEN => Endpoint::Tokens(Operation::Update(id())),
            tm::CREATE_OBO_TOKEN => Endpoint::Management(Management::CreateOboToken),
            tm::LIST_TOKENS => Endpoint::Management(Management::List),
            tm::GET_TOKEN => Endpoint::Management(Management::Get(id())),
            tm::UPDATE_TOKEN => Endpoint::Management(Management::Update(id())),
            tm::DELETE_TOKEN => Endpoint::Management(Management::Delete(id())),
            tm::GET_PERMISSION_LEVELS => Endpoint::Management(Management::PermissionLevels),
            tm::GET_PERMISSIONS => Endpoint::Management(Management::GetPermissions),
            tm::SET_PERMISSIONS => Endpoint::Management(Management::SetPermissions),
            tm::UPDATE_PERMISSIONS => Endpoint::Management(Management::UpdatePermissions),
            // An operation a spec gained that the local workspace does not serve yet.
            _ => return None,
        });
    }
    match (method, path) {
        ("GET", "/.well-known/databricks-config") => Some(Endpoint::HostMetadata),
        ("GET", "/oidc/.well-known/oauth-authorization-server") => Some(Endpoint::OidcDiscovery),
        ("POST", "/oidc/v1/token") => Some(Endpoint::OAuthToken),
        _ => None,
    }
}

/// A path segment with its `%XX` escapes decoded (lossily, as a server decodes what it cannot trust).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Abort> {
    let Some(endpoint) = route_of(request.method(), request.uri().path()) else {
        let message = format!("No API found for '{} {}'", request.method(), request.uri().path());
        return Ok(respond((404, json!({"error_code": "ENDPOINT_NOT_FOUND", "message": message}))));
    };
    let route = endpoint.route();
    let fault = shared.next_fault(route);
    match &fault {
        Some(Fault::TooManyRequests { retry_after_seconds }) => {
            let mut r = respond((429, json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests, slow down."})));
            r.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from(*retry_after_seconds));
            return Ok(r);
        }
        Some(Fault::Unavailable) => {
            return Ok(respond((
                503,
                json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "The service is temporarily unavailable."}),
            )));
        }
        Some(Fault::HtmlServerError) => {
            let mut r = Response::new(Full::new(Bytes::from_static(
                b"<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>",
            )));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/html"));
            return Ok(r);
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let header = |name: hyper::header::HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (authorization, content_type) = (header(hyper::header::AUTHORIZATION), header(hyper::header::CONTENT_TYPE));
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) if route == Route::OAuthToken => return Ok(token_response(oauth::unreadable_body())),
        Err(_) => {
            return Ok(respond((
                400,
                json!({"error_code": "MALFORMED_REQUEST", "message": "The request body is too large or was cut off."}),
            )));
        }
    };
    if fault == Some(Fault::ResetBeforeProcessing) {
        return Err(Abort::Drop);
    }
    let process = {
        let shared = Arc::clone(&shared);
        move || {
            let api = matches!(endpoint, Endpoint::Tokens(_) | Endpoint::Management(_));
            let refused = if api { wrong_workspace(&headers, shared.oauth.workspace_id()) } else { None };
            let answer = match (refused, endpoint) {
                (Some(refused), _) => refused,
                (None, Endpoint::Tokens(operation)) => tokens_api(&shared, operation, authorization.as_deref(), &headers, &body),
                (None, Endpoint::Management(operation)) => {
                    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                    match authenticate(&shared, &mut state, authorization.as_deref(), &headers) {
                        Ok(caller) => state.management(&caller, operation, query.as_deref(), &body),
                        Err(answer) => answer,
                    }
                }
                (None, Endpoint::HostMetadata) => shared.oauth.host_metadata(),
                (None, Endpoint::OidcDiscovery) => shared.oauth.discovery(),
                (None, Endpoint::OAuthToken) => {
                    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                    shared.oauth.token(&mut state, authorization.as_deref(), content_type.as_deref(), &body)
                }
            };
            shared.processed(route);
            answer
        }
    };
    if let Some(Fault::ProcessLate(delay)) = fault {
        // Processed later whatever becomes of the connection; the client hears nothing until then.
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            process();
        });
        tokio::time::sleep(delay).await;
        return Err(Abort::Drop);
    }
    let answer = process();
    if fault == Some(Fault::ResetAfterProcessing) {
        return Err(Abort::Drop);
    }
    if fault == Some(Fault::BodyCutAfterStatus) {
        return Err(Abort::CutBody(respond(answer)));
    }
    Ok(if route == Route::OAuthToken { token_response(answer) } else { respond(answer) })
}

/// The caller of a request: a trusted issuer's JWT as the bearer credential (when the workspace accepts
/// those), else a token or access token it knows.
fn authenticate(
    shared: &Shared,
    state: &mut super::state::State,
    authorization: Option<&str>,
    headers: &hyper::HeaderMap,
) -> Result<super::principals::Principal, Answer> {
    let now = state.now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    match shared.oauth.bearer_jwt(authorization, headers, now) {
        Some(subject) => subject.map(|name| state.principal_named(&name)),
        None => state.authenticate(authorization),
    }
}

/// A Tokens API request: authenticated with a Bearer credential, a JSON body.
fn tokens_api(shared: &Shared, operation: Operation, authorization: Option<&str>, headers: &hyper::HeaderMap, body: &[u8]) -> Answer {
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let caller = match authenticate(shared, &mut state, authorization, headers) {
        Ok(caller) => caller,
        Err(answer) => return answer,
    };
    let json: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(body).unwrap_or(Value::Null) };
    if json.is_null() && !matches!(operation, Operation::List) {
        return (400, json!({"error_code": "MALFORMED_REQUEST", "message": "The request body is not valid JSON."}));
    }
    match operation {
        Operation::Create => state.create(&caller, &json),
        Operation::List => state.list(&caller),
        Operation::Update(token_id) => state.update(&caller, &token_id, &json),
        Operation::Delete => state.delete(&caller, &json),
    }
}

/// A token endpoint answer: never cached (RFC 6749 §5.1), and a 401 names the authentication scheme.
pub(super) fn token_response(answer: Answer) -> Response<Full<Bytes>> {
    let unauthorized = answer.0 == 401;
    let mut response = respond(answer);
    let headers = response.headers_mut();
    headers.insert(hyper::header::CACHE_CONTROL, hyper::header::HeaderValue::from_static("no-store"));
    headers.insert(hyper::header::PRAGMA, hyper::header::HeaderValue::from_static("no-cache"));
    if unauthorized {
        headers.insert(hyper::header::WWW_AUTHENTICATE, hyper::header::HeaderValue::from_static("Basic realm=\"local-workspace\""));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_both_specs_has_a_route_of_its_own() {
        let mut routes = Vec::new();
        // The account Workspaces API is the local account's (`local::account`), not a workspace's.
        for operation in crate::operation::every().filter(|op| !op.path.starts_with("/api/2.0/accounts/")) {
            let method = hyper::Method::from_bytes(operation.method.as_bytes()).unwrap();
            let path = operation.path.replace("{token_id}", "abc%2F1");
            let endpoint = route_of(&method, &path).unwrap_or_else(|| panic!("{} is not served", operation.id));
            if let Endpoint::Management(Management::Get(id) | Management::Update(id) | Management::Delete(id)) = &endpoint {
                assert_eq!(id, "abc/1", "path parameters are percent-decoded");
            }
            routes.push(endpoint.route());
        }
        let count = routes.len();
        routes.sort();
        routes.dedup();
        assert_eq!((routes.len(), count), (13, 13), "one route per operation");
        assert!(route_of(&hyper::Method::GET, "/api/2.0/token-management/tokens/").is_none(), "an empty id");
        assert!(route_of(&hyper::Method::GET, "/api/2.0/token-management/tokens/a/b").is_none());
    }
}
