//! Chats under `/api/sessions/{session}/chats`: list and get; archive, unarchive, pin, unpin,
//! mute, unmute, read, unread and clear (`POST …/chats/{chatId}/<action>`); delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::chats::{self, ChatAction, ChatData, ChatListQuery, ChatPage, MuteChat};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::SharedState;

/// The chat routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, delete))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
        .routes(routes!(pin))
        .routes(routes!(unpin))
        .routes(routes!(mute))
        .routes(routes!(unmute))
        .routes(routes!(read))
        .routes(routes!(unread))
        .routes(routes!(clear))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/chats", operation_id = "listChats", tag = "Chats",
    summary = "List chats",
    description = "The session's chats, newest activity first: every chat it stored a message of, and every chat \
        the account marked (on any device) since the session was linked. Each has its last message, unread \
        count, and whether it is archived, pinned or muted. Answered from the database: works while the \
        session is stopped. Required scope: `chats:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), ChatListQuery),
    responses((status = 200, description = "One page of chats", body = ChatPage)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["chats:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChatsRead>,
    Path(session): Path<String>,
    Query(query): Query<ChatListQuery>,
) -> Result<Json<ChatPage>, ApiError> {
    Ok(Json(chats::list(&state, &caller, &session, query).await?.into()))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/chats/{chatId}", operation_id = "getChat", tag = "Chats",
    summary = "Get a chat",
    description = "One chat as `GET …/chats` lists it; 404 when the session has no such chat. Required scope: \
        `chats:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("chatId" = String, Path, description = "The chat's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses((status = 200, description = "The chat", body = ChatData)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["chats:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChatsRead>,
    Path((session, chat_id)): Path<(String, String)>,
) -> Result<Json<ChatData>, ApiError> {
    Ok(Json(chats::get(&state, &caller, &session, &chat_id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/chats/{chatId}/mute", operation_id = "muteChat", tag = "Chats",
    summary = "Mute a chat",
    description = "Mutes the chat's notifications on every device of the account, for `duration` seconds or, \
        without one, for ever. The session gets a `chat.mute` event when WhatsApp confirms it. Required scope: \
        `chats:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("chatId" = String, Path, description = "The chat's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    request_body = MuteChat,
    responses(
        (status = 204, description = "Muted"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["chats:manage"])))
)]
async fn mute(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChatsManage>,
    prefer: Prefer,
    Path((session, chat_id)): Path<(String, String)>,
    Json(body): Json<MuteChat>,
) -> Result<Response, ApiError> {
    let command = chats::mute(&state, &caller, &session, &chat_id, body).await?;
    commands::respond(&state, prefer, &session, "muteChat", StatusCode::NO_CONTENT, command).await
}

/// Declares the route of one chat action without a body: its OpenAPI description and its
/// handler, which checks the request and runs the action (now, or after a 202).
macro_rules! chat_action {
    ($handler:ident, $method:ident, $path:literal, $operation:literal, $summary:literal, $description:literal,
     $done:literal, $action:expr) => {
        #[utoipa::path(
            $method, path = $path, operation_id = $operation, tag = "Chats",
            summary = $summary,
            description = concat!($description, " Required scope: `chats:manage`."),
            params(
                ("session" = String, Path, description = "Session name", example = "my-session"),
                ("chatId" = String, Path, description = "The chat's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
            ),
            responses(
                (status = 204, description = $done),
                (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
                (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
            ),
            security(("apiKey" = [])),
            extensions(("x-scopes" = json!(["chats:manage"])))
        )]
        async fn $handler(
            State(state): State<SharedState>,
            Authorized(caller, _): Authorized<required::ChatsManage>,
            prefer: Prefer,
            Path((session, chat_id)): Path<(String, String)>,
        ) -> Result<Response, ApiError> {
            let command = chats::act(&state, &caller, &session, &chat_id, $action).await?;
            commands::respond(&state, prefer, &session, $operation, StatusCode::NO_CONTENT, command).await
        }
    };
}

chat_action!(
    delete,
    delete,
    "/api/sessions/{session}/chats/{chatId}",
    "deleteChat",
    "Delete a chat",
    "Deletes the chat and its messages on every device of the account, and from the session's history. The \
     session gets a `chat.delete` event when WhatsApp confirms it.",
    "Deleted",
    ChatAction::Delete
);
chat_action!(
    archive,
    post,
    "/api/sessions/{session}/chats/{chatId}/archive",
    "archiveChat",
    "Archive a chat",
    "Archives the chat on every device of the account. The session gets a `chat.archive` event when WhatsApp \
     confirms it.",
    "Archived",
    ChatAction::Archive
);
chat_action!(
    unarchive,
    post,
    "/api/sessions/{session}/chats/{chatId}/unarchive",
    "unarchiveChat",
    "Unarchive a chat",
    "Takes the chat out of the archive on every device of the account. The session gets a `chat.archive` event \
     (`archived: false`) when WhatsApp confirms it.",
    "Unarchived",
    ChatAction::Unarchive
);
chat_action!(
    pin,
    post,
    "/api/sessions/{session}/chats/{chatId}/pin",
    "pinChat",
    "Pin a chat",
    "Pins the chat to the top of the account's chat list on every device (WhatsApp allows three pinned chats).",
    "Pinned",
    ChatAction::Pin
);
chat_action!(
    unpin,
    post,
    "/api/sessions/{session}/chats/{chatId}/unpin",
    "unpinChat",
    "Unpin a chat",
    "Unpins the chat on every device of the account.",
    "Unpinned",
    ChatAction::Unpin
);
chat_action!(
    unmute,
    post,
    "/api/sessions/{session}/chats/{chatId}/unmute",
    "unmuteChat",
    "Unmute a chat",
    "Unmutes the chat on every device of the account. The session gets a `chat.mute` event (`muted: false`) \
     when WhatsApp confirms it.",
    "Unmuted",
    ChatAction::Unmute
);
chat_action!(
    read,
    post,
    "/api/sessions/{session}/chats/{chatId}/read",
    "readChat",
    "Mark a chat read",
    "Marks the chat read on every device of the account and sends read receipts for its unread messages (the \
     newest 256), so their senders see them read. The chat's `unreadCount` drops to 0; the session gets a \
     `chat.read` event when WhatsApp confirms it.",
    "Read",
    ChatAction::Read
);
chat_action!(
    unread,
    post,
    "/api/sessions/{session}/chats/{chatId}/unread",
    "markChatUnread",
    "Mark a chat unread",
    "Marks the chat unread on every device of the account (`markedUnread`). The session gets a `chat.read` event \
     (`read: false`) when WhatsApp confirms it.",
    "Marked unread",
    ChatAction::Unread
);
chat_action!(
    clear,
    post,
    "/api/sessions/{session}/chats/{chatId}/clear",
    "clearChat",
    "Clear a chat",
    "Deletes the chat's messages, except starred ones, on every device of the account and from the session's \
     history; the chat stays. The session gets a `chat.clear` event when WhatsApp confirms it.",
    "Cleared",
    ChatAction::Clear
);
