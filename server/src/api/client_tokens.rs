//! Client tokens: a session's client rules under `/api/sessions/{session}/client-rules`, and
//! `POST /api/client-tokens` to mint a token for a browser.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::client_tokens::{self, ClientRulesData, ClientTokenData, MintClientToken, SetClientRules};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::SharedState;

/// The client-token routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(get_rules, set_rules, delete_rules))
        .routes(routes!(mint))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/client-rules", operation_id = "getClientRules", tag = "Client tokens",
    summary = "Get a session's client rules",
    description = "What client tokens of the session may do: actions, recipients, per-minute and daily limits, \
        browser origins, and whether they work at all. 404 when the session has none (its tokens are refused). \
        Required scope: `sessions:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses((status = 200, description = "The rules", body = ClientRulesData)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:read"])))
)]
async fn get_rules(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsRead>,
    Path(session): Path<String>,
) -> Result<Json<ClientRulesData>, ApiError> {
    Ok(Json(client_tokens::rules(&state, &caller, &session).await?.into()))
}

#[utoipa::path(
    put, path = "/api/sessions/{session}/client-rules", operation_id = "setClientRules", tag = "Client tokens",
    summary = "Set a session's client rules",
    description = "Sets (or replaces) what client tokens of the session may do. Tokens carry no permission of their \
        own: every call made with one reads these rules again, so a change applies at once to tokens already \
        handed out. `allowedActions` opens routes: `send_message` (POST …/messages/send), `send_reaction` \
        (…/messages/react), `send_typing` (…/messages/typing), `send_seen` (…/messages/seen), `read_presence` \
        (GET …/presence, …/presence/{chatId}), `subscribe_presence` (POST …/presence/{chatId}/subscribe), \
        `read_contact` (GET …/contacts, …/contacts/{contactId}, its picture, POST …/contacts/check). A call from \
        a browser origin outside `allowedOrigins` is refused (403), and so are CORS preflights from it. \
        Required scope: `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = SetClientRules,
    responses((status = 200, description = "The rules as set", body = ClientRulesData)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn set_rules(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Path(session): Path<String>,
    Json(body): Json<SetClientRules>,
) -> Result<Json<ClientRulesData>, ApiError> {
    Ok(Json(
        client_tokens::set_rules(&state, &caller, &session, body).await?.into(),
    ))
}

#[utoipa::path(
    delete, path = "/api/sessions/{session}/client-rules", operation_id = "deleteClientRules", tag = "Client tokens",
    summary = "Delete a session's client rules",
    description = "Revokes every client token of the session: from the next call on they are refused, and they \
        stay refused if rules are set again (mint new ones). 404 when the session has no rules. Required scope: \
        `sessions:manage`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses((status = 204, description = "Deleted")),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn delete_rules(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Path(session): Path<String>,
) -> Result<Response, ApiError> {
    client_tokens::delete_rules(&state, &caller, &session).await?;
    Ok(crate::http::no_content())
}

#[utoipa::path(
    post, path = "/api/client-tokens", operation_id = "createClientToken", tag = "Client tokens",
    summary = "Mint a client token",
    description = "Mints a short-lived token (`titan_ct_…`, a JWT signed HS256 with the server's secret key) for a \
        browser, bound to one session and your `ephemeralId` for its holder. The browser sends it as \
        `Authorization: Bearer titan_ct_…`; it reaches only what the session's client rules allow, and its \
        limits count per `ephemeralId`. 409 when the session has no client rules or they are disabled. A client \
        token cannot mint tokens, read rules or call anything else. Required scope: `sessions:manage`.",
    request_body = MintClientToken,
    responses(
        (status = 201, description = "The token", body = ClientTokenData),
        (status = 404, description = "No session has this name", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["sessions:manage"])))
)]
async fn mint(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::SessionsManage>,
    Json(body): Json<MintClientToken>,
) -> Result<(StatusCode, Json<ClientTokenData>), ApiError> {
    let token = client_tokens::mint(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(token.into())))
}
