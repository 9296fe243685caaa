//! Reading responses: the body as the pipeline hands it on, and the strict decoder every generated
//! operation calls.
//!
//! - **Bounded**: a body past the client's limit ([`DEFAULT_MAX_RESPONSE_SIZE`] unless set) fails with
//!   [`ErrorKind::ResponseTooLarge`](crate::ErrorKind::ResponseTooLarge) and the connection is dropped;
//!   a body that has not arrived by the end of its attempt's time fails with a timeout.
//! - **Streamed when large**: a list response past [`STREAM_ABOVE`] is decoded item by item as its body
//!   arrives, instead of being held whole next to what it decodes to.
//! - **Logged without changing anything**: at DEBUG the first [`MAX_LOGGED_BODY`] bytes are copied into a
//!   log line, redacted, as the body streams past; a body that fails to read fails the same way with
//!   logging on or off.
//! - **Strict**: an object in the spec is an object on the wire — a JSON array never decodes positionally
//!   into a struct, at any depth; required fields are required (a missing one is a decode error naming
//!   it); a leading UTF-8 BOM is ignored; an empty 2xx body reads as `{}`.
//! - **Quiet**: a decode error never quotes a value from the body (a secret may be anywhere).

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};

use crate::redact::{KnownSecrets, MAX_LOGGED_BODY};

/// The largest response body a client accepts unless told otherwise: 64 MiB (a list of 100,000 tokens
/// is about 20 MB).
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 64 * 1024 * 1024;

/// The error a capped body fails with past its limit.
#[derive(Debug)]
pub(crate) struct TooLarge {
    pub(crate) limit: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the response body is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for TooLarge {}

/// The limit a failure was caused by, when a capped body caused it.
pub(crate) fn too_large(error: &(dyn std::error::Error + 'static)) -> Option<u64> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<TooLarge>() {
            return Some(t.limit);
        }
        current = e.source();
    }
    None
}

/// A response body copied into the DEBUG log as it streams past (its first [`MAX_LOGGED_BODY`] bytes,
/// redacted, once it ends); the reader ([`Chunks`]) applies the size limit and the deadline.
pub(crate) struct LoggedBody {
    inner: reqwest::Body,
    shown: Vec<u8>,
    total: usize,
    status: u16,
    secrets: Arc<KnownSecrets>,
    span: tracing::Span,
    /// Whether the log line was written (at the end, or at a failure).
    logged: bool,
}

impl LoggedBody {
    /// Wraps a response's body (when DEBUG logging is on).
    pub(crate) fn wrap(response: reqwest::Response, secrets: &Arc<KnownSecrets>) -> reqwest::Response {
        let status = response.status().as_u16();
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let body = Self {
            inner: body,
            shown: Vec::new(),
            total: 0,
            status,
            secrets: Arc::clone(secrets),
            span: tracing::Span::current(),
            logged: false,
        };
        reqwest::Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(body)))
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(polled) => polled,
        };
        match polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.total += data.len();
                    let room = MAX_LOGGED_BODY.saturating_sub(this.shown.len());
                    this.shown.extend_from_slice(&data[..data.len().min(room)]);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                if !std::mem::replace(&mut this.logged, true) {
                    tracing::debug!(parent: &this.span, status = this.status, error = %e, "response body could not be read");
                }
                Poll::Ready(Some(Err(e.into())))
            }
            None => {
                if !std::mem::replace(&mut this.logged, true) {
                    let body = crate::redact::body_for_log(&this.shown, this.total, &this.secrets);
                    tracing::debug!(parent: &this.span, status = this.status, body = %body, "response body");
                }
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A body up to this size is read whole, then decoded; a larger one is decoded as it streams in.
pub(crate) const STREAM_ABOVE: usize = 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A `reqwest::Error` of a response body that failed with `error` (a [`TooLarge`], an
/// `io::ErrorKind::TimedOut`), so that every body failure is reported through one path.
pub(crate) fn body_error(error: impl Into<BoxError>) -> reqwest::Error {
    struct Failing(Option<BoxError>);
    impl HttpBody for Failing {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.take().map(Err))
        }
    }
    let mut body = reqwest::Body::wrap(Failing(Some(error.into())));
    match Pin::new(&mut body).poll_frame(&mut Context::from_waker(std::task::Waker::noop())) {
        Poll::Ready(Some(Err(e))) => e,
        // A body that fails at once can do nothing else.
        _ => unreachable!("a failing body fails"),
    }
}

