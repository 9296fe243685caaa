//! Any response body through the whole DEBUG path of a real call: the client lists and creates tokens over
//! HTTP on loopback against a server that answers `200` with the input as the body, with a DEBUG
//! subscriber writing every log line to memory. It checks that
//! - nothing panics (the logged body is cut at 1 KiB, maybe inside a character or a token);
//! - a token-shaped secret the body carries, whatever the key or shape around it, is in no log line and no
//!   error (its message or `Debug`);
//! - logging changes nothing: the same call without a subscriber ends the same way.
//!
//! Input: the body, where every `@@` becomes the secret `dapif0f0e1e1d2d2c3c3b4b4a5a596968787` (a PAT's
//! shape) and every other `dapif` is removed, so the secret's prefix can only come from a planted secret.
#![no_main]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};

use databricks_tokens::{RetryPolicy, WorkspaceClient};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"dapif0f0e1e1d2d2c3c3b4b4a5a596968787";
/// What no output may contain: the prefix of the secret and its first digit.
const TELLTALE: &str = "dapif";

/// The body the server answers with, set per input.
fn body() -> &'static Mutex<Vec<u8>> {
    static BODY: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BODY.get_or_init(Mutex::default)
}

/// A server on loopback answering every request `200` with the current body (one connection per request).
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port on loopback");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream);
            }
        });
        url
    })
}

fn answer(mut stream: std::net::TcpStream) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    // The head, then as many bytes as it announces.
    let head_end = loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buf[..n]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0usize);
    while request.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let body = body().lock().unwrap_or_else(|e| e.into_inner()).clone();
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
}

/// Log lines, kept in memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime"))
}

fn client() -> &'static WorkspaceClient {
    static CLIENT: OnceLock<WorkspaceClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        WorkspaceClient::builder().host(server()).token("dapi-fuzz-client").retry_policy(RetryPolicy::disabled()).build().expect("a client")
    })
}

/// What a caller can observe of both calls (to compare), and the text of their errors (to search).
async fn calls() -> (String, String) {
    fn seen<T: std::fmt::Debug>(r: &databricks_tokens::Result<T>) -> (String, String) {
        match r {
            // Data the server sent is the caller's, whatever it holds.
            Ok(v) => (format!("Ok({v:?})"), String::new()),
            Err(e) => (format!("Err({:?} {e} {})", e.kind(), e.may_have_been_processed()), format!("{e} {e:?}")),
        }
    }
    let w = client();
    let (list, list_error) = seen(&w.tokens().list().send().await);
    let (create, create_error) = seen(&w.tokens().create().comment("fuzz").send().await);
    (format!("{list}\n{create}"), format!("{list_error}\n{create_error}"))
}

fn plant(data: &[u8]) -> Vec<u8> {
    let mut cleaned = data.to_vec();
    while let Some(i) = cleaned.windows(TELLTALE.len()).position(|w| w == TELLTALE.as_bytes()) {
        cleaned.drain(i..i + TELLTALE.len());
    }
    let mut out = Vec::with_capacity(cleaned.len());
    let mut i = 0;
    while i < cleaned.len() {
        if cleaned[i..].starts_with(b"@@") {
            out.extend_from_slice(SECRET);
            i += 2;
        } else {
            out.push(cleaned[i]);
            i += 1;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    *body().lock().unwrap_or_else(|e| e.into_inner()) = plant(data);
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_ansi(false).with_writer(move || writer.clone()).finish();
    let (logged, errors) = tracing::subscriber::with_default(subscriber, || runtime().block_on(calls()));
    let (quiet, _) = runtime().block_on(calls());
    let log = String::from_utf8_lossy(&lines.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(log.contains("request"), "the DEBUG path ran: {log}");
    assert!(!log.contains(TELLTALE), "a secret reached a log line:\n{log}");
    assert!(!errors.contains(TELLTALE), "a secret reached an error:\n{errors}");
    assert_eq!(logged, quiet, "logging changed a result");
});
