//! Groups: `POST /api/sessions/{session}/groups/join`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::groups::{self, JoinGroup, JoinedGroupData};
use crate::state::SharedState;

/// The group routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(join))
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
