//! Groups: `GET` and `POST /api/sessions/{session}/groups`, `GET …/groups/{groupId}`,
//! `POST …/groups/{groupId}/leave` and `POST …/groups/join`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::envelope::PageQuery;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::groups::{self, CreateGroup, GroupData, GroupPage, JoinGroup, JoinedGroupData};
use crate::state::SharedState;

/// The group routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get))
        .routes(routes!(leave))
        .routes(routes!(join))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups", operation_id = "listGroups", tag = "Groups",
    summary = "List groups",
    description = "The groups the session's account is a member of, by id, one page at a time, as WhatsApp \
        lists them now (the session must be connected). Required scope: `groups:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), PageQuery),
    responses(
        (status = 200, description = "One page of groups", body = GroupPage),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsRead>,
    Path(session): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<GroupPage>, ApiError> {
    Ok(Json(groups::list(&state, &caller, &session, page.into()).await?.into()))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups", operation_id = "createGroup", tag = "Groups",
    summary = "Create a group",
    description = "Creates a group with the session's account as its creator (and super admin) and the given \
        participants as members. WhatsApp leaves out anyone who is not on WhatsApp: the answer's `participants` \
        say who is in. Members get a `group.update` (action `created`) from WhatsApp. Required scope: \
        `groups:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = CreateGroup,
    responses(
        (status = 201, description = "The new group", body = GroupData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn create(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<CreateGroup>,
) -> Result<Response, ApiError> {
    let command = groups::create(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "createGroup", StatusCode::CREATED, command).await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups/{groupId}", operation_id = "getGroup", tag = "Groups",
    summary = "Get a group",
    description = "A group the session's account is a member of, as WhatsApp describes it now: name, \
        description, creator, creation time, participants with their admin flags, and settings. 404 when the \
        group does not exist or the account is not in it, 403 when WhatsApp refuses it. Required scope: \
        `groups:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 200, description = "The group", body = GroupData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsRead>,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Json<GroupData>, ApiError> {
    Ok(Json(groups::get(&state, &caller, &session, &group_id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/{groupId}/leave", operation_id = "leaveGroup", tag = "Groups",
    summary = "Leave a group",
    description = "Takes the session's account out of the group; the other members get a `group.participant` \
        (action `left`). 404 when the account is not in the group. Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 204, description = "Left"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn leave(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = groups::leave(&state, &caller, &session, &group_id).await?;
    commands::respond(&state, prefer, &session, "leaveGroup", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/join", operation_id = "joinGroup", tag = "Groups",
    summary = "Join a group by invite",
    description = "Joins the group an invite code (or a whole `https://chat.whatsapp.com/…` link) points at. Once \
        the session is a member, a `group.update` event with action `joined` is written; a group that requires \
        approval answers `pendingApproval`. Required scope: `groups:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = JoinGroup,
    responses(
        (status = 200, description = "The group, and whether the session is in or waiting for approval", body = JoinedGroupData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn join(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<JoinGroup>,
) -> Result<Response, ApiError> {
    let command = groups::join(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "joinGroup", StatusCode::OK, command).await
}
