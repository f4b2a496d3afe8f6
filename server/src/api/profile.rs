//! The account's profile: `GET /api/sessions/{session}/profile`, and `PUT …/profile/name`,
//! `PUT …/profile/status`, `PUT` and `DELETE …/profile/picture`.

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
use crate::pictures::SetPicture;
use crate::profile::{self, ProfileData, SetAbout};
use crate::state::SharedState;

/// The profile routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(set_name))
        .routes(routes!(get))
        .routes(routes!(set_status))
        .routes(routes!(set_picture, remove_picture))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/profile", operation_id = "getProfile", tag = "Profile",
    summary = "Get the account's profile",
    description = "The account as its contacts see it: phone number, LID, display name, about text and where to \
        download its profile picture, as WhatsApp says now. Required scope: `profile:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses(
        (status = 200, description = "The profile", body = ProfileData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["profile:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ProfileRead>,
    Path(session): Path<String>,
) -> Result<Json<ProfileData>, ApiError> {
    Ok(Json(profile::get(&state, &caller, &session).await?.into()))
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/profile/status", operation_id = "setProfileStatus", tag = "Profile",
    summary = "Set the account's about text",
    description = "Sets the about text contacts see under the account's name (up to 139 characters; empty clears \
        it). Required scope: `profile:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = SetAbout,
    responses(
        (status = 204, description = "Set"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["profile:write"])))
)]
async fn set_status(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ProfileWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<SetAbout>,
) -> Result<Response, ApiError> {
    let command = profile::set_about(&state, &caller, &session, body).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "setProfileStatus",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/profile/picture", operation_id = "setProfilePicture", tag = "Profile",
    summary = "Set the account's profile picture",
    description = "Sets the profile picture from a JPEG, PNG or WebP given by `url` (fetched through the same \
        guard as files to send) or as `base64`; the server makes it a JPEG of at most 640 px a side. Required \
        scope: `profile:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = SetPicture,
    responses(
        (status = 204, description = "Set"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["profile:write"])))
)]
async fn set_picture(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ProfileWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<SetPicture>,
) -> Result<Response, ApiError> {
    let command = profile::set_picture(&state, &caller, &session, Some(body)).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "setProfilePicture",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/profile/picture", operation_id = "removeProfilePicture", tag = "Profile",
    summary = "Remove the account's profile picture",
    description = "Removes the profile picture. Required scope: `profile:write`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["profile:write"])))
)]
async fn remove_picture(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ProfileWrite>,
    prefer: Prefer,
    Path(session): Path<String>,
) -> Result<Response, ApiError> {
    let command = profile::set_picture(&state, &caller, &session, None).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "removeProfilePicture",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
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
