//! The API-change summary of `cargo xtask regen`: what changed for users between two OpenAPI 3.0 specs.
//!
//! Both specs are read as plain JSON. Operations are matched by `operationId` (or `METHOD path` when an
//! operation has none), types by their name under `#/components/schemas`, parameters by name, fields by
//! name. A `$ref` to a component schema is compared by the name it refers to (the component itself is
//! compared on its own); any other local `$ref` (`#/components/parameters/...`, ...) is followed.
//!
//! Every change is classified as `breaking` (code written against the old crate may stop compiling or a
//! value it relied on may be gone) or `additive` (nothing that worked stops working):
//!
//! - operations: added is additive; removed, or a new method or path, is breaking; a request body or success
//!   response of another type is breaking.
//! - parameters: added optional is additive, added required is breaking; removed is breaking; became required
//!   is breaking, became optional is additive.
//! - types: added is additive, removed is breaking, another kind (`object` to `string`, ...) is breaking.
//! - fields: removed and type changed are breaking. What else depends on where the type is used, computed from
//!   the operations, transitively through `$ref`s, arrays, maps and compositions, in the old and new spec:
//!   - a *request* type (reachable from a parameter or a request body) is one that users build. A required field
//!     added, or a field that became required or read-only, is breaking for them;
//!   - a *response* type (reachable from any response) is one that users read. A field that became optional is
//!     breaking for them: they read it as always present;
//!   - a *response-only* type is never sent: a required field added to it, or a field that became required, is
//!     additive (readers only gain a value), and the line says "response-only type" because code that builds
//!     such a value by hand (test fixtures) must now set it;
//!   - a type used both ways gets the stricter rule, and so does a type no operation uses.
//! - enum values: removed is breaking. Added is additive for the enums the crate keeps open (they decode a value
//!   they do not know instead of failing: every component enum, [`databricks_tokens_codegen::open_enum_names`]);
//!   for an inline enum the generator emits a closed Rust enum, so a new value is breaking (exhaustive
//!   `match`es stop compiling).
//!
//! Inline schemas are compared field by field like components (`Type.field.sub`, `Type.list[]`); the members
//! of `allOf`/`oneOf`/`anyOf` are compared as a whole. Descriptions, examples and error responses' text are
//! not API changes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

const SCHEMA_REF: &str = "#/components/schemas/";
/// How many non-schema `$ref`s are followed in a row before giving up (a cycle).
const MAX_REF_HOPS: usize = 16;

/// Whether a change can break code written against the previous spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// Code that worked may stop compiling, or a value it relied on may be gone.
    Breaking,
    /// Nothing that worked stops working.
    Additive,
}

/// One change, e.g. `additive: PublicTokenInfo.owner_id (optional field)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Breaking or additive.
    pub impact: Impact,
    /// What changed, without the impact prefix.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = match self.impact {
            Impact::Breaking => "breaking",
            Impact::Additive => "additive",
        };
        write!(f, "{impact}: {}", self.what)
    }
}

/// The changes from `old` to `new`, breaking ones first, each group sorted by text.
///
/// `open_enums` names the component enums whose generated type keeps unknown values.
pub fn diff(old: &Value, new: &Value, open_enums: &[&str]) -> Vec<Change> {
    let (old, new) = (Spec { root: old }, Spec { root: new });
    let mut usage = old.usage();
    for (name, used) in new.usage() {
        let entry = usage.entry(name).or_default();
        entry.request |= used.request;
        entry.response |= used.response;
    }
    let mut differ = Differ { old, new, usage, open_enums, changes: Vec::new() };
    differ.operations();
    differ.types();
    let mut changes = differ.changes;
    changes.sort();
    changes.dedup();
    changes
}

/// One line per change, then `API changes: N breaking, M additive` (or `API changes: none`).
pub fn summary(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        out.push_str(&format!("{change}\n"));
    }
    let breaking = changes.iter().filter(|c| c.impact == Impact::Breaking).count();
    let additive = changes.len() - breaking;
    if changes.is_empty() {
        out.push_str("API changes: none\n");
    } else {
        out.push_str(&format!("API changes: {breaking} breaking, {additive} additive\n"));
    }
    out
}

/// Where a type is used: in what users send, in what they read, or (neither) nowhere.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    request: bool,
    response: bool,
}

impl Usage {
    /// Users may build it. A type no operation uses gets the strict rules of both sides.
    fn in_requests(self) -> bool {
        self.request || !self.response
    }

    /// Users may read it.
    fn in_responses(self) -> bool {
        self.response || !self.request
    }

    const REQUEST_ONLY: Usage = Usage { request: true, response: false };
    const RESPONSE_ONLY: Usage = Usage { request: false, response: true };
}

