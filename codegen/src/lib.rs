//! Generates the Rust client of the Databricks Tokens API from its OpenAPI description.
//!
//! This crate owns the one generation function that both `build.rs` (at build time, into `OUT_DIR`) and
//! `cargo xtask regen` (into the committed, reviewable snapshot) call, so the two can never disagree.
//!
//! What it changes on the way from the spec to progenitor, and why:
//! - **Error responses are dropped before generation.** progenitor decodes documented error bodies as JSON
//!   and loses the HTTP status when a proxy answers with HTML or text. Without documented errors every
//!   non-2xx response reaches the hand-written error layer untouched, status and raw body included.
//! - **`int64` becomes `crate::wire::Int64`**, which accepts a JSON number or a decimal string.
//! - **`AutoscopeState` becomes `crate::wire::AutoscopeState`**, which keeps values it does not know.
//! - **`ScopeList` becomes `crate::wire::ScopeList`**, so that an empty list under an update mask is sent
//!   as `[]` instead of being dropped.
//! - **`ReportedScopes` becomes `crate::wire::ReportedScopes`**, one pointer instead of a `Vec`'s three,
//!   so that the output-only lists a token usually lacks do not weigh on a big list.
//! - **`TokenValue`, and every string of `format: password`, becomes `crate::secret::SecretString`**, which
//!   never prints the secret.
//! - **`WorkspaceStatus` becomes `crate::wire::WorkspaceStatus`** (the account Workspaces API; re-exported as
//!   `account::WorkspaceStatus`), which
//!   keeps values it does not know.
//! - **Every generated type derives `schemars::JsonSchema` under the crate's `schemars` feature**, so that a
//!   test can check it against its spec component.
//! - **Every generated struct is `#[non_exhaustive]`** with `new()` (when it has a default) and a
//!   `set_<field>` setter per field, so that a field the spec adds later is not a breaking change for
//!   users; typify's `builder()` functions stay crate-private.
//! - **progenitor's client and builders are dropped; its types stay.** For every operation `calls::<id>`
//!   takes the pipeline, the path parameters (in template order), the query parameters, the body and the
//!   call's options, and hands the request to `crate::pipeline::Pipeline::call` with the operation's entry
//!   of `operations` (see `calls.rs`): one builder per call, and the call's state stays in the pipeline.
//!   The parameter, body and answer types are those of progenitor's builders (generation fails when one is
//!   missing). No `api-version` header is sent (the Databricks SDKs send none).
//! - **Every generated type implements `crate::decode::Decode`** (strict, bounded decoding): a list response
//!   (an object whose one field is an array of objects) is decoded item by item when large.
//! - **Every generated type implements `crate::secret::HasSecrets`**: a type holding a `SecretString` (at any
//!   depth) hands the pipeline each secret's value, so that it scrubs them from later errors and logs.
//! - **A resource in a request body is sent without its empty output-only fields**: OpenAPI makes
//!   `required` apply to responses only for a `readOnly` property, so the field of a request body that holds
//!   an object schema with required `readOnly` strings (an update's `token`, whose id is in the path) is
//!   serialized by `crate::field_mask::serialize_request_resource`, which leaves those out when empty. The
//!   resource type itself keeps its plain serialization, so it round-trips.
//! - **Every rewrite fails generation when it applies nowhere** (`CodegenError::Rewrite`): a change of
//!   progenitor's output cannot silently drop one.
//!
//! It also emits, from the spec, the tables the hand-written crate reads instead of re-typing spec facts:
//! - `operations`: per operation its service (the spec's, see `service_name`), id, method, path template, whether it may be repeated after a
//!   request may have reached the server (`x-databricks-idempotent`), whether "not found" after such an
//!   attempt means it was done (`x-databricks-not-found-means-done`), and whether it is paginated
//!   (a `page_token` parameter and a `next_page_token` response field), as `crate::operation::Operation`;
//! - `schema::<type>::{FIELDS, WRITABLE, OBJECTS, REQUIRED}` per object schema;
//! - `schema::SECRET_FIELDS`: the JSON keys whose schema is `format: password` (secrets);
//! - with `info.x-rust-stub`, `stub_methods!`: every operation's method of the service's stub trait (with
//!   its default "not implemented by this stub" answer), of its trait object, of the blanket impl and of the
//!   pipeline's implementation, which `crate::stub` and the service's module expand inside their items
//!   (which hold nothing else): a builder, generated or hand-written, hands its request to the stub.
//!
//! # The `x-rust-*` extensions
//!
//! What the curated Rust surface needs beyond the wire, said in the spec and checked against it: an
//! extension that names a field or parameter the spec does not have, or asks for a shape that cannot
//! apply, fails generation (`CodegenError::Extension`).
//!
//! On `info`:
//! - `x-rust-service`: the path of the hand-written service struct the service's methods are generated on
//!   (no builders without it); `x-rust-client` the client its builders own (`crate::WorkspaceClient` by
//!   default); `x-rust-client-params` the path parameters that client supplies;
//! - `x-rust-stub`: the service's test-double trait in `crate::stub` (every operation gets its method);
//! - `x-rust-explain`: the path of a hand-written `fn(operation_id: &str, subject: Option<&str>, error: Error) -> Error`
//!   that adds a hint to the errors of the operations marked `x-rust-explain`.
//!
//! On an operation:
//! - `x-rust-name`: the name of its method (else the `operationId`);
//! - `x-rust-builder`: its builder is hand-written, at this path (what the spec cannot say: a `Duration`
//!   setter, exactly-once, field-mask setters); the hand-written builder calls the generated stub method. A
//!   generated builder's fields are `pub(crate)`, so that the service's module adds what the spec cannot
//!   say to it in an `impl` block of its own (a list's `stream()`) instead of writing the builder. Without it the builder is generated: the service's method (path parameters and `x-rust-args`
//!   as arguments), a setter per query parameter (or filter field) and per field of a body with a default,
//!   the per-call options, `send()` and `.await`; named by `x-rust-builder-name`, else the `operationId`
//!   in `PascalCase`, in the generated `builders` module that the service's module re-exports;
//! - `x-rust-answer`: the stub method (and the builder) answers this field of the response, not the response
//!   (`token_infos` of a list);
//! - rule, no extension: a response that is an object declaring no properties (`{}`) is answered as `()`;
//! - `x-rust-args`: the body is made of these fields, every one, which the method takes as arguments (a
//!   string as `&str`, checked non-empty by a generated builder), in this order;
//! - `x-rust-query-struct`: the (optional) query parameters are grouped in a struct of this name, generated in
//!   `types` (a documented `Option` field per parameter, `int64` as `i64`), which the method takes as `filter`;
//! - `x-rust-explain`: the pipeline's implementation passes the operation's errors through `info.x-rust-explain`;
//!   `true`, or the name of a string field of the body (or of `x-rust-args`) given as the subject.
//!
//! The shaping ones (`x-rust-answer`, `x-rust-args`, `x-rust-query-struct`, `x-rust-explain`) need
//! `info.x-rust-stub`: the shape is the stub method's.
//!
//! The tables are a part of their own ([`generate_parts`]): the crate compiles them in a leaf module
//! (`operation::tables`) that the errors, retries and redaction read, below the client that depends on those.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;

mod calls;

use progenitor_impl::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use schemars::schema::{InstanceType, SchemaObject};

/// Header written at the top of every generated file.
pub const HEADER: &str = "// @generated by databricks-tokens-codegen from an OpenAPI description. Do not edit:\n\
// change the spec, then run `cargo xtask regen`.\n\n";

/// Why generation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodegenError {
    /// The spec is not valid JSON or not an OpenAPI 3.0 document.
    Spec(serde_json::Error),
    /// progenitor rejected the spec.
    Progenitor(String),
    /// The generated tokens are not a valid Rust file (a progenitor bug).
    Syntax(String),
    /// A change this crate makes to progenitor's output found nothing to change (progenitor's output changed).
    Rewrite(String),
    /// An `x-rust-*` extension of the spec names what the spec does not have, or asks for a shape that
    /// cannot apply (see the module's documentation).
    Extension(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spec(e) => write!(f, "the spec is not a valid OpenAPI 3.0 JSON document: {e}"),
            Self::Progenitor(e) => write!(f, "progenitor could not generate a client: {e}"),
            Self::Syntax(e) => write!(f, "the generated code does not parse as Rust: {e}"),
            Self::Rewrite(e) => write!(f, "a rewrite of the generated code applied nowhere: {e}"),
            Self::Extension(e) => write!(f, "an extension of the spec cannot apply: {e}"),
        }
    }
}