/// `future`'s output, or `None` when `deadline` passes first. The timer is armed only when the future has
/// to wait: a future that is ready at once costs no timer.
pub(crate) async fn until<F: Future>(deadline: Option<tokio::time::Instant>, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer: Pin<&mut Option<tokio::time::Sleep>> = pin!(None);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        let Some(deadline) = deadline else { return Poll::Pending };
        if timer.is_none() {
            timer.set(Some(tokio::time::sleep_until(deadline)));
        }
        match timer.as_mut().as_pin_mut().map(|t| t.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// A response's body, chunk by chunk, within a size limit and a deadline.
pub(crate) struct Chunks {
    response: reqwest::Response,
    limit: u64,
    read: u64,
    deadline: Option<tokio::time::Instant>,
}

impl Chunks {
    fn new(response: reqwest::Response, limit: u64, deadline: Option<tokio::time::Instant>) -> reqwest::Result<Self> {
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(body_error(TooLarge { limit }));
        }
        Ok(Self { response, limit, read: 0, deadline })
    }

    async fn next(&mut self) -> reqwest::Result<Option<Bytes>> {
        let chunk = match until(self.deadline, self.response.chunk()).await {
            Some(chunk) => chunk?,
            None => return Err(body_error(std::io::Error::from(std::io::ErrorKind::TimedOut))),
        };
        if let Some(chunk) = &chunk {
            self.read = self.read.saturating_add(chunk.len() as u64);
            if self.read > self.limit {
                return Err(body_error(TooLarge { limit: self.limit }));
            }
        }
        Ok(chunk)
    }
}

/// Reads a whole body within `limit` bytes, by `deadline`.
pub(crate) async fn read_body(response: reqwest::Response, limit: u64, deadline: Option<tokio::time::Instant>) -> reqwest::Result<Bytes> {
    let mut chunks = Chunks::new(response, limit, deadline)?;
    let Some(first) = chunks.next().await? else { return Ok(Bytes::new()) };
    let Some(second) = chunks.next().await? else { return Ok(first) };
    let mut all = Vec::with_capacity(first.len() + second.len());
    all.extend_from_slice(&first);
    all.extend_from_slice(&second);
    while let Some(chunk) = chunks.next().await? {
        all.extend_from_slice(&chunk);
    }
    Ok(all.into())
}

/// How a response type's body is decoded once it is past [`STREAM_ABOVE`]. The generator implements it for
/// every generated type (`codegen/src/lib.rs`): by default the body goes on being read whole; a list
/// response — an object whose one field is an array of objects — is decoded item by item as it arrives.
pub(crate) trait Decode: DeserializeOwned + Send + 'static {
    /// Decodes a large body: `buffered` is what was read so far, `chunks` the rest.
    fn decode_large(buffered: Vec<Bytes>, chunks: &mut Chunks) -> impl Future<Output = reqwest::Result<Result<Self, String>>> + Send {
        async move {
            let mut all = buffered.concat();
            while let Some(chunk) = chunks.next().await? {
                all.extend_from_slice(&chunk);
            }
            Ok(from_slice(&all))
        }
    }
}

/// A response that is a JSON array (the account Workspaces API's list) is read whole.
impl<T: DeserializeOwned + Send + 'static> Decode for Vec<T> {}

