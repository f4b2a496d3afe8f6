//! Messages: `POST /api/messages/send`, `POST /api/sessions/{session}/messages/send`, and a
//! chat's history at `GET /api/sessions/{session}/chats/{chatId}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::response::Response;

use crate::auth::{Authorized, required};
use crate::chats::{self, StarMessage};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::messages::HistoryQuery;
use crate::messages::actions::{self, DeleteMessage, EditMessage, React, ReactionData, Typing};
use crate::messages::{self, MarkSeen, MessageData, MessagePage, SeenData, SendMessage};
use crate::model::bounded::SessionName;
use crate::state::SharedState;

/// The message routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(send_from_session))
        .routes(routes!(seen))
        .routes(routes!(react))
        .routes(routes!(star))
        .routes(routes!(edit))
        .routes(routes!(delete))
        .routes(routes!(typing))
        .routes(routes!(history))
}

#[utoipa::path(
    post, path = "/api/messages/send", operation_id = "sendMessage", tag = "Messages",
    summary = "Send a message",
    description = "Sends a message from `session` to `chatId`. The message is stored before it leaves; the \
        answer has status `sent` once WhatsApp's server has it, and later receipts move it to `delivered`, \
        `read` or `played` (see the chat's history and `message.ack` events). A session with a `pacing` \
        setting queues the message instead: the answer has status `queued` at once, the message is kept \
        across restarts, and it leaves at the session's pace (then `message.sent`; status `error` if WhatsApp \
        refuses it). 409 when the session is not connected; 502 when WhatsApp refuses the message. Required \
        scope: `messages:write`.",
    request_body = SendMessage,
    responses(
        (status = 404, description = "No such session, or `quotedMessageId` is not in its history", body = crate::error::ErrorBody),
        (status = 201, description = "The message as sent (or queued, when the session paces its sends)", body = MessageData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn send(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Json(body): Json<SendMessage>,
) -> Result<Response, ApiError> {
    let session = body
        .session
        .clone()
        .map(SessionName::into_inner)
        .ok_or_else(|| ApiError::BadRequest("`session` is required at /api/messages/send".into()))?;
    let command = messages::send(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "sendMessage", StatusCode::CREATED, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/send", operation_id = "sendSessionMessage", tag = "Messages",
    summary = "Send a message from a session",
    description = "The same as `POST /api/messages/send` with the session in the path (a `session` in the body \
        must match it). Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = SendMessage,
    responses(
        (status = 201, description = "The message as sent (or queued, when the session paces its sends)", body = MessageData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn send_from_session(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<SendMessage>,
) -> Result<Response, ApiError> {
    if let Some(named) = body.session.as_ref().filter(|s| s.as_str() != session) {
        return Err(ApiError::BadRequest(format!(
            "the body names session `{}` but the path names `{session}`",
            named.as_str()
        )));
    }
    let command = messages::send(&state, &caller, &session, body).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "sendSessionMessage",
        StatusCode::CREATED,
        command,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/seen", operation_id = "markMessagesSeen", tag = "Messages",
    summary = "Mark messages as read",
    description = "Marks received messages as read: their senders get read receipts (unless this account turned \
        read receipts off). Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = MarkSeen,
    responses(
        (status = 200, description = "The messages marked read", body = SeenData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn seen(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<MarkSeen>,
) -> Result<Response, ApiError> {
    let command = messages::seen(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "markMessagesSeen", StatusCode::OK, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/react", operation_id = "reactToMessage", tag = "Messages",
    summary = "React to a message",
    description = "Adds the session's reaction (one emoji) to a message of its history, or removes it with \
        `\"reaction\": \"\"`. The other side gets `message.reaction`. 404 when the message is not in the chat's \
        history. Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = React,
    responses(
        (status = 200, description = "The reaction as sent", body = ReactionData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn react(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<React>,
) -> Result<Response, ApiError> {
    let command = actions::react(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "reactToMessage", StatusCode::OK, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/star", operation_id = "starMessage", tag = "Messages",
    summary = "Star or unstar a message",
    description = "Stars a message of the session's history (`\"star\": true`) or takes the star off, on every         device of the account. The stored message's `starred` changes at once; the session gets a         `message.update` event when WhatsApp confirms it. 404 when the message is not in the chat's history.         Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = StarMessage,
    responses(
        (status = 204, description = "Starred or unstarred"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn star(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<StarMessage>,
) -> Result<Response, ApiError> {
    let command = chats::star(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "starMessage", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/edit", operation_id = "editMessage", tag = "Messages",
    summary = "Edit a message",
    description = "Replaces the text of one of the session's own text messages, for everyone in the chat. The \
        stored message gets the new text and a `message.edited` event is written. Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = EditMessage,
    responses(
        (status = 200, description = "The message with its new text", body = MessageData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn edit(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<EditMessage>,
) -> Result<Response, ApiError> {
    let command = actions::edit(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "editMessage", StatusCode::OK, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/delete", operation_id = "deleteMessage", tag = "Messages",
    summary = "Delete a message for everyone",
    description = "Deletes a message for everyone in the chat: one of the session's own, or anyone's in a group \
        the session administers. The stored message becomes type `revoke` without text, and a `message.delete` \
        event is written; the other side gets `message.revoked`. Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = DeleteMessage,
    responses(
        (status = 200, description = "The message as now stored", body = MessageData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn delete(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<DeleteMessage>,
) -> Result<Response, ApiError> {
    let command = actions::delete(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "deleteMessage", StatusCode::OK, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/messages/typing", operation_id = "sendTyping", tag = "Messages",
    summary = "Show typing",
    description = "Shows `composing` (typing), `recording` (a voice note) or `paused` in a chat; the other side \
        gets `presence.update`. Required scope: `messages:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = Typing,
    responses(
        (status = 204, description = "Shown"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["messages:write"])))
)]
async fn typing(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MessagesWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<Typing>,
) -> Result<Response, ApiError> {
    let command = actions::typing(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "sendTyping", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/chats/{chatId}/messages", operation_id = "listChatMessages", tag = "Messages",
    summary = "List a chat's messages",
    description = "The messages a session sent to and received in one chat, newest first, one page at a time, \
        with each sent message's delivery status. Required scope: `chats:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("chatId" = String, Path, description = "The chat's JID (URL-encoded); `status@broadcast` for the status posts the session posted and saw", example = "5511999999999@s.whatsapp.net"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "One page of messages", body = MessagePage),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["chats:read"])))
)]
async fn history(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChatsRead>,
    Path((session, chat_id)): Path<(String, String)>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let page = messages::history(&state, &caller, &session, &chat_id, query).await?;
    Ok(Json(page.into()))
}
