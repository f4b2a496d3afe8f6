//! The language SDKs' view of the API, read from the 3.1 document once: every operation with
//! its SDK name, arguments and result, and every schema as a record, an enum or an alias. The
//! Python and Node renderers turn this into code, so no endpoint is written by hand.

pub mod names;
pub mod node;
pub mod python;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use serde_json::Value;

/// A value's type, as the SDKs spell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// A string.
    Str,
    /// Bytes carried as a base64 string (`contentEncoding: base64`): the SDKs take the bytes
    /// themselves too, and encode them.
    Base64,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// A boolean.
    Bool,
    /// Any JSON value.
    Any,
    /// A named schema of `components.schemas`.
    Named(String),
    /// An array.
    List(Box<Type>),
    /// An object with arbitrary keys.
    Map(Box<Type>),
    /// The type, or null.
    Nullable(Box<Type>),
    /// One of these strings.
    Literal(Vec<String>),
    /// One of these named schemas (a `oneOf` of `$ref`s), told apart by their required fields.
    Union(Vec<Type>),
}

/// The schema the server names for the union of every event envelope
/// (`server/src/api/event_docs.rs`): what webhooks and the event stream deliver.
pub const EVENT_UNION: &str = "WebhookEvent";

/// A property of a record, or an argument of an operation.
#[derive(Debug, Clone)]
pub struct Field {
    /// The name on the wire (JSON key, query parameter or header).
    pub wire: String,
    /// The name in snake_case.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Whether it must be given (or is always present).
    pub required: bool,
    /// Its documentation.
    pub description: String,
}

/// A named schema.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Its name in `components.schemas`.
    pub name: String,
    /// Its documentation.
    pub description: String,
    /// What it is.
    pub kind: SchemaKind,
}

/// The shapes a named schema can have.
#[derive(Debug, Clone)]
pub enum SchemaKind {
    /// An object with known properties (`allOf` flattened).
    Record(Vec<Field>),
    /// One of these strings.
    Enum(Vec<String>),
    /// Another name for a type (e.g. an array of enum values).
    Alias(Type),
}

/// What an operation returns on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// No body.
    Nothing,
    /// The `data` member of an envelope `{"data": ...}`.
    Data(Type),
    /// The whole body.
    Body(Type),
    /// One page `{"data": [item], "cursor"}` of a cursor-paged list: the item type.
    Page(Type),
    /// A Server-Sent Events stream.
    Events,
    /// A file: the body's bytes, whatever their type.
    Bytes,
}

/// One operation as the SDKs expose it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The operationId.
    pub id: String,
    /// The resource path, e.g. `["account", "keys"]`.
    pub resource: Vec<String>,
    /// The method name in snake_case, e.g. `list`.
    pub method_name: String,
    /// The HTTP method, upper case.
    pub http_method: String,
    /// The path template, e.g. `/api/sessions/{session}`.
    pub path: String,
    /// The one-line summary.
    pub summary: String,
    /// The long description.
    pub description: String,
    /// Path parameters, in path order.
    pub path_params: Vec<Field>,
    /// Query parameters.
    pub query: Vec<Field>,
    /// Header parameters, `Prefer` excepted (see `deferred`).
    pub headers: Vec<Field>,
    /// The JSON body's properties, path parameters excepted.
    pub body: Option<Vec<Field>>,
    /// The success result.
    pub output: Output,
    /// What `Prefer: respond-async` makes it answer instead (202, `Accepted`), when it can; the
    /// SDKs add a `*_deferred` variant that asks for it.
    pub deferred: Option<Output>,
}

/// Every operation and schema the SDKs need.
#[derive(Debug, Clone)]
pub struct Api {
    /// Operations, in document order.
    pub operations: Vec<Operation>,
    /// Schemas by name.
    pub schemas: BTreeMap<String, Schema>,
}