#[derive(Clone, Copy)]
struct Parameter<'a> {
    location: &'a str,
    required: bool,
    schema: Option<&'a Value>,
}

struct Body<'a> {
    required: bool,
    schema: Option<&'a Value>,
}

struct Operation<'a> {
    method: String,
    path: &'a str,
    parameters: BTreeMap<&'a str, Parameter<'a>>,
    body: Option<Body<'a>>,
    /// The schema of the first 2xx response, if it has a body.
    success: Option<&'a Value>,
    /// The schemas of every response, errors included: all of them are read by users.
    responses: Vec<&'a Value>,
}

#[derive(Clone, Copy)]
struct Spec<'a> {
    root: &'a Value,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

impl<'a> Spec<'a> {
    fn schemas(self) -> BTreeMap<&'a str, &'a Value> {
        self.root.pointer("/components/schemas").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.as_str(), v)).collect()
    }

    fn schema(self, name: &str) -> Option<&'a Value> {
        self.root.pointer("/components/schemas")?.get(name)
    }

    /// Follows local `$ref`s that do not name a component schema (parameters, request bodies, responses).
    fn resolve(self, mut value: &'a Value) -> &'a Value {
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else { return value };
            if reference.starts_with(SCHEMA_REF) {
                return value;
            }
            match reference.strip_prefix('#').and_then(|pointer| self.root.pointer(pointer)) {
                Some(target) => value = target,
                None => return value,
            }
        }
        value
    }

    fn operations(self) -> BTreeMap<String, Operation<'a>> {
        let mut operations = BTreeMap::new();
        let Some(paths) = self.root.get("paths").and_then(Value::as_object) else { return operations };
        for (path, item) in paths {
            let item = self.resolve(item);
            let shared = parameters(self, item.get("parameters"));
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let id = match op.get("operationId").and_then(Value::as_str) {
                    Some(id) => id.to_owned(),
                    None => format!("{} {path}", method.to_uppercase()),
                };
                let mut params = shared.clone();
                params.extend(parameters(self, op.get("parameters")));
                let body = op.get("requestBody").map(|body| {
                    let body = self.resolve(body);
                    Body { required: flag(body, "required"), schema: body.get("content").and_then(content_schema) }
                });
                let responses = op.get("responses").and_then(Value::as_object);
                let mut success = None;
                let mut schemas = Vec::new();
                for (status, response) in responses.into_iter().flatten() {
                    let schema = self.resolve(response).get("content").and_then(content_schema);
                    if status.starts_with('2') && success.is_none() {
                        success = Some(schema);
                    }
                    schemas.extend(schema);
                }
                let operation = Operation {
                    method: method.to_uppercase(),
                    path,
                    parameters: params,
                    body,
                    success: success.flatten(),
                    responses: schemas,
                };
                operations.insert(id, operation);
            }
        }
        operations
    }

    /// Where each component schema is used, from the operations.
    fn usage(self) -> BTreeMap<String, Usage> {
        let mut seen = BTreeSet::new();
        for op in self.operations().values() {
            for schema in op.parameters.values().filter_map(|p| p.schema).chain(op.body.as_ref().and_then(|b| b.schema)) {
                self.reach(schema, true, &mut seen);
            }
            for schema in &op.responses {
                self.reach(schema, false, &mut seen);
            }
        }
        let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
        for (name, request) in seen {
            let entry = usage.entry(name).or_default();
            if request {
                entry.request = true;
            } else {
                entry.response = true;
            }
        }
        usage
    }

    /// Marks every component schema `schema` reaches as used in requests (or responses).
    fn reach(self, schema: &'a Value, request: bool, seen: &mut BTreeSet<(String, bool)>) {
        if let Some(name) = schema_ref(schema) {
            if seen.insert((name.to_owned(), request))
                && let Some(target) = self.schema(name)
            {
                self.reach(target, request, seen);
            }
            return;
        }
        let schema = self.resolve(schema);
        let children = ["items", "additionalProperties", "not"].into_iter().filter_map(|key| schema.get(key));
        let members = ["allOf", "oneOf", "anyOf"].into_iter().filter_map(|key| schema.get(key).and_then(Value::as_array)).flatten();
        let properties = schema.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.values());
        for child in children.chain(members).chain(properties) {
            if child.is_object() {
                self.reach(child, request, seen);
            }
        }
    }

    /// A short description of a schema's type: `string`, `integer(int64)`, `[PublicTokenInfo]`, `object`, ...
    fn shape(self, schema: Option<&'a Value>) -> String {
        let Some(schema) = schema else { return "nothing".to_owned() };
        if let Some(name) = schema_ref(schema) {
            return name.to_owned();
        }
        let schema = self.resolve(schema);
        if schema.get("$ref").is_some() {
            return "an unresolved reference".to_owned();
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            if let Some(members) = schema.get(key).and_then(Value::as_array) {
                let members: Vec<String> = members.iter().map(|m| self.shape(Some(m))).collect();
                return format!("{key}({})", members.join(", "));
            }
        }
        let has_properties = schema.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
        let mut shape = match schema.get("type").and_then(Value::as_str) {
            Some("array") => format!("[{}]", self.shape(schema.get("items"))),
            Some("object") | None if !has_properties && schema.get("additionalProperties").is_some_and(Value::is_object) => {
                format!("map<{}>", self.shape(schema.get("additionalProperties")))
            }
            Some("object") => "object".to_owned(),
            None if has_properties => "object".to_owned(),
            None => "any".to_owned(),
            Some(ty) => match schema.get("format").and_then(Value::as_str) {
                Some(format) => format!("{ty}({format})"),
                None => ty.to_owned(),
            },
        };
        if schema.get("enum").is_some() {
            shape.push_str(" enum");
        }
        if flag(schema, "nullable") {
            shape = format!("nullable {shape}");
        }
        shape
    }

    /// A field is read-only when it, or the component schema it refers to, is `readOnly` (as in the codegen).
    fn read_only(self, field: &'a Value) -> bool {
        flag(field, "readOnly") || schema_ref(field).and_then(|name| self.schema(name)).is_some_and(|s| flag(s, "readOnly"))
    }
}

