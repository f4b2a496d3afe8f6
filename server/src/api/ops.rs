//! Operational endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::Json;
use crate::state::SharedState;

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// Always `ok` when the server answers 200.
    pub status: String,
}

crate::envelopes!(Health => HealthData);

impl Health {
    fn ok() -> HealthData {
        Health { status: "ok".into() }.into()
    }
}

/// The routes of this module that appear in the OpenAPI document.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "Operations",
    summary = "Liveness",
    description = "Answers 200 while the process serves HTTP. Needs no key.",
    responses(
        (status = 200, description = "The server is alive", body = HealthData),
    ),
    security(())
)]
async fn healthz() -> Json<HealthData> {
    Json(Health::ok())
}

#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "Operations",
    summary = "Readiness",
    description = "Answers 200 when the database is reachable, 503 otherwise. Needs no key.",
    responses(
        (status = 200, description = "Ready to serve", body = HealthData),
    ),
    security(())
)]
async fn readyz(State(state): State<SharedState>) -> Result<Json<HealthData>, ApiError> {
    if state.db.ping().await {
        Ok(Json(Health::ok()))
    } else {
        Err(ApiError::Status {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            message: "database unreachable".into(),
        })
    }
}

/// `GET /metrics`: Prometheus text exposition (not part of the JSON API).
pub async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render() + &state.dispatcher.metrics() + &crate::cluster::metrics(&state) + &state.db.metrics(),
    )
}