/// Reads a body and decodes it strictly. A body up to [`STREAM_ABOVE`] is read whole; past it, the type
/// decides ([`Decode::decode_large`]): a list response holds the items decoded and the one being received,
/// not the body.
pub(crate) async fn decode_body<T: Decode>(
    response: reqwest::Response,
    limit: u64,
    deadline: Option<tokio::time::Instant>,
) -> reqwest::Result<Result<T, String>> {
    let mut chunks = Chunks::new(response, limit, deadline)?;
    let mut buffered = Vec::new();
    let mut size = 0;
    while size <= STREAM_ABOVE {
        match chunks.next().await? {
            Some(chunk) => {
                size += chunk.len();
                buffered.push(chunk);
            }
            None => {
                return Ok(match buffered.as_slice() {
                    [] => from_slice(b""),
                    [one] => from_slice(one),
                    many => from_slice(&many.concat()),
                });
            }
        }
    }
    T::decode_large(buffered, &mut chunks).await
}

/// Decodes the rest of a list response (`{"<field>": [I, ...]}`) item by item, starting with the chunks
/// already read, and builds the response from its items: [`Decode::decode_large`] of a list response.
pub(crate) async fn stream_list<I: DeserializeOwned, T>(
    buffered: Vec<Bytes>,
    chunks: &mut Chunks,
    field: &'static str,
    build: impl FnOnce(Vec<I>) -> T,
) -> reqwest::Result<Result<T, String>> {
    let mut list = ListDecoder::<I>::new(field);
    for chunk in buffered {
        if let Err(e) = list.feed(&chunk) {
            return Ok(Err(e));
        }
    }
    while let Some(chunk) = chunks.next().await? {
        if let Err(e) = list.feed(&chunk) {
            return Ok(Err(e));
        }
    }
    Ok(list.finish().map(build))
}

/// A value decoded strictly (see [`Strict`]) by a deserializer that does not know about strictness.
struct StrictValue<T>(T);

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for StrictValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(Strict(d)).map(StrictValue)
    }
}

/// Where a [`ListDecoder`] is in `{"<field>": [item, ...], "other": value}`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum ListState {
    /// The body's first bytes: a byte-order mark there (and only there) is skipped, as `from_slice` does.
    #[default]
    Bom,
    /// Before the object.
    Start,
    /// After `{` or `,`: a key, or (right after `{`) the end.
    Key { first: bool },
    /// After a key: `:`.
    Colon { items: bool },
    /// After `:`: the value (the items' array when `items`).
    Value { items: bool },
    /// In the items' array: an item, or (right after `[`) the end.
    Item { first: bool },
    /// After an item: `,` or `]`.
    AfterItem,
    /// After a member: `,` or `}`.
    AfterMember,
    /// After the object: blanks only.
    End,
}

/// Decodes a list response (`{"<field>": [I, ...]}`) as its body arrives, each item with
/// `serde_json`'s slice decoder, strictly: the same result (or an error) as [`from_slice`] on the whole body.
struct ListDecoder<I> {
    /// The name of the items' field.
    field: &'static str,
    buf: Vec<u8>,
    pos: usize,
    /// Do not try again before the window holds this many bytes (an incomplete value waits for more).
    wait_for: usize,
    state: ListState,
    items: Option<Vec<I>>,
}

