//! The per-operation request functions and the secret visitors, emitted over progenitor's types.
//!
//! progenitor generates the types (typify) and a client of builders; only the types are kept. For every
//! operation of the spec this emits one thin function in `calls` that takes the pipeline, the path
//! parameters, the query parameters and the body, and hands the request to
//! `crate::pipeline::Pipeline::call` with the operation's entry of the operation table: one builder per
//! call (the hand-written one), no hooks, no side channel. The types of the parameters, the body and the
//! answer are read from progenitor's builders, so that they are the types progenitor named.

use std::collections::{BTreeMap, BTreeSet};

use quote::{ToTokens, format_ident, quote};

use crate::CodegenError;

/// What the spec says of one operation, and the types progenitor gave it.
pub(crate) struct Call {
    pub(crate) id: String,
    /// `METHOD /path/{template}`, for the docs.
    pub(crate) http: String,
    pub(crate) doc: String,
    /// `(name, type)` of the path parameters, in the order of the path template.
    pub(crate) path: Vec<String>,
    /// `(name, type)` of the query parameters, in name order; the type as progenitor's builder holds it.
    pub(crate) query: Vec<(String, syn::Type)>,
    /// The request body's type, `types::X`.
    pub(crate) body: Option<syn::Type>,
    /// The answer's type, `types::Y`; `None`: the 2xx response has no content.
    pub(crate) answer: Option<syn::Type>,
}

/// The operations of the spec with the types of progenitor's builders (`module builder`, `impl Client`).
pub(crate) fn collect(spec: &openapiv3::OpenAPI, file: &syn::File) -> Result<Vec<Call>, CodegenError> {
    let builders = builder_structs(file)?;
    let client_methods = client_methods(file);
    let mut calls = Vec::new();
    for (path, item) in &spec.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else { continue };
        for (method, op) in item.iter() {
            let Some(id) = op.operation_id.clone() else { continue };
            let http = format!("{} {path}", method.to_ascii_uppercase());
            let builder_name =
                client_methods.get(&id).ok_or_else(|| CodegenError::Rewrite(format!("progenitor's client has no method `{id}`")))?;
            let builder = builders
                .get(builder_name)
                .ok_or_else(|| CodegenError::Rewrite(format!("progenitor's builder module has no `{builder_name}` (for `{id}`)")))?;
            let mut path_params = Vec::new();
            let mut query = Vec::new();
            for parameter in &op.parameters {
                let openapiv3::ReferenceOr::Item(parameter) = parameter else {
                    return Err(CodegenError::Rewrite(format!("{id}: a parameter by reference is not supported")));
                };
                let name = parameter.parameter_data_ref().name.clone();
                let ty = builder
                    .fields
                    .get(&rust_name(&name))
                    .cloned()
                    .ok_or_else(|| CodegenError::Rewrite(format!("{id}: progenitor's builder has no field `{name}`")))?;
                match parameter {
                    openapiv3::Parameter::Path { .. } => path_params.push(name),
                    openapiv3::Parameter::Query { .. } => query.push((name, ty)),
                    _ => return Err(CodegenError::Rewrite(format!("{id}: only path and query parameters are supported ({name})"))),
                }
            }
            // The path template's order, which the pipeline fills in.
            let order: Vec<&str> = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
            path_params.sort_by_key(|p| order.iter().position(|o| o == p));
            // Sent in name order, as progenitor sends them.
            query.sort_by(|a, b| a.0.cmp(&b.0));
            if path_params.len() != order.len() {
                return Err(CodegenError::Rewrite(format!("{id}: the path {path} has parameters the operation does not declare")));
            }
            let body = match (&op.request_body, builder.fields.get("body")) {
                (None, _) => None,
                (Some(_), Some(ty)) => Some(unbuilt(ty)),
                (Some(_), None) => return Err(CodegenError::Rewrite(format!("{id}: progenitor's builder has no body"))),
            };
            let doc = [op.summary.as_deref(), op.description.as_deref()].into_iter().flatten().collect::<Vec<_>>().join("\n\n");
            calls.push(Call { id, http, doc, path: path_params, query, body, answer: builder.answer.clone() });
        }
    }
    Ok(calls)
}

