//! Open enums: every component string schema with an `enum` list becomes a Rust enum of `crate::wire` whose variants are
//! the spec's values, plus `Unknown(String)` for a value the service adds later (kept as sent, encoded back
//! unchanged), so that a value added to the spec or sent by a newer service is never a breaking change or a
//! decoding error.
//!
//! A schema used by several specs (`AutoscopeState` in the Tokens and Token Management APIs) is one Rust type:
//! [`open_enums`] merges the specs' schemas by name and fails when their values differ. The variants are the
//! values in `PascalCase`, without the schema name's prefix when every value carries it
//! (`AUTOSCOPE_STATE_RUNNING` of `AutoscopeState` is `Running`). The schema's extensions:
//! - `x-rust-path` (required): the type's public path, for the example of its documentation;
//! - `x-enum-descriptions` (optional): an object from a value to its description, for the variant's doc.

use std::collections::BTreeMap;

use quote::{format_ident, quote};

use crate::CodegenError;

/// One open enum, merged from the specs that define it.
struct OpenEnum {
    name: String,
    description: String,
    path: String,
    values: Vec<(String, Option<String>)>,
}

/// The names of the open enums of a spec: every component string schema with an `enum` list (generation
/// checks their extensions; this only names them).
pub(crate) fn names(spec: &openapiv3::OpenAPI) -> Vec<String> {
    let Some(components) = &spec.components else { return Vec::new() };
    components
        .schemas
        .iter()
        .filter(|(_, schema)| {
            matches!(schema, openapiv3::ReferenceOr::Item(openapiv3::Schema {
                schema_kind: openapiv3::SchemaKind::Type(openapiv3::Type::String(s)), ..
            }) if !s.enumeration.is_empty())
        })
        .map(|(name, _)| name.clone())
        .collect()
}

fn collect(spec: &openapiv3::OpenAPI) -> Result<Vec<OpenEnum>, CodegenError> {
    let mut found = Vec::new();
    let Some(components) = &spec.components else { return Ok(found) };
    for (name, schema) in &components.schemas {
        let openapiv3::ReferenceOr::Item(schema) = schema else { continue };
        let openapiv3::SchemaKind::Type(openapiv3::Type::String(string)) = &schema.schema_kind else { continue };
        if string.enumeration.is_empty() {
            continue;
        }
        let fail = |why: String| CodegenError::Extension(format!("enum schema `{name}`: {why}"));
        let extensions = &schema.schema_data.extensions;
        let path = extensions
            .get("x-rust-path")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| fail("needs `x-rust-path`, its public Rust path (for its documentation's example)".into()))?;
        let descriptions = match extensions.get("x-enum-descriptions") {
            None => serde_json::Map::new(),
            Some(serde_json::Value::Object(map)) => map.clone(),
            Some(other) => return Err(fail(format!("`x-enum-descriptions` must be an object from value to text, not {other}"))),
        };
        let values: Vec<String> =
            string.enumeration.iter().map(|v| v.clone().ok_or_else(|| fail("a null value".into()))).collect::<Result<_, _>>()?;
        for key in descriptions.keys() {
            if !values.contains(key) {
                return Err(fail(format!("`x-enum-descriptions` describes `{key}`, which is not one of its values")));
            }
        }
        let values = values
            .into_iter()
            .map(|v| {
                let doc = descriptions.get(&v).and_then(serde_json::Value::as_str).map(str::to_owned);
                (v, doc)
            })
            .collect();
        found.push(OpenEnum {
            name: name.clone(),
            description: schema.schema_data.description.clone().unwrap_or_default(),
            path: path.to_owned(),
            values,
        });
    }
    Ok(found)
}

