//! The HTTP API: every route, its OpenAPI description, and the layers around them.

mod channels;
mod chats;
mod client_tokens;
mod cluster;
mod contacts;
mod contract;
mod docs;
mod event_docs;
mod events;
mod groups;
mod keys;
mod labels;
mod lids;
mod media;
mod messages;
mod ops;
mod pairing;
mod presence;
mod profile;
mod sessions;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::{Modify, OpenApi, PartialSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::model::bounded::IdempotencyKey;
use crate::state::SharedState;
use crate::{auth, http, idempotency};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Titan API",
        description = "Self-hosted WhatsApp REST API. Authenticate with `Authorization: Bearer titan_...`; \
            successful responses are `{\"data\": ...}`, lists add a `cursor` when more pages exist, and every \
            error is `{\"error\": \"...\", \"docs\": \"...\"}`.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "Sessions", description = "WhatsApp sessions: one linked number each, with its status and lifecycle."),
        (name = "Pairing", description = "Link a session to a WhatsApp account by QR code or pair code."),
        (name = "Messages", description = "Send messages, react to, edit and delete them, show typing, and read a chat's history."),
        (name = "Chats", description = "The session's chats: list them with their last message and unread count; archive, pin, mute, read, clear and delete them on every device of the account."),
        (name = "Presence", description = "Set the account's presence and follow contacts' presence."),
        (name = "Contacts", description = "Check which numbers are on WhatsApp, read contacts' pictures, block and unblock contacts."),
        (name = "LIDs", description = "WhatsApp's LIDs (the private ids it names people by) and the phone numbers behind them."),
        (name = "Groups", description = "WhatsApp groups the session is in: create, read, change, leave and join them."),
        (name = "Labels", description = "WhatsApp Business labels: list, create, rename, recolour and delete them, and put them on chats."),
        (name = "Channels", description = "WhatsApp channels (newsletters): create them, look them up, follow, mute, rename and delete them; post with the unified send."),
        (name = "Client tokens", description = "Short-lived tokens for browsers (`titan_ct_…`), bound to one session: what they may do is the session's client rules, read again on every call."),
        (name = "Profile", description = "The account's own profile."),
        (name = "Media", description = "The files of a session's messages: what is known of each, and its download."),
        (name = "Webhooks", description = "Signed, retried event delivery to your URLs, the delivery log, and the live event stream."),
        (name = "Events", description = "What webhooks receive and the event stream carries: one envelope per event type, `{id, event, session, timestamp, payload}`."),
        (name = "Keys", description = "API keys of the account: scoped, optionally limited to sessions, shown once."),
        (name = "Admin", description = "Self-hosted administration with the master key."),
        (name = "Operations", description = "Health and readiness probes."),
    )
)]
struct ApiDoc;

/// Declares a schema for the raw bytes of a response (`type: string, format: binary`).
macro_rules! binary_schema {
    ($(#[$meta:meta])* $name:ident = $description:literal) => {
        $(#[$meta])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Binary,
                    )))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

pub(crate) use binary_schema;

/// Declares the two bearer schemes: API keys and the master key.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("titan_...")
                    .description(Some("An API key: `Authorization: Bearer titan_...`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "clientToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("titan_ct_...")
                    .description(Some(
                        "A client token minted by POST /api/client-tokens: `Authorization: Bearer titan_ct_...`. \
                         It reaches only the operations that list this scheme, as its session's client rules allow.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "masterKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The server's MASTER_KEY: `Authorization: Bearer <MASTER_KEY>`"))
                    .build(),
            ),
        );
    }
}

/// Documents the optional `Idempotency-Key` header on every POST, where the server honours it.
struct IdempotencyHeader;

impl Modify for IdempotencyHeader {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        for item in openapi.paths.paths.values_mut() {
            if let Some(post) = item.post.as_mut() {
                let parameter = ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "Makes retries safe: the first response for this key is replayed for 24 hours (per API key); \
                         the same key with a different request answers 422. The SDKs send one automatically.",
                    ))
                    .schema(Some(IdempotencyKey::schema()))
                    .build();
                post.parameters.get_or_insert_with(Vec::new).push(parameter.into());
            }
        }
    }
}

