//! What the document says about every operation beyond its own attribute, derived from facts
//! the routes share, so that no route can forget them: the schema of each path parameter (from
//! the bounded type its value is checked with), every error status the layers and services can
//! answer, and the links from a created resource to the operations that take its id (which a
//! stateful client or fuzzer follows).

use utoipa::PartialSchema;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ContentBuilder, OpenApi, PathItem, Ref, RefOr, ResponseBuilder};

use crate::channels::{ChannelId, InviteCode};
use crate::contacts::Lid;
use crate::groups::GroupId;
use crate::labels::LabelId;
use crate::media::MediaId;
use crate::messages::jid::{ChatId, ContactId, SendTo};
use crate::model::bounded::{PhoneNumber, SessionName};

/// Applies every rule of this module to the document.
pub fn apply(spec: &mut OpenApi) {
    for (path, item) in spec.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            path_parameters(operation);
            error_statuses(path, method, operation);
        }
    }
    links(spec);
    if let Some(components) = spec.components.as_mut() {
        components.schemas.values_mut().for_each(described_inline_fields);
    }
}

/// utoipa writes a documented `#[schema(inline)]` field as `allOf: [schema, {description, type:
/// object}]`, which no value satisfies (nothing is an integer and an object); this folds the
/// description into the schema itself.
fn described_inline_fields(schema: &mut RefOr<Schema>) {
    let RefOr::T(Schema::Object(object)) = schema else {
        return;
    };
    for property in object.properties.values_mut() {
        let RefOr::T(Schema::AllOf(all)) = property else {
            continue;
        };
        let [RefOr::T(inner), RefOr::T(Schema::Object(note))] = all.items.as_mut_slice() else {
            continue;
        };
        if !note.properties.is_empty() {
            continue;
        }
        let description = note.description.take();
        match inner {
            Schema::Object(inner) => inner.description = description,
            Schema::Array(inner) => inner.description = description,
            _ => continue,
        }
        *property = RefOr::T(inner.clone());
    }
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("put", item.put.as_mut()),
        ("patch", item.patch.as_mut()),
        ("delete", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|o| (method, o)))
    .collect()
}

/// Operations whose `chatId` the server checks as a contact (people have a presence to follow,
/// chats do not); the route shares its path position with `GET …/presence/{chatId}`, which takes
/// any chat, so the parameter keeps its name.
const CONTACT_CHATS: &[&str] = &["subscribePresence"];

/// Operations whose `chatId` may also be a channel or `status@broadcast` (a history of posts).
const TARGET_CHATS: &[&str] = &["listChatMessages"];

/// Each path parameter gets the schema of the type the server checks it with.
fn path_parameters(operation: &mut Operation) {
    let named = |list: &[&str]| operation.operation_id.as_deref().is_some_and(|id| list.contains(&id));
    let (contact_chat, target_chat) = (named(CONTACT_CHATS), named(TARGET_CHATS));
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        if parameter.parameter_in != ParameterIn::Path {
            continue;
        }
        let schema = match parameter.name.as_str() {
            "session" => SessionName::schema(),
            "chatId" if contact_chat => ContactId::schema(),
            "chatId" if target_chat => SendTo::schema(),
            "chatId" => ChatId::schema(),
            "contactId" => ContactId::schema(),
            "mediaId" => MediaId::schema(),
            "groupId" => GroupId::schema(),
            "labelId" => LabelId::schema(),
            "channelId" => ChannelId::schema(),
            "code" => InviteCode::schema(),
            "lid" => Lid::schema(),
            "phoneNumber" => PhoneNumber::schema(),
            _ => continue,
        };
        parameter.schema = Some(schema);
    }
}

/// Why each error status is answered, as the document says it.
const STATUSES: &[(u16, &str)] = &[
    (400, "Invalid input: the message says which field and why"),
    (401, "No API key, or one that is unknown, expired or disabled"),
    (403, "The key lacks the scope or the session this needs"),
    (404, "No such resource"),
    (
        409,
        "The resource is in the wrong state (e.g. a session not connected), or a request with this Idempotency-Key is still in progress",
    ),
    (413, "The body is larger than the server accepts"),
    (415, "The body is not `Content-Type: application/json`"),
    (422, "This Idempotency-Key was already used with a different request"),
    (429, "Rate limited: retry after `Retry-After` seconds"),
    (500, "A failure on the server's side (logged there, never shown)"),
    (502, "WhatsApp refused the request or could not be reached"),
    (
        503,
        "Not ready (`/readyz`), or the session is moving to another server (several servers on one PostgreSQL database): retry after `Retry-After` seconds",
    ),
];

