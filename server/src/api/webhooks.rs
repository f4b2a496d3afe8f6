//! `/api/webhooks`: create, read, change and delete webhooks; their delivery log and manual retry.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::envelope::PageQuery;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::SharedState;
use crate::webhooks::{
    self, CreateWebhook, DeliveryData, DeliveryPage, DeliveryQuery, UpdateWebhook, WebhookData, WebhookPage,
};

/// The webhook routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
        .routes(routes!(deliveries))
        .routes(routes!(retry))
}

#[utoipa::path(
    post, path = "/api/webhooks", operation_id = "createWebhook", tag = "Webhooks",
    summary = "Create a webhook",
    description = "Registers a URL that receives events as signed POSTs (`X-Webhook-Signature: sha256=<hex \
        HMAC-SHA256 of the raw body>`, plus the Standard Webhooks headers `webhook-id`, `webhook-timestamp`, \
        `webhook-signature`). The response shows `hmacKey` this once; it is generated when not given. The URL \
        must resolve to public addresses. Required scope: `webhooks:manage`.",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The new webhook, with its hmacKey", body = WebhookData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn create(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Json(body): Json<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookData>), ApiError> {
    let webhook = webhooks::create(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

#[utoipa::path(
    get, path = "/api/webhooks", operation_id = "listWebhooks", tag = "Webhooks",
    summary = "List webhooks",
    description = "Lists the webhooks the key may see, oldest first. Required scope: `webhooks:manage`.",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of webhooks", body = WebhookPage),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Query(page): Query<PageQuery>,
) -> Result<Json<WebhookPage>, ApiError> {
    Ok(Json(webhooks::list(&state, &caller, page.into()).await?.into()))
}

#[utoipa::path(
    get, path = "/api/webhooks/{id}", operation_id = "getWebhook", tag = "Webhooks",
    summary = "Get a webhook",
    description = "Returns a webhook (without its key). Required scope: `webhooks:manage`.",
    params(("id" = String, Path, description = "Webhook id", example = "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9")),
    responses(
        (status = 200, description = "The webhook", body = WebhookData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<Json<WebhookData>, ApiError> {
    Ok(Json(webhooks::get(&state, &caller, &id).await?.into()))
}

#[utoipa::path(
    patch, path = "/api/webhooks/{id}", operation_id = "updateWebhook", tag = "Webhooks",
    summary = "Update a webhook",
    description = "Changes a webhook: URL, filters, headers, retries, `enabled`, or its key (`hmacKey`, shown \
        in this response only). A disabled webhook is sent nothing; its queued deliveries resume when it is \
        enabled again. Required scope: `webhooks:manage`.",
    params(("id" = String, Path, description = "Webhook id", example = "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The updated webhook", body = WebhookData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn update(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Path(id): Path<String>,
    Json(body): Json<UpdateWebhook>,
) -> Result<Json<WebhookData>, ApiError> {
    Ok(Json(webhooks::update(&state, &caller, &id, body).await?.into()))
}

#[utoipa::path(
    delete, path = "/api/webhooks/{id}", operation_id = "deleteWebhook", tag = "Webhooks",
    summary = "Delete a webhook",
    description = "Deletes a webhook with its queued deliveries and its delivery log. Required scope: \
        `webhooks:manage`.",
    params(("id" = String, Path, description = "Webhook id", example = "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9")),
    responses(
        (status = 204, description = "Deleted"),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn delete(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    webhooks::delete(&state, &caller, &id).await?;
    Ok(crate::http::no_content())
}

#[utoipa::path(
    get, path = "/api/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "Webhooks",
    summary = "List a webhook's deliveries",
    description = "The delivery log, newest first: each event sent (or to send) to this webhook, its state \
        (`pending`, `delivered`, `dead`), attempts, and the last attempt's status code, latency and error. \
        Required scope: `webhooks:manage`.",
    params(("id" = String, Path, description = "Webhook id", example = "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9"), DeliveryQuery),
    responses(
        (status = 200, description = "One page of deliveries", body = DeliveryPage),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn deliveries(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Path(id): Path<String>,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    Ok(Json(webhooks::deliveries(&state, &caller, &id, query).await?.into()))
}

#[utoipa::path(
    post, path = "/api/webhooks/{id}/deliveries/{deliveryId}/retry", operation_id = "retryWebhookDelivery",
    tag = "Webhooks",
    summary = "Retry a delivery",
    description = "Queues a delivery again, whatever its state, with a fresh round of attempts, at the head \
        of its lane. Required scope: `webhooks:manage`.",
    params(
        ("id" = String, Path, description = "Webhook id", example = "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9"),
        ("deliveryId" = String, Path, description = "Delivery id", example = "dlv_01JZ8X6V3QW8T9N6F4C2B1A0Z9"),
    ),
    responses(
        (status = 200, description = "The delivery, pending again", body = DeliveryData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn retry(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Json<DeliveryData>, ApiError> {
    Ok(Json(webhooks::retry(&state, &caller, &id, &delivery).await?.into()))
}
