//! Progenitor's house rules, checked on the 3.0 document before generation, so a violation is a
//! readable list of problems instead of a panic inside the generator.

use std::collections::BTreeMap;

use serde_json::Value;

const OPERATIONS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// One broken rule, naming the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `METHOD /path (operationId)`.
    pub operation: String,
    /// The rule and how this operation breaks it.
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.operation, self.problem)
    }
}

/// Every violation in the document (empty when it is fit for progenitor).
pub fn lint(spec: &Value) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut operation_ids: BTreeMap<String, String> = BTreeMap::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return violations;
    };
    for (path, item) in paths {
        for method in OPERATIONS {
            let Some(operation) = item.get(*method) else {
                continue;
            };
            let id = operation.get("operationId").and_then(Value::as_str);
            let name = format!("{} {path} ({})", method.to_uppercase(), id.unwrap_or("no operationId"));
            let mut report = |problem: String| {
                violations.push(Violation {
                    operation: name.clone(),
                    problem,
                })
            };
            match id {
                None => report("every operation needs an operationId".into()),
                Some(id) => {
                    if let Some(first) = operation_ids.insert(id.to_owned(), name.clone()) {
                        report(format!("operationId `{id}` is also used by {first}"));
                    }
                }
            }
            let parameters = item.get("parameters").and_then(Value::as_array).into_iter().flatten();
            for parameter in parameters.chain(
                operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            ) {
                let pname = parameter.get("name").and_then(Value::as_str).unwrap_or("?");
                if parameter.get("in").and_then(Value::as_str) == Some("cookie") {
                    report(format!(
                        "parameter `{pname}` is a cookie parameter, which progenitor rejects"
                    ));
                }
                if parameter.pointer("/schema/nullable") == Some(&Value::Bool(true)) {
                    report(format!("parameter `{pname}` is nullable; make it optional instead"));
                }
                if parameter.get("content").is_some() {
                    report(format!("parameter `{pname}` uses `content`; use `schema`"));
                }
            }
            if let Some(content) = operation.pointer("/requestBody/content").and_then(Value::as_object) {
                let types: Vec<&String> = content.keys().collect();
                if types.len() != 1 || types[0] != "application/json" {
                    report(format!(
                        "the request body must have exactly one content type, application/json; found {types:?}"
                    ));
                }
                if content.values().any(|m| m.get("encoding").is_some()) {
                    report("request media types must not declare `encoding`".into());
                }
            }
            let (success, failure) = response_schemas(operation);
            if success.len() > 1 {
                report(format!("more than one success body schema: {}", describe(&success)));
            }
            if failure.len() > 1 {
                report(format!("more than one error body schema: {}", describe(&failure)));
            }
        }
    }
    violations
}

/// Distinct body schemas of the 2xx responses and of the error responses (4xx, 5xx, default);
/// a response without a body counts as the schema `none`.
fn response_schemas(operation: &Value) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let mut success: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failure: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
        return (success, failure);
    };
    for (status, response) in responses {
        let content = response.get("content").and_then(Value::as_object);
        let schema = match content {
            None => "none".to_owned(),
            Some(content) if content.is_empty() => "none".to_owned(),
            Some(content) => content
                .iter()
                .map(|(media, m)| format!("{media} {}", m.get("schema").map_or("any".to_owned(), Value::to_string)))
                .collect::<Vec<_>>()
                .join(" | "),
        };
        let target = if status.starts_with('2') {
            &mut success
        } else {
            &mut failure
        };
        target.entry(schema).or_default().push(status.clone());
    }
    (success, failure)
}

fn describe(schemas: &BTreeMap<String, Vec<String>>) -> String {
    schemas
        .iter()
        .map(|(schema, statuses)| format!("{} for {}", schema, statuses.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error_responses() -> Value {
        json!({"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    }

    #[test]
    fn a_clean_operation_passes() {
        let spec = json!({"paths": {"/a": {"get": {"operationId": "a", "responses": {
            "200": {"description": "", "content": {"application/json": {"schema": {"type": "string"}}}},
            "4XX": error_responses(), "5XX": error_responses()}}}}});
        assert_eq!(lint(&spec), vec![]);
    }

    #[test]
    fn every_house_rule_is_reported_readably() {
        let spec = json!({"paths": {
            "/a": {"get": {"operationId": "same", "responses": {
                "200": {"description": "", "content": {"application/json": {"schema": {"type": "string"}}}},
                "202": {"description": "", "content": {"application/json": {"schema": {"type": "integer"}}}},
                "4XX": error_responses(), "default": {"description": ""}}}},
            "/b": {"post": {"operationId": "same",
                "parameters": [{"name": "p", "in": "query", "schema": {"type": "string", "nullable": true}},
                               {"name": "c", "in": "cookie", "schema": {"type": "string"}}],
                "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
                "responses": {"204": {"description": ""}}}},
            "/c": {"delete": {"responses": {}}}
        }});
        let problems: Vec<String> = lint(&spec).iter().map(ToString::to_string).collect();
        let expected = [
            "GET /a (same): more than one success body schema",
            "GET /a (same): more than one error body schema",
            "POST /b (same): operationId `same` is also used by GET /a (same)",
            "POST /b (same): parameter `p` is nullable",
            "POST /b (same): parameter `c` is a cookie parameter",
            "POST /b (same): the request body must have exactly one content type",
            "DELETE /c (no operationId): every operation needs an operationId",
        ];
        for prefix in expected {
            assert!(
                problems.iter().any(|p| p.starts_with(prefix)),
                "missing `{prefix}` in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }
}