impl<I: DeserializeOwned> ListDecoder<I> {
    fn new(field: &'static str) -> Self {
        Self { field, buf: Vec::new(), pos: 0, wait_for: 0, state: ListState::default(), items: None }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        self.buf.extend_from_slice(chunk);
        if self.buf.len() >= self.wait_for {
            self.advance(false)?;
        }
        self.buf.drain(..self.pos);
        self.wait_for = self.wait_for.saturating_sub(self.pos);
        self.pos = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<I>, String> {
        self.advance(true)?;
        match self.state {
            ListState::End => Ok(self.items.unwrap_or_default()),
            // Nothing but blanks after a byte-order mark, if any: an empty body is `{}`, as `from_slice` reads it.
            ListState::Start => Ok(Vec::new()),
            _ => Err("EOF while parsing an object".to_owned()),
        }
    }

    /// The next byte that is not blank, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(b) = self.buf.get(self.pos) {
            if !b.is_ascii_whitespace() {
                return Some(*b);
            }
            self.pos += 1;
        }
        None
    }

    /// One JSON value, decoded strictly; `None` when the window does not hold all of it yet.
    fn value<T: DeserializeOwned>(&mut self, eof: bool) -> Result<Option<T>, String> {
        let window = &self.buf[self.pos..];
        let mut values = serde_json::Deserializer::from_slice(window).into_iter::<StrictValue<T>>();
        let parsed = values.next();
        let end = values.byte_offset();
        match parsed {
            // A value that ends with the window (a number) may go on in the next chunk.
            Some(Ok(value)) if eof || end < window.len() => {
                self.pos += end;
                Ok(Some(value.0))
            }
            Some(Err(e)) if eof => Err(unquoted(&e.to_string())),
            _ if eof => Err("EOF while parsing a value".to_owned()),
            // An error may be the window cutting a value short (`1.` of `1.5`): it is reported when it is
            // still there with more of the body, at the latest at its end.
            _ => {
                // Try again once the window has doubled, so that a long value is not parsed over and over.
                self.wait_for = self.buf.len() + window.len().max(1);
                Ok(None)
            }
        }
    }

    /// Goes as far as the window allows.
    fn advance(&mut self, eof: bool) -> Result<(), String> {
        use ListState::*;
        if self.state == Bom {
            let head = &self.buf[self.pos..];
            if !eof && head.len() < 3 {
                return Ok(()); // a byte-order mark may be cut in two
            }
            if head.starts_with(b"\xEF\xBB\xBF") {
                self.pos += 3;
            }
            self.state = Start;
        }
        loop {
            let Some(next) = self.peek() else {
                return Ok(());
            };
            self.state = match (self.state, next) {
                (Start, b'{') => {
                    self.pos += 1;
                    Key { first: true }
                }
                (Start, b'[') => return Err("invalid type: sequence, expected a list response object".to_owned()),
                (Start, _) => return Err("invalid type: expected a list response object".to_owned()),
                (Key { first: true }, b'}') | (AfterMember, b'}') => {
                    self.pos += 1;
                    End
                }
                (Key { .. }, b'"') => match self.value::<String>(eof)? {
                    Some(key) => Colon { items: key == self.field },
                    None => return Ok(()),
                },
                (Colon { items }, b':') => {
                    self.pos += 1;
                    Value { items }
                }
                (Value { items: true }, _) if self.items.is_some() => return Err(format!("duplicate field `{}`", self.field)),
                (Value { items: true }, b'[') => {
                    self.pos += 1;
                    self.items = Some(Vec::new());
                    Item { first: true }
                }
                (Value { items: true }, _) => match self.value::<Vec<I>>(eof)? {
                    Some(items) => {
                        self.items = Some(items);
                        AfterMember
                    }
                    None => return Ok(()),
                },
                (Value { items: false }, _) => match self.value::<serde::de::IgnoredAny>(eof)? {
                    Some(_) => AfterMember,
                    None => return Ok(()),
                },
                (Item { first: true }, b']') | (AfterItem, b']') => {
                    self.pos += 1;
                    AfterMember
                }
                (Item { .. }, _) => match self.value::<I>(eof)? {
                    Some(item) => {
                        self.items.get_or_insert_with(Vec::new).push(item);
                        AfterItem
                    }
                    None => return Ok(()),
                },
                (AfterItem, b',') => {
                    self.pos += 1;
                    Item { first: false }
                }
                (AfterMember, b',') => {
                    self.pos += 1;
                    Key { first: false }
                }
                (End, _) => return Err("trailing characters".to_owned()),
                (state, _) => return Err(format!("unexpected character while parsing ({state:?})")),
            };
        }
    }
}