fn parameters<'a>(spec: Spec<'a>, list: Option<&'a Value>) -> BTreeMap<&'a str, Parameter<'a>> {
    let mut out = BTreeMap::new();
    for param in list.and_then(Value::as_array).into_iter().flatten() {
        let param = spec.resolve(param);
        let Some(name) = param.get("name").and_then(Value::as_str) else { continue };
        let location = param.get("in").and_then(Value::as_str).unwrap_or("query");
        let schema = param.get("schema").or_else(|| param.get("content").and_then(content_schema));
        out.insert(name, Parameter { location, required: flag(param, "required"), schema });
    }
    out
}

/// The JSON schema of a `content` map, or the first media type's when there is no `application/json`.
fn content_schema(content: &Value) -> Option<&Value> {
    let content = content.as_object()?;
    content.get("application/json").or_else(|| content.values().next())?.get("schema")
}

fn schema_ref(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(SCHEMA_REF)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn required_fields(schema: &Value) -> BTreeSet<&str> {
    schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

fn enum_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Differ<'a, 'o> {
    old: Spec<'a>,
    new: Spec<'a>,
    usage: BTreeMap<String, Usage>,
    open_enums: &'o [&'o str],
    changes: Vec<Change>,
}

impl<'a> Differ<'a, '_> {
    fn breaking(&mut self, what: String) {
        self.changes.push(Change { impact: Impact::Breaking, what });
    }

    fn additive(&mut self, what: String) {
        self.changes.push(Change { impact: Impact::Additive, what });
    }

    fn operations(&mut self) {
        let (old, new) = (self.old.operations(), self.new.operations());
        for id in old.keys().filter(|id| !new.contains_key(*id)) {
            self.breaking(format!("operation {id} removed"));
        }
        for (id, op) in new.iter().filter(|(id, _)| !old.contains_key(*id)) {
            self.additive(format!("operation {id} added ({} {})", op.method, op.path));
        }
        for (id, was) in &old {
            let Some(now) = new.get(id) else { continue };
            if (&was.method, was.path) != (&now.method, now.path) {
                self.breaking(format!("operation {id} moved from {} {} to {} {}", was.method, was.path, now.method, now.path));
            }
            self.parameters(id, &was.parameters, &now.parameters);
            self.request_body(id, was.body.as_ref(), now.body.as_ref());
            let label = format!("operation {id} response");
            let (a, b) = (self.old.shape(was.success), self.new.shape(now.success));
            if a != b {
                self.breaking(format!("{label} changed from {a} to {b}"));
            } else if let (Some(a), Some(b)) = (was.success, now.success) {
                self.same_shape(&label, a, b, Usage::RESPONSE_ONLY, false);
            }
        }
    }

    fn parameters(&mut self, id: &str, old: &BTreeMap<&'a str, Parameter<'a>>, new: &BTreeMap<&'a str, Parameter<'a>>) {
        for name in old.keys().filter(|name| !new.contains_key(*name)) {
            self.breaking(format!("operation {id} parameter {name} removed"));
        }
        for (name, p) in new.iter().filter(|(name, _)| !old.contains_key(*name)) {
            if p.required {
                self.breaking(format!("operation {id} parameter {name} added (required {} parameter)", p.location));
            } else {
                self.additive(format!("operation {id} parameter {name} added (optional {} parameter)", p.location));
            }
        }
        for (name, was) in old {
            let Some(now) = new.get(name) else { continue };
            let label = format!("operation {id} parameter {name}");
            if was.location != now.location {
                self.breaking(format!("{label} moved from {} to {}", was.location, now.location));
            }
            match (was.required, now.required) {
                (false, true) => self.breaking(format!("{label} became required")),
                (true, false) => self.additive(format!("{label} became optional")),
                _ => {}
            }
            let (a, b) = (self.old.shape(was.schema), self.new.shape(now.schema));
            if a != b {
                self.breaking(format!("{label} type changed from {a} to {b}"));
            } else if let (Some(a), Some(b)) = (was.schema, now.schema) {
                self.same_shape(&label, a, b, Usage::REQUEST_ONLY, false);
            }
        }
    }

    fn request_body(&mut self, id: &str, old: Option<&Body<'a>>, new: Option<&Body<'a>>) {
        let label = format!("operation {id} request body");
        match (old, new) {
            (None, None) => {}
            (Some(_), None) => self.breaking(format!("{label} removed")),
            (None, Some(body)) if body.required => self.breaking(format!("{label} added (required)")),
            (None, Some(_)) => self.additive(format!("{label} added (optional)")),
            (Some(was), Some(now)) => {
                match (was.required, now.required) {
                    (false, true) => self.breaking(format!("{label} became required")),
                    (true, false) => self.additive(format!("{label} became optional")),
                    _ => {}
                }
                let (a, b) = (self.old.shape(was.schema), self.new.shape(now.schema));
                if a != b {
                    self.breaking(format!("{label} changed from {a} to {b}"));
                } else if let (Some(a), Some(b)) = (was.schema, now.schema) {
                    self.same_shape(&label, a, b, Usage::REQUEST_ONLY, false);
                }
            }
        }
    }

    fn types(&mut self) {
        let (old, new) = (self.old.schemas(), self.new.schemas());
        for name in old.keys().filter(|name| !new.contains_key(*name)) {
            self.breaking(format!("type {name} removed"));
        }
        for name in new.keys().filter(|name| !old.contains_key(*name)) {
            self.additive(format!("type {name} added"));
        }
        for (name, was) in &old {
            let Some(now) = new.get(name) else { continue };
            let (a, b) = (self.old.shape(Some(was)), self.new.shape(Some(now)));
            if a != b {
                self.breaking(format!("type {name} changed from {a} to {b}"));
                continue;
            }
            let usage = self.usage.get(*name).copied().unwrap_or_default();
            let open = self.open_enums.contains(name);
            self.same_shape(name, was, now, usage, open);
        }
    }

    /// Compares two schemas of the same shape: their enum values, array items and fields.
    fn same_shape(&mut self, label: &str, old: &'a Value, new: &'a Value, usage: Usage, open_enum: bool) {
        if schema_ref(old).is_some() {
            return; // The component it names is compared on its own.
        }
        let (old, new) = (self.old.resolve(old), self.new.resolve(new));
        let values = |schema: &Value| -> BTreeSet<String> {
            schema.get("enum").and_then(Value::as_array).into_iter().flatten().map(enum_value).collect()
        };
        let (was, now) = (values(old), values(new));
        for value in was.difference(&now) {
            self.breaking(format!("{label} value {value} removed"));
        }
        for value in now.difference(&was) {
            if open_enum {
                self.additive(format!("{label} value {value} added"));
            } else {
                self.breaking(format!("{label} value {value} added (closed enum: exhaustive matches break)"));
            }
        }
        for key in ["items", "additionalProperties"] {
            if let (Some(a), Some(b)) = (old.get(key), new.get(key))
                && a.is_object()
                && b.is_object()
            {
                self.same_shape(&format!("{label}[]"), a, b, usage, false);
            }
        }
        self.fields(label, old, new, usage);
    }

    fn fields(&mut self, label: &str, old: &'a Value, new: &'a Value, usage: Usage) {
        let properties = |schema: &'a Value| -> BTreeMap<&'a str, &'a Value> {
            schema.get("properties").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.as_str(), v)).collect()
        };
        let (was, now) = (properties(old), properties(new));
        let (was_required, now_required) = (required_fields(old), required_fields(new));
        for name in was.keys().filter(|name| !now.contains_key(*name)) {
            self.breaking(format!("{label}.{name} removed"));
        }
        for name in now.keys().filter(|name| !was.contains_key(*name)) {
            if !now_required.contains(name) {
                self.additive(format!("{label}.{name} (optional field)"));
            } else if usage.in_requests() {
                self.breaking(format!("{label}.{name} (required field in a request type)"));
            } else {
                self.additive(format!("{label}.{name} (required field in a response-only type)"));
            }
        }
        for (name, a) in &was {
            let Some(b) = now.get(name) else { continue };
            let field = format!("{label}.{name}");
            let (shape_a, shape_b) = (self.old.shape(Some(a)), self.new.shape(Some(b)));
            if shape_a != shape_b {
                self.breaking(format!("{field} type changed from {shape_a} to {shape_b}"));
            } else {
                self.same_shape(&field, a, b, usage, false);
            }
            match (was_required.contains(name), now_required.contains(name)) {
                (false, true) if usage.in_requests() => self.breaking(format!("{field} became required")),
                (false, true) => self.additive(format!("{field} became required (response-only type)")),
                (true, false) if usage.in_responses() => self.breaking(format!("{field} became optional (readers relied on it)")),
                (true, false) => self.additive(format!("{field} became optional")),
                _ => {}
            }
            match (self.old.read_only(a), self.new.read_only(b)) {
                (false, true) if usage.in_requests() => self.breaking(format!("{field} became read-only")),
                (false, true) => self.additive(format!("{field} became read-only (response-only type)")),
                (true, false) => self.additive(format!("{field} is no longer read-only")),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn tokens_spec() -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/tokens.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn schema<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
        &mut doc["components"]["schemas"][name]
    }

    fn field<'a>(doc: &'a mut Value, ty: &str, name: &str) -> &'a mut Value {
        &mut schema(doc, ty)["properties"][name]
    }

    fn require(doc: &mut Value, ty: &str, name: &str) {
        let required = &mut schema(doc, ty)["required"];
        if required.is_null() {
            *required = json!([]);
        }
        required.as_array_mut().unwrap().push(json!(name));
    }

    fn unrequire(doc: &mut Value, ty: &str, name: &str) {
        schema(doc, ty)["required"].as_array_mut().unwrap().retain(|v| v != name);
    }

    fn operation<'a>(doc: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
        &mut doc["paths"][path][method]
    }

    fn remove(value: &mut Value, key: &str) {
        value.as_object_mut().unwrap().remove(key).unwrap();
    }

    /// Adds an optional `page_size` query parameter to `list_tokens`.
    fn page_size(doc: &mut Value, required: bool) {
        operation(doc, "/api/2.0/token/list", "get")["parameters"] =
            json!([{"name": "page_size", "in": "query", "required": required, "schema": {"type": "integer"}}]);
    }

    /// A closed enum (generated as a plain Rust enum) used by a request type.
    fn token_kind(doc: &mut Value) {
        *schema(doc, "TokenKind") = json!({"type": "string", "enum": ["PERSONAL", "SERVICE"]});
        *field(doc, "CreateTokenRequest", "kind") = json!({"$ref": "#/components/schemas/TokenKind"});
    }

    struct Case {
        name: &'static str,
        /// Applied to both specs first, when the change needs something the spec lacks.
        base: fn(&mut Value),
        change: fn(&mut Value),
        expect: &'static [&'static str],
    }

    const NONE: fn(&mut Value) = |_| {};

    const CASES: &[Case] = &[
        Case { name: "no change", base: NONE, change: NONE, expect: &[] },
        Case {
            name: "description changed",
            base: NONE,
            change: |doc| field(doc, "PublicTokenInfo", "comment")["description"] = json!("Something else."),
            expect: &[],
        },
        Case {
            name: "optional field added",
            base: NONE,
            change: |doc| *field(doc, "PublicTokenInfo", "owner_id") = json!({"type": "string"}),
            expect: &["additive: PublicTokenInfo.owner_id (optional field)"],
        },
        Case {
            name: "required field added to a request type",
            base: NONE,
            change: |doc| {
                *field(doc, "CreateTokenRequest", "owner_id") = json!({"type": "string"});
                require(doc, "CreateTokenRequest", "owner_id");
            },
            expect: &["breaking: CreateTokenRequest.owner_id (required field in a request type)"],
        },
        Case {
            name: "required field added to a type used in requests and responses",
            base: NONE,
            change: |doc| {
                *field(doc, "PublicTokenInfo", "owner_id") = json!({"type": "string"});
                require(doc, "PublicTokenInfo", "owner_id");
            },
            expect: &["breaking: PublicTokenInfo.owner_id (required field in a request type)"],
        },
        Case {
            name: "required field added to a response-only type",
            base: NONE,
            change: |doc| {
                *field(doc, "CreateTokenResponse", "created_by") = json!({"type": "string"});
                require(doc, "CreateTokenResponse", "created_by");
            },
            expect: &["additive: CreateTokenResponse.created_by (required field in a response-only type)"],
        },
        Case {
            name: "required field added to an inline request body",
            base: |doc| {
                operation(doc, "/api/2.0/token/delete", "post")["requestBody"]["content"]["application/json"]["schema"] =
                    json!({"type": "object", "properties": {"token_id": {"type": "string"}}, "required": ["token_id"]});
            },
            change: |doc| {
                let body = &mut operation(doc, "/api/2.0/token/delete", "post")["requestBody"]["content"]["application/json"]["schema"];
                body["properties"]["reason"] = json!({"type": "string"});
                body["required"].as_array_mut().unwrap().push(json!("reason"));
            },
            expect: &["breaking: operation revoke_token request body.reason (required field in a request type)"],
        },
        Case {
            name: "field removed",
            base: NONE,
            change: |doc| remove(&mut schema(doc, "PublicTokenInfo")["properties"], "backfill_scopes"),
            expect: &["breaking: PublicTokenInfo.backfill_scopes removed"],
        },
        Case {
            name: "field type changed",
            base: NONE,
            change: |doc| *field(doc, "CreateTokenRequest", "lifetime_seconds") = json!({"type": "string"}),
            expect: &["breaking: CreateTokenRequest.lifetime_seconds type changed from integer(int64) to string"],
        },
        Case {
            name: "field type changed through a reference",
            base: NONE,
            change: |doc| *field(doc, "PublicTokenInfo", "scopes") = json!({"type": "array", "items": {"type": "string"}}),
            expect: &["breaking: PublicTokenInfo.scopes type changed from ScopeList to [string]"],
        },
        Case {
            name: "array items changed",
            base: NONE,
            change: |doc| field(doc, "ListPublicTokensResponse", "token_infos")["items"] = json!({"type": "string"}),
            expect: &["breaking: ListPublicTokensResponse.token_infos type changed from [PublicTokenInfo] to [string]"],
        },
        Case {
            name: "field became required in a request type",
            base: NONE,
            change: |doc| require(doc, "CreateTokenRequest", "comment"),
            expect: &["breaking: CreateTokenRequest.comment became required"],
        },
        Case {
            name: "field became required in a response-only type",
            base: NONE,
            change: |doc| require(doc, "ListPublicTokensResponse", "token_infos"),
            expect: &["additive: ListPublicTokensResponse.token_infos became required (response-only type)"],
        },
        Case {
            name: "field became optional in a response type",
            base: NONE,
            change: |doc| unrequire(doc, "CreateTokenResponse", "token_value"),
            expect: &["breaking: CreateTokenResponse.token_value became optional (readers relied on it)"],
        },
        Case {
            name: "field became optional in a request-only type",
            base: NONE,
            change: |doc| unrequire(doc, "RevokeTokenRequest", "token_id"),
            expect: &["additive: RevokeTokenRequest.token_id became optional"],
        },
        Case {
            name: "field became read-only in a request type",
            base: NONE,
            change: |doc| field(doc, "PublicTokenInfo", "comment")["readOnly"] = json!(true),
            expect: &["breaking: PublicTokenInfo.comment became read-only"],
        },
        Case {
            name: "field is no longer read-only",
            base: NONE,
            change: |doc| remove(field(doc, "PublicTokenInfo", "token_id"), "readOnly"),
            expect: &["additive: PublicTokenInfo.token_id is no longer read-only"],
        },
        Case {
            name: "a referenced type is no longer read-only",
            base: NONE,
            change: |doc| remove(schema(doc, "AutoscopeState"), "readOnly"),
            expect: &["additive: PublicTokenInfo.autoscope_state is no longer read-only"],
        },
        Case {
            name: "operation removed",
            base: NONE,
            change: |doc| remove(&mut doc["paths"], "/api/2.0/token/list"),
            expect: &["breaking: operation list_tokens removed"],
        },
        Case {
            name: "operation and its types removed",
            base: NONE,
            change: |doc| {
                remove(&mut doc["paths"], "/api/2.0/token/delete");
                remove(&mut doc["components"]["schemas"], "RevokeTokenRequest");
                remove(&mut doc["components"]["schemas"], "RevokeTokenResponse");
            },
            expect: &[
                "breaking: operation revoke_token removed",
                "breaking: type RevokeTokenRequest removed",
                "breaking: type RevokeTokenResponse removed",
            ],
        },
        Case {
            name: "operation added",
            base: NONE,
            change: |doc| {
                *operation(doc, "/api/2.0/token/{token_id}", "get") = json!({
                    "operationId": "get_token",
                    "responses": {"200": {"description": "The token.", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/PublicTokenInfo"}}}}}
                });
            },
            expect: &["additive: operation get_token added (GET /api/2.0/token/{token_id})"],
        },
        Case {
            name: "operation moved to another method",
            base: NONE,
            change: |doc| {
                let item = doc["paths"]["/api/2.0/token/{token_id}"].as_object_mut().unwrap();
                let op = item.remove("patch").unwrap();
                item.insert("post".to_owned(), op);
            },
            expect: &["breaking: operation update_token moved from PATCH /api/2.0/token/{token_id} to POST /api/2.0/token/{token_id}"],
        },
        Case {
            name: "request body changed to another type",
            base: NONE,
            change: |doc| {
                operation(doc, "/api/2.0/token/create", "post")["requestBody"]["content"]["application/json"]["schema"] =
                    json!({"$ref": "#/components/schemas/RevokeTokenRequest"});
            },
            expect: &["breaking: operation create_token request body changed from CreateTokenRequest to RevokeTokenRequest"],
        },
        Case {
            name: "response changed to another type",
            base: NONE,
            change: |doc| {
                operation(doc, "/api/2.0/token/list", "get")["responses"]["200"]["content"]["application/json"]["schema"] =
                    json!({"type": "array", "items": {"$ref": "#/components/schemas/PublicTokenInfo"}});
            },
            expect: &["breaking: operation list_tokens response changed from ListPublicTokensResponse to [PublicTokenInfo]"],
        },
        Case {
            name: "an error response changed (not the success type)",
            base: NONE,
            change: |doc| remove(&mut operation(doc, "/api/2.0/token/list", "get")["responses"], "503"),
            expect: &[],
        },
        Case {
            name: "optional parameter added",
            base: NONE,
            change: |doc| page_size(doc, false),
            expect: &["additive: operation list_tokens parameter page_size added (optional query parameter)"],
        },
        Case {
            name: "required parameter added",
            base: NONE,
            change: |doc| page_size(doc, true),
            expect: &["breaking: operation list_tokens parameter page_size added (required query parameter)"],
        },
        Case {
            name: "parameter became required",
            base: |doc| page_size(doc, false),
            change: |doc| page_size(doc, true),
            expect: &["breaking: operation list_tokens parameter page_size became required"],
        },
        Case {
            name: "parameter type changed",
            base: NONE,
            change: |doc| operation(doc, "/api/2.0/token/{token_id}", "patch")["parameters"][0]["schema"] = json!({"type": "integer"}),
            expect: &["breaking: operation update_token parameter token_id type changed from string to integer"],
        },
        Case {
            name: "parameter removed",
            base: NONE,
            change: |doc| operation(doc, "/api/2.0/token/{token_id}", "patch")["parameters"] = json!([]),
            expect: &["breaking: operation update_token parameter token_id removed"],
        },
        Case {
            name: "parameter moved to a path-level reference",
            base: NONE,
            change: |doc| {
                let param = operation(doc, "/api/2.0/token/{token_id}", "patch")["parameters"][0].take();
                doc["components"]["parameters"] = json!({"TokenId": param});
                operation(doc, "/api/2.0/token/{token_id}", "patch")["parameters"] = json!([]);
                doc["paths"]["/api/2.0/token/{token_id}"]["parameters"] = json!([{"$ref": "#/components/parameters/TokenId"}]);
            },
            expect: &[],
        },
        Case {
            name: "enum value added to an open enum",
            base: NONE,
            change: |doc| schema(doc, "AutoscopeState")["enum"].as_array_mut().unwrap().push(json!("AUTOSCOPE_STATE_PAUSED")),
            expect: &["additive: AutoscopeState value AUTOSCOPE_STATE_PAUSED added"],
        },
        Case {
            name: "enum value removed",
            base: NONE,
            change: |doc| schema(doc, "AutoscopeState")["enum"].as_array_mut().unwrap().retain(|v| v != "AUTOSCOPE_STATE_RUNNING"),
            expect: &["breaking: AutoscopeState value AUTOSCOPE_STATE_RUNNING removed"],
        },
        Case {
            name: "enum value added to a closed enum",
            base: token_kind,
            change: |doc| schema(doc, "TokenKind")["enum"].as_array_mut().unwrap().push(json!("ROBOT")),
            expect: &["breaking: TokenKind value ROBOT added (closed enum: exhaustive matches break)"],
        },
        Case {
            name: "type added",
            base: NONE,
            change: token_kind,
            expect: &["additive: CreateTokenRequest.kind (optional field)", "additive: type TokenKind added"],
        },
        Case {
            name: "type removed",
            base: token_kind,
            change: |doc| {
                remove(&mut schema(doc, "CreateTokenRequest")["properties"], "kind");
                remove(&mut doc["components"]["schemas"], "TokenKind");
            },
            expect: &["breaking: CreateTokenRequest.kind removed", "breaking: type TokenKind removed"],
        },
        Case {
            name: "type changed kind",
            base: NONE,
            change: |doc| *schema(doc, "TokenValue") = json!({"type": "object", "properties": {"value": {"type": "string"}}}),
            expect: &["breaking: type TokenValue changed from string(password) to object"],
        },
        Case {
            name: "nested inline field",
            base: |doc| {
                *field(doc, "PublicTokenInfo", "owner") = json!({"type": "object", "properties": {"id": {"type": "string"}}});
            },
            change: |doc| field(doc, "PublicTokenInfo", "owner")["properties"]["id"] = json!({"type": "integer"}),
            expect: &["breaking: PublicTokenInfo.owner.id type changed from string to integer"],
        },
        Case {
            name: "several changes: breaking first, each group sorted",
            base: NONE,
            change: |doc| {
                *field(doc, "PublicTokenInfo", "owner_id") = json!({"type": "string"});
                require(doc, "CreateTokenRequest", "comment");
                remove(&mut doc["paths"], "/api/2.0/token/list");
                schema(doc, "AutoscopeState")["enum"].as_array_mut().unwrap().push(json!("AUTOSCOPE_STATE_PAUSED"));
            },
            expect: &[
                "breaking: CreateTokenRequest.comment became required",
                "breaking: operation list_tokens removed",
                "additive: AutoscopeState value AUTOSCOPE_STATE_PAUSED added",
                "additive: PublicTokenInfo.owner_id (optional field)",
            ],
        },
    ];

    #[test]
    fn every_kind_of_spec_change_is_classified() {
        let mut failures = Vec::new();
        for case in CASES {
            let mut old = tokens_spec();
            (case.base)(&mut old);
            let mut new = old.clone();
            (case.change)(&mut new);
            let got: Vec<String> = diff(&old, &new, &["AutoscopeState"]).iter().map(Change::to_string).collect();
            if got != case.expect {
                failures.push(format!("{}:\n  expected {:#?}\n  got {got:#?}", case.name, case.expect));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn the_summary_ends_with_a_count() {
        let old = tokens_spec();
        assert_eq!(summary(&diff(&old, &old, &[])), "API changes: none\n");
        let mut new = old.clone();
        *field(&mut new, "PublicTokenInfo", "owner_id") = json!({"type": "string"});
        remove(&mut new["paths"], "/api/2.0/token/list");
        assert_eq!(
            summary(&diff(&old, &new, &[])),
            "breaking: operation list_tokens removed\nadditive: PublicTokenInfo.owner_id (optional field)\nAPI changes: 1 breaking, 1 additive\n"
        );
    }

    /// Where each type of the real spec is used, as the classification relies on it.
    #[test]
    fn usage_is_computed_from_the_operations() {
        let doc = tokens_spec();
        let usage = Spec { root: &doc }.usage();
        let sides = |name: &str| usage.get(name).map(|u| (u.request, u.response));
        assert_eq!(sides("CreateTokenRequest"), Some((true, false)));
        assert_eq!(sides("CreateTokenResponse"), Some((false, true)));
        assert_eq!(sides("PublicTokenInfo"), Some((true, true)), "through UpdateTokenRequest.token and the responses");
        assert_eq!(sides("ScopeList"), Some((true, true)));
        assert_eq!(sides("AutoscopeState"), Some((true, true)));
        assert_eq!(sides("ListPublicTokensResponse"), Some((false, true)));
        assert_eq!(sides("Error"), Some((false, true)), "error responses are read too");
        assert_eq!(sides("TokenValue"), Some((false, true)));
    }

    /// Specs that are not OpenAPI documents give no changes rather than a panic.
    #[test]
    fn odd_documents_do_not_panic() {
        let odd = [json!(null), json!([]), json!({"paths": 3}), json!({"paths": {"/x": {"get": {"parameters": [1]}}}})];
        for a in &odd {
            for b in &odd {
                let _ = diff(a, b, &[]);
            }
        }
        let mut cyclic = tokens_spec();
        doc_param_cycle(&mut cyclic);
        let _ = diff(&tokens_spec(), &cyclic, &[]);
    }

    fn doc_param_cycle(doc: &mut Value) {
        doc["components"]["parameters"] = json!({"A": {"$ref": "#/components/parameters/B"}, "B": {"$ref": "#/components/parameters/A"}});
        operation(doc, "/api/2.0/token/list", "get")["parameters"] = json!([{"$ref": "#/components/parameters/A"}]);
    }
}
