//! OpenAPI 3.1 → 3.0.3 down-conversion for progenitor, which reads 3.0 only.
//!
//! Only schema positions are rewritten (component schemas, properties, items, compositions,
//! additional properties, parameter/media-type/header schemas), so a property that happens to be
//! named `type` or `const` is left alone. Any 3.1 construct without a rule here is an error, never
//! silently passed through.

use serde_json::{Map, Value, json};

/// Why a document could not be converted; the path says where in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConvertError {
    /// JSON-pointer-like location, e.g. `#/components/schemas/Page/properties/data`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

type Result<T> = std::result::Result<T, ConvertError>;

/// 3.0 has no `webhooks`, so they are left out; what they deliver survives only if every body
/// schema is a `$ref` into `components` (which is kept).
fn webhooks_in_components(webhooks: &Value) -> Result<()> {
    for (name, item) in webhooks.as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            for (media, content) in operation
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let schema = content.get("schema");
                let reference = schema.and_then(|s| s.get("$ref")).and_then(Value::as_str);
                if !reference.is_some_and(|r| r.starts_with("#/components/schemas/")) {
                    return Err(error(
                        &format!("#/webhooks/{name}/{method}/requestBody/content/{media}"),
                        "a webhook body must be a $ref into components/schemas, or 3.0 would lose it",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn error(path: &str, message: impl Into<String>) -> ConvertError {
    ConvertError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Schema keywords OpenAPI 3.0 understands; anything else (bar `x-*`) is refused.
const SCHEMA_KEYWORDS_30: &[&str] = &[
    "title",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "items",
    "properties",
    "additionalProperties",
    "description",
    "format",
    "default",
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "deprecated",
    "$ref",
];

/// Keywords dropped because 3.0 has no equivalent and they do not change the shape of the data.
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "unevaluatedProperties",
    "contentMediaType",
    "contentEncoding",
    "propertyNames",
];

const OPERATIONS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Converts a 3.1 document into an equivalent 3.0.3 document.
pub fn down_convert(spec: &Value) -> Result<Value> {
    let mut spec = spec.clone();
    let root = spec
        .as_object_mut()
        .ok_or_else(|| error("#", "the document is not a JSON object"))?;
    match root.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.1.") => {}
        other => {
            return Err(error(
                "#/openapi",
                format!("expected a 3.1.x document, found {other:?}"),
            ));
        }
    }
    root.insert("openapi".into(), json!("3.0.3"));
    root.remove("jsonSchemaDialect");
    if let Some(webhooks) = root.remove("webhooks") {
        webhooks_in_components(&webhooks)?;
    }
    if let Some(license) = root
        .get_mut("info")
        .and_then(|i| i.get_mut("license"))
        .and_then(Value::as_object_mut)
    {
        license.remove("identifier");
    }
    if let Some(components) = root.get_mut("components").and_then(Value::as_object_mut) {
        convert_components(components)?;
    }
    if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
        for (name, item) in paths.iter_mut() {
            convert_path_item(item, &format!("#/paths/{}", escape(name)))?;
        }
    }
    Ok(spec)
}

fn convert_components(components: &mut Map<String, Value>) -> Result<()> {
    for (kind, entries) in components.iter_mut() {
        let Some(entries) = entries.as_object_mut() else {
            continue;
        };
        for (name, entry) in entries.iter_mut() {
            let path = format!("#/components/{kind}/{}", escape(name));
            match kind.as_str() {
                "schemas" => convert_schema(entry, &path)?,
                "parameters" => convert_parameter(entry, &path)?,
                "requestBodies" => convert_content(entry, &path)?,
                "responses" => convert_response(entry, &path)?,
                "headers" => convert_header(entry, &path)?,
                "pathItems" => {
                    return Err(error(&path, "components.pathItems has no 3.0 equivalent"));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn convert_path_item(item: &mut Value, path: &str) -> Result<()> {
    let item = item
        .as_object_mut()
        .ok_or_else(|| error(path, "a path item must be an object"))?;
    if item.contains_key("$ref") {
        return Err(error(path, "path-item $ref is not supported by progenitor"));
    }
    if let Some(parameters) = item.get_mut("parameters").and_then(Value::as_array_mut) {
        for (i, parameter) in parameters.iter_mut().enumerate() {
            convert_parameter(parameter, &format!("{path}/parameters/{i}"))?;
        }
    }
    for method in OPERATIONS {
        if let Some(operation) = item.get_mut(*method) {
            convert_operation(operation, &format!("{path}/{method}"))?;
        }
    }
    Ok(())
}

fn convert_operation(operation: &mut Value, path: &str) -> Result<()> {
    let operation = operation
        .as_object_mut()
        .ok_or_else(|| error(path, "an operation must be an object"))?;
    if operation.contains_key("callbacks") {
        return Err(error(path, "callbacks are not supported"));
    }
    if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
        for (i, parameter) in parameters.iter_mut().enumerate() {
            convert_parameter(parameter, &format!("{path}/parameters/{i}"))?;
        }
    }
    if let Some(body) = operation.get_mut("requestBody") {
        convert_content(body, &format!("{path}/requestBody"))?;
    }
    if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
        for (status, response) in responses.iter_mut() {
            convert_response(response, &format!("{path}/responses/{status}"))?;
        }
    }
    Ok(())
}

/// Parameters: convert the schema, then drop `nullable` (optionality is `required: false`;
/// a nullable optional parameter makes progenitor emit `Option<Option<_>>`).
fn convert_parameter(parameter: &mut Value, path: &str) -> Result<()> {
    if parameter.get("$ref").is_some() {
        return Ok(());
    }
    if parameter.get("content").is_some() {
        return Err(error(path, "content-based parameters are not supported; use `schema`"));
    }
    if let Some(schema) = parameter.get_mut("schema") {
        convert_schema(schema, &format!("{path}/schema"))?;
        if let Some(schema) = schema.as_object_mut() {
            schema.remove("nullable");
        }
    }
    Ok(())
}

fn convert_response(response: &mut Value, path: &str) -> Result<()> {
    let Some(object) = response.as_object_mut() else {
        return Err(error(path, "a response must be an object"));
    };
    if object.contains_key("$ref") {
        return Ok(());
    }
    object.entry("description").or_insert_with(|| json!(""));
    if let Some(headers) = object.get_mut("headers").and_then(Value::as_object_mut) {
        for (name, header) in headers.iter_mut() {
            convert_header(header, &format!("{path}/headers/{}", escape(name)))?;
        }
    }
    convert_content(response, path)
}

fn convert_header(header: &mut Value, path: &str) -> Result<()> {
    match header.get_mut("schema") {
        Some(schema) => convert_schema(schema, &format!("{path}/schema")),
        None => Ok(()),
    }
}

/// Converts the schema of every media type under `content`.
fn convert_content(holder: &mut Value, path: &str) -> Result<()> {
    if let Some(content) = holder.get_mut("content").and_then(Value::as_object_mut) {
        for (media_type, media) in content.iter_mut() {
            if let Some(schema) = media.get_mut("schema") {
                convert_schema(schema, &format!("{path}/content/{}/schema", escape(media_type)))?;
            }
        }
    }
    Ok(())
}

/// Rewrites one schema (and every schema nested in it) from JSON Schema 2020-12 to 3.0's dialect.
pub fn convert_schema(schema: &mut Value, path: &str) -> Result<()> {
    let Some(object) = schema.as_object_mut() else {
        return Err(error(path, "boolean schemas have no 3.0 equivalent"));
    };
    type_arrays(object, path)?;
    null_alternatives(object, path)?;
    // After the merge of an inline alternative, which may bring its own.
    for key in DROPPED {
        object.remove(*key);
    }
    if let Some(value) = object.remove("const") {
        object.insert("enum".into(), json!([value]));
    }
    if let Some(examples) = object.remove("examples") {
        let first = examples.as_array().and_then(|e| e.first().cloned());
        match first {
            Some(example) => {
                object.entry("example").or_insert(example);
            }
            None if examples.is_array() => {}
            None => return Err(error(path, "schema `examples` must be an array")),
        }
    }
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(limit) = object.get(exclusive).filter(|v| v.is_number()).cloned() {
            object.insert(bound.into(), limit);
            object.insert(exclusive.into(), json!(true));
        }
    }
    if let Some(format) = object.get("format").and_then(Value::as_str)
        && let Some(bits) = format.strip_prefix("u-int")
    {
        object.insert("format".into(), json!(format!("uint{bits}")));
    }
    if object.contains_key("$ref") && object.len() > 1 {
        let reference = object.remove("$ref").unwrap_or_default();
        object.insert("allOf".into(), json!([{"$ref": reference}]));
    }
    for key in object.keys() {
        if !key.starts_with("x-") && !SCHEMA_KEYWORDS_30.contains(&key.as_str()) {
            return Err(error(
                path,
                format!("`{key}` is a JSON Schema 2020-12 keyword with no 3.0 conversion rule"),
            ));
        }
    }
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            convert_schema(property, &format!("{path}/properties/{}", escape(name)))?;
        }
    }
    for key in ["items", "not"] {
        if let Some(nested) = object.get_mut(key) {
            convert_schema(nested, &format!("{path}/{key}"))?;
        }
    }
    if let Some(additional) = object.get_mut("additionalProperties").filter(|v| v.is_object()) {
        convert_schema(additional, &format!("{path}/additionalProperties"))?;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(members) = object.get_mut(key).and_then(Value::as_array_mut) {
            for (i, member) in members.iter_mut().enumerate() {
                convert_schema(member, &format!("{path}/{key}/{i}"))?;
            }
        }
    }
    Ok(())
}

/// `type: [X, "null"]` → `type: X, nullable: true`; several non-null types → `anyOf`.
fn type_arrays(object: &mut Map<String, Value>, path: &str) -> Result<()> {
    let Some(Value::Array(types)) = object.get("type").cloned() else {
        return match object.get("type").and_then(Value::as_str) {
            Some("null") => Err(error(path, "a schema whose only type is null has no 3.0 equivalent")),
            _ => Ok(()),
        };
    };
    let nullable = types.iter().any(|t| t == "null");
    let rest: Vec<Value> = types.into_iter().filter(|t| t != "null").collect();
    match rest.as_slice() {
        [] => {
            return Err(error(path, "a schema whose only type is null has no 3.0 equivalent"));
        }
        [single] => {
            object.insert("type".into(), single.clone());
        }
        several => {
            object.remove("type");
            let alternatives: Vec<Value> = several.iter().map(|t| json!({"type": t})).collect();
            object.insert("anyOf".into(), Value::Array(alternatives));
        }
    }
    if nullable {
        object.insert("nullable".into(), json!(true));
    }
    Ok(())
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").is_some_and(|t| t == "null") && schema.as_object().is_some_and(|o| o.len() == 1)
}

/// `oneOf`/`anyOf` with a `{type: null}` member: a lone `$ref` becomes `allOf: [$ref]` and a lone
/// inline schema is merged into its parent, each with `nullable: true`.
fn null_alternatives(object: &mut Map<String, Value>, path: &str) -> Result<()> {
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(members)) = object.get(key) else {
            continue;
        };
        if !members.iter().any(is_null_schema) {
            continue;
        }
        let rest: Vec<Value> = members.iter().filter(|m| !is_null_schema(m)).cloned().collect();
        object.insert("nullable".into(), json!(true));
        match rest.as_slice() {
            [] => return Err(error(path, format!("`{key}` holds only null"))),
            [single] if single.get("$ref").is_some() => {
                object.remove(key);
                object.insert("allOf".into(), json!([single]));
            }
            [Value::Object(inline)] => {
                object.remove(key);
                for (k, v) in inline {
                    if object.contains_key(k) && k != "nullable" {
                        return Err(error(
                            path,
                            format!("cannot merge `{k}` of the non-null alternative into its parent"),
                        ));
                    }
                    object.insert(k.clone(), v.clone());
                }
                type_arrays(object, path)?;
                object.insert("nullable".into(), json!(true));
            }
            _ => {
                object.insert(key.into(), Value::Array(rest));
            }
        }
    }
    Ok(())
}