impl Api {
    /// Reads the 3.1 document.
    pub fn from_spec(spec: &Value) -> anyhow::Result<Self> {
        let mut schemas = BTreeMap::new();
        for (name, schema) in spec["components"]["schemas"].as_object().into_iter().flatten() {
            schemas.insert(name.clone(), read_schema(spec, name, schema)?);
        }
        let mut operations = Vec::new();
        for (path, item) in spec["paths"].as_object().context("paths")? {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    continue;
                }
                operations.push(read_operation(spec, path, method, operation)?);
            }
        }
        Ok(Self { operations, schemas })
    }

    /// The union of every event envelope, when the document has webhooks: a root of each SDK's
    /// types, as its webhook helpers and event streams return it.
    pub fn event_roots(&self) -> Vec<Type> {
        self.schemas
            .contains_key(EVENT_UNION)
            .then(|| Type::Named(EVENT_UNION.to_owned()))
            .into_iter()
            .collect()
    }

    /// The schemas `roots` mention, directly or through other schemas.
    pub fn reachable<'a>(&self, roots: impl IntoIterator<Item = &'a Type>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Type> = roots.into_iter().cloned().collect();
        while let Some(ty) = stack.pop() {
            match ty {
                Type::Named(name) => {
                    if !seen.insert(name.clone()) {
                        continue;
                    }
                    match self.schemas.get(&name).map(|s| &s.kind) {
                        Some(SchemaKind::Record(fields)) => stack.extend(fields.iter().map(|f| f.ty.clone())),
                        Some(SchemaKind::Alias(inner)) => stack.push(inner.clone()),
                        _ => {}
                    }
                }
                Type::List(inner) | Type::Map(inner) | Type::Nullable(inner) => stack.push(*inner),
                Type::Union(members) => stack.extend(members),
                _ => {}
            }
        }
        seen
    }
}

/// `camelCase`, `kebab-Case` or `PascalCase` → `snake_case`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '-' || c == ' ' {
            out.push('_');
            previous_lower = false;
        } else if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// `["account", "keys"]` or `["send_message"]` → `AccountKeys`, `SendMessage`: class names.
pub fn pascal(parts: &[String]) -> String {
    parts
        .iter()
        .flat_map(|part| part.split('_'))
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().trim().to_owned()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => spec.pointer(reference.trim_start_matches('#')).unwrap_or(&Value::Null),
        None => schema,
    }
}

fn ref_name(schema: &Value) -> Option<String> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .map(|r| r.trim_start_matches("#/components/schemas/").to_owned())
}

/// The type of a schema in a property, parameter or response position.
fn type_of(schema: &Value) -> anyhow::Result<Type> {
    if let Some(name) = ref_name(schema) {
        return Ok(Type::Named(name));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(variants) = schema.get(key).and_then(Value::as_array) {
            let (null, other): (Vec<&Value>, Vec<&Value>) = variants.iter().partition(|v| v["type"] == "null");
            let union = || -> Option<Type> {
                let members: Option<Vec<Type>> = other.iter().map(|v| ref_name(v).map(Type::Named)).collect();
                members.map(Type::Union)
            };
            return match (null.len(), other.as_slice()) {
                (1, [only]) => Ok(Type::Nullable(Box::new(type_of(only)?))),
                (0, [only]) => type_of(only),
                (0, [_, _, ..]) => Ok(union().unwrap_or(Type::Any)),
                (1, [_, _, ..]) => Ok(union().map_or(Type::Any, |u| Type::Nullable(Box::new(u)))),
                _ => Ok(Type::Any),
            };
        }
    }
    if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        return type_of(only);
    }
    if let Some(values) = string_enum(schema) {
        return Ok(Type::Literal(values));
    }
    if schema.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        return Ok(Type::Base64);
    }
    let (kind, nullable) = match &schema["type"] {
        Value::String(kind) => (kind.as_str(), false),
        Value::Array(kinds) => {
            let named: Vec<&str> = kinds
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| *k != "null")
                .collect();
            match named.as_slice() {
                [only] => (*only, named.len() < kinds.len()),
                _ => return Ok(Type::Any),
            }
        }
        _ => return Ok(Type::Any),
    };
    let ty = match kind {
        "string" => Type::Str,
        "integer" => Type::Int,
        "number" => Type::Float,
        "boolean" => Type::Bool,
        "array" => Type::List(Box::new(type_of(&schema["items"])?)),
        "object" => match schema.get("additionalProperties") {
            Some(inner @ Value::Object(_)) => Type::Map(Box::new(type_of(inner)?)),
            _ => Type::Map(Box::new(Type::Any)),
        },
        other => bail!("unsupported schema type `{other}`"),
    };
    Ok(if nullable { Type::Nullable(Box::new(ty)) } else { ty })
}

/// The values of an enum of strings. An enum of other values (`forEveryone`'s `[true]`) is read
/// as its `type`: the SDKs' literal types are string literals.
fn string_enum(schema: &Value) -> Option<Vec<String>> {
    let values = schema.get("enum")?.as_array()?;
    let strings: Vec<String> = values.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    (!strings.is_empty() && strings.len() == values.len()).then_some(strings)
}

