//! Contacts: `GET /api/sessions/{session}/contacts`, `POST …/contacts/check`, `GET …/contacts/{contactId}` and
//! `…/contacts/{contactId}/picture`,
//! `POST …/contacts/{contactId}/block|unblock` and `GET /api/sessions/{session}/blocklist`.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::response::Response;

use crate::auth::{Authorized, required};
use crate::commands::{self, AcceptedData, Prefer};
use crate::contacts::{self, CheckNumbers, ContactData, ContactPage, NumberCheckList, ProfilePictureData};
use crate::envelope::PageQuery;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::messages::actions::{self, Blocklist};
use crate::state::SharedState;

/// The contact routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(block))
        .routes(routes!(unblock))
        .routes(routes!(blocklist))
        .routes(routes!(check))
        .routes(routes!(list))
        .routes(routes!(picture))
        .routes(routes!(get))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/contacts", operation_id = "listContacts", tag = "Contacts",
    summary = "List contacts",
    description = "The people the session knows, by JID: whoever wrote to it (with the display name of their \
        latest message), whoever the account saved in its address book (with that name), and whoever \
        `POST …/contacts/check` found on WhatsApp; one entry per person whether WhatsApp named them by phone number or LID. Answered from the database: works while the \
        session is stopped; `GET …/contacts/{contactId}` asks WhatsApp for the rest. Required scope: \
        `contacts:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session"), PageQuery),
    responses((status = 200, description = "One page of contacts", body = ContactPage)),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn list(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    Path(session): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ContactPage>, ApiError> {
    Ok(Json(contacts::list(&state, &caller, &session, query).await?.into()))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/contacts/{contactId}", operation_id = "getContact", tag = "Contacts",
    summary = "Get a contact",
    description = "A contact by phone-number JID or LID: both JIDs, their about text, business name and where their \
        profile picture is, as WhatsApp gives them to the account now, and the display name (`pushName`) of their \
        latest message to the account; 404 when no account has the JID. Required scope: `contacts:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("contactId" = String, Path, description = "The contact's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses(
        (status = 200, description = "The contact", body = ContactData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    Path((session, contact)): Path<(String, String)>,
) -> Result<Json<ContactData>, ApiError> {
    Ok(Json(contacts::get(&state, &caller, &session, &contact).await?.into()))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/contacts/check", operation_id = "checkContacts", tag = "Contacts",
    summary = "Check which numbers are on WhatsApp",
    description = "Asks WhatsApp which of up to 256 phone numbers have an account, and answers one result per \
        number, in the order given: `onWhatsapp`, and for those that are, the `jid` to send to, the `lid` and \
        whether it is a business. Numbers found join `GET …/contacts`. Required scope: `contacts:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    request_body = CheckNumbers,
    responses(
        (status = 200, description = "One result per number", body = NumberCheckList),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn check(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    Path(session): Path<String>,
    Json(body): Json<CheckNumbers>,
) -> Result<Json<NumberCheckList>, ApiError> {
    Ok(Json(contacts::check(&state, &caller, &session, body).await?))
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/contacts/{contactId}/picture", operation_id = "getContactPicture", tag = "Contacts",
    summary = "Get a contact's profile picture",
    description = "Where to download the contact's profile picture (WhatsApp's CDN; the link expires) and its id, \
        which changes with the picture; 404 when the contact has none or hides it from the account. Required \
        scope: `contacts:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("contactId" = String, Path, description = "The contact's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses(
        (status = 200, description = "The picture", body = ProfilePictureData),
        (status = 502, description = "WhatsApp did not answer", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn picture(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    Path((session, contact)): Path<(String, String)>,
) -> Result<Json<ProfilePictureData>, ApiError> {
    Ok(Json(
        contacts::picture(&state, &caller, &session, &contact).await?.into(),
    ))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/contacts/{contactId}/block", operation_id = "blockContact", tag = "Contacts",
    summary = "Block a contact",
    description = "Blocks a contact: they can no longer message or call the account. A `blocklist.update` event is \
        written. Required scope: `contacts:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("contactId" = String, Path, description = "The contact's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses(
        (status = 204, description = "Blocked"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:manage"])))
)]
async fn block(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsManage>,
    prefer: Prefer,
    Path((session, contact)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = actions::set_blocked(&state, &caller, &session, &contact, true).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "blockContact",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/contacts/{contactId}/unblock", operation_id = "unblockContact", tag = "Contacts",
    summary = "Unblock a contact",
    description = "Unblocks a contact. A `blocklist.update` event is written. Required scope: `contacts:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("contactId" = String, Path, description = "The contact's JID (URL-encoded)", example = "5511999999999@s.whatsapp.net"),
    ),
    responses(
        (status = 204, description = "Unblocked"),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the outcome arrives as a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:manage"])))
)]
async fn unblock(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsManage>,
    prefer: Prefer,
    Path((session, contact)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let command = actions::set_blocked(&state, &caller, &session, &contact, false).await?;
    commands::respond(
        &state,
        prefer,
        &session,
        "unblockContact",
        StatusCode::NO_CONTENT,
        command,
    )
    .await
}

#[utoipa::path(
    get, path = "/api/sessions/{session}/blocklist", operation_id = "getBlocklist", tag = "Contacts",
    summary = "List blocked contacts",
    description = "The contacts the account has blocked, as WhatsApp reports them now. Required scope: `contacts:read`.",
    params(("session" = String, Path, description = "Session name", example = "my-session")),
    responses(
        (status = 200, description = "Every blocked contact", body = Blocklist),
        (status = 202, description = "Accepted (`Prefer: respond-async`): the list arrives in a `command.result` event", body = AcceptedData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["contacts:read"])))
)]
async fn blocklist(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::ContactsRead>,
    prefer: Prefer,
    Path(session): Path<String>,
) -> Result<Response, ApiError> {
    let command = actions::blocklist(&state, &caller, &session).await?;
    commands::respond(&state, prefer, &session, "getBlocklist", StatusCode::OK, command).await
}
