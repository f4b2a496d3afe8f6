//! `/api/sessions`: create, read, change, delete, start, stop, restart and log out sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::envelope::PageQuery;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::sessions::{self, Action, CreateSession, SessionData, SessionPage, UpdateSession};
use crate::state::SharedState;

/// The session routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
        .routes(routes!(start))
        .routes(routes!(stop))
        .routes(routes!(restart))
        .routes(routes!(logout))
}

#[utoipa::path(
    post, path = "/api/sessions", operation_id = "createSession", tag = "Sessions",
    summary = "Create a session",
    description = "Creates a session: one WhatsApp number to link. It starts `DISCONNECTED`, or `CONNECTING` \
        when `start` is true, and then waits for a pairing (QR code or pair code). 409 if the name is taken. \
        Required scope: `sessions:manage`.",
    request_body = CreateSession,
    responses(
        (status = 201, description = "The new session", body = SessionData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn create(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Json(body): Json<CreateSession>,
) -> Result<(StatusCode, Json<SessionData>), ApiError> {
    let session = sessions::create(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

#[utoipa::path(
    get, path = "/api/sessions", operation_id = "listSessions", tag = "Sessions",
    summary = "List sessions",
    description = "Lists the sessions the key may use, by name, one page at a time. Required scope: `sessions:read`.",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of sessions", body = SessionPage),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsRead>,
    Query(page): Query<PageQuery>,
) -> Result<Json<SessionPage>, ApiError> {
    Ok(Json(sessions::list(&state, &caller, page.into()).await?.into()))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}", operation_id = "getSession", tag = "Sessions",
    summary = "Get a session",
    description = "Returns a session with its status, the reason for it, and the linked account. \
        Required scope: `sessions:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses(
        (status = 200, description = "The session", body = SessionData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsRead>,
    Path(name): Path<String>,
) -> Result<Json<SessionData>, ApiError> {
    Ok(Json(sessions::get(&state, &caller, &name).await?.into()))
}

#[utoipa::path(
    patch, path = "/api/sessions/{session}", operation_id = "updateSession", tag = "Sessions",
    summary = "Update a session",
    description = "Changes a session's proxy or settings. A running session uses them from its next \
        start or restart. Required scope: `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = UpdateSession,
    responses(
        (status = 200, description = "The updated session", body = SessionData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn update(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Path(name): Path<String>,
    Json(body): Json<UpdateSession>,
) -> Result<Json<SessionData>, ApiError> {
    Ok(Json(sessions::update(&state, &caller, &name, body).await?.into()))
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}", operation_id = "deleteSession", tag = "Sessions",
    summary = "Delete a session",
    description = "Logs the session out, which removes it from the phone's Linked Devices, wipes its \
        keys and deletes it with its message history. A paired session that is stopped connects for \
        this (up to 15 s); if WhatsApp cannot be reached it is deleted anyway and stays listed on the \
        phone until removed there. Required scope: `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses(
        (status = 204, description = "Deleted"),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn delete(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    sessions::delete(&state, &caller, &name).await?;
    Ok(crate::http::no_content())
}

/// Declares one lifecycle endpoint (`POST /api/sessions/{session}/<verb>`).
macro_rules! lifecycle {
    ($handler:ident, $path:literal, $operation:literal, $summary:literal, $description:literal, $action:expr) => {
        #[utoipa::path(
            post, path = $path, operation_id = $operation, tag = "Sessions",
            summary = $summary,
            description = concat!($description, " Required scope: `sessions:manage`."),
            params(("session" = String, Path, description = "Session name", example = "my-session")),
            responses(
                (status = 200, description = "The session afterwards", body = SessionData),
                (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
            ),
            security(("apiKey" = [])),
            extensions(("x-scopes" = json!(["sessions:manage"])))
        )]
        async fn $handler(
            State(state): State<SharedState>,
            Authorized(caller, _): Authorized<required::SessionsManage>,
            prefer: Prefer,
            Path(name): Path<String>,
        ) -> Result<Response, ApiError> {
            let command = sessions::act(&state, &caller, &name, $action).await?;
            commands::respond(&state, prefer, &name, $operation, StatusCode::OK, command).await
        }
    };
}

lifecycle!(
    start,
    "/api/sessions/{session}/start",
    "startSession",
    "Start a session",
    "Starts the session: it connects with its stored keys, or waits for a pairing (`CONNECTING`/`SCAN_QR`). \
     Starting a running session changes nothing.",
    Action::Start
);
lifecycle!(
    stop,
    "/api/sessions/{session}/stop",
    "stopSession",
    "Stop a session",
    "Stops the session after flushing its state; it stays linked and `DISCONNECTED`/`MANUAL_STOP` until started again.",
    Action::Stop
);
lifecycle!(
    restart,
    "/api/sessions/{session}/restart",
    "restartSession",
    "Restart a session",
    "Stops the session (with its flush) and starts it again, with its current proxy and settings.",
    Action::Restart
);
lifecycle!(
    logout,
    "/api/sessions/{session}/logout",
    "logoutSession",
    "Log a session out",
    "Unlinks the session from the phone (a stopped session connects for this, up to 15 s), stops \
     it and wipes its keys: `DISCONNECTED`/`LOGGED_OUT`. Start it again to pair another account.",
    Action::Logout
);