/// Escapes a JSON-pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(schema: Value) -> Result<Value> {
        let mut schema = schema;
        convert_schema(&mut schema, "#")?;
        Ok(schema)
    }

    #[test]
    fn type_arrays_become_nullable() {
        assert_eq!(
            convert(json!({"type": ["string", "null"]})),
            Ok(json!({"type": "string", "nullable": true}))
        );
        assert_eq!(
            convert(json!({"type": ["string", "integer"]})),
            Ok(json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}))
        );
        assert!(convert(json!({"type": ["null"]})).is_err());
    }

    #[test]
    fn nullable_refs_and_inline_alternatives() {
        assert_eq!(
            convert(json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/A"}], "description": "d"})),
            Ok(json!({"description": "d", "nullable": true, "allOf": [{"$ref": "#/components/schemas/A"}]}))
        );
        assert_eq!(
            convert(json!({"anyOf": [{"type": "integer", "format": "int64"}, {"type": "null"}]})),
            Ok(json!({"type": "integer", "format": "int64", "nullable": true}))
        );
    }

    #[test]
    fn const_examples_bounds_and_formats() {
        assert_eq!(convert(json!({"const": "ok"})), Ok(json!({"enum": ["ok"]})));
        assert_eq!(
            convert(json!({"type": "string", "examples": ["a", "b"]})),
            Ok(json!({"type": "string", "example": "a"}))
        );
        assert_eq!(
            convert(json!({"type": "number", "exclusiveMinimum": 0})),
            Ok(json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}))
        );
        assert_eq!(
            convert(json!({"type": "integer", "format": "u-int64", "minimum": 0})),
            Ok(json!({"type": "integer", "format": "uint64", "minimum": 0}))
        );
    }

    #[test]
    fn refs_with_siblings_are_wrapped_and_nested_schemas_converted() {
        assert_eq!(
            convert(json!({"$ref": "#/components/schemas/A", "description": "x"})),
            Ok(json!({"description": "x", "allOf": [{"$ref": "#/components/schemas/A"}]}))
        );
        assert_eq!(
            convert(
                json!({"type": "object", "properties": {"const": {"type": ["string", "null"]}},
                "additionalProperties": {"const": 1}, "items": {"examples": [1]}})
            ),
            Ok(
                json!({"type": "object", "properties": {"const": {"type": "string", "nullable": true}},
                "additionalProperties": {"enum": [1]}, "items": {"example": 1}})
            )
        );
    }

    #[test]
    fn unknown_constructs_fail_loudly_with_their_location() {
        let err = convert(json!({"properties": {"p": {"prefixItems": [{"type": "string"}]}}}));
        assert_eq!(err.err().map(|e| e.path), Some("#/properties/p".to_owned()));
        assert!(convert(json!({"if": {}, "then": {}})).is_err());
        assert!(convert(json!(true)).is_err());
        assert!(convert(json!({"dependentSchemas": {}})).is_err());
    }

    #[test]
    fn documents_convert_outside_schemas_too() {
        let spec = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
            "paths": {"/a": {"get": {
                "parameters": [{"name": "q", "in": "query", "required": false, "schema": {"type": ["string", "null"]}}],
                "responses": {"200": {"content": {"application/json": {"schema": {"type": "object", "properties": {"type": {"const": "x"}}}}}}}
            }}}
        });
        let converted = down_convert(&spec).expect("converts");
        assert_eq!(converted["openapi"], "3.0.3");
        assert!(converted["info"]["license"].get("identifier").is_none());
        let operation = &converted["paths"]["/a"]["get"];
        assert_eq!(
            operation["parameters"][0]["schema"],
            json!({"type": "string"}),
            "no nullable parameters"
        );
        assert_eq!(
            operation["responses"]["200"]["description"], "",
            "3.0 requires a description"
        );
        let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["properties"]["type"],
            json!({"enum": ["x"]}),
            "a property named `type` is not a keyword"
        );
        assert!(down_convert(&json!({"openapi": "3.0.3"})).is_err());
        let inline = json!({"openapi": "3.1.0", "webhooks": {"a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}}}});
        assert!(down_convert(&inline).is_err());
        let referenced = json!({"openapi": "3.1.0", "webhooks": {"a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}});
        let converted = down_convert(&referenced).expect("webhooks by reference are dropped");
        assert!(converted.get("webhooks").is_none());
    }
}
