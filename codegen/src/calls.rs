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
        for (_, op) in item.iter() {
            let Some(id) = op.operation_id.clone() else { continue };
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
            calls.push(Call { id, doc, path: path_params, query, body, answer: builder.answer.clone() });
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
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| CodegenError::Rewrite("progenitor's output has no `types` module".into()))?;
    let mut structs: BTreeMap<String, Vec<(syn::Ident, syn::Type)>> = BTreeMap::new();
    let mut others = Vec::new();
    for item in types.1.iter() {
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
    types.1.extend(impls);
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

/// `module builders`: for every operation without a hand-written builder (`x-rust-builder`), a public
/// builder named after its `operationId` that owns a clone of the client (path parameters as arguments of
/// the service's method, a setter per query parameter and per property of a body that has a default, the
/// per-call options, `send()` and `.await`), and the service's method (named by `x-rust-name`, else the
/// `operationId`). `send()` goes to the generated request function over the client's pipeline; a client
/// built from a stub answers "not implemented by this stub" naming `Service::method`.
///
/// The client is `crate::WorkspaceClient` unless the `info`'s `x-rust-client` names another (the account
/// client, `crate::AccountClient`); the path parameters that `x-rust-client-params` lists are the
/// client's (its method of the same name, e.g. `account_id()`), not arguments of the service's method.
///
/// With `info.x-rust-stub` (the name of the service's trait in `crate::stub`), `send()` goes to the client's
/// stub (`WorkspaceClient::<x-rust-stub in snake case>_stub()`) instead, and the second part of the answer is
/// the macro `stub_methods!` (for the tables, see [`stub_methods`]) that adds the operations to the stub trait,
/// its trait object, the blanket impl and the pipeline's implementation.
pub(crate) fn builders(
    spec: &openapiv3::OpenAPI,
    file: &syn::File,
    calls: &[Call],
) -> Result<(proc_macro2::TokenStream, proc_macro2::TokenStream), CodegenError> {
    let Some(service) = service_path(spec) else {
        return Ok((quote! {}, quote! {}));
    };
    let stub_trait = spec.info.extensions.get("x-rust-stub").and_then(serde_json::Value::as_str).map(|t| format_ident!("{}", t));
    let mut stub_arms = StubArms::default();
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
    let extensions: BTreeMap<String, (Option<String>, Option<String>)> = spec
        .paths
        .paths
        .values()
        .filter_map(openapiv3::ReferenceOr::as_item)
        .flat_map(|item| item.iter().map(|(_, op)| op))
        .filter_map(|op| {
            let text = |name: &str| op.extensions.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
            Some((op.operation_id.clone()?, (text("x-rust-name"), text("x-rust-builder"))))
        })
        .collect();
    let types = file.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|c| c.1.as_slice()),
        _ => None,
    });
    let find_struct = |ty: &syn::Type| -> Option<&syn::ItemStruct> {
        let name = last_ident(ty)?;
        types?.iter().find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
    };
    let mut items = Vec::new();
    for call in calls {
        let (named, hand_written) = extensions.get(&call.id).cloned().unwrap_or_default();
        if hand_written.is_some() {
            continue;
        }
        let method_name = named.unwrap_or_else(|| call.id.clone());
        let method = format_ident!("{}", method_name);
        let builder = format_ident!("{}", pascal_case(&call.id));
        let function = format_ident!("{}", call.id);
        let constant = format_ident!("{}", call.id.to_ascii_uppercase());
        let own: Vec<&String> = call.path.iter().filter(|p| !client_params.contains(p)).collect();
        let path: Vec<_> = own.iter().map(|p| format_ident!("{}", rust_name(p))).collect();
        let path_names = own.clone();
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        let mut setters = Vec::new();
        let mut args = Vec::new();
        let mut sent = Vec::new();
        for p in &path {
            fields.push(quote! { #p: ::std::string::String });
            inits.push(quote! { #p: #p.to_string() });
            args.push(quote! { #p: impl ::std::fmt::Display });
        }
        for name in &call.path {
            let ident = format_ident!("{}", rust_name(name));
            sent.push(if client_params.contains(name) {
                quote! { self.client.#ident() }
            } else {
                quote! { &self.#ident }
            });
        }
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
                    args.push(quote! { #ident: impl ::std::convert::Into<#ty> });
                }
            }
            sent.push(quote! { self.#ident });
        }
        if let Some(body_ty) = &call.body {
            let body = find_struct(body_ty)
                .ok_or_else(|| CodegenError::Rewrite(format!("{}: the body type is not a struct of `types`", call.id)))?;
            fields.push(quote! { body: #body_ty });
            let has_default = body.attrs.iter().any(|a| a.path().is_ident("derive") && a.to_token_stream().to_string().contains("Default"));
            if has_default {
                inits.push(quote! { body: ::std::default::Default::default() });
                for field in &body.fields {
                    let Some(ident) = &field.ident else { continue };
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
            } else {
                inits.push(quote! { body });
                args.push(quote! { body: #body_ty });
            }
            sent.push(quote! { &self.body });
        }
        let answer = match &call.answer {
            Some(ty) => quote! { #ty },
            None => quote! { () },
        };
        let stub_name = format!("{service_name}::{method_name}");
        let (mut params, mut dyn_params, mut names, mut passed, mut to_call) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for p in &path {
            params.push(quote! { #p: &str });
            dyn_params.push(quote! { #p: &'a str });
            names.push(quote! { #p });
            passed.push(quote! { &self.#p });
            to_call.push(quote! { #p });
        }
        for (name, ty) in &call.query {
            let ident = format_ident!("{}", rust_name(name));
            let ty = in_macro(ty.to_token_stream());
            params.push(quote! { #ident: #ty });
            dyn_params.push(quote! { #ident: #ty });
            names.push(quote! { #ident });
            passed.push(quote! { self.#ident });
            to_call.push(quote! { #ident });
        }
        if let Some(body_ty) = &call.body {
            let ty = in_macro(body_ty.to_token_stream());
            params.push(quote! { body: #ty });
            dyn_params.push(quote! { body: #ty });
            names.push(quote! { body });
            passed.push(quote! { self.body });
            to_call.push(quote! { &body });
        }
        let stub_answer = in_macro(match &call.answer {
            Some(ty) => ty.to_token_stream(),
            None => quote! { () },
        });
        if let Some(stub_trait) = &stub_trait {
            let trait_doc =
                format!("{} (generated from the spec).", call.doc.lines().next().filter(|l| !l.is_empty()).unwrap_or("The operation"));
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
                    $($calls)*::#function(self, #(#to_call,)* options).await
                }
            });
        }
        let send_body = match &stub_trait {
            Some(stub_trait) => {
                let accessor = format_ident!("{}_stub", crate::snake_case(&stub_trait.to_string()));
                quote! { self.client.#accessor().#method(#(#passed,)* self.options).await }
            }
            None => quote! {
                let ::std::option::Option::Some(pipeline) = self.client.pipeline() else {
                    return ::std::result::Result::Err(crate::error::Error::not_implemented_by_stub(#stub_name));
                };
                super::calls::#function(pipeline, #(#sent,)* self.options).await
            },
        };
        let summary = call.doc.lines().next().filter(|l| !l.is_empty()).unwrap_or("Sends the request.");
        let example_args = path_names.iter().map(|_| "\"...\"").collect::<Vec<_>>().join(", ");
        let method_doc = format!(
            "{summary}\n\n```no_run\n# async fn example(c: databricks_tokens::{client_name}) -> databricks_tokens::Result<()> {{\n\
             let answer = c.{accessor}().{method_name}({example_args}).send().await?;\n# Ok(()) }}\n```\n\n{}\n\n\
             Generated from the spec: a client built from a stub answers \
             [`ErrorKind::NotImplementedByStub`](crate::ErrorKind::NotImplementedByStub).",
            call.doc
        );
        let builder_doc = format!("The request of `{stub_name}`, built by its setters and sent by `send()` (or `.await`).");
        let send_doc = "Sends the request.".to_owned();
        items.push(quote! {
            impl #service_ty {
                #[doc = #method_doc]
                pub fn #method(&self, #(#args),*) -> #builder {
                    #builder { client: self.client().clone(), #(#inits,)* options: ::std::default::Default::default() }
                }
            }

            #[doc = #builder_doc]
            #[derive(Debug)]
            #[must_use = "a builder does nothing until it is sent"]
            pub struct #builder {
                client: #client_ty,
                #(#fields,)*
                options: crate::stub::RequestOptions,
            }

            impl #builder {
                #(#setters)*
                options_setters!();

                #[doc = #send_doc]
                pub async fn send(self) -> crate::error::Result<#answer> {
                    #(super::operations::#constant.non_empty(#path_names, &self.#path)?;)*
                    #send_body
                }
            }

            into_future!(#builder, #answer);
        });
    }
    let builders = quote! {
        #[doc = "The builders of the operations that have no hand-written one, and their service's methods."]
        pub mod builders {
            #[allow(unused_imports)]
            use super::types;
            #(#items)*
        }
    };
    let stubs = match stub_trait {
        Some(_) => stub_methods(&stub_arms),
        None => quote! {},
    };
    Ok((builders, stubs))
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
    use super::pascal_case;

    #[test]
    fn pascal_case_joins_words_and_takes_any_first_letter() {
        assert_eq!(pascal_case("get_token_info"), "GetTokenInfo");
        assert_eq!(pascal_case("__list__tokens_"), "ListTokens");
        // A name the spec spells outside ASCII is upper-cased, not cut inside a character.
        assert_eq!(pascal_case("étiquette_ä"), "ÉtiquetteÄ");
        assert_eq!(pascal_case(""), "");
    }
}