/// Decodes strictly (see the module); the error message never quotes a value.
pub(crate) fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = T::deserialize(Strict(&mut de)).and_then(|v| de.end().map(|()| v));
    value.map_err(|e| unquoted(&e.to_string()))
}

/// A message with every value from the body hidden: each double-quoted part becomes `"…"`, and so does the
/// backtick-quoted name after `unknown variant ` (an enum value the body sent); field names, which serde
/// quotes with backticks elsewhere, stay.
fn unquoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c == '"' {
            let mut escaped = false;
            let end = rest
                .char_indices()
                .find(|&(_, inner)| match (escaped, inner) {
                    (false, '\\') => {
                        escaped = true;
                        false
                    }
                    (false, '"') => true,
                    _ => {
                        escaped = false;
                        false
                    }
                })
                .map_or(rest.len(), |(i, _)| i + 1);
            rest = &rest[end..];
            out.push_str("\"…\"");
        } else if c == '`' && out.ends_with("unknown variant ") {
            rest = rest.find('`').map_or("", |i| &rest[i + 1..]);
            out.push_str("`…`");
        } else {
            out.push(c);
        }
    }
    out
}

/// A deserializer that refuses a sequence wherever a struct is expected, at every depth.
struct Strict<D>(D);

/// Wraps a visitor so that whatever it visits next is strict too.
struct Wrap<V>(V);

/// Wraps the visitor of a struct: a sequence is refused.
struct StructOnly<V>(V);