/// The properties of an object schema, `allOf` members flattened in order.
fn fields_of(spec: &Value, schema: &Value) -> anyhow::Result<Vec<Field>> {
    let schema = resolve(spec, schema);
    let mut fields = Vec::new();
    for member in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        fields.extend(fields_of(spec, member)?);
    }
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (wire, property) in schema["properties"].as_object().into_iter().flatten() {
        fields.push(Field {
            wire: wire.clone(),
            name: snake(wire),
            ty: type_of(property).with_context(|| format!("property `{wire}`"))?,
            required: required.contains(wire.as_str()),
            description: text(&property["description"]),
        });
    }
    Ok(fields)
}

fn read_schema(spec: &Value, name: &str, schema: &Value) -> anyhow::Result<Schema> {
    let kind = if let Some(values) = string_enum(schema) {
        SchemaKind::Enum(values)
    } else if schema.get("properties").is_some() || schema.get("allOf").is_some() {
        SchemaKind::Record(fields_of(spec, schema).with_context(|| format!("schema `{name}`"))?)
    } else {
        SchemaKind::Alias(type_of(schema).with_context(|| format!("schema `{name}`"))?)
    };
    Ok(Schema {
        name: name.to_owned(),
        description: text(&schema["description"]),
        kind,
    })
}

fn read_operation(spec: &Value, path: &str, method: &str, operation: &Value) -> anyhow::Result<Operation> {
    let id = operation["operationId"]
        .as_str()
        .context("an operation without operationId")?;
    let (resource, method_name) = names::sdk_name(id)
        .with_context(|| format!("operation `{id}` has no SDK name: add it to openapi/src/sdk/names.rs"))?;
    let mut path_params = Vec::new();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let parameter = resolve(spec, parameter);
        let wire = text(&parameter["name"]);
        if wire == "Prefer" {
            continue;
        }
        let mut ty = strip_nullable(type_of(&parameter["schema"])?);
        if parameter["explode"] == Value::Bool(false) {
            // A comma-separated list (`?events=a,b`): the SDKs take the list or its text.
            ty = Type::Union(vec![ty, Type::Str]);
        }
        let field = Field {
            name: snake(&wire),
            ty,
            required: parameter["required"].as_bool().unwrap_or(false),
            description: text(&parameter["description"]),
            wire,
        };
        match parameter["in"].as_str() {
            Some("path") => path_params.push(field),
            Some("query") => query.push(field),
            Some("header") => headers.push(field),
            other => bail!("`{id}`: parameters in {other:?} are not supported"),
        }
    }
    path_params.sort_by_key(|p| path.find(&format!("{{{}}}", p.wire)));
    let body = match operation.pointer("/requestBody/content/application~1json/schema") {
        Some(schema) => {
            let mut fields = fields_of(spec, schema).with_context(|| format!("`{id}` request body"))?;
            fields.retain(|f| !path_params.iter().any(|p| p.name == f.name));
            Some(fields)
        }
        None => None,
    };
    let responses = &operation["responses"];
    let success = ["200", "201", "204"]
        .iter()
        .find_map(|status| responses.get(*status))
        .with_context(|| format!("`{id}` has no success response"))?;
    let output = output_of(spec, success).with_context(|| format!("`{id}` response"))?;
    Ok(Operation {
        id: id.to_owned(),
        resource,
        method_name,
        http_method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        summary: text(&operation["summary"]),
        description: text(&operation["description"]),
        path_params,
        query,
        headers,
        body,
        output,
        deferred: responses
            .get("202")
            .map(|accepted| output_of(spec, accepted))
            .transpose()
            .with_context(|| format!("`{id}` 202 response"))?,
    })
}

/// Optional parameters are omitted rather than null, so their nullability carries nothing.
fn strip_nullable(ty: Type) -> Type {
    match ty {
        Type::Nullable(inner) => *inner,
        other => other,
    }
}