/// `module calls`: one function per operation.
pub(crate) fn emit(calls: &[Call]) -> proc_macro2::TokenStream {
    let functions = calls.iter().map(|call| {
        let name = format_ident!("{}", call.id);
        let constant = format_ident!("{}", call.id.to_ascii_uppercase());
        let path_args: Vec<_> = call.path.iter().map(|p| format_ident!("{}", rust_name(p))).collect();
        let query_args: Vec<_> = call.query.iter().map(|(p, _)| format_ident!("{}", rust_name(p))).collect();
        let query_types = call.query.iter().map(|(_, ty)| ty);
        let query_pushes = call.query.iter().map(|(p, ty)| {
            let arg = format_ident!("{}", rust_name(p));
            if crate::option_inner(ty).is_some() {
                quote! { if let ::std::option::Option::Some(value) = &#arg { query.push((#p, value.to_string())); } }
            } else {
                quote! { query.push((#p, #arg.to_string())); }
            }
        });
        let (body_arg, body_value) = match &call.body {
            Some(ty) => (
                quote! { body: &#ty, },
                quote! { ::std::option::Option::Some(crate::pipeline::json_body(&super::operations::#constant, body)?) },
            ),
            None => (quote! {}, quote! { ::std::option::Option::None }),
        };
        let (answer, send) = match &call.answer {
            Some(ty) => (quote! { #ty }, quote! { call }),
            None => (quote! { () }, quote! { call_empty }),
        };
        let mut doc = call.doc.clone();
        if !doc.is_empty() {
            doc.push_str("\n\n");
        }
        doc.push_str(&format!("Sends `super::operations::{constant}` through the pipeline."));
        quote! {
            #[doc = #doc]
            pub(crate) async fn #name(
                pipeline: &crate::pipeline::Pipeline,
                #(#path_args: &str,)*
                #(#query_args: #query_types,)*
                #body_arg
                options: crate::stub::RequestOptions,
            ) -> crate::error::Result<#answer> {
                #[allow(unused_mut)]
                let mut query: ::std::vec::Vec<(&'static str, ::std::string::String)> = ::std::vec::Vec::new();
                #(#query_pushes)*
                let request = crate::pipeline::Request { path: &[#(#path_args),*], query, body: #body_value };
                pipeline.#send(&super::operations::#constant, request, options).await
            }
        }
    });
    quote! {
        #[doc = "One function per operation of the spec: the request, handed to the pipeline with the operation's entry of `operations`."]
        pub mod calls {
            #[allow(unused_imports)]
            use super::types;
            #(#functions)*
        }
    }
}

/// progenitor's client and builders, and the imports they need, removed: the types stay. Fails when one of
/// them is not there (progenitor's output changed).
pub(crate) fn drop_client(file: &mut syn::File) -> Result<(), CodegenError> {
    let before = file.items.len();
    let mut dropped = BTreeSet::new();
    file.items.retain(|item| {
        let what = match item {
            syn::Item::Struct(s) if s.ident == "Client" => "struct Client",
            syn::Item::Impl(i) if is_client(&i.self_ty) => "impl Client",
            syn::Item::Mod(m) if m.ident == "builder" => "mod builder",
            syn::Item::Mod(m) if m.ident == "prelude" => "mod prelude",
            syn::Item::Use(u) if u.to_token_stream().to_string().contains("progenitor_client") => "use progenitor_client",
            syn::Item::Const(c) if c.to_token_stream().to_string().contains("ClientHooks") => "const _",
            _ => return true,
        };
        dropped.insert(what);
        false
    });
    let expected = ["struct Client", "impl Client", "mod builder", "mod prelude", "use progenitor_client", "const _"];
    match expected.iter().find(|e| !dropped.contains(*e)) {
        Some(missing) => Err(CodegenError::Rewrite(format!("progenitor's output has no `{missing}` to remove ({} items)", before))),
        None => Ok(()),
    }
}

/// `impl crate::secret::HasSecrets` for every type of `types`: a type holding a `SecretString` (at any depth
/// through fields of generated types, options and vectors) hands each secret's value to the visitor, so that
/// the pipeline learns the secrets a response carried without a hidden write in `Deserialize`.
pub(crate) fn secret_visitors(file: &mut syn::File) -> Result<usize, CodegenError> {
    let types = crate::types_module_mut(file).ok_or_else(|| CodegenError::Rewrite("progenitor's output has no `types` module".into()))?;
    let mut structs: BTreeMap<String, Vec<(syn::Ident, syn::Type)>> = BTreeMap::new();
    let mut others = Vec::new();
    for item in types.iter() {
        match item {
            syn::Item::Struct(s) => {
                let fields = match &s.fields {
                    syn::Fields::Named(named) => named.named.iter().filter_map(|f| Some((f.ident.clone()?, f.ty.clone()))).collect(),
                    _ => Vec::new(),
                };
                structs.insert(s.ident.to_string(), fields);
            }
            syn::Item::Enum(e) => others.push(e.ident.clone()),
            _ => {}
        }
    }
    // The types that hold a secret, to a fixed point.
    let mut secret: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = secret.len();
        for (name, fields) in &structs {
            if fields.iter().any(|(_, ty)| visit(ty, &secret).is_some()) {
                secret.insert(name.clone());
            }
        }
        if secret.len() == before {
            break;
        }
    }
    // A secret in a shape the visitors cannot reach (a vector of secrets, a map, a tuple...) would never be
    // learnt, so never scrubbed: refuse to generate rather than leak.
    for (name, fields) in &structs {
        if let Some((field, ty)) = fields.iter().find(|(_, ty)| visit(ty, &secret).is_none() && mentions_secret(ty, &secret)) {
            return Err(CodegenError::Rewrite(format!(
                "field `{field}` of `{name}` holds a secret as `{}`, which the secret visitors cannot reach \
                 (SecretString, Option, a generated type, or a Vec of generated types)",
                ty.to_token_stream()
            )));
        }
    }
    let mut impls: Vec<syn::Item> = Vec::new();
    for (name, fields) in &structs {
        let ident = format_ident!("{}", name);
        let visits = fields.iter().filter_map(|(field, ty)| {
            let kind = visit(ty, &secret)?;
            Some(match kind {
                Visit::Secret => quote! { f(self.#field.expose()); },
                Visit::OptionalSecret => quote! { if let ::std::option::Option::Some(v) = &self.#field { f(v.expose()); } },
                Visit::Nested => quote! { self.#field.secrets(f); },
                Visit::OptionalNested => quote! { if let ::std::option::Option::Some(v) = &self.#field { v.secrets(f); } },
                Visit::Each => quote! { for v in &self.#field { v.secrets(f); } },
            })
        });
        let visits: Vec<_> = visits.collect();
        impls.push(if visits.is_empty() {
            syn::parse_quote! { impl crate::secret::HasSecrets for #ident {} }
        } else {
            syn::parse_quote! {
                impl crate::secret::HasSecrets for #ident {
                    fn secrets(&self, f: &mut dyn FnMut(&str)) {
                        #(#visits)*
                    }
                }
            }
        });
    }
    for ident in others {
        impls.push(syn::parse_quote! { impl crate::secret::HasSecrets for #ident {} });
    }
    let count = secret.len();
    types.extend(impls);
    Ok(count)
}

/// How a field's value reaches the secrets it holds.
#[derive(Debug, PartialEq)]
enum Visit {
    Secret,
    OptionalSecret,
    Nested,
    OptionalNested,
    Each,
}

fn visit(ty: &syn::Type, secret_types: &BTreeSet<String>) -> Option<Visit> {
    let is_secret = |ty: &syn::Type| last_ident(ty).is_some_and(|i| i == "SecretString");
    let holds = |ty: &syn::Type| {
        matches!(ty, syn::Type::Path(p) if p.path.segments.len() == 1) && last_ident(ty).is_some_and(|i| secret_types.contains(&i))
    };
    if is_secret(ty) {
        return Some(Visit::Secret);
    }
    if holds(ty) {
        return Some(Visit::Nested);
    }
    if let Some(inner) = crate::option_inner(ty) {
        if is_secret(inner) {
            return Some(Visit::OptionalSecret);
        }
        if holds(inner) {
            return Some(Visit::OptionalNested);
        }
    }
    if crate::vec_inner(ty).is_some_and(holds) {
        return Some(Visit::Each);
    }
    None
}

/// Whether `ty` names `SecretString` or a type holding one anywhere in it (`Vec<SecretString>`, a map's value...).
fn mentions_secret(ty: &syn::Type, secret_types: &BTreeSet<String>) -> bool {
    fn walk(tokens: proc_macro2::TokenStream, secret_types: &BTreeSet<String>) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(i) => i == "SecretString" || secret_types.contains(&i.to_string()),
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), secret_types),
            _ => false,
        })
    }
    walk(ty.to_token_stream(), secret_types)
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// A progenitor builder: its fields' types (the `T` of `Result<T, String>`) and its answer's type.
struct Builder {
    fields: BTreeMap<String, syn::Type>,
    answer: Option<syn::Type>,
}

fn builder_structs(file: &syn::File) -> Result<BTreeMap<String, Builder>, CodegenError> {
    let module = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref(),
            _ => None,
        })
        .ok_or_else(|| CodegenError::Rewrite("progenitor's output has no `builder` module".into()))?;
    let mut builders = BTreeMap::new();
    for item in &module.1 {
        if let syn::Item::Struct(s) = item {
            let fields = s.fields.iter().filter_map(|f| Some((f.ident.as_ref()?.to_string(), result_ok(&f.ty)?.clone()))).collect();
            builders.insert(s.ident.to_string(), Builder { fields, answer: None });
        }
    }
    for item in &module.1 {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(name) = last_ident(&imp.self_ty) else { continue };
        for inner in &imp.items {
            let syn::ImplItem::Fn(f) = inner else { continue };
            if f.sig.ident != "send" {
                continue;
            }
            let syn::ReturnType::Type(_, ty) = &f.sig.output else { continue };
            let answer = result_ok(ty)
                .and_then(|rv| crate::wrapped(rv, "ResponseValue"))
                .cloned()
                .ok_or_else(|| CodegenError::Rewrite(format!("{name}::send does not answer `Result<ResponseValue<T>, _>`")))?;
            let answer = match &answer {
                syn::Type::Tuple(t) if t.elems.is_empty() => None,
                _ => Some(answer),
            };
            if let Some(builder) = builders.get_mut(&name) {
                builder.answer = answer;
            }
        }
    }
    Ok(builders)
}

/// `operationId` → progenitor's builder struct name, from `impl Client { fn <id>(&self) -> builder::X<'_> }`.
fn client_methods(file: &syn::File) -> BTreeMap<String, String> {
    let mut methods = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if !is_client(&imp.self_ty) || imp.trait_.is_some() {
            continue;
        }
        for inner in &imp.items {
            let syn::ImplItem::Fn(f) = inner else { continue };
            if let syn::ReturnType::Type(_, ty) = &f.sig.output
                && let Some(name) = last_ident(ty)
            {
                methods.insert(f.sig.ident.to_string(), name);
            }
        }
    }
    methods
}

fn is_client(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.is_ident("Client"))
}

/// `T` of `Result<T, _>`.
fn result_ok(ty: &syn::Type) -> Option<&syn::Type> {
    crate::wrapped(ty, "Result")
}

/// `types::builder::X` (how a builder holds a body) as `types::X`.
fn unbuilt(ty: &syn::Type) -> syn::Type {
    let mut ty = ty.clone();
    if let syn::Type::Path(p) = &mut ty {
        let segments: syn::punctuated::Punctuated<syn::PathSegment, syn::Token![::]> =
            p.path.segments.iter().filter(|s| s.ident != "builder").cloned().collect();
        p.path.segments = segments;
    }
    ty
}

/// A parameter's name as a Rust identifier (progenitor's field names).
fn rust_name(name: &str) -> String {
    let snake = crate::snake_case(&name.replace(['-', '.'], "_"));
    match snake.as_str() {
        "type" | "ref" | "match" | "fn" | "mod" | "use" | "self" | "crate" | "super" | "impl" | "move" => format!("r#{snake}"),
        _ => snake,
    }
}

/// Where a spec's generated builders go: the `x-rust-service` extension of its `info` (the path of the
/// hand-written service struct, e.g. `crate::tokens::Tokens`). A spec without it gets no builders.
pub(crate) fn service_path(spec: &openapiv3::OpenAPI) -> Option<String> {
    spec.info.extensions.get("x-rust-service").and_then(serde_json::Value::as_str).map(str::to_owned)
}

/// `module builders`: for every operation without a hand-written method (`x-rust-builder`), a public
/// builder that owns a clone of the client (named by `x-rust-builder-name`, else after its `operationId`;
/// path parameters and the body fields `x-rust-args` lists as arguments of the service's method, a setter
/// per query parameter and per property of a body that has a default, the per-call options, `send()` and
/// `.await`), and the service's method (named by `x-rust-name`, else the `operationId`). `send()` goes to
/// the generated request function over the client's pipeline; a client built from a stub answers "not
/// implemented by this stub" naming `Service::method`.
///
/// The client is `crate::WorkspaceClient` unless the `info`'s `x-rust-client` names another (the account
/// client, `crate::AccountClient`); the path parameters that `x-rust-client-params` lists are the
/// client's (its method of the same name, e.g. `account_id()`), not arguments of the service's method.
///
/// With `info.x-rust-stub` (the name of the service's trait in `crate::stub`), `send()` goes to the client's
/// stub (`WorkspaceClient::<x-rust-stub in snake case>_stub()`) instead, and the second part of the answer is
/// the macro `stub_methods!` (for the tables, see [`stub_methods`]) that writes every operation's method
/// (hand-written builder or not) in the stub trait, its trait object, the blanket impl and the pipeline's
/// implementation, in the curated shape its extensions give (see [`Shape`]). The third part is the
/// structs `x-rust-query-struct` names, for the `types` module.
///
/// A generated builder's fields are `pub(crate)`: the service's module may add what the spec cannot say
/// in an `impl` block of its own (`ListTokens::stream`).
///
/// The operations in `skip` get nothing here (they are generated from another spec, see
/// `crate::generate_parts_beside`).
pub(crate) fn builders(
    spec: &openapiv3::OpenAPI,
    file: &syn::File,
    calls: &[Call],
    skip: &BTreeSet<String>,
) -> Result<(proc_macro2::TokenStream, proc_macro2::TokenStream, Vec<syn::Item>), CodegenError> {
    let Some(service) = service_path(spec) else {
        return Ok((quote! {}, quote! {}, Vec::new()));
    };
    let stub_trait = match spec.info.extensions.get("x-rust-stub") {
        None => None,
        Some(value) => Some(ident(value.as_str(), "info.x-rust-stub")?),
    };
    let explain_fn: Option<syn::Path> = match spec.info.extensions.get("x-rust-explain") {
        None => None,
        Some(value) => {
            let text = value.as_str().ok_or_else(|| bad("info.x-rust-explain", "is not a string (the path of a function)"))?;
            Some(syn::parse_str(text).map_err(|e| bad("info.x-rust-explain", &format!("{text:?} is not a path: {e}")))?)
        }
    };
    let mut stub_arms = StubArms::default();
    let mut filters = Vec::new();
    let service_ty: syn::Type =
        syn::parse_str(&service).map_err(|e| CodegenError::Rewrite(format!("x-rust-service {service:?} is not a type path: {e}")))?;
    let service_name = service.rsplit("::").next().unwrap_or(&service).to_owned();
    let accessor = crate::snake_case(&service_name);
    let client = spec.info.extensions.get("x-rust-client").and_then(serde_json::Value::as_str).unwrap_or("crate::WorkspaceClient");
    let client_ty: syn::Type =
        syn::parse_str(client).map_err(|e| CodegenError::Rewrite(format!("x-rust-client {client:?} is not a type path: {e}")))?;
    let client_name = client.rsplit("::").next().unwrap_or(client).to_owned();
    let client_params: Vec<String> = spec
        .info
        .extensions
        .get("x-rust-client-params")
        .and_then(serde_json::Value::as_array)
        .map(|names| names.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if stub_trait.is_some() && !client_params.is_empty() {
        return Err(CodegenError::Rewrite("x-rust-client-params with x-rust-stub: a stub's methods take every path parameter".to_owned()));
    }
    let operations: BTreeMap<String, &openapiv3::Operation> = spec
        .paths
        .paths
        .values()
        .filter_map(openapiv3::ReferenceOr::as_item)
        .flat_map(|item| item.iter().map(|(_, op)| op))
        .filter_map(|op| Some((op.operation_id.clone()?, op)))
        .collect();
    let types = crate::types_module(file);
    let find_struct = |ty: &syn::Type| -> Option<&syn::ItemStruct> {
        let name = last_ident(ty)?;
        types?.iter().find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
    };
    let mut items = Vec::new();
    for call in calls {
        let Some(op) = operations.get(&call.id) else { continue };
        let shape = Shape::read(op, call, &find_struct, stub_trait.is_some(), explain_fn.is_some())?;
        let Shape { method, hand_written, builder, answer_field, empty_answer, args, filter, explain, not_found_means_done, extension } =
            shape;
        let method_name = method.to_string();
        let stub_name = format!("{service_name}::{method_name}");
        // A query struct is one of the spec's types, whoever generates the operation's methods.
        if let Some(filter) = &filter {
            filters.push(filter.item(&stub_name, &call.id));
        }
        if skip.contains(&call.id) {
            continue;
        }
        let function = format_ident!("{}", call.id);
        let constant = format_ident!("{}", call.id.to_ascii_uppercase());
        let own: Vec<&String> = call.path.iter().filter(|p| !client_params.contains(p)).collect();
        let path: Vec<_> = own.iter().map(|p| format_ident!("{}", rust_name(p))).collect();
        // The builder: its fields, their initial values, its setters, the service method's arguments, the
        // non-empty checks of `send()` and what it hands the stub (or the request function).
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        let mut setters = Vec::new();
        let mut method_args = Vec::new();
        let mut checks = Vec::new();
        let mut sent = Vec::new();
        // The stub method: its parameters (`types::X` as the macro writes them), their names, what the
        // builder passes, and what the pipeline's implementation hands the request function.
        let (mut params, mut dyn_params, mut names, mut passed, mut to_call) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut example_args = Vec::new();
        for (p, name) in path.iter().zip(&own) {
            fields.push(quote! { #p: ::std::string::String });
            inits.push(quote! { #p: #p.to_string() });
            method_args.push(quote! { #p: impl ::std::fmt::Display });
            checks.push(quote! { super::operations::#constant.non_empty(#name, &self.#p)?; });
            example_args.push("\"...\"");
            params.push(quote! { #p: &str });
            dyn_params.push(quote! { #p: &'a str });
            names.push(quote! { #p });
            passed.push(quote! { &self.#p });
            to_call.push(quote! { #p });
        }
        for name in &call.path {
            let ident = format_ident!("{}", rust_name(name));
            sent.push(if client_params.contains(name) {
                quote! { self.client.#ident() }
            } else {
                quote! { &self.#ident }
            });
        }
        match &filter {
            Some(filter) => {
                let name = &filter.name;
                fields.push(quote! { filter: types::#name });
                inits.push(quote! { filter: ::std::default::Default::default() });
                for field in &filter.fields {
                    let (ident, ty, doc) = (&field.ident, &field.ty, &field.doc);
                    setters.push(quote! {
                        #[doc = #doc]
                        pub fn #ident(mut self, value: impl ::std::convert::Into<#ty>) -> Self {
                            self.filter.#ident = ::std::option::Option::Some(value.into());
                            self
                        }
                    });
                    to_call.push(if field.converted {
                        quote! { filter.#ident.map(::std::convert::Into::into) }
                    } else {
                        quote! { filter.#ident }
                    });
                }
                let ty = in_macro(quote! { types::#name });
                params.push(quote! { filter: #ty });
                dyn_params.push(quote! { filter: #ty });
                names.push(quote! { filter });
                passed.push(quote! { self.filter });
                sent.push(quote! { self.filter });
            }
            None => {
                for (name, ty) in &call.query {
                    let ident = format_ident!("{}", rust_name(name));
                    fields.push(quote! { #ident: #ty });
                    match crate::option_inner(ty) {
                        Some(inner) => {
                            inits.push(quote! { #ident: ::std::option::Option::None });
                            let doc = format!("Sets the query parameter `{name}`.");
                            setters.push(quote! {
                                #[doc = #doc]
                                pub fn #ident(mut self, value: impl ::std::convert::Into<#inner>) -> Self {
                                    self.#ident = ::std::option::Option::Some(value.into());
                                    self
                                }
                            });
                        }
                        None => {
                            inits.push(quote! { #ident: #ident.into() });
                            method_args.push(quote! { #ident: impl ::std::convert::Into<#ty> });
                            example_args.push("\"...\"");
                        }
                    }
                    sent.push(quote! { self.#ident });
                    let macro_ty = in_macro(ty.to_token_stream());
                    params.push(quote! { #ident: #macro_ty });
                    dyn_params.push(quote! { #ident: #macro_ty });
                    names.push(quote! { #ident });
                    passed.push(quote! { self.#ident });
                    to_call.push(quote! { #ident });
                }
            }
        }
        if let Some(body_ty) = &call.body {
            match &args {
                Some(args) => {
                    let mut built = Vec::new();
                    for arg in args {
                        let (ident, ty, name) = (&arg.ident, &arg.ty, arg.ident.to_string());
                        if arg.string {
                            fields.push(quote! { #ident: ::std::string::String });
                            inits.push(quote! { #ident: #ident.to_string() });
                            method_args.push(quote! { #ident: impl ::std::fmt::Display });
                            checks.push(quote! { super::operations::#constant.non_empty(#name, &self.#ident)?; });
                            params.push(quote! { #ident: &str });
                            dyn_params.push(quote! { #ident: &'a str });
                            passed.push(quote! { &self.#ident });
                            built.push(quote! { #ident: #ident.to_owned() });
                        } else {
                            fields.push(quote! { #ident: #ty });
                            inits.push(quote! { #ident: #ident.into() });
                            method_args.push(quote! { #ident: impl ::std::convert::Into<#ty> });
                            let macro_ty = in_macro(ty.to_token_stream());
                            params.push(quote! { #ident: #macro_ty });
                            dyn_params.push(quote! { #ident: #macro_ty });
                            passed.push(quote! { self.#ident });
                            built.push(quote! { #ident });
                        }
                        example_args.push("\"...\"");
                        names.push(quote! { #ident });
                        sent.push(quote! { &self.#ident });
                    }
                    let body = in_macro(body_ty.to_token_stream());
                    to_call.push(quote! { &#body { #(#built,)* } });
                }
                None if extension.hand_body => {
                    // The stub takes the body, which the hand-written send makes from the extra state.
                    let ty = in_macro(body_ty.to_token_stream());
                    params.push(quote! { body: #ty });
                    dyn_params.push(quote! { body: #ty });
                    names.push(quote! { body });
                    to_call.push(quote! { &body });
                }
                None => {
                    let body = find_struct(body_ty)
                        .ok_or_else(|| CodegenError::Rewrite(format!("{}: the body type is not a struct of `types`", call.id)))?;
                    fields.push(quote! { body: #body_ty });
                    if has_default(body) {
                        inits.push(quote! { body: ::std::default::Default::default() });
                        setters.extend(body_setters(body, &extension.hand_setters));
                    } else if !extension.body_args.is_empty() {
                        // The required fields are the method's arguments, the others start unset.
                        let field_inits = body.fields.iter().filter_map(|f| f.ident.as_ref()).map(|ident| {
                            if extension.body_args.iter().any(|(arg, _)| arg == ident) {
                                quote! { #ident: #ident.into() }
                            } else {
                                quote! { #ident: ::std::option::Option::None }
                            }
                        });
                        inits.push(quote! { body: #body_ty { #(#field_inits,)* } });
                        for (ident, ty) in &extension.body_args {
                            method_args.push(quote! { #ident: impl ::std::convert::Into<#ty> });
                            example_args.push("\"...\"");
                            if last_ident(ty).as_deref() == Some("String") {
                                let name = ident.to_string();
                                checks.push(quote! { super::operations::#constant.non_empty(#name, &self.body.#ident)?; });
                            }
                        }
                        let skip: Vec<String> =
                            extension.hand_setters.iter().cloned().chain(extension.body_args.iter().map(|(i, _)| i.to_string())).collect();
                        setters.extend(body_setters(body, &skip));
                    } else {
                        inits.push(quote! { body });
                        method_args.push(quote! { body: #body_ty });
                    }
                    sent.push(quote! { &self.body });
                    let ty = in_macro(body_ty.to_token_stream());
                    params.push(quote! { body: #ty });
                    dyn_params.push(quote! { body: #ty });
                    names.push(quote! { body });
                    passed.push(quote! { self.body });
                    to_call.push(quote! { &body });
                }
            }
        }
        // The answer: the response, one field of it (`x-rust-answer`), or nothing.
        let answer = match (&call.answer, &answer_field) {
            (_, Some((_, field_ty))) => quote! { #field_ty },
            (Some(ty), None) if !empty_answer => quote! { #ty },
            _ => quote! { () },
        };
        if let Some(stub_trait) = &stub_trait {
            let stub_answer = in_macro(answer.clone());
            let summary = call.doc.lines().next().filter(|l| !l.is_empty()).unwrap_or("The operation");
            let trait_doc = format!("{} (`{}`; generated from the spec).", summary.trim_end_matches('.'), call.http);
            let mut http = quote! { $($calls)*::#function(self, #(#to_call,)* options).await };
            if let Some((field, _)) = &answer_field {
                http = quote! { #http.map(|answer| answer.#field) };
            } else if empty_answer {
                http = quote! { #http.map(::std::mem::drop) };
            }
            if let (Some(subject), Some(explain_fn)) = (&explain, &explain_fn) {
                let id = &call.id;
                let subject = match subject {
                    None => quote! { ::std::option::Option::None },
                    Some(Subject::Arg(ident)) => quote! { ::std::option::Option::Some(#ident) },
                    Some(Subject::Body(ident)) => quote! { ::std::option::Option::Some(body.#ident.as_str()) },
                };
                http = quote! { #http.map_err(|error| #explain_fn(#id, #subject, error)) };
            }
            stub_arms.trait_methods.push(quote! {
                #[doc = #trait_doc]
                fn #method(&self, #(#params,)* options: $crate::stub::RequestOptions)
                    -> impl ::std::future::Future<Output = $crate::Result<#stub_answer>> + ::std::marker::Send {
                    let _ = (#(#names,)* options);
                    async { ::std::result::Result::Err($crate::Error::not_implemented_by_stub(#stub_name)) }
                }
            });
            stub_arms.dyn_methods.push(quote! {
                fn #method<'a>(&'a self, #(#dyn_params,)* options: $crate::stub::RequestOptions)
                    -> $crate::clock::BoxFuture<'a, $crate::Result<#stub_answer>>;
            });
            stub_arms.blanket_methods.push(quote! {
                fn #method<'a>(&'a self, #(#dyn_params,)* options: $crate::stub::RequestOptions)
                    -> $crate::clock::BoxFuture<'a, $crate::Result<#stub_answer>> {
                    ::std::boxed::Box::pin(<Self as $crate::stub::#stub_trait>::#method(self, #(#names,)* options))
                }
            });
            stub_arms.http_methods.push(quote! {
                async fn #method(&self, #(#params,)* options: $crate::stub::RequestOptions) -> $crate::Result<#stub_answer> {
                    #http
                }
            });
        }
        if hand_written {
            continue;
        }
        if let Some(extra) = &extension.extra {
            fields.push(quote! { extra: #extra });
            inits.push(quote! { extra: ::std::default::Default::default() });
        }
        let send_body = match (&extension.send, &stub_trait) {
            (Some(send), _) => {
                let extra = extension.extra.as_ref().map(|_| quote! { self.extra, });
                quote! { #send(&self.client, #(#passed,)* #extra self.options).await }
            }
            (None, Some(stub_trait)) => {
                let accessor = format_ident!("{}_stub", crate::snake_case(&stub_trait.to_string()));
                quote! { self.client.#accessor().#method(#(#passed,)* self.options).await }
            }
            (None, None) => quote! {
                let ::std::option::Option::Some(pipeline) = self.client.pipeline() else {
                    return ::std::result::Result::Err(crate::error::Error::not_implemented_by_stub(#stub_name));
                };
                super::calls::#function(pipeline, #(#sent,)* self.options).await
            },
        };
        let summary = call.doc.lines().next().filter(|l| !l.is_empty()).unwrap_or("Sends the request.");
        let description = call.doc.split_once("\n\n").map_or("", |(_, rest)| rest);
        let example_args = example_args.join(", ");
        let example = if answer.to_string() == "()" {
            format!("c.{accessor}().{method_name}({example_args}).send().await?;")
        } else {
            format!("let answer = c.{accessor}().{method_name}({example_args}).send().await?;")
        };
        let not_found = if not_found_means_done {
            "\n\nWhen what it acts on does not exist, the error's [`Error::is_not_found`](crate::Error::is_not_found) \
             is true — except when an earlier attempt of the same call may have gone through: that attempt did the \
             work, and the call succeeds (`x-databricks-not-found-means-done`)."
        } else {
            ""
        };
        let unimplemented = match &stub_trait {
            Some(_) => format!(
                "a stub that leaves out `{stub_name}` answers \
                 [`ErrorKind::NotImplementedByStub`](crate::ErrorKind::NotImplementedByStub)"
            ),
            None => "a client built from a stub answers \
                     [`ErrorKind::NotImplementedByStub`](crate::ErrorKind::NotImplementedByStub)"
                .to_owned(),
        };
        let method_doc = format!(
            "{summary}\n\n```no_run\n# async fn example(c: databricks_tokens::{client_name}) -> databricks_tokens::Result<()> {{\n\
             {example}\n# Ok(()) }}\n```\n\n{description}{not_found}\n\n\
             Generated from the spec (`{}`, `{}`): {unimplemented}.",
            call.id, call.http
        );
        let builder_doc = format!(
            "The request of [`{service_name}::{method_name}`]({service}::{method_name}), built by its setters and sent by \
             `send()` (or `.await`)."
        );
        let send_doc = "Sends the request.".to_owned();
        items.push(quote! {
            impl #service_ty {
                #[doc = #method_doc]
                pub fn #method(&self, #(#method_args),*) -> #builder {
                    #builder { client: self.client().clone(), #(#inits,)* options: ::std::default::Default::default() }
                }
            }

            #[doc = #builder_doc]
            #[derive(Debug)]
            #[must_use = "a builder does nothing until it is sent"]
            pub struct #builder {
                pub(crate) client: #client_ty,
                #(pub(crate) #fields,)*
                pub(crate) options: crate::stub::RequestOptions,
            }

            impl #builder {
                #(#setters)*
                options_setters!();

                #[doc = #send_doc]
                pub async fn send(self) -> crate::error::Result<#answer> {
                    #(#checks)*
                    #send_body
                }
            }

            into_future!(#builder, #answer);
        });
    }
    let builders = if items.is_empty() {
        quote! {}
    } else {
        quote! {
            #[doc = "The builders of the operations that have no hand-written one, and their service's methods."]
            pub mod builders {
                #[allow(unused_imports)]
                use super::types;
                #(#items)*
            }
        }
    };
    let stubs = match stub_trait {
        Some(_) => stub_methods(&stub_arms),
        None => quote! {},
    };
    Ok((builders, stubs, filters))
}

/// A setter per field of a body that has a default (but those in `skip`: hand-written or arguments),
/// documented with the field's doc.
fn body_setters(body: &syn::ItemStruct, skip: &[String]) -> Vec<proc_macro2::TokenStream> {
    let mut setters = Vec::new();
    for field in &body.fields {
        let Some(ident) = &field.ident else { continue };
        if skip.iter().any(|s| ident == s) {
            continue;
        }
        let docs = field.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let json_name = ident.to_string().trim_start_matches("r#").to_owned();
        let fallback = format!("Sets `{json_name}` of the request body.");
        let has_doc = field.attrs.iter().any(|a| a.path().is_ident("doc"));
        let fallback = (!has_doc).then(|| quote! { #[doc = #fallback] });
        setters.push(match crate::option_inner(&field.ty) {
            Some(inner) => quote! {
                #(#docs)* #fallback
                pub fn #ident(mut self, value: impl ::std::convert::Into<#inner>) -> Self {
                    self.body.#ident = ::std::option::Option::Some(value.into());
                    self
                }
            },
            None => {
                let ty = &field.ty;
                quote! {
                    #(#docs)* #fallback
                    pub fn #ident(mut self, value: impl ::std::convert::Into<#ty>) -> Self {
                        self.body.#ident = value.into();
                        self
                    }
                }
            }
        });
    }
    setters
}

/// The curated shape of one operation's stub method and builder, read from the operation's extensions.
/// Every extension is checked against the spec: one naming a field or parameter that does not exist, or
/// a shape that cannot apply, fails generation ([`CodegenError::Extension`]).
///
/// - `x-rust-name`: the method's name (else the `operationId`);
/// - `x-rust-builder`: the operation's method is hand-written and returns the builder at this path (which
///   calls the generated stub method); without it the builder is generated, named by `x-rust-builder-name`
///   (else the `operationId` in `PascalCase`);
/// - `x-rust-answer`: the method answers this field of the response (`token_infos`), not the response;
/// - rule, no extension: a response that is an object declaring no properties answers `()`;
/// - `x-rust-args`: the request body is made of these fields, which the method takes as arguments (a
///   string as `&str`), in this order; they must be every field of the body;
/// - `x-rust-query-struct`: the query parameters (all optional) are grouped in a struct of this name,
///   generated in `types` (a field per parameter, documented by its description, `int64` as `i64`),
///   which the method takes as `filter`;
/// - `x-rust-explain` (with `info.x-rust-explain`, the path of a hand-written
///   `fn(operation_id: &str, subject: Option<&str>, error: Error) -> Error`): the pipeline's
///   implementation passes the operation's errors through that function; `true`, or the name of a string
///   field of the body (or of `x-rust-args`) handed to it as the subject.
///
/// - `x-rust-body-args`, `x-rust-hand-setters`, `x-rust-builder-extra`, `x-rust-send`, `x-rust-hand-body`: what the
///   hand-written extension of a generated builder needs (see [`Extension`]).
///
/// Every one but `x-rust-name`, `x-rust-builder*` and the extension's needs `info.x-rust-stub`: the shape is
/// the stub's.
struct Shape {
    method: syn::Ident,
    hand_written: bool,
    builder: syn::Ident,
    answer_field: Option<(syn::Ident, syn::Type)>,
    empty_answer: bool,
    args: Option<Vec<Arg>>,
    filter: Option<Filter>,
    /// `Some(subject)`: errors pass through `info.x-rust-explain`.
    explain: Option<Option<Subject>>,
    not_found_means_done: bool,
    /// What the hand-written extension of a generated builder adds (`x-rust-builder-extra`, `x-rust-send`,
    /// `x-rust-hand-setters`, `x-rust-body-args`).
    extension: Extension,
}

/// What the spec cannot say of a generated builder, added by hand in one place (the service's module).
#[derive(Default)]
struct Extension {
    /// `x-rust-builder-extra`: the type (`Debug + Default`) of the builder's `extra` field, the state the
    /// hand-written setters keep beside the body.
    extra: Option<syn::Path>,
    /// `x-rust-send`: the hand-written `async fn(&client, <the stub method's arguments>, [extra,] options)`
    /// that `send()` hands the request to, after its checks.
    send: Option<syn::Path>,
    /// `x-rust-hand-setters`: the body fields that get no generated setter (a hand-written one sets them).
    hand_setters: Vec<String>,
    /// `x-rust-body-args`: the required fields of a body without a default, taken as arguments of the
    /// service's method (`impl Into<T>`; a string checked non-empty); the others get setters.
    body_args: Vec<(syn::Ident, syn::Type)>,
    /// `x-rust-hand-body`: the builder holds no body; the hand-written send makes it from the extra state
    /// (an update's field mask).
    hand_body: bool,
}

/// A body field taken as an argument (`x-rust-args`).
struct Arg {
    ident: syn::Ident,
    ty: syn::Type,
    /// A `String`: taken as `&str`, checked non-empty by a generated builder.
    string: bool,
}

/// What `x-rust-explain` hands the function as its subject.
enum Subject {
    /// A string argument (`x-rust-args`).
    Arg(syn::Ident),
    /// A string field of the body.
    Body(syn::Ident),
}

/// The struct `x-rust-query-struct` names.
struct Filter {
    name: syn::Ident,
    fields: Vec<FilterField>,
}

struct FilterField {
    ident: syn::Ident,
    /// The field's type inside its `Option`: the parameter's, `crate::wire::Int64` as `i64`.
    ty: syn::Type,
    /// The parameter's type differs (`Int64`): converted with `Into`.
    converted: bool,
    doc: String,
}

impl Filter {
    fn item(&self, stub_name: &str, id: &str) -> syn::Item {
        let name = &self.name;
        let doc = format!(
            "The query parameters of `{stub_name}` (`{id}`), each unset by default: what the stub method and the \
             list's builder take (generated from the spec, `x-rust-query-struct`)."
        );
        let eq = self.fields.iter().all(|f| !matches!(last_ident(&f.ty).as_deref(), Some("f32" | "f64")));
        let derive_eq = eq.then(|| quote! { , Eq });
        let fields = self.fields.iter().map(|f| {
            let (ident, ty, doc) = (&f.ident, &f.ty, &f.doc);
            quote! { #[doc = #doc] pub #ident: ::std::option::Option<#ty> }
        });
        syn::parse_quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, Default, PartialEq #derive_eq)]
            #[non_exhaustive]
            pub struct #name { #(#fields,)* }
        }
    }
}

/// `value` as an identifier, or why not.
fn ident(value: Option<&str>, what: &str) -> Result<syn::Ident, CodegenError> {
    let text = value.ok_or_else(|| bad(what, "is not a string"))?;
    syn::parse_str::<syn::Ident>(text).map_err(|_| bad(what, &format!("{text:?} is not a Rust identifier")))
}

fn bad(what: &str, why: &str) -> CodegenError {
    CodegenError::Extension(format!("{what} {why}"))
}

impl Shape {
    fn read<'f>(
        op: &openapiv3::Operation,
        call: &Call,
        find_struct: &dyn Fn(&syn::Type) -> Option<&'f syn::ItemStruct>,
        has_stub: bool,
        has_explain: bool,
    ) -> Result<Shape, CodegenError> {
        let id = &call.id;
        let ext = |name: &str| op.extensions.get(name);
        let what = |name: &str| format!("{id}: {name}");
        let method = match ext("x-rust-name") {
            Some(value) => ident(value.as_str(), &what("x-rust-name"))?,
            None => ident(Some(id), &what("operationId"))?,
        };
        let hand_written = match ext("x-rust-builder") {
            None => false,
            Some(value) => {
                value.as_str().ok_or_else(|| bad(&what("x-rust-builder"), "is not a string (the builder's path)"))?;
                true
            }
        };
        let builder = match ext("x-rust-builder-name") {
            Some(_) if hand_written => {
                return Err(bad(&what("x-rust-builder-name"), "is given with x-rust-builder (a hand-written builder)"));
            }
            Some(value) => ident(value.as_str(), &what("x-rust-builder-name"))?,
            None => ident(Some(&pascal_case(id)), &what("operationId"))?,
        };
        let curated = ["x-rust-answer", "x-rust-args", "x-rust-query-struct", "x-rust-explain"];
        if !has_stub && let Some(name) = curated.iter().find(|n| ext(n).is_some()) {
            return Err(bad(&what(name), "needs info.x-rust-stub: it shapes the stub's method"));
        }
        let answer_struct = call.answer.as_ref().and_then(find_struct);
        let empty_answer = answer_struct.is_some_and(|s| match &s.fields {
            syn::Fields::Unnamed(f) => f.unnamed.len() == 1 && last_ident(&f.unnamed[0].ty).as_deref() == Some("Map"),
            _ => false,
        });
        let answer_field = match ext("x-rust-answer") {
            None => None,
            Some(value) => {
                let name = value.as_str().ok_or_else(|| bad(&what("x-rust-answer"), "is not a string (a field of the response)"))?;
                let strukt =
                    answer_struct.ok_or_else(|| bad(&what("x-rust-answer"), "applies to no response object (the answer has no fields)"))?;
                let field = named_field(strukt, name).ok_or_else(|| {
                    bad(&what("x-rust-answer"), &format!("names {name:?}, which the response {} does not have", strukt.ident))
                })?;
                Some(field)
            }
        };
        let body_struct = call.body.as_ref().and_then(find_struct);
        let args = match ext("x-rust-args") {
            None => None,
            Some(value) => {
                let names: Vec<&str> = value
                    .as_array()
                    .and_then(|a| a.iter().map(serde_json::Value::as_str).collect())
                    .ok_or_else(|| bad(&what("x-rust-args"), "is not a list of strings (fields of the body)"))?;
                let strukt = body_struct.ok_or_else(|| bad(&what("x-rust-args"), "applies to no request body"))?;
                let mut args = Vec::new();
                for name in &names {
                    let (ident, ty) = named_field(strukt, name).ok_or_else(|| {
                        bad(&what("x-rust-args"), &format!("names {name:?}, which the body {} does not have", strukt.ident))
                    })?;
                    let string = last_ident(&ty).as_deref() == Some("String");
                    args.push(Arg { ident, ty, string });
                }
                let missing: Vec<String> = strukt
                    .fields
                    .iter()
                    .filter_map(|f| f.ident.as_ref())
                    .map(ToString::to_string)
                    .filter(|f| !names.contains(&f.as_str()))
                    .collect();
                if !missing.is_empty() || names.is_empty() {
                    return Err(bad(
                        &what("x-rust-args"),
                        &format!("must list every field of the body {} (it leaves out {missing:?})", strukt.ident),
                    ));
                }
                Some(args)
            }
        };
        let filter = match ext("x-rust-query-struct") {
            None => None,
            Some(value) => {
                let name = ident(value.as_str(), &what("x-rust-query-struct"))?;
                if call.query.is_empty() {
                    return Err(bad(&what("x-rust-query-struct"), "applies to an operation without query parameters"));
                }
                let mut fields = Vec::new();
                for (param, ty) in &call.query {
                    let inner = crate::option_inner(ty).ok_or_else(|| {
                        bad(&what("x-rust-query-struct"), &format!("groups the required query parameter {param:?}: only optional ones fit"))
                    })?;
                    let converted = last_ident(inner).as_deref() == Some("Int64");
                    let ty = if converted { syn::parse_quote!(i64) } else { inner.clone() };
                    let doc = op
                        .parameters
                        .iter()
                        .filter_map(openapiv3::ReferenceOr::as_item)
                        .find(|p| p.parameter_data_ref().name == *param)
                        .and_then(|p| p.parameter_data_ref().description.clone())
                        .unwrap_or_else(|| format!("The query parameter `{param}`."));
                    fields.push(FilterField { ident: format_ident!("{}", rust_name(param)), ty, converted, doc });
                }
                Some(Filter { name, fields })
            }
        };
        let explain = match ext("x-rust-explain") {
            None => None,
            Some(_) if !has_explain => return Err(bad(&what("x-rust-explain"), "needs info.x-rust-explain (the function)")),
            Some(serde_json::Value::Bool(true)) => Some(None),
            Some(serde_json::Value::String(field)) => {
                if let Some(arg) = args.as_ref().and_then(|args| args.iter().find(|a| a.ident == field.as_str())) {
                    if !arg.string {
                        return Err(bad(&what("x-rust-explain"), &format!("names {field:?}, which is not a string")));
                    }
                    Some(Some(Subject::Arg(arg.ident.clone())))
                } else {
                    let strukt =
                        body_struct.ok_or_else(|| bad(&what("x-rust-explain"), &format!("names {field:?}, but there is no body")))?;
                    let (ident, ty) = named_field(strukt, field).ok_or_else(|| {
                        bad(&what("x-rust-explain"), &format!("names {field:?}, which the body {} does not have", strukt.ident))
                    })?;
                    if last_ident(&ty).as_deref() != Some("String") {
                        return Err(bad(&what("x-rust-explain"), &format!("names {field:?}, which is not a required string")));
                    }
                    Some(Some(Subject::Body(ident)))
                }
            }
            Some(_) => return Err(bad(&what("x-rust-explain"), "is neither `true` nor the name of a string field of the body")),
        };
        let not_found_means_done = ext("x-databricks-not-found-means-done").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let extension = Extension::read(&ext, &what, hand_written, args.is_some(), body_struct)?;
        Ok(Shape { method, hand_written, builder, answer_field, empty_answer, args, filter, explain, not_found_means_done, extension })
    }
}

impl Extension {
    fn read<'o>(
        ext: &dyn Fn(&str) -> Option<&'o serde_json::Value>,
        what: &dyn Fn(&str) -> String,
        hand_written: bool,
        has_args: bool,
        body: Option<&syn::ItemStruct>,
    ) -> Result<Extension, CodegenError> {
        let names = ["x-rust-builder-extra", "x-rust-send", "x-rust-hand-setters", "x-rust-body-args", "x-rust-hand-body"];
        if hand_written && let Some(name) = names.iter().find(|n| ext(n).is_some()) {
            return Err(bad(&what(name), "is given with x-rust-builder (a hand-written builder): it extends a generated one"));
        }
        let path = |name: &str| -> Result<Option<syn::Path>, CodegenError> {
            let Some(value) = ext(name) else { return Ok(None) };
            let text = value.as_str().ok_or_else(|| bad(&what(name), "is not a string (a path)"))?;
            syn::parse_str(text).map(Some).map_err(|e| bad(&what(name), &format!("{text:?} is not a path: {e}")))
        };
        let extra = path("x-rust-builder-extra")?;
        let send = path("x-rust-send")?;
        if extra.is_some() && send.is_none() {
            return Err(bad(&what("x-rust-builder-extra"), "needs x-rust-send: nothing else would read the extra state"));
        }
        // The body fields a list names: each one a field of a body whose fields the builder sets.
        let fields = |name: &str| -> Result<Vec<(syn::Ident, syn::Type)>, CodegenError> {
            let Some(value) = ext(name) else { return Ok(Vec::new()) };
            let names: Vec<&str> = value
                .as_array()
                .and_then(|a| a.iter().map(serde_json::Value::as_str).collect())
                .filter(|names: &Vec<&str>| !names.is_empty())
                .ok_or_else(|| bad(&what(name), "is not a non-empty list of strings (fields of the body)"))?;
            let strukt = body.ok_or_else(|| bad(&what(name), "applies to no request body"))?;
            if has_args {
                return Err(bad(&what(name), "is given with x-rust-args: the body's fields are the method's arguments"));
            }
            names
                .iter()
                .map(|field| {
                    named_field(strukt, field)
                        .ok_or_else(|| bad(&what(name), &format!("names {field:?}, which the body {} does not have", strukt.ident)))
                })
                .collect()
        };
        let body_args = fields("x-rust-body-args")?;
        let hand_setters = fields("x-rust-hand-setters")?;
        if let Some(strukt) = body {
            let has_default = has_default(strukt);
            if !body_args.is_empty() {
                if has_default {
                    return Err(bad(
                        &what("x-rust-body-args"),
                        &format!("applies to {}, which has a default: its fields are setters", strukt.ident),
                    ));
                }
                if let Some((ident, _)) = body_args.iter().find(|(_, ty)| crate::option_inner(ty).is_some()) {
                    return Err(bad(
                        &what("x-rust-body-args"),
                        &format!("names the optional field {ident}: only required ones are arguments"),
                    ));
                }
                let missing: Vec<String> = strukt
                    .fields
                    .iter()
                    .filter(|f| crate::option_inner(&f.ty).is_none())
                    .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                    .filter(|f| !body_args.iter().any(|(ident, _)| ident == f))
                    .collect();
                if !missing.is_empty() {
                    return Err(bad(&what("x-rust-body-args"), &format!("leaves out the required fields {missing:?} of {}", strukt.ident)));
                }
            }
            if !hand_setters.is_empty() && !has_default && body_args.is_empty() {
                return Err(bad(
                    &what("x-rust-hand-setters"),
                    &format!("applies to {}, which the method takes whole (no setters)", strukt.ident),
                ));
            }
            if let Some((ident, _)) = hand_setters.iter().find(|h| body_args.iter().any(|a| a.0 == h.0)) {
                return Err(bad(&what("x-rust-hand-setters"), &format!("names {ident}, which x-rust-body-args takes as an argument")));
            }
        }
        let hand_body = match ext("x-rust-hand-body") {
            None => false,
            Some(serde_json::Value::Bool(true)) => true,
            Some(_) => return Err(bad(&what("x-rust-hand-body"), "is not `true`")),
        };
        if hand_body {
            if body.is_none() {
                return Err(bad(&what("x-rust-hand-body"), "applies to no request body"));
            }
            if extra.is_none() || send.is_none() {
                return Err(bad(&what("x-rust-hand-body"), "needs x-rust-builder-extra and x-rust-send: they make the body"));
            }
            if has_args || !body_args.is_empty() || !hand_setters.is_empty() {
                return Err(bad(
                    &what("x-rust-hand-body"),
                    "is given with fields of the body (x-rust-args, x-rust-body-args or x-rust-hand-setters): the builder holds none",
                ));
            }
        }
        let hand_setters = hand_setters.into_iter().map(|(ident, _)| ident.to_string()).collect();
        Ok(Extension { extra, send, hand_setters, body_args, hand_body })
    }
}

/// Whether a struct of `types` derives `Default`.
fn has_default(strukt: &syn::ItemStruct) -> bool {
    strukt.attrs.iter().any(|a| a.path().is_ident("derive") && a.to_token_stream().to_string().contains("Default"))
}

/// The field `name` of a struct of `types` with named fields, and its type as written outside `types`
/// (`Vec<TokenInfo>` as `Vec<types::TokenInfo>`).
fn named_field(strukt: &syn::ItemStruct, name: &str) -> Option<(syn::Ident, syn::Type)> {
    strukt.fields.iter().find_map(|f| {
        let ident = f.ident.as_ref()?;
        (ident.to_string().trim_start_matches("r#") == name).then(|| (ident.clone(), outside_types(&f.ty)))
    })
}

/// A type written inside `types`, as written outside it: a single-segment path of an upper-case name that
/// is not the prelude's (`Option`, `Vec`, `String`, `Box`) gets `types::` in front, at any depth.
fn outside_types(ty: &syn::Type) -> syn::Type {
    let mut ty = ty.clone();
    qualify(&mut ty);
    ty
}

fn qualify(ty: &mut syn::Type) {
    match ty {
        syn::Type::Path(p) => {
            for segment in p.path.segments.iter_mut() {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in args.args.iter_mut() {
                        if let syn::GenericArgument::Type(inner) = arg {
                            qualify(inner);
                        }
                    }
                }
            }
            let name = p.path.segments[0].ident.to_string();
            let local = p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.len() == 1
                && name.starts_with(|c: char| c.is_ascii_uppercase())
                && !matches!(name.as_str(), "Option" | "Vec" | "String" | "Box" | "Self");
            if local {
                p.path.segments.insert(0, syn::PathSegment::from(format_ident!("types")));
            }
        }
        syn::Type::Reference(r) => qualify(&mut r.elem),
        syn::Type::Slice(s) => qualify(&mut s.elem),
        syn::Type::Array(a) => qualify(&mut a.elem),
        syn::Type::Tuple(t) => t.elems.iter_mut().for_each(qualify),
        _ => {}
    }
}

/// The methods of the generated operations, for each place the stub trait's methods are written.
#[derive(Default)]
struct StubArms {
    trait_methods: Vec<proc_macro2::TokenStream>,
    dyn_methods: Vec<proc_macro2::TokenStream>,
    blanket_methods: Vec<proc_macro2::TokenStream>,
    http_methods: Vec<proc_macro2::TokenStream>,
}

/// `macro_rules! stub_methods`: the generated operations' methods of the stub trait (`trait`, with the
/// default "not implemented by this stub" answer naming `Service::method`), of its trait object (`dyn`), of
/// the blanket impl (`blanket`) and of the pipeline's implementation (`http`, calling the request function).
/// `crate::stub` and the service's module expand it inside their hand-written items, giving the path of the
/// generated `types` module (and `calls`, for `http`); a spec whose operations all have a hand-written
/// builder expands to nothing.
fn stub_methods(arms: &StubArms) -> proc_macro2::TokenStream {
    let StubArms { trait_methods, dyn_methods, blanket_methods, http_methods } = arms;
    quote! {
        #[doc = "The generated operations' methods of the stub trait, its trait object, its blanket impl and the pipeline's implementation."]
        macro_rules! stub_methods {
            (trait, [$($types:tt)*]) => { #(#trait_methods)* };
            (dyn, [$($types:tt)*]) => { #(#dyn_methods)* };
            (blanket, [$($types:tt)*]) => { #(#blanket_methods)* };
            (http, [$($types:tt)*], [$($calls:tt)*]) => { #(#http_methods)* };
        }
        pub(crate) use stub_methods;
    }
}

/// `tokens`, with the generated module's `types::X` as `$($types)*::X`: a type as the `stub_methods!` macro
/// writes it, wherever it is expanded.
fn in_macro(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, Punct, Spacing, TokenTree};
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Ident(id) if id == "types" && !matches!(out.last(), Some(TokenTree::Punct(p)) if p.as_char() == ':') => {
                out.extend(quote! { $($types)* });
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), in_macro(g.stream()));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            TokenTree::Punct(p) => out.push(TokenTree::Punct(Punct::new(
                p.as_char(),
                if p.spacing() == Spacing::Joint { Spacing::Joint } else { Spacing::Alone },
            ))),
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// `get_token_info` as `GetTokenInfo`.
fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{pascal_case, secret_visitors};

    fn types(fields: &str) -> syn::File {
        syn::parse_str(&format!("pub mod types {{ pub struct Key {{ pub value: SecretString }} pub struct Answer {{ {fields} }} }}"))
            .unwrap()
    }

    #[test]
    fn secrets_the_visitors_reach_are_visited() {
        for fields in [
            "pub token: SecretString",
            "pub token: Option<SecretString>",
            "pub key: Key",
            "pub key: Option<Key>",
            "pub keys: Vec<Key>",
            "pub other: Vec<String>",
        ] {
            let mut file = types(fields);
            assert!(secret_visitors(&mut file).is_ok(), "{fields}");
        }
    }

    #[test]
    fn a_secret_the_visitors_cannot_reach_fails_generation() {
        for fields in [
            "pub tokens: Vec<SecretString>",
            "pub tokens: Option<Vec<SecretString>>",
            "pub by_name: std::collections::HashMap<String, SecretString>",
            "pub keys: std::collections::HashMap<String, Key>",
            "pub pair: (String, SecretString)",
            "pub keys: Option<Vec<Key>>",
        ] {
            let mut file = types(fields);
            let err = secret_visitors(&mut file).expect_err(fields).to_string();
            assert!(err.contains("of `Answer` holds a secret"), "{fields}: {err}");
        }
    }

    #[test]
    fn pascal_case_joins_words_and_takes_any_first_letter() {
        assert_eq!(pascal_case("get_token_info"), "GetTokenInfo");
        assert_eq!(pascal_case("__list__tokens_"), "ListTokens");
        // A name the spec spells outside ASCII is upper-cased, not cut inside a character.
        assert_eq!(pascal_case("étiquette_ä"), "ÉtiquetteÄ");
        assert_eq!(pascal_case(""), "");
    }
}