impl std::error::Error for CodegenError {}

/// Where the generated code plugs into the hand-written crate.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Target {
    /// Path of the type progenitor's client would hold, e.g. `crate::pipeline::Pipeline`: progenitor needs one to
    /// generate, and its client is dropped from the output (the request functions call the pipeline instead).
    pub inner_type: &'static str,
}

impl Target {
    /// The databricks-tokens crate itself.
    pub const CRATE: Target = Target { inner_type: "crate::pipeline::Pipeline" };
}

/// Enum schemas the crate replaces with a hand-written type that keeps values it does not know
/// (`crate::wire::<name>`): a value added to one of them in the spec is not a breaking change.
/// Every other enum is generated as a closed Rust enum.
pub const OPEN_ENUMS: &[&str] = &["AutoscopeState"];

/// Generates the client for `spec_json` and returns it formatted, with [`HEADER`] on top: the spec's
/// tables ([`Generated::tables`]) then the client ([`Generated::client`]), the reviewable copy of both.
///
/// The output is deterministic: the same spec gives byte-identical text.
pub fn generate(spec_json: &str, target: Target) -> Result<String, CodegenError> {
    let Generated { tables, client } = generate_parts(spec_json, target)?;
    Ok(format!("{HEADER}{tables}{client}"))
}

/// The two parts of the generated code, each formatted, without [`HEADER`].
///
/// They are compiled in different modules so that the crate's lower layers (the operation type, redaction)
/// read the tables without depending on the client, which depends on them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generated {
    /// The spec's facts as data: `schema` (field names, `SECRET_FIELDS`) and `operations` (one
    /// `crate::operation::Operation` per operation, `ALL`). They name nothing else of the crate.
    pub tables: String,
    /// Everything else (types, request functions, builders, trait impls); it names the tables as
    /// `schema` and `super::operations` from the module that includes it, which must bring them into scope.
    pub client: String,
}

/// [`generate`], in its two parts.
pub fn generate_parts(spec_json: &str, target: Target) -> Result<Generated, CodegenError> {
    generate_skipping(spec_json, target, &std::collections::BTreeSet::new())
}

/// [`generate_parts`] for a spec whose service already has the operations of `base_json` generated (from
/// that spec, in another module): the service's methods, builders and stub methods are emitted only for
/// the operations `base_json` lacks; the types, tables and request functions are the whole spec's.
///
/// This is how the crate's tests compile `tests/fixtures/tokens_with_get_token_info.json` (the Tokens
/// spec with one operation more) next to `spec/tokens.json`: what the new operation gets is exactly what
/// [`generate_parts`] would emit for it.
pub fn generate_parts_beside(spec_json: &str, base_json: &str, target: Target) -> Result<Generated, CodegenError> {
    let base: openapiv3::OpenAPI = serde_json::from_str(base_json).map_err(CodegenError::Spec)?;
    let skip = base
        .paths
        .paths
        .values()
        .filter_map(openapiv3::ReferenceOr::as_item)
        .flat_map(|item| item.iter().filter_map(|(_, op)| op.operation_id.clone()))
        .collect();
    generate_skipping(spec_json, target, &skip)
}

fn generate_skipping(spec_json: &str, target: Target, skip: &std::collections::BTreeSet<String>) -> Result<Generated, CodegenError> {
    let mut spec: openapiv3::OpenAPI = serde_json::from_str(spec_json).map_err(CodegenError::Spec)?;
    keep_only_success_responses(&mut spec);

    let inner: proc_macro2::TokenStream =
        target.inner_type.parse().map_err(|e| CodegenError::Progenitor(format!("bad inner type: {e:?}")))?;
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(inner)
        .with_derive("PartialEq")
        .with_conversion(int64_schema(), "crate::wire::Int64", [TypeImpl::Display].into_iter())
        .with_replacement("AutoscopeState", "crate::wire::AutoscopeState", [TypeImpl::Display].into_iter())
        .with_replacement("ScopeList", "crate::wire::ScopeList", [TypeImpl::Default].into_iter())
        .with_replacement("ReportedScopes", "crate::wire::ReportedScopes", [TypeImpl::Default].into_iter())
        .with_replacement("TokenValue", "crate::secret::SecretString", std::iter::empty())
        // The account Workspaces API (`spec/workspaces.json`): a status the service adds later is kept.
        .with_replacement("WorkspaceStatus", "crate::wire::WorkspaceStatus", [TypeImpl::Display].into_iter())
        .with_conversion(password_schema(), "crate::secret::SecretString", std::iter::empty());

    let tokens = Generator::new(&settings).generate_tokens(&spec).map_err(|e| CodegenError::Progenitor(e.to_string()))?;
    let tables = field_tables(&spec);
    let secrets = secret_fields(&spec);
    let resources = request_resources(&spec);
    let operations = operation_table(&spec, &service_name(&spec));
    let table_tokens = quote::quote! {
        #[doc = "Field names of the spec's object schemas, and which of them a client may write."]
        #[doc = ""]
        #[doc = "Derived from the spec: a field is writable unless it, or the schema it refers to, is `readOnly`."]
        pub mod schema {
            #(#tables)*
            #[doc = "The JSON keys whose schema is a secret (`format: password`), at any depth."]
            pub const SECRET_FIELDS: &[&str] = &[#(#secrets),*];
        }
        #operations
    };
    let mut table_file: syn::File = syn::parse2(table_tokens).map_err(|e| CodegenError::Syntax(e.to_string()))?;
    let mut file: syn::File = syn::parse2(tokens).map_err(|e| CodegenError::Syntax(e.to_string()))?;
    let calls = calls::collect(&spec, &file)?;
    calls::drop_client(&mut file)?;
    curate_types(&mut file)?;
    document_fields(&mut file, &spec);
    serialize_request_resources(&mut file, &resources)?;
    calls::secret_visitors(&mut file)?;
    let pages = page_impls(&spec, &file, &calls)?;
    file.items.extend(pages);
    let (builders, stub_methods, filters) = calls::builders(&spec, &file, &calls, skip)?;
    if !filters.is_empty() {
        let types = types_module_mut(&mut file)
            .ok_or_else(|| CodegenError::Rewrite("progenitor's output has no `types` module for the query structs".into()))?;
        types.extend(filters);
    }
    let stub_methods: syn::File = syn::parse2(stub_methods).map_err(|e| CodegenError::Syntax(e.to_string()))?;
    table_file.items.extend(stub_methods.items);
    for resource in updatable_resources(&resources, &spec) {
        let ty = quote::format_ident!("{}", resource);
        let module = quote::format_ident!("{}", snake_case(&resource));
        let impls: syn::File = syn::parse_quote! {
            impl crate::field_mask::sealed::Sealed for types::#ty {}
            #[doc = "The spec's facts about its fields, for typed field masks and update bodies."]
            impl crate::field_mask::Resource for types::#ty {
                const NAME: &'static str = #resource;
                const FIELDS: &'static [&'static str] = schema::#module::FIELDS;
                const WRITABLE: &'static [&'static str] = schema::#module::WRITABLE;
                const OBJECTS: &'static [&'static str] = schema::#module::OBJECTS;
                const REQUIRED: &'static [&'static str] = schema::#module::REQUIRED;
            }
        };
        file.items.extend(impls.items);
    }
    file.items.push(syn::parse2(calls::emit(&calls)).map_err(|e| CodegenError::Syntax(e.to_string()))?);
    if !builders.is_empty() {
        file.items.push(syn::parse2(builders).map_err(|e| CodegenError::Syntax(e.to_string()))?);
    }
    Ok(Generated { tables: prettyplease::unparse(&table_file), client: prettyplease::unparse(&file) })
}

