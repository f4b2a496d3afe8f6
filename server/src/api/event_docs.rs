//! The OpenAPI 3.1 `webhooks` section: one entry per event type, each the envelope
//! `{id, event, session, timestamp, payload}` with that type's payload schema. The envelopes and
//! payloads also live in `components`, so the 3.0 down-conversion (which has no webhooks) and the
//! SDK generators see them.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{Discriminator, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{
    ContentBuilder, OpenApi as OpenApiDocument, PathsBuilder, Ref, RefOr, Required, ResponseBuilder,
};

use crate::model::event_type::EventType;
use crate::model::events;

/// The name of the union of every envelope in `components.schemas`.
pub const UNION: &str = "WebhookEvent";

/// The component name of `kind`'s envelope: `message.received` → `MessageReceivedEvent`.
pub fn envelope_name(kind: EventType) -> String {
    format!("{}Event", kind.type_name())
}

/// Adds every event type's envelope and payload schemas, their union, and the `webhooks` entries.
pub fn document(spec: &mut OpenApiDocument) {
    let components = spec.components.get_or_insert_with(Default::default);
    let mut webhooks = PathsBuilder::new();
    let mut union = OneOfBuilder::new().description(Some(
        "Any event, as webhooks and the event stream deliver it; `event` says which.",
    ));
    let mut mapping = Vec::new();
    for (kind, payload, schemas) in events::schemas() {
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        let name = envelope_name(kind);
        components.schemas.insert(name.clone(), envelope(kind, &payload));
        union = union.item(Ref::from_schema_name(&name));
        mapping.push((kind.as_str(), format!("#/components/schemas/{name}")));
        webhooks = webhooks.path(kind.as_str(), PathItem::new(HttpMethod::Post, delivery(kind, &name)));
    }
    let union = union.discriminator(Some(Discriminator::with_mapping("event", mapping)));
    components.schemas.insert(UNION.into(), union.into());
    spec.webhooks = Some(webhooks.build());
}

/// The envelope of `kind`: its `event` is the one type name, its `payload` the type's schema.
fn envelope(kind: EventType, payload: &str) -> RefOr<Schema> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .title(Some(kind.as_str()))
        .description(Some(kind.description()))
        .property(
            "id",
            string().description(Some("`evt_…`, unique: receivers dedupe by it.")),
        )
        .property(
            "event",
            string()
                .enum_values(Some([kind.as_str()]))
                .description(Some("The event type.")),
        )
        .property("session", string().description(Some("The session it happened on.")))
        .property(
            "timestamp",
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("When it was written to the outbox (RFC 3339).")),
        )
        .property("payload", Ref::from_schema_name(payload))
        .required("id")
        .required("event")
        .required("session")
        .required("timestamp")
        .required("payload")
        .into()
}

/// The POST a webhook receives for `kind`, answered 2xx to acknowledge it.
fn delivery(kind: EventType, envelope: &str) -> utoipa::openapi::path::Operation {
    let body = RequestBodyBuilder::new()
        .description(Some(
            "The event, signed with `X-Webhook-Signature` and the Standard Webhooks headers.",
        ))
        .required(Some(Required::True))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(envelope)))
                .build(),
        )
        .build();
    OperationBuilder::new()
        .summary(Some(kind.as_str()))
        .description(Some(kind.description()))
        .tag("Events")
        .request_body(Some(body))
        .response(
            "200",
            ResponseBuilder::new().description("Any 2xx acknowledges the delivery; anything else is retried."),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_names_are_pascal_case() {
        assert_eq!(envelope_name(EventType::MessageReceived), "MessageReceivedEvent");
        assert_eq!(envelope_name(EventType::SessionLoggedOut), "SessionLoggedOutEvent");
    }

    #[test]
    fn every_event_type_is_a_webhook_with_its_envelope() {
        let spec = serde_json::to_value(crate::api::openapi()).unwrap_or_default();
        for kind in EventType::ALL {
            let name = envelope_name(*kind);
            let reference = format!("#/components/schemas/{name}");
            assert_eq!(
                spec["webhooks"][kind.as_str()]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                reference.as_str()
            );
            let envelope = &spec["components"]["schemas"][name.as_str()];
            assert_eq!(envelope["properties"]["event"]["enum"][0], kind.as_str());
            let payload = envelope["properties"]["payload"]["$ref"].as_str().unwrap_or_default();
            let payload = payload.trim_start_matches("#/components/schemas/");
            assert!(spec["components"]["schemas"][payload].is_object(), "{payload}");
            assert_eq!(
                spec["components"]["schemas"][UNION]["discriminator"]["mapping"][kind.as_str()],
                reference.as_str()
            );
        }
    }

    #[test]
    fn no_payload_schema_shares_its_name_with_another_schema() {
        // `components` is keyed by name: an API type of the same name would silently stand in
        // for a payload's own schema.
        let spec = serde_json::to_value(crate::api::openapi()).unwrap_or_default();
        for (_, _, schemas) in events::schemas() {
            for (name, schema) in schemas {
                let own = serde_json::to_value(schema).unwrap_or_default();
                assert_eq!(
                    spec["components"]["schemas"][name.as_str()],
                    own,
                    "two schemas are named {name}"
                );
            }
        }
    }
}