/// Replaces the `4XX`/`5XX` ranges with the statuses this operation can answer.
fn error_statuses(path: &str, method: &str, operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    responses.retain(|status, _| !status.ends_with("XX"));
    let secured = operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    });
    let has_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) || operation.request_body.is_some();
    let has_body = operation.request_body.is_some();
    let post = method == "post";
    let session = path.contains("{session}");
    // Operations that answer 202 talk to WhatsApp (see `crate::commands`).
    let whatsapp = responses.contains_key("202");
    let applies = |status: u16| match status {
        400 => has_input,
        401 | 403 | 429 => secured,
        404 => path.contains('{'),
        409 => post || session,
        413 => has_body || post,
        415 => has_body,
        422 => post,
        500 => true,
        502 => whatsapp,
        // Routes the cluster's forwarding layer answers for (see `crate::forward`).
        503 => path == "/readyz" || session || path == "/api/messages/send" || (path == "/api/sessions" && post),
        _ => false,
    };
    for (status, description) in STATUSES.iter().filter(|(status, _)| applies(*status)) {
        let response = ResponseBuilder::new()
            .description(*description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                    .build(),
            )
            .build();
        responses.entry(status.to_string()).or_insert(response.into());
    }
}

/// Links from each creation to the operations that take the created id: the creating path, its
/// status, each parameter of the targets with where its value comes from, and the targets.
type Link = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// Links from each creation to the operations that take the created id.
const LINKS: &[Link] = &[
    (
        "/api/sessions",
        "201",
        &[("session", "$response.body#/data/name")],
        &[
            "getSession",
            "updateSession",
            "deleteSession",
            "startSession",
            "stopSession",
            "restartSession",
            "logoutSession",
            "getPairingQr",
            "requestPairingCode",
        ],
    ),
    (
        "/api/account/keys",
        "201",
        &[("id", "$response.body#/data/id")],
        &["getKey", "updateKey", "deleteKey"],
    ),
    (
        "/admin/keys",
        "201",
        &[("id", "$response.body#/data/id")],
        &["adminGetKey", "adminUpdateKey", "adminDeleteKey"],
    ),
    (
        "/api/webhooks",
        "201",
        &[("id", "$response.body#/data/id")],
        &["getWebhook", "updateWebhook", "deleteWebhook", "listWebhookDeliveries"],
    ),
    (
        "/api/sessions/{session}/groups",
        "201",
        &[
            ("session", "$request.path.session"),
            ("groupId", "$response.body#/data/id"),
        ],
        &["getGroup", "leaveGroup", "deleteGroup", "updateGroupSettings"],
    ),
];

fn links(spec: &mut OpenApi) {
    for (path, status, parameters, targets) in LINKS {
        let Some(RefOr::T(response)) = spec
            .paths
            .paths
            .get_mut(*path)
            .and_then(|item| item.post.as_mut())
            .and_then(|post| post.responses.responses.get_mut(*status))
        else {
            continue;
        };
        for target in *targets {
            let link = parameters
                .iter()
                .fold(LinkBuilder::new().operation_id(*target), |link, (name, value)| {
                    link.parameter(*name, *value)
                })
                .build();
            response.links.insert((*target).to_owned(), link.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every link names an operation of the document, and every creation links somewhere.
    #[test]
    fn links_point_at_operations_that_exist() {
        let spec = serde_json::to_value(crate::api::openapi()).unwrap_or_default();
        let ids: Vec<&str> = spec["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(|item| item.as_object())
            .flat_map(|item| item.values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        for (path, status, _, targets) in LINKS {
            let links = &spec["paths"][path]["post"]["responses"][status]["links"];
            for target in *targets {
                assert!(ids.contains(target), "{target} is not an operation");
                assert_eq!(links[target]["operationId"], *target, "{path} links to {target}");
            }
        }
    }

    /// No operation keeps a status range, and each lists the statuses its layers answer.
    #[test]
    fn every_operation_lists_its_error_statuses() {
        let spec = serde_json::to_value(crate::api::openapi()).unwrap_or_default();
        let create = &spec["paths"]["/api/sessions"]["post"]["responses"];
        for status in ["400", "401", "403", "409", "413", "415", "422", "429", "500"] {
            assert!(create.get(status).is_some(), "createSession lacks {status}");
        }
        let health = &spec["paths"]["/healthz"]["get"]["responses"];
        assert!(health.get("401").is_none() && health.get("500").is_some());
        let text = spec.to_string();
        assert!(!text.contains("\"4XX\"") && !text.contains("\"5XX\""));
    }
}
