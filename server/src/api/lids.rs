//! LID lookups: `GET /api/sessions/{session}/lids/{lid}` and `GET …/lids/pn/{phoneNumber}`.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::contacts::{self, LidMappingData};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::SharedState;

/// The LID routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(by_lid)).routes(routes!(by_phone))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/lids/{lid}", operation_id = "getLidPhoneNumber", tag = "LIDs",
    summary = "Find the phone number behind a LID",
    description = "The phone number of the account a LID names: from what the session has learned (messages, \
        groups, earlier lookups), else asked of WhatsApp; 404 when no account has it. Required scope: \
        `contacts:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("lid" = String, Path, description = "The LID, `<digits>@lid` (URL-encoded)", example = "123456789@lid"),
    ),
    responses(
        (status = 200, description = "The LID and its phone number", body = LidMappingData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn by_lid(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    Path((session, lid)): Path<(String, String)>,
) -> Result<Json<LidMappingData>, ApiError> {
    Ok(Json(contacts::by_lid(&state, &caller, &session, &lid).await?.into()))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/lids/pn/{phoneNumber}", operation_id = "getLidByPhoneNumber", tag = "LIDs",
    summary = "Find the LID of a phone number",
    description = "The LID of the account a phone number belongs to: from what the session has learned, else \
        asked of WhatsApp; 404 when the number is not on WhatsApp. Required scope: `contacts:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("phoneNumber" = String, Path, description = "The phone number, 7 to 15 digits, `+` optional (URL-encoded)", example = "5511999999999"),
    ),
    responses(
        (status = 200, description = "The LID and its phone number", body = LidMappingData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn by_phone(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    Path((session, phone_number)): Path<(String, String)>,
) -> Result<Json<LidMappingData>, ApiError> {
    Ok(Json(
        contacts::by_phone(&state, &caller, &session, &phone_number)
            .await?
            .into(),
    ))
}