/// The items of progenitor's `types` module (every generated type), if the output has one.
pub(crate) fn types_module(file: &syn::File) -> Option<&[syn::Item]> {
    file.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|c| c.1.as_slice()),
        _ => None,
    })
}

/// [`types_module`], to change.
pub(crate) fn types_module_mut(file: &mut syn::File) -> Option<&mut Vec<syn::Item>> {
    file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|c| &mut c.1),
        _ => None,
    })
}

/// `#[non_exhaustive]`, `new()` and `set_<field>` setters on every struct of the `types` module; typify's
/// `builder()` functions made crate-private.
fn curate_types(file: &mut syn::File) -> Result<(), CodegenError> {
    let Some(types) = types_module_mut(file) else {
        return Err(CodegenError::Rewrite("progenitor's output has no `types` module to curate".into()));
    };
    let mut setters = Vec::new();
    for item in types.iter_mut() {
        match item {
            syn::Item::Struct(s) if matches!(s.fields, syn::Fields::Named(_)) => {
                s.attrs.push(syn::parse_quote!(#[non_exhaustive]));
                s.attrs.push(syn::parse_quote!(#[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]));
                setters.push(struct_setters(s));
                setters.push(decode_impl(s));
            }
            syn::Item::Struct(s) => {
                s.attrs.push(syn::parse_quote!(#[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]));
                setters.push(decode_impl(s));
            }
            syn::Item::Impl(imp) => {
                for inner in imp.items.iter_mut() {
                    if let syn::ImplItem::Fn(f) = inner
                        && f.sig.ident == "builder"
                    {
                        f.vis = syn::parse_quote!(pub(crate));
                    }
                }
            }
            _ => {}
        }
    }
    if setters.is_empty() {
        return Err(CodegenError::Rewrite("progenitor's `types` module has no struct to curate".into()));
    }
    types.extend(setters);
    Ok(())
}

/// A field that refers to another schema (`$ref`, whose siblings OpenAPI 3.0 ignores, so typify gives it no
/// doc) is documented with the description of the schema it refers to.
fn document_fields(file: &mut syn::File, spec: &openapiv3::OpenAPI) {
    let Some(components) = &spec.components else { return };
    let Some(types) = types_module_mut(file) else {
        return;
    };
    let description = |ty: &syn::Type| -> Option<String> {
        let inner = option_inner(ty).or_else(|| vec_inner(ty)).unwrap_or(ty);
        let syn::Type::Path(p) = inner else { return None };
        let name = p.path.segments.last()?.ident.to_string();
        let schema = components.schemas.get(&name)?.as_item()?;
        schema.schema_data.description.clone().or_else(|| schema.schema_data.title.clone())
    };
    for item in types.iter_mut() {
        let syn::Item::Struct(s) = item else { continue };
        for field in s.fields.iter_mut() {
            if field.attrs.iter().any(|a| a.path().is_ident("doc")) {
                continue;
            }
            if let Some(doc) = description(&field.ty) {
                field.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
            }
        }
    }
}

/// `impl crate::decode::Decode for S`: a list response (an object whose one field is an array of objects, as
/// `{"token_infos": [...]}`) is decoded item by item when large; any other type is read whole.
fn decode_impl(s: &syn::ItemStruct) -> syn::Item {
    let name = &s.ident;
    let only_field = match &s.fields {
        syn::Fields::Named(fields) if fields.named.len() == 1 => fields.named.first(),
        _ => None,
    };
    let list_of_objects = only_field.and_then(|f| Some((f.ident.as_ref()?, vec_inner(&f.ty)?))).filter(|(_, item)| {
        // Items of a generated type (a bare name), not strings or numbers.
        matches!(item, syn::Type::Path(p) if p.path.segments.len() == 1)
    });
    match list_of_objects {
        Some((field, item)) => {
            let json_name = field.to_string().trim_start_matches("r#").to_owned();
            syn::parse_quote! {
                impl crate::decode::Decode for #name {
                    fn decode_large(
                        buffered: ::std::vec::Vec<::bytes::Bytes>,
                        chunks: &mut crate::decode::Chunks,
                    ) -> impl ::std::future::Future<Output = ::reqwest::Result<::std::result::Result<Self, ::std::string::String>>> + Send {
                        crate::decode::stream_list::<#item, Self>(buffered, chunks, #json_name, |#field| Self { #field })
                    }
                }
            }
        }
        None => syn::parse_quote! { impl crate::decode::Decode for #name {} },
    }
}

/// `T` of a `Vec<T>` (however the path to `Vec` is spelled).
fn vec_inner(ty: &syn::Type) -> Option<&syn::Type> {
    wrapped(ty, "Vec")
}

/// `impl S { new(); set_<field>(..) }` for one generated struct.
fn struct_setters(s: &syn::ItemStruct) -> syn::Item {
    let name = &s.ident;
    let has_default = s.attrs.iter().any(|a| a.path().is_ident("derive") && a.meta.to_token_stream_string().contains("Default"));
    let new = if has_default {
        let doc = format!("An empty `{name}`; set its fields with the `set_*` methods.");
        quote::quote! {
            #[doc = #doc]
            pub fn new() -> Self {
                Self::default()
            }
        }
    } else {
        // The required fields are the arguments; the optional ones (and those with a serde default) start empty.
        let has_serde_default =
            |f: &syn::Field| f.attrs.iter().any(|a| a.path().is_ident("serde") && a.meta.to_token_stream_string().contains("default"));
        let is_required = |f: &syn::Field| option_inner(&f.ty).is_none() && !has_serde_default(f);
        let required: Vec<_> = s.fields.iter().filter(|f| is_required(f)).collect();
        let args = required.iter().map(|f| {
            let (ident, ty) = (&f.ident, &f.ty);
            quote::quote! { #ident: impl ::std::convert::Into<#ty> }
        });
        let inits = s.fields.iter().map(|f| {
            let ident = &f.ident;
            if is_required(f) {
                quote::quote! { #ident: #ident.into() }
            } else {
                quote::quote! { #ident: ::std::default::Default::default() }
            }
        });
        let names: Vec<String> = required.iter().filter_map(|f| f.ident.as_ref()).map(|i| format!("`{i}`")).collect();
        let doc = format!("A `{name}` with its required fields ({}); set the others with the `set_*` methods.", names.join(", "));
        quote::quote! {
            #[doc = #doc]
            pub fn new(#(#args),*) -> Self {
                Self { #(#inits),* }
            }
        }
    };
    let setters = s.fields.iter().filter_map(|field| {
        let ident = field.ident.as_ref()?;
        let json_name = ident.to_string().trim_start_matches("r#").to_owned();
        let setter = quote::format_ident!("set_{}", json_name);
        let doc = format!("Sets `{json_name}`.");
        Some(match option_inner(&field.ty) {
            Some(inner) => quote::quote! {
                #[doc = #doc]
                pub fn #setter(mut self, value: impl ::std::convert::Into<#inner>) -> Self {
                    self.#ident = ::std::option::Option::Some(value.into());
                    self
                }
            },
            None => {
                let ty = &field.ty;
                quote::quote! {
                    #[doc = #doc]
                    pub fn #setter(mut self, value: impl ::std::convert::Into<#ty>) -> Self {
                        self.#ident = value.into();
                        self
                    }
                }
            }
        })
    });
    syn::parse_quote! {
        impl #name {
            #new
            #(#setters)*
        }
    }
}

/// `T` of an `Option<T>` (however the path to `Option` is spelled).
fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    wrapped(ty, "Option")
}

/// `T` of a `<wrapper><T>` such as `Option<T>` (however the path to the wrapper is spelled).
fn wrapped<'t>(ty: &'t syn::Type, wrapper: &str) -> Option<&'t syn::Type> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// Renders a derive attribute's tokens to look for a derived trait by name.
trait ToTokenString {
    fn to_token_stream_string(&self) -> String;
}

impl ToTokenString for syn::Meta {
    fn to_token_stream_string(&self) -> String {
        quote::ToTokens::to_token_stream(self).to_string()
    }
}

/// The operation table: one `crate::operation::Operation` per operation, by its id in upper case, and
/// `ALL`.
fn operation_table(spec: &openapiv3::OpenAPI, service: &str) -> proc_macro2::TokenStream {
    let flag = |op: &openapiv3::Operation, name: &str| op.extensions.get(name).and_then(serde_json::Value::as_bool).unwrap_or(false);
    let mut constants = Vec::new();
    let mut names = Vec::new();
    for (path, item) in &spec.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else { continue };
        for (method, op) in item.iter() {
            let Some(id) = op.operation_id.as_deref() else { continue };
            let method = method.to_ascii_uppercase();
            let idempotent = flag(op, "x-databricks-idempotent");
            let not_found_means_done = flag(op, "x-databricks-not-found-means-done");
            let paginated = is_paginated(spec, op);
            let name = quote::format_ident!("{}", id.to_ascii_uppercase());
            let doc = format!("`{method} {path}`");
            constants.push(quote::quote! {
                #[doc = #doc]
                pub const #name: crate::operation::Operation = crate::operation::Operation {
                    service: #service,
                    id: #id,
                    method: #method,
                    path: #path,
                    idempotent: #idempotent,
                    not_found_means_done: #not_found_means_done,
                    paginated: #paginated,
                };
            });
            names.push(name);
        }
    }
    quote::quote! {
        #[doc = "Every operation of the spec, with the facts the pipeline and the local workspace read."]
        pub mod operations {
            #(#constants)*
            #[doc = "Every operation, in spec order."]
            pub const ALL: &[crate::operation::Operation] = &[#(#names),*];
        }
    }
}

/// The service a spec describes, which scopes its operation ids: the `x-databricks-service` extension of its
/// `info`, else its title in snake case without `Databricks ` and ` API` (`Databricks Token Management API`:
/// `token_management`).
fn service_name(spec: &openapiv3::OpenAPI) -> String {
    if let Some(name) = spec.info.extensions.get("x-databricks-service").and_then(serde_json::Value::as_str) {
        return name.to_owned();
    }
    let title = spec.info.title.trim();
    let title = title.strip_prefix("Databricks ").unwrap_or(title);
    let title = title.strip_suffix(" API").unwrap_or(title);
    title.split_whitespace().map(str::to_ascii_lowercase).collect::<Vec<_>>().join("_")
}

/// `impl crate::paginate::Page` for the answer of every paginated operation (see [`is_paginated`]): its
/// `next_page_token`, and its one array field as the items. Fails generation when such an answer is not a
/// struct of `types` with exactly one array field.
fn page_impls(spec: &openapiv3::OpenAPI, file: &syn::File, calls: &[calls::Call]) -> Result<Vec<syn::Item>, CodegenError> {
    let paginated: std::collections::BTreeSet<&str> = spec
        .paths
        .paths
        .values()
        .filter_map(openapiv3::ReferenceOr::as_item)
        .flat_map(|item| item.iter().map(|(_, op)| op))
        .filter(|op| is_paginated(spec, op))
        .filter_map(|op| op.operation_id.as_deref())
        .collect();
    let types = types_module(file);
    let mut done = std::collections::BTreeSet::new();
    let mut items = Vec::new();
    for call in calls.iter().filter(|c| paginated.contains(c.id.as_str())) {
        let fail = |why: &str| CodegenError::Rewrite(format!("{}: a paginated operation's answer {why}", call.id));
        let answer = call.answer.as_ref().ok_or_else(|| fail("has no content"))?;
        let syn::Type::Path(answer_path) = answer else { return Err(fail("is not a type path")) };
        let name = answer_path.path.segments.last().map(|s| s.ident.clone()).ok_or_else(|| fail("is not a type path"))?;
        if !done.insert(name.to_string()) {
            continue;
        }
        let strukt = types
            .and_then(|t| {
                t.iter().find_map(|i| match i {
                    syn::Item::Struct(s) if s.ident == name => Some(s),
                    _ => None,
                })
            })
            .ok_or_else(|| fail("is not a struct of `types`"))?;
        let arrays: Vec<(&syn::Ident, syn::Type, bool)> = strukt
            .fields
            .iter()
            .filter_map(|f| {
                let ident = f.ident.as_ref()?;
                let (ty, optional) = match option_inner(&f.ty) {
                    Some(inner) => (inner.clone(), true),
                    None => (f.ty.clone(), false),
                };
                let syn::Type::Path(p) = &ty else { return None };
                let last = p.path.segments.last()?;
                if last.ident != "Vec" {
                    return None;
                }
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
                let Some(syn::GenericArgument::Type(item)) = args.args.first() else { return None };
                let item = match item {
                    syn::Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 && p.path.leading_colon.is_none() => {
                        let ident = &p.path.segments[0].ident;
                        syn::parse_quote!(types::#ident)
                    }
                    other => other.clone(),
                };
                Some((ident, item, optional))
            })
            .collect();
        let [(field, item, optional)] = arrays.as_slice() else {
            return Err(fail(&format!("has {} array fields, not one", arrays.len())));
        };
        let items_expr = match optional {
            true => quote::quote! { self.#field.unwrap_or_default() },
            false => quote::quote! { self.#field },
        };
        let next_optional =
            strukt.fields.iter().any(|f| f.ident.as_ref().is_some_and(|i| i == "next_page_token") && option_inner(&f.ty).is_some());
        let next = match next_optional {
            true => quote::quote! { self.next_page_token.as_deref() },
            false => quote::quote! { ::std::option::Option::Some(self.next_page_token.as_str()) },
        };
        let doc = format!("A page of `{}`: its `{field}`, and the token of the next page.", call.id);
        items.push(syn::parse_quote! {
            #[doc = #doc]
            impl crate::paginate::Page for #answer {
                type Item = #item;
                fn next_page_token(&self) -> ::std::option::Option<&str> {
                    #next
                }
                fn into_items(self) -> ::std::vec::Vec<#item> {
                    #items_expr
                }
            }
        });
    }
    Ok(items)
}

/// A `page_token` query parameter and a `next_page_token` field in the 2xx response's schema.
fn is_paginated(spec: &openapiv3::OpenAPI, op: &openapiv3::Operation) -> bool {
    let has_param = op.parameters.iter().any(|p| match p {
        openapiv3::ReferenceOr::Item(p) => p.parameter_data_ref().name == "page_token",
        openapiv3::ReferenceOr::Reference { .. } => false,
    });
    let response_schema = op.responses.responses.iter().find_map(|(status, r)| {
        let success = matches!(status, openapiv3::StatusCode::Code(c) if (200..300).contains(c));
        let openapiv3::ReferenceOr::Item(r) = r else { return None };
        success.then(|| r.content.get("application/json")?.schema.as_ref()).flatten()
    });
    let has_next = response_schema.and_then(|s| resolve(spec.components.as_ref()?, s)).is_some_and(|s| match &s.schema_kind {
        openapiv3::SchemaKind::Type(openapiv3::Type::Object(o)) => o.properties.contains_key("next_page_token"),
        _ => false,
    });
    has_param && has_next
}

/// A schema, or the component schema it refers to (`#/components/schemas/<name>`).
fn resolve<'s, S: std::borrow::Borrow<openapiv3::Schema>>(
    components: &'s openapiv3::Components,
    schema: &'s openapiv3::ReferenceOr<S>,
) -> Option<&'s openapiv3::Schema> {
    match schema {
        openapiv3::ReferenceOr::Item(s) => Some(s.borrow()),
        openapiv3::ReferenceOr::Reference { reference } => {
            components.schemas.get(reference.strip_prefix("#/components/schemas/")?)?.as_item()
        }
    }
}

/// `(schema, property)` for every required, `readOnly` string property of an object schema.
fn required_read_only_strings(spec: &openapiv3::OpenAPI) -> Vec<(String, String)> {
    use openapiv3::{ReferenceOr, SchemaKind, Type};
    let Some(components) = &spec.components else { return Vec::new() };
    let mut found = Vec::new();
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else { continue };
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else { continue };
        for (property, property_schema) in &object.properties {
            let resolved = resolve(components, property_schema);
            let read_only_string =
                resolved.is_some_and(|s| s.schema_data.read_only && matches!(s.schema_kind, SchemaKind::Type(Type::String(_))));
            if read_only_string && object.required.contains(property) {
                found.push((name.clone(), property.clone()));
            }
        }
    }
    found
}

/// `(body schema, property)` for every property of a request body schema that refers to an object schema
/// with a required `readOnly` string (see [`required_read_only_strings`]).
fn request_resources(spec: &openapiv3::OpenAPI) -> Vec<(String, String)> {
    use openapiv3::{ReferenceOr, SchemaKind, Type};
    let Some(components) = &spec.components else { return Vec::new() };
    let resources: Vec<String> = required_read_only_strings(spec).into_iter().map(|(schema, _)| schema).collect();
    let mut bodies = Vec::new();
    for item in spec.paths.paths.values().filter_map(ReferenceOr::as_item) {
        for (_, op) in item.iter() {
            let Some(ReferenceOr::Item(body)) = &op.request_body else { continue };
            for media in body.content.values() {
                if let Some(ReferenceOr::Reference { reference }) = &media.schema
                    && let Some(name) = reference.strip_prefix("#/components/schemas/")
                {
                    bodies.push(name.to_owned());
                }
            }
        }
    }
    bodies.sort();
    bodies.dedup();
    let mut found = Vec::new();
    for body in bodies {
        let Some(ReferenceOr::Item(schema)) = components.schemas.get(&body) else { continue };
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else { continue };
        for (property, property_schema) in &object.properties {
            let refers = match property_schema {
                ReferenceOr::Reference { reference } => reference.strip_prefix("#/components/schemas/"),
                ReferenceOr::Item(_) => None,
            };
            if refers.is_some_and(|r| resources.iter().any(|name| name == r)) {
                found.push((body.clone(), property.clone()));
            }
        }
    }
    found
}

/// The schemas that a request body holds as a resource (an update's `token`): each gets its
/// `crate::field_mask::Resource` impl, from its field tables.
fn updatable_resources(bodies: &[(String, String)], spec: &openapiv3::OpenAPI) -> Vec<String> {
    let Some(components) = &spec.components else { return Vec::new() };
    let mut found: Vec<String> = bodies
        .iter()
        .filter_map(|(body, property)| {
            let openapiv3::ReferenceOr::Item(schema) = components.schemas.get(body)? else { return None };
            let openapiv3::SchemaKind::Type(openapiv3::Type::Object(object)) = &schema.schema_kind else { return None };
            match object.properties.get(property)? {
                openapiv3::ReferenceOr::Reference { reference } => reference.strip_prefix("#/components/schemas/").map(str::to_owned),
                openapiv3::ReferenceOr::Item(_) => None,
            }
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Adds `#[serde(serialize_with = "crate::field_mask::serialize_request_resource")]` to each `(struct,
/// field)` of the `types` module; fails when one is not there, so a change of progenitor's output cannot
/// silently drop the rule.
fn serialize_request_resources(file: &mut syn::File, fields: &[(String, String)]) -> Result<(), CodegenError> {
    let types = types_module_mut(file);
    let mut applied = vec![false; fields.len()];
    for item in types.map(|t| t.iter_mut()).into_iter().flatten() {
        let syn::Item::Struct(s) = item else { continue };
        let syn::Fields::Named(named) = &mut s.fields else { continue };
        for field in named.named.iter_mut() {
            let Some(ident) = &field.ident else { continue };
            if let Some(at) = fields.iter().position(|(schema, property)| s.ident == schema && ident == property) {
                field.attrs.push(syn::parse_quote!(#[serde(serialize_with = "crate::field_mask::serialize_request_resource")]));
                applied[at] = true;
            }
        }
    }
    match fields.iter().zip(applied).find(|(_, applied)| !applied) {
        Some(((schema, property), _)) => {
            Err(CodegenError::Rewrite(format!("{schema}.{property} (a request body's resource) is not a field of a generated struct")))
        }
        None => Ok(()),
    }
}

/// The property names, in any object schema, whose schema is a string of `format: password`.
fn secret_fields(spec: &openapiv3::OpenAPI) -> Vec<String> {
    use openapiv3::{ReferenceOr, SchemaKind, Type};
    let Some(components) = &spec.components else { return Vec::new() };
    let is_secret = |schema: &ReferenceOr<Box<openapiv3::Schema>>| {
        resolve(components, schema).is_some_and(|s| match &s.schema_kind {
            SchemaKind::Type(Type::String(t)) => {
                matches!(&t.format, openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Password))
            }
            _ => false,
        })
    };
    let mut names: Vec<String> = components
        .schemas
        .values()
        .filter_map(ReferenceOr::as_item)
        .filter_map(|s| match &s.schema_kind {
            SchemaKind::Type(Type::Object(o)) => Some(o),
            _ => None,
        })
        .flat_map(|o| o.properties.iter().filter(|(_, s)| is_secret(s)).map(|(k, _)| k.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Removes every non-2xx response (and `default`) so that errors reach the hand-written layer raw.
fn keep_only_success_responses(spec: &mut openapiv3::OpenAPI) {
    for item in spec.paths.paths.values_mut() {
        let openapiv3::ReferenceOr::Item(item) = item else { continue };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            op.responses.default = None;
            op.responses.responses.retain(|status, _| match status {
                openapiv3::StatusCode::Code(code) => (200..300).contains(code),
                openapiv3::StatusCode::Range(range) => *range == 2,
            });
        }
    }
}

/// One `pub mod <snake_name> { FIELDS, WRITABLE, OBJECTS }` per object schema with properties.
fn field_tables(spec: &openapiv3::OpenAPI) -> Vec<proc_macro2::TokenStream> {
    use openapiv3::{ReferenceOr, SchemaKind, Type};
    let Some(components) = &spec.components else { return Vec::new() };
    let read_only = |schema: &ReferenceOr<Box<openapiv3::Schema>>| resolve(components, schema).is_some_and(|s| s.schema_data.read_only);
    let is_object = |schema: &ReferenceOr<Box<openapiv3::Schema>>| {
        resolve(components, schema).is_some_and(|s| matches!(s.schema_kind, SchemaKind::Type(Type::Object(_))))
    };
    components
        .schemas
        .iter()
        .filter_map(|(name, schema)| {
            let ReferenceOr::Item(schema) = schema else { return None };
            let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else { return None };
            if object.properties.is_empty() {
                return None;
            }
            let fields: Vec<&str> = object.properties.keys().map(String::as_str).collect();
            let writable: Vec<&str> = object.properties.iter().filter(|(_, s)| !read_only(s)).map(|(k, _)| k.as_str()).collect();
            let objects: Vec<&str> = object.properties.iter().filter(|(_, s)| is_object(s)).map(|(k, _)| k.as_str()).collect();
            let required: Vec<&str> = object.required.iter().map(String::as_str).collect();
            let module = quote::format_ident!("{}", snake_case(name));
            let doc = format!("Fields of `{name}`.");
            Some(quote::quote! {
                #[doc = #doc]
                pub mod #module {
                    #[doc = "Every field, in spec order."]
                    pub const FIELDS: &[&str] = &[#(#fields),*];
                    #[doc = "The fields a client may write (not `readOnly`)."]
                    pub const WRITABLE: &[&str] = &[#(#writable),*];
                    #[doc = "The fields that are objects: the only ones a nested path (`a.b`) may enter."]
                    pub const OBJECTS: &[&str] = &[#(#objects),*];
                    #[doc = "The fields the spec marks required."]
                    pub const REQUIRED: &[&str] = &[#(#required),*];
                }
            })
        })
        .collect()
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A string of `format: password`: a secret, whatever its schema's name.
fn password_schema() -> SchemaObject {
    SchemaObject { instance_type: Some(InstanceType::String.into()), format: Some("password".to_owned()), ..SchemaObject::default() }
}

fn int64_schema() -> SchemaObject {
    SchemaObject { instance_type: Some(InstanceType::Integer.into()), format: Some("int64".to_owned()), ..SchemaObject::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
      "paths": {"/api/2.0/thing/{id}": {"patch": {"operationId": "update_thing",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateThing"}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
      "components": {"schemas": {"Thing": {"type": "object", "required": ["id"],
        "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"},
                       "created": {"type": "string", "readOnly": true}}},
        "UpdateThing": {"type": "object", "required": ["thing", "mask"],
        "properties": {"thing": {"$ref": "#/components/schemas/Thing"}, "mask": {"type": "string"}}}}}}"##;

    #[test]
    fn a_request_bodys_resource_is_serialized_without_its_empty_output_only_fields() {
        let code = generate(SPEC, Target::CRATE).unwrap();
        let file: syn::File = syn::parse_str(code.trim_start_matches(|c| c != '\n')).unwrap();
        let types = file.items.iter().find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        });
        let attrs = |strukt: &str, name: &str| -> String {
            let found = types.unwrap().1.iter().find_map(|i| match i {
                syn::Item::Struct(s) if s.ident == strukt => Some(s),
                _ => None,
            });
            let syn::Fields::Named(fields) = &found.unwrap().fields else { panic!("named fields") };
            let field = fields.named.iter().find(|f| f.ident.as_ref().is_some_and(|i| i == name)).unwrap();
            field.attrs.iter().map(|a| quote::ToTokens::to_token_stream(a).to_string()).collect()
        };
        assert!(attrs("UpdateThing", "thing").contains("serialize_request_resource"), "{}", attrs("UpdateThing", "thing"));
        // The resource keeps its plain serialization; other fields are untouched.
        assert!(!attrs("Thing", "id").contains("serialize") && !attrs("UpdateThing", "mask").contains("serialize_with"));
        let spec = serde_json::from_str(SPEC).unwrap();
        assert_eq!(required_read_only_strings(&spec), [("Thing".to_owned(), "id".to_owned())]);
        assert_eq!(request_resources(&spec), [("UpdateThing".to_owned(), "thing".to_owned())]);
    }

    /// A spec with a path parameter, query parameters, a body, a nested secret and an answer without content.
    const SECRETS: &str = r##"{"openapi": "3.0.3", "info": {"title": "Databricks Widget Store API", "version": "1"},
      "paths": {
        "/api/2.0/widgets/{shelf}/{id}": {"post": {"operationId": "make_widget", "x-databricks-idempotent": true,
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "shelf", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "size", "in": "query", "schema": {"type": "integer", "format": "int64"}},
                         {"name": "color", "in": "query", "schema": {"type": "string"}}],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MakeWidget"}}}},
          "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Made"}}}},
                        "400": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Made"}}}}}}},
        "/api/2.0/widgets/{id}": {"delete": {"operationId": "drop_widget",
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": {"200": {"description": "ok"}}}}},
      "components": {"schemas": {
        "MakeWidget": {"type": "object", "properties": {"name": {"type": "string", "description": "The widget's name."}}},
        "Key": {"type": "object", "description": "A key to the shop.", "required": ["value"], "properties": {"value": {"type": "string", "format": "password"}}},
        "Made": {"type": "object", "properties": {"key": {"$ref": "#/components/schemas/Key"},
                 "keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}, "name": {"type": "string"}}}}}}"##;

    fn parsed(code: &str) -> syn::File {
        syn::parse_str(code.trim_start_matches(|c| c != '\n')).unwrap()
    }

    fn module<'f>(file: &'f syn::File, name: &str) -> &'f [syn::Item] {
        file.items
            .iter()
            .find_map(|i| match i {
                syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|c| c.1.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no module {name}"))
    }

    fn text(item: &impl quote::ToTokens) -> String {
        quote::ToTokens::to_token_stream(item).to_string()
    }

    #[test]
    fn every_operation_gets_a_request_function_and_progenitors_client_is_gone() {
        let code = generate(SECRETS, Target::CRATE).unwrap();
        assert!(!code.contains("progenitor_client") && !code.contains("ClientHooks"));
        let file = parsed(&code);
        assert!(!file.items.iter().any(|i| matches!(i, syn::Item::Struct(s) if s.ident == "Client")));
        assert!(!file.items.iter().any(|i| matches!(i, syn::Item::Mod(m) if m.ident == "builder")));
        let calls = module(&file, "calls");
        let make = calls
            .iter()
            .find_map(|i| match i {
                syn::Item::Fn(f) if f.sig.ident == "make_widget" => Some(f),
                _ => None,
            })
            .expect("make_widget");
        let args: Vec<String> = make.sig.inputs.iter().map(text).collect();
        // Path parameters in template order, then query parameters by name, the body, the options.
        assert_eq!(args.len(), 7, "{args:?}");
        assert!(args[1].starts_with("shelf") && args[2].starts_with("id"), "{args:?}");
        assert!(args[3].starts_with("color") && args[4].starts_with("size") && args[4].contains("Int64"), "{args:?}");
        assert!(args[5].contains("types :: MakeWidget") && args[6].contains("RequestOptions"), "{args:?}");
        let body = text(&make.block);
        assert!(body.contains("pipeline . call (& super :: operations :: MAKE_WIDGET"), "{body}");
        assert!(body.contains("path : & [shelf , id]"), "{body}");
        assert!(text(&make.sig.output).contains("types :: Made"));
        // An answer without content: `call_empty`, `()`.
        let drop = calls.iter().find(|i| matches!(i, syn::Item::Fn(f) if f.sig.ident == "drop_widget")).map(text).unwrap();
        assert!(drop.contains("call_empty") && drop.contains("Result < () >"), "{drop}");
        // The operation table: service from the title, one entry per operation.
        let operations = module(&file, "operations").iter().map(text).collect::<Vec<_>>().join("\n");
        assert!(operations.contains("service : \"widget_store\"") && operations.contains("idempotent : true"), "{operations}");
        assert!(operations.contains("ALL : & [crate :: operation :: Operation] = & [MAKE_WIDGET , DROP_WIDGET]"), "{operations}");
    }

    #[test]
    fn with_x_rust_stub_the_generated_builders_go_through_the_stub_whose_methods_the_tables_define() {
        let info = r#""info": {"title": "Databricks Widget Store API", "version": "1""#;
        let with_service = SECRETS.replace(info, &format!(r#"{info}, "x-rust-service": "crate::shop::Shop""#));
        let open = generate_parts(&with_service, Target::CRATE).unwrap();
        assert!(!open.tables.contains("macro_rules!"), "no x-rust-stub, no stub methods");
        assert!(open.client.contains("self.client.pipeline()"), "{}", open.client);
        let stubbed = generate_parts(&with_service.replace(info, &format!(r#"{info}, "x-rust-stub": "Shop""#)), Target::CRATE).unwrap();
        assert!(!stubbed.client.contains("self.client.pipeline()"));
        // The builder: the path checked, then the stub asked with the path, query, body and options.
        let compact: String = stubbed.client.split_whitespace().collect();
        assert!(
            compact.contains("self.client.shop_stub().make_widget(&self.shelf,&self.id,self.color,self.size,self.body,self.options,)"),
            "{compact}"
        );
        assert!(compact.contains("self.client.shop_stub().drop_widget(&self.id,self.options)"), "{compact}");
        let tables = parsed(&stubbed.tables);
        let mac = tables
            .items
            .iter()
            .find(|i| matches!(i, syn::Item::Macro(m) if m.ident.as_ref().is_some_and(|i| i == "stub_methods")))
            .map(text)
            .expect("stub_methods!");
        // Every arm names both operations; the default answer names `Service::method`; types are the caller's.
        for arm in ["(trait ,", "(dyn ,", "(blanket ,", "(http ,"] {
            assert!(mac.contains(arm), "{arm}: {mac}");
        }
        assert!(mac.contains(r#"not_implemented_by_stub ("Shop::make_widget")"#) && mac.contains(r#"("Shop::drop_widget")"#), "{mac}");
        assert!(mac.contains("$ ($ types) * :: MakeWidget") && !mac.contains(" types :: MakeWidget"), "{mac}");
        assert!(mac.contains("$ ($ calls) * :: make_widget (self , shelf , id , color , size , & body , options)"), "{mac}");
        assert!(mac.contains("< Self as $ crate :: stub :: Shop > :: make_widget"), "{mac}");
        assert_eq!(generate(&with_service, Target::CRATE).unwrap(), format!("{HEADER}{}{}", open.tables, open.client));
    }

    #[test]
    fn a_paginated_operations_answer_is_a_page_and_no_other_is() {
        const PAGINATED: &str = r##"{"openapi": "3.0.3", "info": {"title": "Paginated", "version": "1"},
          "paths": {"/api/2.0/things/list": {"get": {"operationId": "list_things",
            "parameters": [{"name": "page_token", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ListThingsResponse"}}}}}}}},
          "components": {"schemas": {
            "Thing": {"type": "object", "properties": {"id": {"type": "string"}}},
            "ListThingsResponse": {"type": "object", "properties": {"things": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
                                   "next_page_token": {"type": "string"}}}}}}"##;
        let code: String = generate(PAGINATED, Target::CRATE).unwrap().split_whitespace().collect();
        assert!(code.contains("implcrate::paginate::Pagefortypes::ListThingsResponse{typeItem=types::Thing;"), "{code}");
        assert!(code.contains("self.next_page_token.as_deref()") && code.contains("self.things"), "{code}");
        assert!(!generate(SECRETS, Target::CRATE).unwrap().contains("paginate::Page"));
    }

    #[test]
    fn secret_visitors_reach_every_secret_at_any_depth() {
        let file = parsed(&generate(SECRETS, Target::CRATE).unwrap());
        let impls: Vec<String> = module(&file, "types").iter().map(text).filter(|i| i.contains("HasSecrets for")).collect();
        let of = |name: &str| impls.iter().find(|i| i.contains(&format!("for {name} "))).unwrap_or_else(|| panic!("{name}: {impls:?}"));
        assert!(of("Key").contains("f (self . value . expose ())"), "{}", of("Key"));
        let made = of("Made");
        assert!(made.contains("if let :: std :: option :: Option :: Some (v) = & self . key { v . secrets (f) ; }"), "{made}");
        assert!(made.contains("for v in & self . keys { v . secrets (f) ; }") && !made.contains("self . name"), "{made}");
        assert!(!of("MakeWidget").contains("fn secrets"), "no secret, the default");
        // A field that refers to a schema is documented with that schema's description.
        let made = module(&file, "types").iter().find(|i| matches!(i, syn::Item::Struct(s) if s.ident == "Made")).map(text).unwrap();
        assert_eq!(made.matches("A key to the shop.").count(), 2, "{made}");
    }

    #[test]
    fn a_builder_owns_the_client_the_spec_names_and_takes_its_params_from_it() {
        let info = r#""info": {"title": "Databricks Widget Store API", "version": "1"}"#;
        let shop = r#""info": {"title": "Databricks Widget Store API", "version": "1", "x-rust-service": "crate::shop::Shop",
            "x-rust-client": "crate::ShopClient", "x-rust-client-params": ["shelf"]}"#;
        let file = parsed(&generate(&SECRETS.replacen(info, shop, 1), Target::CRATE).unwrap());
        let builders: String = module(&file, "builders").iter().map(text).collect();
        assert!(builders.contains("pub struct MakeWidget { pub (crate) client : crate :: ShopClient"), "{builders}");
        assert!(builders.contains("pub fn make_widget (& self , id : impl :: std :: fmt :: Display)"), "shelf is the client's: {builders}");
        assert!(builders.contains("make_widget (pipeline , self . client . shelf () , & self . id ,"), "{builders}");
        assert!(
            builders
                .contains("pub struct DropWidget { pub (crate) client : crate :: ShopClient , pub (crate) id : :: std :: string :: String"),
            "{builders}"
        );
    }

    #[test]
    fn the_service_is_the_extension_else_the_title() {
        let spec: openapiv3::OpenAPI = serde_json::from_str(SECRETS).unwrap();
        assert_eq!(service_name(&spec), "widget_store");
        let named = SECRETS.replacen(r#""version": "1"}"#, r#""version": "1", "x-databricks-service": "shop"}"#, 1);
        assert_eq!(service_name(&serde_json::from_str(&named).unwrap()), "shop");
        let spec: openapiv3::OpenAPI = serde_json::from_str(SPEC).unwrap();
        assert_eq!(service_name(&spec), "t");
    }

    #[test]
    fn every_rewrite_fails_when_progenitors_output_lacks_what_it_changes() {
        let err = calls::drop_client(&mut syn::parse_quote! { pub mod types {} }).unwrap_err();
        assert!(err.to_string().contains("struct Client"), "{err}");
        let err = calls::secret_visitors(&mut syn::parse_quote! { pub mod builder {} }).unwrap_err();
        assert!(err.to_string().contains("types"), "{err}");
        let err = curate_types(&mut syn::parse_quote! { pub mod builder {} }).unwrap_err();
        assert!(err.to_string().contains("types"), "{err}");
        let err = curate_types(&mut syn::parse_quote! { pub mod types { pub enum E { A } } }).unwrap_err();
        assert!(err.to_string().contains("no struct"), "{err}");
        // The operations are found in progenitor's client: one it lacks fails generation.
        let spec: openapiv3::OpenAPI = serde_json::from_str(SECRETS).unwrap();
        let file: syn::File =
            syn::parse_quote! { pub mod builder {} impl Client { pub fn make_widget(&self) -> builder::MakeWidget<'_> {} } };
        let err = calls::collect(&spec, &file).err().expect("fails");
        assert!(err.to_string().contains("MakeWidget"), "{err}");
        let err = calls::collect(&spec, &syn::parse_quote! { pub mod types {} }).err().expect("fails");
        assert!(err.to_string().contains("builder"), "{err}");
    }

    #[test]
    fn a_rule_that_applies_nowhere_fails_generation() {
        let mut file: syn::File = syn::parse_quote! { pub mod types { pub struct UpdateThing { pub thing: Thing } } };
        let err = serialize_request_resources(&mut file, &[("UpdateThing".into(), "other".into())]).unwrap_err();
        assert!(err.to_string().contains("UpdateThing.other"), "{err}");
        let err = serialize_request_resources(&mut file, &[("Other".into(), "thing".into())]).unwrap_err();
        assert!(err.to_string().contains("Other.thing"), "{err}");
        serialize_request_resources(&mut file, &[("UpdateThing".into(), "thing".into())]).unwrap();
    }

    /// A spec whose stub methods take a curated shape: one field of the answer, a filter struct, body
    /// fields as arguments, an empty answer as `()`, errors explained.
    const CURATED: &str = r##"{"openapi": "3.0.3",
      "info": {"title": "Databricks Widget Store API", "version": "1", "x-rust-service": "crate::shop::Shop", "x-rust-stub": "Shop",
               "x-rust-explain": "crate::shop::explain"},
      "paths": {
        "/api/2.0/widgets/list": {"get": {"operationId": "list_widgets", "x-rust-name": "list", "x-rust-builder": "shop::ListWidgets",
          "x-rust-answer": "widgets", "x-rust-query-struct": "WidgetFilter", "x-rust-explain": true,
          "parameters": [{"name": "color", "in": "query", "description": "Only widgets of this color.", "schema": {"type": "string"}},
                         {"name": "size", "in": "query", "schema": {"type": "integer", "format": "int64"}}],
          "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Widgets"}}}}}}},
        "/api/2.0/widgets/drop": {"post": {"operationId": "drop_widget", "x-rust-name": "drop", "x-rust-builder-name": "DropIt",
          "x-rust-args": ["id"], "x-rust-explain": "id", "x-databricks-not-found-means-done": true,
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DropWidget"}}}},
          "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}}}}},
        "/api/2.0/widgets/{id}": {"get": {"operationId": "get_widget",
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Widget"}}}}}}}},
      "components": {"schemas": {
        "Widget": {"type": "object", "properties": {"id": {"type": "string"}}},
        "Widgets": {"type": "object", "properties": {"widgets": {"type": "array", "items": {"$ref": "#/components/schemas/Widget"}}}},
        "DropWidget": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "Empty": {"type": "object", "description": "An empty object.", "properties": {}}}}}"##;

    fn compact(code: &str) -> String {
        code.split_whitespace().collect()
    }

    fn stub_macro(tables: &str) -> String {
        compact(
            &parsed(tables)
                .items
                .iter()
                .find(|i| matches!(i, syn::Item::Macro(m) if m.ident.as_ref().is_some_and(|i| i == "stub_methods")))
                .map(text)
                .expect("stub_methods!"),
        )
    }

    #[test]
    fn x_rust_answer_query_struct_args_and_explain_shape_the_stub_method() {
        let parts = generate_parts(CURATED, Target::CRATE).unwrap();
        let mac = stub_macro(&parts.tables);
        // x-rust-answer and x-rust-query-struct: `list(filter) -> Vec<Widget>`, the field taken from the answer,
        // an int64 parameter converted from the filter's `i64`.
        assert!(mac.contains("fnlist(&self,filter:$($types)*::WidgetFilter,options:$crate::stub::RequestOptions)"), "{mac}");
        assert!(mac.contains("$crate::Result<::std::vec::Vec<$($types)*::Widget>>"), "{mac}");
        assert!(mac.contains("$($calls)*::list_widgets(self,filter.color,filter.size.map(::std::convert::Into::into),options)"), "{mac}");
        assert!(mac.contains(".map(|answer|answer.widgets)"), "{mac}");
        // x-rust-explain: every error through the function, with the subject it names.
        assert!(mac.contains(r#"crate::shop::explain("list_widgets",::std::option::Option::None,error)"#), "{mac}");
        assert!(mac.contains(r#"crate::shop::explain("drop_widget",::std::option::Option::Some(id),error)"#), "{mac}");
        // x-rust-args and the empty answer: `drop(id: &str) -> ()`, the body built from the arguments.
        assert!(mac.contains("fndrop(&self,id:&str,options:$crate::stub::RequestOptions)"), "{mac}");
        assert!(mac.contains("&$($types)*::DropWidget{id:id.to_owned(),}"), "{mac}");
        assert!(mac.contains(".map(::std::mem::drop)") && mac.contains("$crate::Result<()>"), "{mac}");
        // Without an extension: the response itself.
        assert!(mac.contains("fnget_widget(&self,id:&str,options:$crate::stub::RequestOptions)"), "{mac}");
        assert!(mac.contains("$crate::Result<$($types)*::Widget>"), "{mac}");
        let client = compact(&parts.client);
        // The filter struct in `types`, documented from the parameters, `int64` as `i64`.
        assert!(
            client.contains("pubstructWidgetFilter{///Onlywidgetsofthiscolor.pubcolor:::std::option::Option<::std::string::String>,"),
            "{client}"
        );
        assert!(client.contains("pubsize:::std::option::Option<i64>"), "{client}");
        // The hand-written list has no generated builder; the drop's is named by x-rust-builder-name, takes
        // the argument like a path parameter (checked non-empty) and hands it to the stub.
        assert!(!client.contains("pubstructListWidgets") && client.contains("pubstructDropIt{"), "{client}");
        assert!(client.contains("pubfndrop(&self,id:impl::std::fmt::Display)->DropIt"), "{client}");
        assert!(
            client.contains(
                r#"super::operations::DROP_WIDGET.non_empty("id",&self.id)?;self.client.shop_stub().drop(&self.id,self.options).await"#
            ),
            "{client}"
        );
        assert!(client.contains("pubasyncfnsend(self)->crate::error::Result<()>"), "{client}");
        assert!(client.contains("is_not_found"), "the not-found rule is documented: {client}");
    }

    /// `CURATED` with `from` replaced by `to` (once, and it must be there).
    fn curated_with(from: &str, to: &str) -> String {
        assert!(CURATED.contains(from), "{from}");
        CURATED.replacen(from, to, 1)
    }

    fn extension_error(spec: &str) -> String {
        match generate_parts(spec, Target::CRATE) {
            Err(CodegenError::Extension(e)) => e,
            Err(other) => panic!("not an extension error: {other}"),
            Ok(_) => panic!("generated"),
        }
    }

    #[test]
    fn an_extension_naming_what_the_spec_lacks_or_that_cannot_apply_fails_generation() {
        let cases = [
            // x-rust-answer: a field the response lacks, a response without fields, not a string.
            (r#""x-rust-answer": "widgets""#, r#""x-rust-answer": "gadgets""#, "\"gadgets\""),
            (r#""x-rust-args": ["id"]"#, r#""x-rust-args": ["id"], "x-rust-answer": "id""#, "Empty"),
            (r#""x-rust-answer": "widgets""#, r#""x-rust-answer": 3"#, "not a string"),
            // x-rust-args: a field the body lacks, not every field, no body, not a list.
            (r#""x-rust-args": ["id"]"#, r#""x-rust-args": ["id", "name"]"#, "\"name\""),
            (r#""x-rust-args": ["id"]"#, r#""x-rust-args": []"#, "every field"),
            (r#""x-rust-answer": "widgets""#, r#""x-rust-answer": "widgets", "x-rust-args": ["id"]"#, "no request body"),
            (r#""x-rust-args": ["id"]"#, r#""x-rust-args": "id""#, "list of strings"),
            // x-rust-query-struct: no query parameters, a required one, not an identifier.
            (r#""x-rust-args": ["id"]"#, r#""x-rust-args": ["id"], "x-rust-query-struct": "F""#, "without query parameters"),
            (r#""in": "query", "description""#, r#""in": "query", "required": true, "description""#, "required query parameter \"color\""),
            (r#""x-rust-query-struct": "WidgetFilter""#, r#""x-rust-query-struct": "Widget Filter""#, "not a Rust identifier"),
            // x-rust-explain: a field the body lacks, a subject that is no string, neither true nor a name,
            // without the function.
            (r#""x-rust-explain": "id""#, r#""x-rust-explain": "name""#, "\"name\""),
            (r#""x-rust-explain": true"#, r#""x-rust-explain": "color""#, "no body"),
            (r#""x-rust-explain": true"#, r#""x-rust-explain": 1"#, "neither"),
            (r#""x-rust-explain": "crate::shop::explain""#, r#""x-rust-explained": "crate::shop::explain""#, "needs info.x-rust-explain"),
            (r#""x-rust-explain": "crate::shop::explain""#, r#""x-rust-explain": "not a path""#, "not a path"),
            // x-rust-name and x-rust-builder-name: not identifiers, or a name for a hand-written builder.
            (r#""x-rust-name": "drop""#, r#""x-rust-name": "drop it""#, "not a Rust identifier"),
            (r#""x-rust-builder-name": "DropIt""#, r#""x-rust-builder-name": "DropIt", "x-rust-builder": "shop::DropIt""#, "hand-written"),
            // Every shaping extension needs the stub trait whose method it shapes.
            (r#", "x-rust-stub": "Shop""#, "", "needs info.x-rust-stub"),
        ];
        for (from, to, expected) in cases {
            let err = extension_error(&curated_with(from, to));
            assert!(err.contains(expected), "{to}: {err}");
        }
        // The rule for empty answers applies only to an object without properties.
        let spec = curated_with(
            r#""Empty": {"type": "object", "description": "An empty object.", "properties": {}}"#,
            r#""Empty": {"type": "object", "properties": {"done": {"type": "boolean"}}}"#,
        );
        let mac = stub_macro(&generate_parts(&spec, Target::CRATE).unwrap().tables);
        assert!(mac.contains("$crate::Result<$($types)*::Empty>") && !mac.contains("::std::mem::drop"), "{mac}");
    }

    #[test]
    fn beside_a_base_spec_only_the_operations_it_lacks_get_methods_and_builders() {
        let base = curated_with(r#""/api/2.0/widgets/{id}": {"get""#, r#""/api/2.0/widgets/{id}": {"put""#)
            .replace(r#""operationId": "get_widget""#, r#""operationId": "put_widget""#);
        let parts = generate_parts_beside(CURATED, &base, Target::CRATE).unwrap();
        let mac = stub_macro(&parts.tables);
        assert!(mac.contains("fnget_widget(") && !mac.contains("fnlist(") && !mac.contains("fndrop("), "{mac}");
        let client = compact(&parts.client);
        assert!(client.contains("pubstructGetWidget{") && !client.contains("pubstructDropIt"), "{client}");
        // The tables and types are the whole spec's.
        assert!(parts.tables.contains("DROP_WIDGET") && client.contains("pubstructWidgetFilter"));
        assert_eq!(generate_parts_beside(CURATED, "{}", Target::CRATE).err().map(|e| matches!(e, CodegenError::Spec(_))), Some(true));
    }
}
