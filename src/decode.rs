//! Reading responses: the body as the pipeline hands it on, and the strict decoder every generated
//! operation calls.
//!
//! - **Bounded**: a body past the client's limit ([`DEFAULT_MAX_RESPONSE_SIZE`] unless set) fails with
//!   [`ErrorKind::ResponseTooLarge`](crate::ErrorKind::ResponseTooLarge) and the connection is dropped.
//! - **Logged without changing anything**: at DEBUG the first [`MAX_LOGGED_BODY`] bytes are copied into a
//!   log line, redacted, as the body streams past; a body that fails to read fails the same way with
//!   logging on or off.
//! - **Strict**: an object in the spec is an object on the wire — a JSON array never decodes positionally
//!   into a struct, at any depth; required fields are required (a missing one is a decode error naming
//!   it); a leading UTF-8 BOM is ignored; an empty 2xx body reads as `{}`.
//! - **Quiet**: a decode error never quotes a value from the body (a secret may be anywhere).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use progenitor_client::ResponseValue;
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

/// What a DEBUG log of a body keeps while it streams past.
struct LogTee {
    shown: Vec<u8>,
    total: usize,
    status: u16,
    secrets: Arc<KnownSecrets>,
    span: tracing::Span,
}

/// A response body with a size limit, copied into the DEBUG log as it streams.
pub(crate) struct ResponseBody {
    inner: reqwest::Body,
    limit: u64,
    read: u64,
    log: Option<LogTee>,
}

impl ResponseBody {
    /// Wraps a response's body. `log` is set when DEBUG logging is on.
    pub(crate) fn wrap(response: reqwest::Response, limit: u64, secrets: Option<&Arc<KnownSecrets>>) -> reqwest::Response {
        let status = response.status().as_u16();
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let log = secrets.map(|secrets| LogTee {
            shown: Vec::new(),
            total: 0,
            status,
            secrets: Arc::clone(secrets),
            span: tracing::Span::current(),
        });
        let body = Self { inner: body, limit, read: 0, log };
        reqwest::Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(body)))
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.read > this.limit || this.inner.size_hint().lower() > this.limit {
            return Poll::Ready(Some(Err(Box::new(TooLarge { limit: this.limit }))));
        }
        let polled = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(polled) => polled,
        };
        match polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.read = this.read.saturating_add(data.len() as u64);
                    if this.read > this.limit {
                        return Poll::Ready(Some(Err(Box::new(TooLarge { limit: this.limit }))));
                    }
                    if let Some(log) = &mut this.log {
                        log.total += data.len();
                        let room = MAX_LOGGED_BODY.saturating_sub(log.shown.len());
                        log.shown.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                if let Some(log) = this.log.take() {
                    tracing::debug!(parent: &log.span, status = log.status, error = %e, "response body could not be read");
                }
                Poll::Ready(Some(Err(e.into())))
            }
            None => {
                if let Some(log) = this.log.take() {
                    let body = crate::redact::body_for_log(&log.shown, log.total, &log.secrets);
                    tracing::debug!(parent: &log.span, status = log.status, body = %body, "response body");
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

/// Reads and strictly decodes a successful response: what the generated operations call instead of
/// progenitor's `ResponseValue::from_response`.
pub(crate) async fn response<T: DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> Result<ResponseValue<T>, progenitor_client::Error<E>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = response.bytes().await.map_err(progenitor_client::Error::ResponseBodyError)?;
    match from_slice::<T>(&body) {
        Ok(inner) => Ok(ResponseValue::new(inner, status, headers)),
        Err(message) => Err(progenitor_client::Error::Custom(crate::pipeline::decode_failed(message))),
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

/// A message with every double-quoted part (a value from the body) replaced with `"…"`; field names,
/// which serde quotes with backticks, stay.
fn unquoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            let mut escaped = false;
            for inner in chars.by_ref() {
                match (escaped, inner) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => escaped = false,
                }
            }
            out.push_str("…\"");
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
mod tests {
    use super::*;
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
    }
}
