//! Every envelope the suites receive is checked against its event type's schema in the spec the
//! server serves, so a payload can never drift from what `openapi.json` documents.

use std::collections::HashMap;

use serde_json::{Value, json};

/// One JSON Schema validator per event type, from the served document's `webhooks`.
pub struct EventSchemas {
    validators: HashMap<String, jsonschema::Validator>,
}

impl EventSchemas {
    /// Reads `GET {base}/openapi.json` and compiles each webhook's envelope schema (draft
    /// 2020-12, OpenAPI 3.1's dialect, resolving `$ref`s into the document's components).
    pub async fn served(base: &str) -> Self {
        let spec: Value = reqwest::get(format!("{base}/openapi.json"))
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("GET /openapi.json")
            .json()
            .await
            .expect("the spec is JSON");
        Self::from_spec(&spec)
    }

    /// Compiles the envelope schema of every webhook in `spec`.
    pub fn from_spec(spec: &Value) -> Self {
        let webhooks = spec["webhooks"].as_object().expect("the spec documents webhooks");
        let validators = webhooks
            .iter()
            .map(|(event, item)| {
                let envelope = item
                    .pointer("/post/requestBody/content/application~1json/schema/$ref")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("webhook {event} has no envelope"));
                let root = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$ref": envelope,
                    "components": spec["components"],
                });
                let validator = jsonschema::validator_for(&root)
                    .unwrap_or_else(|e| panic!("the schema of {event} does not compile: {e}"));
                (event.clone(), validator)
            })
            .collect();
        Self { validators }
    }

    /// What is wrong with `envelope` against its event type's schema (nothing when it matches).
    pub fn violations(&self, envelope: &Value) -> Vec<String> {
        let event = envelope["event"].as_str().unwrap_or_default();
        match self.validators.get(event) {
            Some(validator) => validator
                .iter_errors(envelope)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect(),
            None => vec![format!("`{event}` is not a documented event type")],
        }
    }

    /// Panics, naming every violation, unless `envelope` matches its event type's schema.
    pub fn check(&self, envelope: &Value) {
        let errors = self.violations(envelope);
        assert!(
            errors.is_empty(),
            "an envelope does not match its schema in openapi.json:\n  {}\n{envelope:#}",
            errors.join("\n  ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_missing_a_required_field_or_of_the_wrong_type_is_caught() {
        let spec = serde_json::to_value(titan_server::api::openapi()).expect("spec");
        let schemas = EventSchemas::from_spec(&spec);
        let good = json!({"id": "evt_1", "event": "session.qr", "session": "s",
            "timestamp": "2026-01-01T00:00:00.000Z", "payload": {"code": "2@x"}});
        assert_eq!(schemas.violations(&good), Vec::<String>::new());
        for bad in [
            json!({"id": "evt_1", "event": "session.qr", "session": "s", "timestamp": "t", "payload": {}}),
            json!({"id": "evt_1", "event": "session.qr", "session": "s", "timestamp": "t", "payload": {"code": 1}}),
            json!({"id": "evt_1", "event": "session.status", "session": "s", "timestamp": "t",
                "payload": {"status": "ONLINE", "statusReason": null}}),
            json!({"id": "evt_1", "event": "no.such", "session": "s", "timestamp": "t", "payload": {}}),
        ] {
            assert!(!schemas.violations(&bad).is_empty(), "accepted {bad}");
        }
    }
}
