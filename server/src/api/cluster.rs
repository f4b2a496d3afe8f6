//! `GET /admin/cluster`: the servers sharing this database and the sessions each runs.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cluster::{self, ClusterData};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::SharedState;

/// The cluster route (master key).
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(get))
}

#[utoipa::path(
    get, path = "/admin/cluster", operation_id = "adminGetCluster", tag = "Admin",
    summary = "List the servers and their sessions",
    description = "The servers sharing this PostgreSQL database (`mode: cluster`), oldest first: each one's \
        forwarding address, heartbeat age, whether it delivers the webhooks, and the sessions whose lease it \
        holds with their fencing token and lease age. A server silent past `leaseTtlMs` is presumed dead: \
        the others take its sessions over. On SQLite (`mode: single`) this server is the only one and lists \
        the sessions it runs. Authenticated with the master key (`MASTER_KEY`); off when the server has none.",
    responses(
        (status = 200, description = "The servers and their sessions", body = ClusterData),
    ),
    security(("masterKey" = [])),
    extensions(("x-scopes" = json!([])))
)]
async fn get(State(state): State<SharedState>) -> Result<Json<ClusterData>, ApiError> {
    Ok(Json(cluster::view(&state).await?.into()))
}