/// Documents the optional `Prefer: respond-async` header on every operation that can answer 202
/// (those that talk to WhatsApp; see [`crate::commands`]).
struct PreferHeader;

impl Modify for PreferHeader {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let operations = openapi
            .paths
            .paths
            .values_mut()
            .flat_map(|item| [item.get.as_mut(), item.post.as_mut(), item.put.as_mut()])
            .flatten();
        for operation in operations {
            if !operation.responses.responses.contains_key("202") {
                continue;
            }
            let parameter = ParameterBuilder::new()
                .name("Prefer")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "`respond-async` answers 202 with `requestId` and `correlationId` once the request is checked; \
                     the outcome arrives as a `command.result` event with the same `correlationId`.",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            operation.parameters.get_or_insert_with(Vec::new).push(parameter.into());
        }
    }
}

/// Offers the client-token scheme, beside the API key, on the operations client tokens reach.
struct ClientTokenAccess;

impl Modify for ClientTokenAccess {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        for (method, template) in auth::client::reachable() {
            let Some(item) = openapi.paths.paths.get_mut(template) else {
                continue;
            };
            let operation = if method == Method::GET {
                item.get.as_mut()
            } else if method == Method::POST {
                item.post.as_mut()
            } else {
                None
            };
            if let Some(operation) = operation {
                let requirement = SecurityRequirement::new("clientToken", Vec::<String>::new());
                operation.security.get_or_insert_with(Vec::new).push(requirement);
            }
        }
    }
}

/// Every documented route; with a state, each group gets its authentication layer.
fn documented(state: Option<&SharedState>) -> OpenApiRouter<SharedState> {
    let mut api = keys::account_routes()
        .merge(sessions::routes())
        .merge(pairing::routes())
        .merge(messages::routes())
        .merge(media::routes())
        .merge(presence::routes())
        .merge(chats::routes())
        .merge(contacts::routes())
        .merge(lids::routes())
        .merge(groups::routes())
        .merge(labels::routes())
        .merge(channels::routes())
        .merge(profile::routes())
        .merge(client_tokens::routes())
        .merge(webhooks::routes())
        .merge(events::routes());
    let mut admin = keys::admin_routes().merge(cluster::routes());
    if let Some(state) = state {
        api = api
            .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
            .route_layer(from_fn_with_state(state.clone(), crate::forward::layer))
            .route_layer(from_fn_with_state(state.clone(), http::limit_body))
            .route_layer(from_fn_with_state(state.clone(), auth::api_key_layer));
        admin = admin
            .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
            .route_layer(from_fn_with_state(state.clone(), http::limit_body))
            .route_layer(from_fn_with_state(state.clone(), auth::master_key_layer));
    }
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::routes())
        .merge(api)
        .merge(admin)
}

/// Splits the documented routes into the router and the finished document (modifiers that
/// walk the paths run here, once the paths exist).
fn split(routes: OpenApiRouter<SharedState>) -> (Router<SharedState>, OpenApiDocument) {
    let (router, mut spec) = routes.split_for_parts();
    IdempotencyHeader.modify(&mut spec);
    PreferHeader.modify(&mut spec);
    ClientTokenAccess.modify(&mut spec);
    contract::apply(&mut spec);
    event_docs::document(&mut spec);
    (router, spec)
}

/// The OpenAPI 3.1 document of the API, exactly as `/openapi.json` serves it.
pub fn openapi() -> OpenApiDocument {
    split(documented(None)).1
}

/// The complete application: API routes, `/openapi.json`, `/docs`, `/metrics`, and the layers
/// that give every response a request id, a log line, metrics and the error envelope.
pub fn app(state: SharedState) -> anyhow::Result<Router> {
    let (router, spec) = split(documented(Some(&state)));
    let spec: Arc<str> = spec.to_pretty_json()?.into();
    let router = router
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec.to_string()) }),
        )
        .route("/docs", get(docs::page))
        .route("/docs/scalar.js", get(docs::script))
        .route("/metrics", get(ops::metrics))
        .fallback(http::not_found)
        // Each route's limit is applied by `http::limit_body`.
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(state.clone(), auth::client::preflight))
        .layer(from_fn(http::envelope))
        .layer(from_fn_with_state(state.clone(), http::observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state);
    Ok(router)
}