struct StrictSeed<S>(S);

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method($($arg,)* Wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(), deserialize_i64(),
        deserialize_i128(), deserialize_u8(), deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_string(), deserialize_bytes(),
        deserialize_byte_buf(), deserialize_option(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]), deserialize_identifier(), deserialize_ignored_any(),
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_struct(name, fields, StructOnly(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

/// The visits every wrapper forwards as they are, plus the nested ones made strict.
macro_rules! visitor_body {
    () => {
        type Value = V::Value;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.expecting(f)
        }

        forward_visit! {
            visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64), visit_i128(i128), visit_u8(u8),
            visit_u16(u16), visit_u32(u32), visit_u64(u64), visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char),
            visit_str(&str), visit_borrowed_str(&'de str), visit_string(String), visit_bytes(&[u8]),
            visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            self.0.visit_none()
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.0.visit_unit()
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.0.visit_some(Strict(d))
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.0.visit_newtype_struct(Strict(d))
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            self.0.visit_map(StrictMap(map))
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            self.0.visit_enum(StrictEnum(data))
        }
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    visitor_body!();

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(StrictSeq(seq))
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StructOnly<V> {
    visitor_body!();

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

struct StrictSeq<A>(A);

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for StrictSeq<A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct StrictMap<A>(A);

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for StrictMap<A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(StrictSeed(seed))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(StrictSeed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct StrictEnum<A>(A);

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for StrictEnum<A> {
    type Error = A::Error;
    type Variant = StrictVariant<A::Variant>;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), A::Error> {
        self.0.variant_seed(StrictSeed(seed)).map(|(value, variant)| (value, StrictVariant(variant)))
    }
}

struct StrictVariant<A>(A);

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for StrictVariant<A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(StrictSeed(seed))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, StructOnly(visitor))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::types::token_management::TokenInfo;
    use crate::types::{CreateTokenResponse, ListPublicTokensResponse};

    #[test]
    fn objects_only_at_every_depth() {
        assert!(from_slice::<ListPublicTokensResponse>(b"[]").is_err());
        assert!(from_slice::<ListPublicTokensResponse>(br#"{"token_infos": [["t"]]}"#).is_err());
        let ok = from_slice::<ListPublicTokensResponse>(br#"{"token_infos": [{"token_id": "t", "scopes": ["a"]}]}"#).unwrap();
        assert_eq!(ok.token_infos[0].token_id, "t");
    }

    #[test]
    fn bom_empty_bodies_and_trailing_garbage() {
        assert!(from_slice::<ListPublicTokensResponse>(b"\xEF\xBB\xBF{}").unwrap().token_infos.is_empty());
        assert!(from_slice::<ListPublicTokensResponse>(b"  ").unwrap().token_infos.is_empty());
        assert!(from_slice::<ListPublicTokensResponse>(b"{} x").is_err());
    }

    /// Decodes `body` with the list decoder, fed in chunks of `size` bytes.
    fn streamed(body: &[u8], size: usize) -> Result<ListPublicTokensResponse, String> {
        let mut list = ListDecoder::new("token_infos");
        for chunk in body.chunks(size.max(1)) {
            list.feed(chunk)?;
        }
        list.finish().map(|items| ListPublicTokensResponse::new().set_token_infos(items))
    }

    #[test]
    fn the_streaming_decoder_agrees_with_the_whole_one() {
        let tokens: Vec<String> = (0..300)
            .map(|i| format!(r#"{{"token_id": "id-{i}", "comment": "c \"{i}\" ]}}", "creation_time": {i}, "expiry_time": "-1", "scopes": ["a", "b"]}}"#))
            .collect();
        let list = format!(r#"{{"x": {{"y": [1, "]"]}}, "token_infos": [{}], "z": null}}"#, tokens.join(" ,\n "));
        let whole = from_slice::<ListPublicTokensResponse>(list.as_bytes()).unwrap();
        assert_eq!(whole.token_infos.len(), 300);
        for size in [1, 2, 3, 7, 64, 4096, usize::MAX] {
            assert_eq!(streamed(list.as_bytes(), size).unwrap(), whole, "chunks of {size}");
        }
        for body in [
            &b"\xEF\xBB\xBF {}"[..],
            b"  ",
            b"",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB\xBF \n",
            b"{}",
            br#"{"token_infos": []}"#,
            br#"{"a": 1.5e3, "token_infos": [] }  "#,
        ] {
            assert_eq!(streamed(body, 1).unwrap(), from_slice::<ListPublicTokensResponse>(body).unwrap());
        }
    }

    #[test]
    fn token_management_lists_stream_through_the_same_decoder() {
        let tokens: Vec<String> = (0..200)
            .map(|i| format!(r#"{{"token_id": "id-{i}", "owner_id": "{i}", "created_by_username": "u{i}", "last_used_day": {i}}}"#))
            .collect();
        let list = format!(r#"{{"token_infos": [{}]}}"#, tokens.join(","));
        let whole: Vec<TokenInfo> = serde_json::from_str(&format!("[{}]", tokens.join(","))).unwrap();
        for size in [1, 13, usize::MAX] {
            let mut decoder = ListDecoder::<TokenInfo>::new("token_infos");
            for chunk in list.as_bytes().chunks(size) {
                decoder.feed(chunk).unwrap();
            }
            assert_eq!(decoder.finish().unwrap(), whole, "chunks of {size}");
        }
    }

    /// A response whose body is `first`, then a transport failure.
    fn response_failing_after(first: Vec<u8>) -> reqwest::Response {
        let chunks: Vec<std::io::Result<Bytes>> = vec![Ok(Bytes::from(first)), Err(std::io::Error::other("connection reset"))];
        reqwest::Response::from(http::Response::new(reqwest::Body::wrap_stream(futures::stream::iter(chunks))))
    }

    /// Whether a large `T`'s body is decoded as it arrives (a list response), or whole: decoded as it arrives,
    /// a body that is not an object is refused before its end (here, a transport failure) is read; read
    /// whole, the failure comes first.
    pub(crate) async fn decoded_as_it_arrives<T: Decode + std::fmt::Debug>() -> bool {
        let body = format!("[{}", " ".repeat(STREAM_ABOVE + 1));
        match decode_body::<T>(response_failing_after(body.into_bytes()), u64::MAX, None).await {
            Ok(Err(message)) => message.contains("expected a list response object"),
            Err(_) => false,
            Ok(Ok(t)) => panic!("an invalid body decoded: {t:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_up_to_the_threshold_is_read_whole() {
        // Read whole, a body that fails to arrive fails with its transport error, even when what came of it
        // is already not an object; past the threshold, the decoder refuses it first. A list of a few hundred
        // tokens (64 KiB) is well below it.
        for size in [64 * 1024, STREAM_ABOVE] {
            let body = format!("[{}", " ".repeat(size - 1));
            let read = decode_body::<ListPublicTokensResponse>(response_failing_after(body.into_bytes()), u64::MAX, None).await;
            assert!(read.is_err(), "{size}: {read:?}");
        }
        assert!(decoded_as_it_arrives::<ListPublicTokensResponse>().await);
    }

    /// A list is decoded as it arrives: a body that goes wrong after a complete item is refused as soon as
    /// that part arrives, whether the item came whole or in pieces, before the rest of the body is read.
    #[tokio::test]
    async fn a_list_is_refused_as_soon_as_it_goes_wrong() {
        let mut list = ListDecoder::<TokenInfo>::new("token_infos");
        let err = list.feed(br#"{"token_infos": [{"token_id": "a"} x"#).unwrap_err();
        assert!(err.contains("unexpected character"), "{err}");
        let mut list = ListDecoder::<TokenInfo>::new("token_infos");
        list.feed(br#"{"token_infos": [{"tok"#).unwrap();
        assert!(list.feed(br#"en_id": "a"} x"#).is_err());
        // Over HTTP: refused before the failure that ends the body.
        let body = format!(r#"{{"token_infos": [{{"token_id": "a"}} x{}"#, " ".repeat(STREAM_ABOVE));
        match decode_body::<ListPublicTokensResponse>(response_failing_after(body.into_bytes()), u64::MAX, None).await {
            Ok(Err(message)) => assert!(message.contains("unexpected character"), "{message}"),
            other => panic!("not refused as it arrived: {other:?}"),
        }
    }

    /// A long item that arrives in small chunks is parsed again only when its part in hand has doubled,
    /// not at every chunk (which would take hours here: quadratic time).
    #[test]
    fn a_long_item_in_small_chunks_takes_linear_time() {
        let comment = "c".repeat(1024 * 1024);
        let body = format!(r#"{{"token_infos": [{{"token_id": "a", "comment": "{comment}"}}]}}"#);
        let list = streamed(body.as_bytes(), 1).unwrap();
        assert_eq!(list.token_infos[0].comment.as_deref(), Some(comment.as_str()));
    }

    /// Strictness refuses sequences where objects are expected and changes nothing else: values decode as
    /// `serde_json` decodes them, in their human-readable form, and an enum in either of its JSON forms.
    #[test]
    fn strict_decoding_otherwise_decodes_as_serde_json() {
        let address: std::net::IpAddr = from_slice(br#""127.0.0.1""#).unwrap();
        assert_eq!(address, std::net::IpAddr::from([127, 0, 0, 1]));
        #[derive(Debug, PartialEq, serde::Deserialize)]
        enum Level {
            CanUse,
            CanManage,
        }
        assert_eq!(from_slice::<Level>(br#""CanUse""#).unwrap(), Level::CanUse);
        assert_eq!(from_slice::<Level>(br#"{"CanManage": null}"#).unwrap(), Level::CanManage);
        assert!(from_slice::<Level>(br#"{"CanManage": 5}"#).is_err());
    }

    /// The logging wrapper answers for its body as the body itself does (end of stream, size), so that
    /// whatever reads it (reqwest today asks neither) sees the same body with logging on or off.
    #[test]
    fn the_logging_wrapper_reports_its_body_as_the_body_does() {
        let wrapped = |body: &'static str| LoggedBody {
            inner: reqwest::Body::from(body),
            shown: Vec::new(),
            total: 0,
            status: 200,
            secrets: Arc::default(),
            span: tracing::Span::none(),
            logged: false,
        };
        for body in ["", "abc"] {
            let (logged, bare) = (wrapped(body), reqwest::Body::from(body));
            assert_eq!(HttpBody::is_end_stream(&logged), HttpBody::is_end_stream(&bare), "{body:?}");
            assert_eq!(HttpBody::size_hint(&logged).exact(), HttpBody::size_hint(&bare).exact(), "{body:?}");
        }
        assert!(HttpBody::is_end_stream(&wrapped("")) && !HttpBody::is_end_stream(&wrapped("abc")));
    }

    /// The strict wrappers hand on the size hints of what they wrap (serde_json gives none; a deserializer that
    /// knows its length lets a `Vec` or map allocate once).
    #[test]
    fn the_strict_wrappers_keep_the_size_hints() {
        use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
        let seq = SeqDeserializer::<_, Error>::new(vec![1u8, 2, 3].into_iter());
        assert_eq!(de::SeqAccess::size_hint(&StrictSeq(seq)), Some(3));
        let map = MapDeserializer::<_, Error>::new(vec![("a", 1u8), ("b", 2)].into_iter());
        assert_eq!(de::MapAccess::size_hint(&StrictMap(map)), Some(2));
    }

    #[test]
    fn the_streaming_decoder_is_as_strict() {
        for size in [1, 5, usize::MAX] {
            for bad in [
                &b"[]"[..],
                br#"{"token_infos": [["t"]]}"#,
                br#"{"token_infos": [{"token_id": "t"}] "#,
                br#"{"token_infos": [{"token_id": "t"}]} x"#,
                br#"{"token_infos": [{"comment": "no id"}]}"#,
                br#"{"token_infos": [], "token_infos": []}"#,
                br#"{"token_infos": null}"#,
                br#"{"token_infos": [{"token_id": "t", "creation_time": "dapi-SECRET"}]}"#,
                br#"{"a": tru}"#,
                b"\xEFxx{}",
                // One byte-order mark, first, as the whole-body path takes it: not two, not after a blank.
                b"\xEF\xBB\xBF\xEF\xBB\xBF{}",
                b" \xEF\xBB\xBF{}",
            ] {
                let err = streamed(bad, size).unwrap_err();
                assert!(!err.contains("dapi-SECRET"), "{err}");
                assert!(from_slice::<ListPublicTokensResponse>(bad).is_err(), "{}", String::from_utf8_lossy(bad));
            }
            let err = streamed(br#"{"token_infos": [{"comment": "no id"}]}"#, size).unwrap_err();
            assert!(err.contains("missing field `token_id`"), "{err}");
        }
    }

    #[test]
    fn errors_never_quote_values() {
        let err = from_slice::<ListPublicTokensResponse>(br#"{"token_infos": [{"comment": 5, "token_id": "x"}], "a": "b"}"#).unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        let err =
            from_slice::<CreateTokenResponse>(br#"{"token_info": {"token_id": "t", "creation_time": "dapi-SECRET"}, "token_value": "v"}"#)
                .unwrap_err();
        assert!(!err.contains("dapi-SECRET"), "{err}");
        let err = from_slice::<CreateTokenResponse>(br#"{"token_info": {"token_id": "t"}}"#).unwrap_err();
        assert!(err.contains("missing field `token_value`"), "{err}");
        assert_eq!(unquoted(r#"a "x\"y" b "z"#), r#"a "…" b "…""#);
        // serde quotes an unknown enum value, which comes from the body, with backticks.
        #[derive(Debug, serde::Deserialize)]
        enum Level {
            #[allow(dead_code)]
            CanUse,
        }
        let err = from_slice::<Level>(br#""dapi-SECRET""#).unwrap_err();
        assert!(!err.contains("dapi-SECRET") && err.contains("unknown variant `…`"), "{err}");
        assert_eq!(unquoted("unknown variant `x`, expected `A`"), "unknown variant `…`, expected `A`");
    }
}
