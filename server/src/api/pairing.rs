//! Pairing: `GET /api/sessions/{session}/pairing/qr` (and the documented alias
//! `GET /api/{session}/pair/qr`), `POST /api/sessions/{session}/pairing/code`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pairing::{self, PairCodeData, PairCodeRequest, PairingQrData};
use crate::state::SharedState;

/// The pairing routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(qr))
        .routes(routes!(qr_alias))
        .routes(routes!(code))
}

super::binary_schema!(
    /// A PNG image, as `?format=image` answers it.
    Png = "A PNG image"
);

/// How to answer a QR request.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QrFormat {
    /// `{"data": {"qr": "data:image/png;base64,…", "code": "…"}}`.
    #[default]
    Json,
    /// The PNG image itself (`Content-Type: image/png`).
    Image,
}

/// Query of a QR request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `json` (default) or `image` for the PNG itself.
    #[param(inline)]
    pub format: Option<QrFormat>,
}

async fn answer(
    state: &SharedState,
    caller: &crate::auth::Caller,
    name: &str,
    query: QrQuery,
) -> Result<Response, ApiError> {
    let (data, png) = pairing::qr(state, caller, name).await?;
    Ok(match query.format.unwrap_or_default() {
        QrFormat::Json => Json(PairingQrData::from(data)).into_response(),
        QrFormat::Image => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
    })
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/pairing/qr", operation_id = "getPairingQr", tag = "Pairing",
    summary = "Get the pairing QR code",
    description = "Returns the QR code a started, unpaired session shows, as a PNG data URL plus the text it \
        encodes; `?format=image` returns the PNG itself. WhatsApp rotates it about every 20 seconds \
        (`expiresAt`): poll until the session is `CONNECTED`. 409 when the session is not started or is \
        already paired. Required scope: `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), QrQuery),
    responses(
        (status = 200, description = "The current QR code: JSON, or the PNG itself with `?format=image`",
            content((PairingQrData = "application/json"), (Png = "image/png"))),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn qr(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Path(name): Path<String>,
    Query(query): Query<QrQuery>,
) -> Result<Response, ApiError> {
    answer(&state, &caller, &name, query).await
}

#[utoipa::path(
    get, path = "/api/{session}/pair/qr", operation_id = "getPairQr", tag = "Pairing",
    summary = "Get the pairing QR code (short path)",
    description = "The pairing guide's path for `GET /api/sessions/{session}/pairing/qr`; same answers. \
        Required scope: `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), QrQuery),
    responses(
        (status = 200, description = "The current QR code: JSON, or the PNG itself with `?format=image`",
            content((PairingQrData = "application/json"), (Png = "image/png"))),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn qr_alias(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Path(name): Path<String>,
    Query(query): Query<QrQuery>,
) -> Result<Response, ApiError> {
    answer(&state, &caller, &name, query).await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/pairing/code", operation_id = "requestPairingCode", tag = "Pairing",
    summary = "Request a pair code",
    description = "Asks WhatsApp for an 8-character code for `phoneNumber`. On that phone: WhatsApp → Linked \
        devices → Link a device → Link with phone number instead, then type the code. The session must be \
        started and not paired (409 otherwise). Required scope: `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = PairCodeRequest,
    responses(
        (status = 200, description = "The code to type on the phone", body = PairCodeData),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the code arrives in a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn code(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    prefer: Prefer,
    Path(name): Path<String>,
    Json(body): Json<PairCodeRequest>,
) -> Result<Response, ApiError> {
    let command = pairing::code(&state, &caller, &name, body).await?;
    commands::respond(&state, prefer, &name, "requestPairingCode", StatusCode::OK, command).await
}
