//! WhatsApp channels (newsletters) under `/api/sessions/{session}/channels`: list and create;
//! read, rename and delete one; look one up by invite code; follow, unfollow, mute and unmute.
//! Posting is the unified send with the channel's id as `chatId`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::channels::{self, ChannelAction, ChannelData, ChannelList, CreateChannel, UpdateChannel};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::SharedState;

/// The channel routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(by_invite))
        .routes(routes!(follow))
        .routes(routes!(unfollow))
        .routes(routes!(mute))
        .routes(routes!(unmute))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/channels", operation_id = "listChannels", tag = "Channels",
    summary = "List channels",
    description = "The channels the account owns or follows, as WhatsApp lists them now (one page). 409 when the session is not connected. Required scope: `channels:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses(
        (status = 200, description = "The channels", body = ChannelList),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsRead>,
    Path(session): Path<String>,
) -> Result<Json<ChannelList>, ApiError> {
    Ok(Json(channels::list(&state, &caller, &session).await?))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/channels", operation_id = "createChannel", tag = "Channels",
    summary = "Create a channel",
    description = "Creates a channel owned by the session's account and answers it with its invite link. Post to it with the unified send and the channel's `id` as `chatId`. Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = CreateChannel,
    responses(
        (status = 201, description = "The new channel", body = ChannelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn create(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<CreateChannel>,
) -> Result<Response, ApiError> {
    let command = channels::create(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "createChannel", StatusCode::CREATED, command).await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/channels/{channelId}", operation_id = "getChannel", tag = "Channels",
    summary = "Get a channel",
    description = "The channel as WhatsApp describes it to the account (its `role`: owner, admin, subscriber or guest). 404 when WhatsApp has no such channel. Required scope: `channels:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    responses(
        (status = 200, description = "The channel", body = ChannelData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsRead>,
    Path((session, channel_id)): Path<(String, String)>,
) -> Result<Json<ChannelData>, ApiError> {
    Ok(Json(
        channels::get(&state, &caller, &session, &channel_id).await?.into(),
    ))
}

#[utoipa::path(
    patch, path = "/api/sessions/{session}/channels/{channelId}", operation_id = "updateChannel", tag = "Channels",
    summary = "Rename or redescribe a channel",
    description = "Gives the channel a new `name`, a new `description`, or both, and answers it; its followers get a `newsletter.update` event. Only its owner and admins can (403 otherwise). Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    request_body = UpdateChannel,
    responses(
        (status = 200, description = "The channel", body = ChannelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn update(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path((session, channel_id)): Path<(String, String)>,
    Json(body): Json<UpdateChannel>,
) -> Result<Response, ApiError> {
    let command = channels::update(&state, &caller, &session, &channel_id, body).await?;
    commands::respond(&state, prefer, &session, "updateChannel", StatusCode::OK, command).await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/channels/{channelId}", operation_id = "deleteChannel", tag = "Channels",
    summary = "Delete a channel",
    description = "Deletes the channel for good. Only its owner can (403 otherwise: a follower unfollows instead). Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn delete(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path((session, channel_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = channels::delete(&state, &caller, &session, &channel_id).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "deleteChannel",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/channels/invite/{code}", operation_id = "getChannelByInvite", tag = "Channels",
    summary = "Look a channel up by invite code",
    description = "The channel an invite link (`https://whatsapp.com/channel/<code>`) opens, before following it. 404 when the code opens none. Required scope: `channels:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("code" = String, Path, description = "The invite code", example = "0029VaABCDEF")),
    responses(
        (status = 200, description = "The channel", body = ChannelData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:read"])))
)]
async fn by_invite(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsRead>,
    Path((session, code)): Path<(String, String)>,
) -> Result<Json<ChannelData>, ApiError> {
    Ok(Json(
        channels::by_invite(&state, &caller, &session, &code).await?.into(),
    ))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/channels/{channelId}/follow", operation_id = "followChannel", tag = "Channels",
    summary = "Follow a channel",
    description = "Follows the channel: its posts arrive as `message.received` with the channel's id as `chatId`. Answers the channel. Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    responses(
        (status = 200, description = "The channel", body = ChannelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn follow(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path((session, channel_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = channels::follow(&state, &caller, &session, &channel_id).await?;
    commands::respond(&state, prefer, &session, "followChannel", StatusCode::OK, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/channels/{channelId}/unfollow", operation_id = "unfollowChannel", tag = "Channels",
    summary = "Unfollow a channel",
    description = "Stops following the channel: its posts no longer arrive. Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    responses(
        (status = 204, description = "Done"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn unfollow(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path((session, channel_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = channels::act(&state, &caller, &session, &channel_id, ChannelAction::Unfollow).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "unfollowChannel",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/channels/{channelId}/mute", operation_id = "muteChannel", tag = "Channels",
    summary = "Mute a channel",
    description = "Silences the channel's notifications on the account's devices; its posts still arrive. Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    responses(
        (status = 204, description = "Done"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn mute(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path((session, channel_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = channels::act(&state, &caller, &session, &channel_id, ChannelAction::Mute).await?;
    commands::respond(&state, prefer, &session, "muteChannel", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/channels/{channelId}/unmute", operation_id = "unmuteChannel", tag = "Channels",
    summary = "Unmute a channel",
    description = "Lets the channel's notifications sound again on the account's devices. Required scope: `channels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"),
        ("channelId" = String, Path, description = "The channel's JID (URL-encoded)", example = "120363012345678901@newsletter")),
    responses(
        (status = 204, description = "Done"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["channels:manage"])))
)]
async fn unmute(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ChannelsManage>,
    prefer: Prefer,
    Path((session, channel_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = channels::act(&state, &caller, &session, &channel_id, ChannelAction::Unmute).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "unmuteChannel",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}
