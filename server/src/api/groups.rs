//! Groups under `/api/sessions/{session}/groups`: list, create, get, leave; name and
//! description; participants (list, add, remove, promote, demote); invite (get, revoke, preview)
//! and join.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::engine::MemberChange;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::groups::{
    self, CreateGroup, GroupData, GroupInviteData, GroupJoinRequestList, GroupListQuery, GroupPage,
    GroupParticipantList, GroupParticipants, InviteQuery, JoinGroup, JoinedGroupData, MemberResults,
    SetGroupDescription, SetGroupName, UpdateGroupSettings,
};
use crate::pictures::SetPicture;
use crate::state::SharedState;

/// The group routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, delete))
        .routes(routes!(settings))
        .routes(routes!(set_picture, remove_picture))
        .routes(routes!(leave))
        .routes(routes!(preview, join))
        .routes(routes!(set_name))
        .routes(routes!(set_description))
        .routes(routes!(participants, add, remove))
        .routes(routes!(promote))
        .routes(routes!(demote))
        .routes(routes!(invite, revoke_invite))
        .routes(routes!(join_requests))
        .routes(routes!(approve_requests))
        .routes(routes!(reject_requests))
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/groups/{groupId}", operation_id = "deleteGroup", tag = "Groups",
    summary = "Delete a group",
    description = "WhatsApp has no \"delete group\": this does what its apps do to end one. The group's creator \
        removes every other member (each gets a `group.participant` with action `left`), then leaves; the group \
        is then empty and gone from every member's list. Only the creator may (403 otherwise). Required scope: \
        `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 204, description = "Every member removed, and the creator left"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn delete(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = groups::delete(&state, &caller, &session, &group_id).await?;
    commands::respond(&state, prefer, &session, "deleteGroup", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/groups/{groupId}/settings", operation_id = "updateGroupSettings", tag = "Groups",
    summary = "Change a group's settings",
    description = "Applies each setting given (`announce`: only admins send; `locked`: only admins edit the \
        group's info; `ephemeralSeconds`: disappearing messages, 0 off; `approvalMode`: joining by invite needs \
        an admin's approval) and answers the group. Only admins may (403). Members get a `group.update`. \
        Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = UpdateGroupSettings,
    responses(
        (status = 200, description = "The group, with its settings", body = GroupData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn settings(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
    Json(body): Json<UpdateGroupSettings>,
) -> Result<Response, ApiError> {
    let command = groups::set_settings(&state, &caller, &session, &group_id, body).await?;
    commands::respond(&state, prefer, &session, "updateGroupSettings", StatusCode::OK, command).await
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/groups/{groupId}/picture", operation_id = "setGroupPicture", tag = "Groups",
    summary = "Set a group's picture",
    description = "Sets the group's picture from a JPEG, PNG or WebP given by `url` (fetched through the same \
        guard as files to send) or as `base64`; the server makes it a JPEG of at most 640 px a side. Members get a \
        `group.update` with `newPicture`. WhatsApp refuses it (403) when the group is locked and the session is \
        not an admin. Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = SetPicture,
    responses(
        (status = 204, description = "Set"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn set_picture(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
    Json(body): Json<SetPicture>,
) -> Result<Response, ApiError> {
    let command = groups::set_picture(&state, &caller, &session, &group_id, body).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "setGroupPicture",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/groups/{groupId}/picture", operation_id = "removeGroupPicture", tag = "Groups",
    summary = "Remove a group's picture",
    description = "Removes the group's picture. Members get a `group.update` with `pictureRemoved: true`. Required \
        scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn remove_picture(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = groups::remove_picture(&state, &caller, &session, &group_id).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "removeGroupPicture",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/groups/{groupId}/subject", operation_id = "setGroupSubject", tag = "Groups",
    summary = "Rename a group",
    description = "Sets the group's name (WhatsApp's subject). Members get a `group.update` with `newSubject`. \
        WhatsApp refuses it (403) when the group is locked and the session is not an admin. Required scope: \
        `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = SetGroupName,
    responses(
        (status = 204, description = "Renamed"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn set_name(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
    Json(body): Json<SetGroupName>,
) -> Result<Response, ApiError> {
    let command = groups::set_name(&state, &caller, &session, &group_id, body).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "setGroupSubject",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/groups/{groupId}/description", operation_id = "setGroupDescription", tag = "Groups",
    summary = "Set a group's description",
    description = "Sets the group's description; an empty `value` removes it. Members get a `group.update` with \
        `newDescription`. Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = SetGroupDescription,
    responses(
        (status = 204, description = "Set"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn set_description(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
    Json(body): Json<SetGroupDescription>,
) -> Result<Response, ApiError> {
    let command = groups::set_description(&state, &caller, &session, &group_id, body).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "setGroupDescription",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups/{groupId}/participants", operation_id = "listGroupParticipants", tag = "Groups",
    summary = "List a group's participants",
    description = "Every member of the group, with `phoneNumber` and `lid` when known and their admin flags, as \
        WhatsApp lists them now. Required scope: `groups:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 200, description = "The members", body = GroupParticipantList),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:read"])))
)]
async fn participants(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsRead>,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Json<GroupParticipantList>, ApiError> {
    Ok(Json(groups::participants(&state, &caller, &session, &group_id).await?))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups/{groupId}/requests", operation_id = "listGroupJoinRequests", tag = "Groups",
    summary = "List requests to join a group",
    description = "The people who asked to join through an invite while the group's `approvalMode` is on, oldest \
        first; admins approve or reject them. Only admins may list them (403). Required scope: `groups:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 200, description = "The pending requests", body = GroupJoinRequestList),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:read"])))
)]
async fn join_requests(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsRead>,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Json<GroupJoinRequestList>, ApiError> {
    Ok(Json(groups::join_requests(&state, &caller, &session, &group_id).await?))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/{groupId}/requests/approve", operation_id = "approveGroupJoinRequests", tag = "Groups",
    summary = "Approve requests to join a group",
    description = "Lets up to 256 people who asked to join in and answers what happened to each: `approved` or \
        `notFound` (no pending request). Members get a `group.participant` with them in `joined`. Only admins \
        may (403). Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = GroupParticipants,
    responses(
        (status = 200, description = "One result per participant", body = MemberResults),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn approve_requests(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(path): Path<(String, String)>,
    Json(body): Json<GroupParticipants>,
) -> Result<Response, ApiError> {
    change(
        state,
        caller,
        prefer,
        path,
        MemberChange::Approve,
        "approveGroupJoinRequests",
        body,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/{groupId}/requests/reject", operation_id = "rejectGroupJoinRequests", tag = "Groups",
    summary = "Reject requests to join a group",
    description = "Turns down up to 256 requests to join and answers what happened to each: `rejected` or \
        `notFound` (no pending request). Only admins may (403). Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = GroupParticipants,
    responses(
        (status = 200, description = "One result per participant", body = MemberResults),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn reject_requests(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(path): Path<(String, String)>,
    Json(body): Json<GroupParticipants>,
) -> Result<Response, ApiError> {
    change(
        state,
        caller,
        prefer,
        path,
        MemberChange::Reject,
        "rejectGroupJoinRequests",
        body,
    )
    .await
}

/// Applies `change` to the participants of the request, answering one result per participant.
async fn change(
    state: SharedState,
    caller: crate::auth::Caller,
    prefer: Prefer,
    (session, group_id): (String, String),
    change: MemberChange,
    operation: &'static str,
    body: GroupParticipants,
) -> Result<Response, ApiError> {
    let command = groups::change_members(&state, &caller, &session, &group_id, change, body).await?;
    commands::respond(&state, prefer, &session, operation, StatusCode::OK, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/{groupId}/participants", operation_id = "addGroupParticipants", tag = "Groups",
    summary = "Add participants",
    description = "Adds up to 256 people and answers what happened to each: `added`, `alreadyMember`, `notFound` \
        (not on WhatsApp), `inviteRequired` (their privacy settings refuse it: WhatsApp returns an invite code to \
        send them instead) or `refused`. Only admins may add. Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = GroupParticipants,
    responses(
        (status = 200, description = "One result per participant", body = MemberResults),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn add(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(path): Path<(String, String)>,
    Json(body): Json<GroupParticipants>,
) -> Result<Response, ApiError> {
    change(
        state,
        caller,
        prefer,
        path,
        MemberChange::Add,
        "addGroupParticipants",
        body,
    )
    .await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/groups/{groupId}/participants", operation_id = "removeGroupParticipants", tag = "Groups",
    summary = "Remove participants",
    description = "Removes up to 256 members and answers what happened to each: `removed`, `notFound` (not in \
        the group) or `refused` (e.g. the group's creator). Only admins may remove. Required scope: \
        `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = GroupParticipants,
    responses(
        (status = 200, description = "One result per participant", body = MemberResults),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn remove(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(path): Path<(String, String)>,
    Json(body): Json<GroupParticipants>,
) -> Result<Response, ApiError> {
    change(
        state,
        caller,
        prefer,
        path,
        MemberChange::Remove,
        "removeGroupParticipants",
        body,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/{groupId}/participants/promote", operation_id = "promoteGroupParticipants", tag = "Groups",
    summary = "Make participants admins",
    description = "Makes up to 256 members admins and answers what happened to each: `promoted` or `notFound` \
        (not in the group). Only admins may promote. Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = GroupParticipants,
    responses(
        (status = 200, description = "One result per participant", body = MemberResults),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn promote(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(path): Path<(String, String)>,
    Json(body): Json<GroupParticipants>,
) -> Result<Response, ApiError> {
    change(
        state,
        caller,
        prefer,
        path,
        MemberChange::Promote,
        "promoteGroupParticipants",
        body,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/groups/{groupId}/participants/demote", operation_id = "demoteGroupParticipants", tag = "Groups",
    summary = "Make admins plain members",
    description = "Makes up to 256 admins plain members and answers what happened to each: `demoted`, `notFound` \
        (not in the group) or `refused` (the group's creator stays an admin). Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    request_body = GroupParticipants,
    responses(
        (status = 200, description = "One result per participant", body = MemberResults),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn demote(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path(path): Path<(String, String)>,
    Json(body): Json<GroupParticipants>,
) -> Result<Response, ApiError> {
    change(
        state,
        caller,
        prefer,
        path,
        MemberChange::Demote,
        "demoteGroupParticipants",
        body,
    )
    .await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups/{groupId}/invite", operation_id = "getGroupInvite", tag = "Groups",
    summary = "Get a group's invite",
    description = "The group's invite code and link (`https://chat.whatsapp.com/{code}`); only admins may read it. \
        Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 200, description = "The invite", body = GroupInviteData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn invite(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = groups::invite(&state, &caller, &session, &group_id, false).await?;
    commands::respond(&state, prefer, &session, "getGroupInvite", StatusCode::OK, command).await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/groups/{groupId}/invite", operation_id = "revokeGroupInvite", tag = "Groups",
    summary = "Revoke a group's invite",
    description = "Revokes the current invite (its link no longer lets anyone in) and answers the new one. Only \
        admins may. Required scope: `groups:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("groupId" = String, Path, description = "The group's JID (URL-encoded)", example = "120363025246125486@g.us"),
    ),
    responses(
        (status = 200, description = "The new invite", body = GroupInviteData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:manage"])))
)]
async fn revoke_invite(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsManage>,
    prefer: Prefer,
    Path((session, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = groups::invite(&state, &caller, &session, &group_id, true).await?;
    commands::respond(&state, prefer, &session, "revokeGroupInvite", StatusCode::OK, command).await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups/join", operation_id = "previewGroupInvite", tag = "Groups",
    summary = "Preview a group before joining",
    description = "The group an invite code (or a whole `https://chat.whatsapp.com/…` link) points at: its name, \
        description, creator and participants, without joining it. Required scope: `groups:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), InviteQuery),
    responses(
        (status = 200, description = "The group the invite points at", body = GroupData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["groups:read"])))
)]
async fn preview(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::GroupsRead>,
    Path(session): Path<String>,
    Query(query): Query<InviteQuery>,
) -> Result<Json<GroupData>, ApiError> {
    Ok(Json(groups::preview(&state, &caller, &session, query).await?.into()))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/groups", operation_id = "listGroups", tag = "Groups",
    summary = "List groups",
    description = "The groups the session's account is a member of, by id, one page at a time. Titan keeps \
        the list: it reads it from WhatsApp when the session connects, and each group again after every change \
        the session makes or is told of (before that change's event is sent), so listing asks WhatsApp nothing, \
        works while the session is stopped, and survives a restart. `refresh=true` reads the whole list from \
        WhatsApp first (the session must be connected). Required scope: `groups:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), GroupListQuery),
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
    Query(query): Query<GroupListQuery>,
) -> Result<Json<GroupPage>, ApiError> {
    Ok(Json(groups::list(&state, &caller, &session, query).await?.into()))
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
    description = "A group the session's account is a member of, as WhatsApp describes it now (the copy Titan \
        keeps is updated with it; while the session is not connected, that copy is answered): name, \
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
