//! WhatsApp Business labels under `/api/sessions/{session}/labels`: list and create; rename,
//! recolour and delete one; put it on chats and take it off them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::labels::{self, CreateLabel, LabelChats, LabelData, LabelList, UpdateLabel};
use crate::state::SharedState;

/// The label routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(label_chats, unlabel_chats))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/labels", operation_id = "listLabels", tag = "Labels",
    summary = "List labels",
    description = "The account's WhatsApp Business labels with the chats each is on, as the session keeps them \
        from the account's app state (WhatsApp has no \"list labels\": labels made on the phone appear here as \
        the session hears of them). Answered from the database. Required scope: `labels:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses((status = 200, description = "Every label", body = LabelList)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["labels:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::LabelsRead>,
    Path(session): Path<String>,
) -> Result<Json<LabelList>, ApiError> {
    Ok(Json(labels::list(&state, &caller, &session).await?))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/labels", operation_id = "createLabel", tag = "Labels",
    summary = "Create a label",
    description = "Creates a label on every device of the account (WhatsApp Business), under the next free id. The \
        session gets a `labels.update` event when WhatsApp confirms it. Required scope: `labels:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = CreateLabel,
    responses(
        (status = 201, description = "The new label", body = LabelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["labels:manage"])))
)]
async fn create(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::LabelsManage>,
    prefer: Prefer,
    Path(session): Path<String>,
    Json(body): Json<CreateLabel>,
) -> Result<Response, ApiError> {
    let command = labels::create(&state, &caller, &session, body).await?;
    commands::respond(&state, prefer, &session, "createLabel", StatusCode::CREATED, command).await
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/labels/{labelId}", operation_id = "updateLabel", tag = "Labels",
    summary = "Rename or recolour a label",
    description = "Gives the label a new `name`, a new `color`, or both, on every device of the account, and \
        answers it (a body with neither changes nothing). 404 when the session has no such label. \
        Required scope: `labels:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("labelId" = String, Path, description = "The label's id", example = "3"),
    ),
    request_body = UpdateLabel,
    responses(
        (status = 200, description = "The label", body = LabelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["labels:manage"])))
)]
async fn update(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::LabelsManage>,
    prefer: Prefer,
    Path((session, label_id)): Path<(String, String)>,
    Json(body): Json<UpdateLabel>,
) -> Result<Response, ApiError> {
    let command = labels::update(&state, &caller, &session, &label_id, body).await?;
    commands::respond(&state, prefer, &session, "updateLabel", StatusCode::OK, command).await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/labels/{labelId}", operation_id = "deleteLabel", tag = "Labels",
    summary = "Delete a label",
    description = "Deletes the label on every device of the account; it comes off every chat. 404 when the session \
        has no such label. Required scope: `labels:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("labelId" = String, Path, description = "The label's id", example = "3"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["labels:manage"])))
)]
async fn delete(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::LabelsManage>,
    prefer: Prefer,
    Path((session, label_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = labels::delete(&state, &caller, &session, &label_id).await?;
    commands::respond(&state, prefer, &session, "deleteLabel", StatusCode::NO_CONTENT, command).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/labels/{labelId}/chats", operation_id = "labelChats", tag = "Labels",
    summary = "Put a label on chats",
    description = "Puts the label on up to 100 chats, on every device of the account, and answers the label. Each \
        chat gives a `labels.update` event (`labeled: true`) when WhatsApp confirms it. Required scope: \
        `labels:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("labelId" = String, Path, description = "The label's id", example = "3"),
    ),
    request_body = LabelChats,
    responses(
        (status = 200, description = "The label, with its chats", body = LabelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["labels:manage"])))
)]
async fn label_chats(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::LabelsManage>,
    prefer: Prefer,
    Path((session, label_id)): Path<(String, String)>,
    Json(body): Json<LabelChats>,
) -> Result<Response, ApiError> {
    let command = labels::label_chats(&state, &caller, &session, &label_id, body, true).await?;
    commands::respond(&state, prefer, &session, "labelChats", StatusCode::OK, command).await
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/labels/{labelId}/chats", operation_id = "unlabelChats", tag = "Labels",
    summary = "Take a label off chats",
    description = "Takes the label off up to 100 chats, on every device of the account, and answers the label. \
        Each chat gives a `labels.update` event (`labeled: false`) when WhatsApp confirms it. Required scope: \
        `labels:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("labelId" = String, Path, description = "The label's id", example = "3"),
    ),
    request_body = LabelChats,
    responses(
        (status = 200, description = "The label, with its chats", body = LabelData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["labels:manage"])))
)]
async fn unlabel_chats(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::LabelsManage>,
    prefer: Prefer,
    Path((session, label_id)): Path<(String, String)>,
    Json(body): Json<LabelChats>,
) -> Result<Response, ApiError> {
    let command = labels::label_chats(&state, &caller, &session, &label_id, body, false).await?;
    commands::respond(&state, prefer, &session, "unlabelChats", StatusCode::OK, command).await
}