/// The open enums of `specs` (JSON texts), merged by name (the first spec's description and extensions),
/// formatted: what `crate::wire` includes. Fails when two specs give one name different values.
pub fn open_enums(specs: &[&str]) -> Result<String, CodegenError> {
    let mut merged: BTreeMap<String, OpenEnum> = BTreeMap::new();
    for spec in specs {
        let spec: openapiv3::OpenAPI = serde_json::from_str(spec).map_err(CodegenError::Spec)?;
        for open in collect(&spec)? {
            match merged.get(&open.name) {
                Some(first) => {
                    let values = |e: &OpenEnum| e.values.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>();
                    if values(first) != values(&open) {
                        return Err(CodegenError::Extension(format!(
                            "enum schema `{}` has different values in two specs ({:?} and {:?}): one Rust type cannot be both",
                            open.name,
                            values(first),
                            values(&open)
                        )));
                    }
                }
                None => {
                    merged.insert(open.name.clone(), open);
                }
            }
        }
    }
    let items = merged.values().map(emit).collect::<Result<Vec<_>, _>>()?;
    let file: syn::File = syn::parse2(quote! { #(#items)* }).map_err(|e| CodegenError::Syntax(e.to_string()))?;
    Ok(prettyplease::unparse(&file))
}

/// `AUTOSCOPE_STATE_RUNNING` of `AutoscopeState` as `Running`; `NOT_PROVISIONED` as `NotProvisioned`.
fn variant_names(open: &OpenEnum) -> Result<Vec<String>, CodegenError> {
    let prefix = format!("{}_", crate::snake_case(&open.name).to_ascii_uppercase());
    let strip = open.values.iter().all(|(v, _)| v.len() > prefix.len() && v.starts_with(&prefix));
    let mut names: Vec<String> = Vec::new();
    for (value, _) in &open.values {
        let rest = if strip { &value[prefix.len()..] } else { value.as_str() };
        let name: String = rest
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let lower = w.to_ascii_lowercase();
                let mut chars = lower.chars();
                chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect();
        let fail = |why: &str| CodegenError::Extension(format!("enum schema `{}`: the value `{value}` {why}", open.name));
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(fail("does not make a Rust variant name (it must start with a letter)"));
        }
        if name == "Unknown" {
            return Err(fail("makes the variant `Unknown`, which holds the values the crate does not know"));
        }
        if names.contains(&name) {
            return Err(fail(&format!("makes the variant `{name}` another value makes too")));
        }
        names.push(name);
    }
    Ok(names)
}

fn emit(open: &OpenEnum) -> Result<proc_macro2::TokenStream, CodegenError> {
    let ident = format_ident!("{}", open.name);
    let name = &open.name;
    let variants: Vec<_> = variant_names(open)?.iter().map(|v| format_ident!("{}", v)).collect();
    let values: Vec<&str> = open.values.iter().map(|(v, _)| v.as_str()).collect();
    let variant_docs: Vec<String> = open
        .values
        .iter()
        .map(|(v, doc)| match doc {
            Some(doc) => format!("`{v}`: {doc}"),
            None => format!("`{v}`"),
        })
        .collect();
    let count = proc_macro2::Literal::usize_unsuffixed(values.len());
    let (first_variant, first_value) = (&variants[0], values[0]);
    let doc = format!(
        "{}\n\n```\n# fn main() -> Result<(), serde_json::Error> {{\nuse {};\nlet known: {name} = serde_json::from_str(\"\\\"{first_value}\\\"\")?;\n\
         assert_eq!(known, {name}::{first_variant});\nlet new: {name} = serde_json::from_str(\"\\\"A_VALUE_FROM_THE_FUTURE\\\"\")?;\n\
         assert_eq!(new.as_str(), \"A_VALUE_FROM_THE_FUTURE\");\n# Ok(()) }}\n```\n\n\
         Generated from the spec's `{name}` schema. Values this version does not know decode to [`{name}::Unknown`] with \
         the raw string kept, and encode back unchanged.",
        open.description.trim(),
        open.path
    );
    Ok(quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #ident {
            #( #[doc = #variant_docs] #variants, )*
            #[doc = "A value this version of the crate does not know, kept as sent."]
            Unknown(::std::string::String),
        }

        impl #ident {
            #[doc = "The values the spec lists, as sent on the wire."]
            #[allow(dead_code, reason = "read by tests")]
            pub(crate) const KNOWN: [&'static str; #count] = [#(#values),*];

            #[doc = "The wire string of this value."]
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#variants => #values, )*
                    Self::Unknown(raw) => raw,
                }
            }

            #[doc = "Decodes a wire string; never fails."]
            pub fn from_wire(s: &str) -> Self {
                match s {
                    #( #values => Self::#variants, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #ident {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                ::std::result::Result::Ok(Self::from_wire(&raw))
            }
        }

        #[doc = "An open string: the enum keeps values it does not know."]
        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for #ident {
            fn schema_name() -> ::std::string::String {
                #name.to_owned()
            }
            fn json_schema(_: &mut ::schemars::r#gen::SchemaGenerator) -> ::schemars::schema::Schema {
                ::schemars::schema::SchemaObject {
                    instance_type: ::std::option::Option::Some(::schemars::schema::InstanceType::String.into()),
                    ..::std::default::Default::default()
                }
                .into()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::open_enums;

    fn spec(schema: &str) -> String {
        format!(
            r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}}, "paths": {{}},
                "components": {{"schemas": {{"ShelfState": {schema}}}}}}}"#
        )
    }

    const SHELF: &str = r#"{"type": "string", "description": "A shelf's state.", "x-rust-path": "crate::ShelfState",
        "enum": ["SHELF_STATE_FULL", "SHELF_STATE_EMPTY"], "x-enum-descriptions": {"SHELF_STATE_FULL": "nothing fits."}}"#;

    #[test]
    fn values_become_variants_with_their_wire_names_and_docs() {
        let code = open_enums(&[&spec(SHELF)]).unwrap();
        for wanted in [
            "pub enum ShelfState",
            "Full,",
            "Empty,",
            "Unknown(::std::string::String)",
            "Self::Full => \"SHELF_STATE_FULL\"",
            "\"SHELF_STATE_EMPTY\" => Self::Empty",
            "`SHELF_STATE_FULL`: nothing fits.",
            "use crate::ShelfState;",
        ] {
            assert!(code.contains(wanted), "{wanted} missing in:\n{code}");
        }
        // Without the schema name's prefix on every value, the values are kept whole.
        let mixed = SHELF.replace("SHELF_STATE_EMPTY", "EMPTY");
        let code = open_enums(&[&spec(&mixed)]).unwrap();
        assert!(code.contains("ShelfStateFull,") && code.contains("Empty,"), "{code}");
    }

    #[test]
    fn one_schema_in_two_specs_is_one_type_and_must_agree() {
        let code = open_enums(&[&spec(SHELF), &spec(&SHELF.replace("A shelf's state.", "Other words."))]).unwrap();
        assert_eq!(code.matches("pub enum ShelfState").count(), 1);
        assert!(code.contains("A shelf's state."), "the first spec's description: {code}");
        let err =
            open_enums(&[&spec(SHELF), &spec(&SHELF.replace(r#""SHELF_STATE_EMPTY"]"#, r#""SHELF_STATE_EMPTY", "SHELF_STATE_HALF"]"#))])
                .unwrap_err()
                .to_string();
        assert!(err.contains("different values in two specs"), "{err}");
    }

    #[test]
    fn a_schema_the_generator_cannot_make_an_enum_of_fails_generation() {
        for (schema, why) in [
            (SHELF.replace(r#""x-rust-path": "crate::ShelfState","#, ""), "needs `x-rust-path`"),
            (SHELF.replace(r#""SHELF_STATE_FULL": "nothing fits.""#, r#""HALF": "no""#), "describes `HALF`"),
            (SHELF.replace(r#"{"SHELF_STATE_FULL": "nothing fits."}"#, "[]"), "must be an object"),
            (SHELF.replace("SHELF_STATE_EMPTY", "SHELF_STATE_UNKNOWN"), "makes the variant `Unknown`"),
            (SHELF.replace("SHELF_STATE_EMPTY", "shelf-state-full"), "another value makes too"),
            (SHELF.replace("SHELF_STATE_EMPTY", "SHELF_STATE_2ND"), "must start with a letter"),
        ] {
            let err = open_enums(&[&spec(&schema)]).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