fn output_of(spec: &Value, response: &Value) -> anyhow::Result<Output> {
    let Some(content) = response["content"].as_object() else {
        return Ok(Output::Nothing);
    };
    if content.contains_key("text/event-stream") {
        return Ok(Output::Events);
    }
    if content.contains_key("*/*") {
        return Ok(Output::Bytes);
    }
    let schema = content
        .get("application/json")
        .map(|c| &c["schema"])
        .context("a success body that is neither JSON nor an event stream")?;
    let body = resolve(spec, schema);
    let properties = body["properties"].as_object();
    let data = properties.and_then(|p| p.get("data"));
    match (data, properties.map(|p| p.len())) {
        (Some(data), Some(2)) if properties.is_some_and(|p| p.contains_key("cursor")) => match type_of(data)? {
            Type::List(item) => Ok(Output::Page(*item)),
            other => bail!("a page whose data is {other:?}, not a list"),
        },
        (Some(data), Some(1)) => Ok(Output::Data(type_of(data)?)),
        _ => Ok(Output::Body(type_of(schema)?)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The SDK model of the server's own document.
    pub(crate) fn api() -> Api {
        let spec = serde_json::to_value(titan_server::api::openapi()).expect("spec");
        Api::from_spec(&spec).expect("the server's spec reads")
    }

    fn operation<'a>(api: &'a Api, id: &str) -> &'a Operation {
        api.operations.iter().find(|op| op.id == id).expect(id)
    }

    #[test]
    fn every_operation_has_one_sdk_name_and_no_name_is_stale() {
        let api = api();
        let mut places = BTreeSet::new();
        for op in &api.operations {
            let place = format!("{}.{}", op.resource.join("."), op.method_name);
            assert!(places.insert(place.clone()), "{place} names two operations");
        }
        for (id, _) in names::SDK_NAMES {
            assert!(
                api.operations.iter().any(|op| op.id == *id),
                "{id} is not in the spec any more"
            );
        }
    }

    #[test]
    fn results_are_read_from_envelopes_pages_and_streams() {
        let api = api();
        let session = Type::Named("Session".into());
        assert_eq!(operation(&api, "listSessions").output, Output::Page(session.clone()));
        assert_eq!(operation(&api, "getSession").output, Output::Data(session));
        assert_eq!(operation(&api, "deleteSession").output, Output::Nothing);
        assert_eq!(operation(&api, "streamEvents").output, Output::Events);
        assert_eq!(operation(&api, "downloadMedia").output, Output::Bytes);
        let start = operation(&api, "startSession");
        assert_eq!(start.deferred, Some(Output::Data(Type::Named("Accepted".into()))));
        assert!(
            start.headers.iter().all(|h| h.wire != "Prefer"),
            "Prefer becomes the *_deferred variant"
        );
        assert_eq!(operation(&api, "getSession").deferred, None);
    }

    #[test]
    fn path_parameters_leave_the_body_and_keep_path_order() {
        let api = api();
        let send = operation(&api, "sendSessionMessage");
        assert_eq!(
            send.path_params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["session"]
        );
        assert!(send.body.iter().flatten().all(|f| f.name != "session"));
        let history = operation(&api, "listChatMessages");
        let names: Vec<&str> = history.path_params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["session", "chat_id"]);
    }

    #[test]
    fn nullable_members_and_all_of_are_read() {
        let api = api();
        let Some(SchemaKind::Record(fields)) = api.schemas.get("CreatedKey").map(|s| &s.kind) else {
            panic!("CreatedKey is a record");
        };
        assert!(
            fields.iter().any(|f| f.wire == "key" && f.required),
            "allOf members are flattened"
        );
        assert!(fields.iter().any(|f| f.wire == "scopes"));
        let Some(SchemaKind::Record(fields)) = api.schemas.get("Session").map(|s| &s.kind) else {
            panic!("Session is a record");
        };
        let reason = fields.iter().find(|f| f.wire == "statusReason").expect("statusReason");
        assert_eq!(reason.ty, Type::Nullable(Box::new(Type::Named("StatusReason".into()))));
    }

    #[test]
    fn an_enum_of_other_values_than_strings_is_read_as_its_type() {
        let only_true = serde_json::json!({"type": "boolean", "enum": [true]});
        assert_eq!(type_of(&only_true).expect("reads"), Type::Bool);
        let states = serde_json::json!({"type": "string", "enum": ["a", "b"]});
        assert_eq!(
            type_of(&states).expect("reads"),
            Type::Literal(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn base64_strings_are_bytes_to_the_sdks() {
        let api = api();
        let send = operation(&api, "sendSessionMessage");
        let file = send.body.iter().flatten().find(|f| f.wire == "base64").expect("base64");
        assert_eq!(strip_nullable(file.ty.clone()), Type::Base64);
    }

    #[test]
    fn names_become_snake_case() {
        assert_eq!(snake("chatId"), "chat_id");
        assert_eq!(snake("Last-Event-ID"), "last_event_id");
        assert_eq!(snake("Idempotency-Key"), "idempotency_key");
        assert_eq!(snake("lifetimeDays"), "lifetime_days");
        assert_eq!(snake("session"), "session");
    }
}
