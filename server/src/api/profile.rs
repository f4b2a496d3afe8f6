//! The account's profile: `PUT /api/sessions/{session}/profile/name`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::messages::actions::{self, ProfileValue};
use crate::state::SharedState;

/// The profile routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(set_name))
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/profile/name", operation_id = "setProfileName", tag = "Profile",
    summary = "Set the account's display name",
    description = "Sets the push name contacts see next to the account's messages (1 to 25 characters). WhatsApp \
        needs one before the account can show its presence. Required scope: `profile:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = ProfileValue,
    responses(
        (status = 204, description = "Set"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["profile:write"])))
)]
async fn set_name(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ProfileWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<ProfileValue>,
) -> Result<Response, ApiError> {
    let command = actions::set_push_name(&state, &caller, &session, body).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "setProfileName",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}
