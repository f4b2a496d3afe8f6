//! Presence: `POST /api/sessions/{session}/presence` sets the account's,
//! `POST /api/sessions/{session}/presence/{chatId}/subscribe` (or the documented
//! `POST /api/{session}/presence/subscribe`) follows a contact's as `presence.update` events, and
//! `GET …/presence` and `GET …/presence/{chatId}` read back the last ones heard of.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::response::Response;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::messages::actions::{self, SetPresence, SubscribePresence};
use crate::presence::{self, ChatPresenceData, ChatPresenceList};
use crate::state::SharedState;

/// The presence routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(set, list))
        .routes(routes!(get))
        .routes(routes!(subscribe))
        .routes(routes!(subscribe_alias))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/presence", operation_id = "setPresence", tag = "Presence",
    summary = "Set the account's presence",
    description = "Shows the account as online (`available`) or offline (`unavailable`) to contacts that follow its \
        presence. Required scope: `presence:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = SetPresence,
    responses(
        (status = 204, description = "Set"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["presence:write"])))
)]
async fn set(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::PresenceWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<SetPresence>,
) -> Result<Response, ApiError> {
    let command = actions::set_presence(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "setPresence", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/presence", operation_id = "listPresences", tag = "Presence",
    summary = "List the presences heard of",
    description = "The last presence the session heard of for each contact (online, or offline with `lastSeen` \
        when shared) and chat (typing, recording, paused), most recent first, from the `presence.update` events \
        of followed contacts; kept across restarts. Required scope: `presence:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses((status = 200, description = "Every presence heard of", body = ChatPresenceList)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["presence:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::PresenceRead>,
    Path(session): Path<String>,
) -> Result<Json<ChatPresenceList>, ApiError> {
    Ok(Json(presence::list(&state, &caller, &session).await?))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/presence/{chatId}", operation_id = "getPresence", tag = "Presence",
    summary = "Get a contact's presence",
    description = "The last presence the session heard of for a contact or chat, with `lastSeen` when WhatsApp \
        shared it; 404 when none was heard of (follow it first with `POST …/presence/{chatId}/subscribe`). \
        Required scope: `presence:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("chatId" = String, Path, description = "The contact's or chat's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses((status = 200, description = "The last presence heard of", body = ChatPresenceData)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["presence:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::PresenceRead>,
    Path((session, chat_id)): Path<(String, String)>,
) -> Result<Json<ChatPresenceData>, ApiError> {
    Ok(Json(presence::get(&state, &caller, &session, &chat_id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/presence/{chatId}/subscribe", operation_id = "subscribePresence", tag = "Presence",
    summary = "Follow a contact's presence",
    description = "Subscribes to a contact's presence: `presence.update` events follow when they come online, go \
        offline (with `lastSeen` when shared), type or record. Required scope: `presence:write`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("chatId" = String, Path, description = "The contact's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses(
        (status = 204, description = "Subscribed"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["presence:write"])))
)]
async fn subscribe(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::PresenceWrite>,
    prefer: Prefer,
    Path((session, chat_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = actions::subscribe_presence(&state, &caller, &session, &chat_id).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "subscribePresence",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/{session}/presence/subscribe", operation_id = "subscribePresenceByBody", tag = "Presence",
    summary = "Follow a contact's presence (body form)",
    description = "The form the webhook guide uses: the same as `POST /api/sessions/{session}/presence/{chatId}/subscribe` \
        with the contact in the body. Required scope: `presence:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = SubscribePresence,
    responses(
        (status = 204, description = "Subscribed"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["presence:write"])))
)]
async fn subscribe_alias(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::PresenceWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<SubscribePresence>,
) -> Result<Response, ApiError> {
    let command = actions::subscribe_presence(&state, &caller, &session, body.chat_id.as_str()).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "subscribePresenceByBody",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}
