//! The HTTP side of a local workspace: routing, faults, and connections on loopback.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use super::state::Answer;
use super::{Fault, Route, Shared};

/// The largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Binds 127.0.0.1:`port` and serves until the returned sender says stop.
pub(super) async fn serve(
    port: u16,
    shared: Arc<Shared>,
) -> std::io::Result<(SocketAddr, tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shared = Arc::clone(&shared);
                    let mut stop = stop_rx.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), req));
                        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = conn => {}
                            _ = stop.changed() => {}
                        }
                    });
                }
            }
        }
        connections.shutdown().await;
    });
    Ok((addr, stop_tx, task))
}

fn respond((status, body): Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}

fn route_of(method: &hyper::Method, path: &str) -> Option<(Route, Option<String>)> {
    match (method.as_str(), path) {
        ("POST", "/api/2.0/token/create") => Some((Route::Create, None)),
        ("GET", "/api/2.0/token/list") => Some((Route::List, None)),
        ("POST", "/api/2.0/token/delete") => Some((Route::Delete, None)),
        ("PATCH", p) => {
            let id = p.strip_prefix("/api/2.0/token/")?;
            (!id.is_empty() && !id.contains('/')).then(|| (Route::Update, Some(percent_decode(id))))
        }
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, DropConnection> {
    let Some((route, token_id)) = route_of(request.method(), request.uri().path()) else {
        let message = format!("No API found for '{} {}'", request.method(), request.uri().path());
        return Ok(respond((404, json!({"error_code": "ENDPOINT_NOT_FOUND", "message": message}))));
    };
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
    let authorization = request.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(respond((
                400,
                json!({"error_code": "MALFORMED_REQUEST", "message": "The request body is too large or was cut off."}),
            )));
        }
    };
    if fault == Some(Fault::ResetBeforeProcessing) {
        return Err(DropConnection);
    }
    let answer = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.authenticate(authorization.as_deref()) {
            Err(answer) => answer,
            Ok(user) => {
                let json: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
                if json.is_null() && route != Route::List {
                    (400, json!({"error_code": "MALFORMED_REQUEST", "message": "The request body is not valid JSON."}))
                } else {
                    match route {
                        Route::Create => state.create(&user, &json),
                        Route::List => state.list(&user),
                        Route::Update => state.update(&user, token_id.as_deref().unwrap_or_default(), &json),
                        Route::Delete => state.delete(&user, &json),
                    }
                }
            }
        }
    };
    shared.processed(route);
    if fault == Some(Fault::ResetAfterProcessing) {
        return Err(DropConnection);
    }
    Ok(respond(answer))
}
