//! The admin HTTP API: it plays the phone (scan a QR code) and manages accounts.

use std::sync::Arc;

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use wacore_binary::builder::NodeBuilder;

use crate::app_state::{AppStateEntry, ChangeError, PhoneChange};
use crate::conn;
use crate::media_retry::{PhoneSend, PhoneSent};
use crate::phone::{self, QrCode};
use crate::state::{Command, Device, Offer, Pending, Restriction, Shared};

/// An admin request that failed, answered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Nothing matches.
    #[error("{0}")]
    NotFound(String),
    /// The emulator failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(serde_json::json!({"error": self.to_string()}))).into_response()
    }
}

/// Body of `POST /admin/scan-qr`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanRequest {
    /// The QR string the companion shows.
    pub qr: String,
    /// The phone number that scans it; omitted: the number of a device registered with the
    /// companion's push name, else a new number.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Body of `POST /admin/pair-code`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairCodeRequest {
    /// The phone number the companion asked a code for.
    pub phone: String,
    /// The 8-character code the companion shows (case and a middle dash are ignored).
    pub code: String,
}

/// A device linked by a scan or a pair code.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linked {
    /// The account's phone number.
    pub phone: String,
    /// The new device's id.
    pub device: u32,
    /// `phone:device@s.whatsapp.net`.
    pub jid: String,
    /// The account's LID.
    pub lid: String,
}

/// An account as the admin API lists it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// Phone number.
    pub phone: String,
    /// LID user.
    pub lid: String,
    /// Linked companion device ids.
    pub devices: Vec<u32>,
}

/// The admin routes.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/admin/accounts", get(list_accounts))
        .route("/admin/media-ca.pem", get(media_ca))
        .route("/admin/stats", get(stats_json))
        .route("/admin/scan-qr", post(scan_json))
        .route("/admin/mock-phone/scan-qr", post(scan_text))
        .route("/admin/pair-code", post(enter_pair_code))
        .route("/admin/faults", post(inject_json))
        .route("/admin/accounts/{phone}/devices/{device}", delete(unlink_device))
        .route("/admin/accounts/{phone}/ban", post(ban_account))
        .route("/admin/accounts/{phone}/refuse-logins", post(refuse).delete(allow))
        .route(
            "/admin/accounts/{phone}/refuse-key-fetches",
            post(refuse_key_fetches_json),
        )
        .route(
            "/admin/accounts/{phone}/app-state",
            get(read_app_state).post(phone_changes_app_state),
        )
        .route(
            "/admin/accounts/{phone}/groups/{group}/subject",
            post(phone_renames_group),
        )
        .route("/admin/accounts/{phone}/phone-sends", post(phone_sends_file))
        .route("/admin/media/expire", post(expire_media))
}

/// A fault to inflict on a logged-in device's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// `<stream:error code="515"/>`: the client must reconnect at once.
    StreamError515,
    /// `<stream:error code="503"/>`: service unavailable; the client reconnects.
    StreamError503,
    /// Close the socket without a word.
    Drop,
    /// `<stream:error><conflict type="replaced"/>`: another client took over the session.
    Replaced,
    /// The next message delivered to the device arrives with its ciphertext damaged, as a bad
    /// relay would deliver it: the device cannot decrypt it and must ask the sender to retry.
    CorruptNextMessage,
}

/// Body of `POST /admin/accounts/{phone}/groups/{group}/subject`.
#[derive(Debug, Deserialize)]
pub struct RenameGroup {
    /// The group's new name.
    pub subject: String,
}

/// Body of `POST /admin/accounts/{phone}/ban`.
#[derive(Debug, Deserialize)]
pub struct BanRequest {
    /// Ban reason code (default 101).
    #[serde(default = "default_ban_code")]
    pub code: u16,
    /// How long the ban lasts.
    pub seconds: u64,
}

fn default_ban_code() -> u16 {
    101
}

/// Body of `POST /admin/accounts/{phone}/refuse-logins`.
#[derive(Debug, Deserialize)]
pub struct RefuseRequest {
    /// The `<failure reason>` every login gets (default 503).
    #[serde(default = "default_refuse_reason")]
    pub reason: u16,
}

fn default_refuse_reason() -> u16 {
    503
}

/// Body of `POST /admin/accounts/{phone}/refuse-key-fetches`.
#[derive(Debug, Deserialize)]
pub struct RefuseKeyFetches {
    /// How many of the account's next prekey fetches fail.
    pub count: usize,
}

/// Body of `POST /admin/faults`.
#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    /// The account.
    pub phone: String,
    /// The device whose connection suffers.
    pub device: u32,
    /// What happens to it.
    pub fault: Fault,
}

async fn inject_json(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<FaultRequest>,
) -> Result<StatusCode, AdminError> {
    inject(&shared, &request.phone, request.device, request.fault)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Inflicts `fault` on the live connection of `phone:device`.
pub fn inject(shared: &Shared, phone: &str, device: u32, fault: Fault) -> Result<(), AdminError> {
    if fault == Fault::CorruptNextMessage {
        return shared.with(|r| {
            let linked = r.accounts.get(phone).is_some_and(|a| a.devices.contains_key(&device));
            if !linked {
                return Err(AdminError::NotFound(format!("{phone} has no device {device}")));
            }
            r.corrupt_next.insert((phone.to_owned(), device));
            Ok(())
        });
    }
    let connection = shared
        .with(|r| r.online.get(&(phone.to_owned(), device)).cloned())
        .ok_or_else(|| AdminError::NotFound(format!("{phone}:{device} is not connected")))?;
    let command = match fault {
        Fault::StreamError515 => Command::Terminate(stream_error(515)),
        Fault::StreamError503 => Command::Terminate(stream_error(503)),
        Fault::Drop => Command::Drop,
        Fault::CorruptNextMessage => return Ok(()),
        Fault::Replaced => {
            let conflict = NodeBuilder::new("conflict").attr("type", "replaced").build();
            Command::Terminate(NodeBuilder::new("stream:error").children([conflict]).build())
        }
    };
    connection
        .send(command)
        .map_err(|_| AdminError::NotFound(format!("{phone}:{device} just disconnected")))
}

fn stream_error(code: u16) -> wacore_binary::node::Node {
    NodeBuilder::new("stream:error").attr("code", code.to_string()).build()
}

/// Unlinks `phone:device`: its live connection is logged out (stream error 401) and its next
/// login fails with 401.
pub fn unlink(shared: &Shared, phone: &str, device: u32) -> Result<(), AdminError> {
    shared.with(|r| {
        if !r.unlink(phone, device) {
            return Err(AdminError::NotFound(format!("{phone} has no device {device}")));
        }
        if let Some(connection) = r.online.get(&(phone.to_owned(), device)) {
            let _ = connection.send(Command::Terminate(stream_error(401)));
        }
        Ok(())
    })
}

/// Bans `phone` for `duration`: live connections drop, and logins fail with 402 until it ends.
pub fn ban(shared: &Shared, phone: &str, code: u16, duration: std::time::Duration) -> Result<(), AdminError> {
    shared.with(|r| {
        if !r.accounts.contains_key(phone) {
            return Err(AdminError::NotFound(format!("no account {phone}")));
        }
        let until = std::time::Instant::now() + duration;
        r.restrictions
            .insert(phone.to_owned(), Restriction::Banned { code, until });
        r.to_account(phone, || Command::Drop);
        Ok(())
    })
}

/// The phone of account `phone` (its primary device) renames group `group` (`<id>@g.us` or the
/// id alone) as its app would: every member's devices hear of it, the account's own linked
/// devices included. Refused as WhatsApp would refuse the account (not a member, or not an admin
/// of a locked group).
pub fn rename_group(shared: &Shared, phone: &str, group: &str, subject: &str) -> Result<(), AdminError> {
    let id = group.trim_end_matches("@g.us");
    let me = crate::routing::Me {
        phone: phone.to_owned(),
        device: 0,
    };
    let action = NodeBuilder::new("subject").string_content(subject.to_owned()).build();
    shared.with(|r| {
        crate::groups::change(r, &me, id, &action)
            .map(drop)
            .map_err(|code| match code {
                404 => AdminError::NotFound(format!("no group {id}")),
                code => AdminError::BadRequest(format!("refused with WhatsApp's error {code}")),
            })
    })
}

async fn phone_renames_group(
    State(shared): State<Arc<Shared>>,
    Path((phone, group)): Path<(String, String)>,
    Json(request): Json<RenameGroup>,
) -> Result<StatusCode, AdminError> {
    rename_group(&shared, &phone, &group, &request.subject)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The phone of `phone` changes its own app state (archives a chat, mutes one, saves a contact,
/// ...): every linked device hears of it as a change made on another device.
pub fn change_app_state(shared: &Shared, phone: &str, change: &PhoneChange) -> Result<(), AdminError> {
    shared
        .with(|r| crate::app_state::phone_changes(r, phone, change))
        .map_err(|error| match error {
            ChangeError::UnknownAccount(_) => AdminError::NotFound(error.to_string()),
            ChangeError::Invalid(_) => AdminError::BadRequest(error.to_string()),
            ChangeError::Patch(_) => AdminError::Internal(error.to_string()),
        })
}

/// The live entries of `phone`'s app state, whoever changed them (the phone or a companion).
pub fn app_state(shared: &Shared, phone: &str) -> Result<Vec<AppStateEntry>, AdminError> {
    shared
        .with(|r| r.accounts.get(phone).map(crate::app_state::entries))
        .ok_or_else(|| AdminError::NotFound(format!("no account {phone}")))
}

async fn phone_changes_app_state(
    State(shared): State<Arc<Shared>>,
    Path(phone): Path<String>,
    Json(change): Json<PhoneChange>,
) -> Result<StatusCode, AdminError> {
    change_app_state(&shared, &phone, &change)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_app_state(
    State(shared): State<Arc<Shared>>,
    Path(phone): Path<String>,
) -> Result<Json<Vec<AppStateEntry>>, AdminError> {
    app_state(&shared, &phone).map(Json)
}

/// The phone of `phone` sends a file to a chat (see [`crate::media_retry::phone_sends`]).
async fn phone_sends_file(
    State(shared): State<Arc<Shared>>,
    Path(phone): Path<String>,
    Json(send): Json<PhoneSend>,
) -> Result<Json<PhoneSent>, AdminError> {
    crate::media_retry::phone_sends(&shared, &phone, &send).await.map(Json)
}

/// Body of `POST /admin/media/expire` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireRequest {
    /// The blob to expire; omitted: every blob.
    #[serde(default)]
    pub direct_path: Option<String>,
}

/// What `POST /admin/media/expire` answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expired {
    /// How many blobs the CDN forgot.
    pub expired: usize,
}

/// Makes the CDN forget `direct_path` (every blob with `None`), as WhatsApp's CDN forgets old
/// media; a path the CDN does not hold is an error.
pub fn expire(shared: &Shared, direct_path: Option<&str>) -> Result<Expired, AdminError> {
    let expired = shared.with(|r| crate::media::expire(r, direct_path));
    match direct_path {
        Some(path) if expired == 0 => Err(AdminError::NotFound(format!("the CDN holds nothing at {path}"))),
        _ => Ok(Expired { expired }),
    }
}

async fn expire_media(
    State(shared): State<Arc<Shared>>,
    body: Option<Json<ExpireRequest>>,
) -> Result<Json<Expired>, AdminError> {
    let Json(request) = body.unwrap_or_default();
    expire(&shared, request.direct_path.as_deref()).map(Json)
}

/// Makes every login of `phone` fail with `reason` (`None` lifts it, and a ban too).
pub fn refuse_logins(shared: &Shared, phone: &str, reason: Option<u16>) {
    shared.with(|r| match reason {
        Some(reason) => {
            r.restrictions.insert(phone.to_owned(), Restriction::Refused { reason });
            r.to_account(phone, || Command::Drop);
        }
        None => {
            r.restrictions.remove(phone);
        }
    });
}

/// Makes the next `count` prekey fetches by any device of `phone` fail with IQ error 500, as a
/// passing server fault would: a send to a device without a Signal session then fails.
pub fn refuse_key_fetches(shared: &Shared, phone: &str, count: usize) {
    shared.with(|r| r.key_fetch_refusals.insert(phone.to_owned(), count));
}

async fn refuse_key_fetches_json(
    State(shared): State<Arc<Shared>>,
    Path(phone): Path<String>,
    Json(request): Json<RefuseKeyFetches>,
) -> StatusCode {
    refuse_key_fetches(&shared, &phone, request.count);
    StatusCode::NO_CONTENT
}

async fn unlink_device(
    State(shared): State<Arc<Shared>>,
    Path((phone, device)): Path<(String, u32)>,
) -> Result<StatusCode, AdminError> {
    unlink(&shared, &phone, device)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn ban_account(
    State(shared): State<Arc<Shared>>,
    Path(phone): Path<String>,
    Json(request): Json<BanRequest>,
) -> Result<StatusCode, AdminError> {
    ban(
        &shared,
        &phone,
        request.code,
        std::time::Duration::from_secs(request.seconds),
    )?;
    Ok(StatusCode::NO_CONTENT)
}

async fn refuse(
    State(shared): State<Arc<Shared>>,
    Path(phone): Path<String>,
    body: Option<Json<RefuseRequest>>,
) -> StatusCode {
    let reason = body.map_or_else(default_refuse_reason, |Json(r)| r.reason);
    refuse_logins(&shared, &phone, Some(reason));
    StatusCode::NO_CONTENT
}

async fn allow(State(shared): State<Arc<Shared>>, Path(phone): Path<String>) -> StatusCode {
    refuse_logins(&shared, &phone, None);
    StatusCode::NO_CONTENT
}

/// What `GET /admin/stats` reports.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Accounts (phone numbers).
    pub accounts: usize,
    /// Linked companion devices.
    pub devices: usize,
    /// Devices logged in right now.
    pub online: usize,
    /// Logins refused because the device was connected already (never more than one connection
    /// per device at a time).
    pub concurrent_logins: u64,
    /// Prekey fetches failed on purpose (`refuse-key-fetches`).
    pub refused_key_fetches: u64,
    /// Stanzas waiting in device queues.
    pub queued: usize,
    /// Groups.
    pub groups: usize,
}

/// Counts for dashboards and capacity tests.
pub fn stats(shared: &Shared) -> Stats {
    shared.with(|r| Stats {
        accounts: r.accounts.len(),
        devices: r.accounts.values().map(|a| a.devices.len()).sum(),
        online: r.online.len(),
        concurrent_logins: r.concurrent_logins,
        refused_key_fetches: r.refused_key_fetches,
        queued: r.outbox.values().map(Vec::len).sum(),
        groups: r.groups.len(),
    })
}

async fn stats_json(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(stats(&shared))
}

/// The CA certificate the media host's certificate is signed with.
async fn media_ca(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
        shared.media_tls.ca_pem.clone(),
    )
}

async fn list_accounts(State(shared): State<Arc<Shared>>) -> Json<Vec<AccountView>> {
    Json(shared.with(|r| {
        r.accounts
            .values()
            .map(|a| AccountView {
                phone: a.phone.clone(),
                lid: a.lid.clone(),
                devices: a.device_ids(),
            })
            .collect()
    }))
}

async fn scan_json(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<ScanRequest>,
) -> Result<Json<Linked>, AdminError> {
    scan(&shared, &request.qr, request.phone.as_deref()).map(Json)
}

/// The phone's owner types the code a companion shows; answers once the device is linked.
async fn enter_pair_code(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<PairCodeRequest>,
) -> Result<Json<Linked>, AdminError> {
    crate::pair_code::enter_code(&shared, &request.phone, &request.code)
        .await
        .map(Json)
}

/// The upstream harness's form: the raw QR string as the body.
async fn scan_text(State(shared): State<Arc<Shared>>, body: String) -> Result<Json<Linked>, AdminError> {
    scan(&shared, &body, None).map(Json)
}

/// The phone scans `qr`: signs a device identity for the companion and offers it the device.
pub fn scan(shared: &Shared, qr: &str, phone: Option<&str>) -> Result<Linked, AdminError> {
    let code: QrCode = qr
        .parse()
        .map_err(|e: phone::InvalidQr| AdminError::BadRequest(e.to_string()))?;
    let pending = shared
        .with(|r| r.pending.get(&code.reference).cloned())
        .ok_or_else(|| {
            AdminError::NotFound("no connection is showing this QR code (expired or already used)".into())
        })?;
    if pending.noise_public != code.noise_public {
        return Err(AdminError::BadRequest(
            "the QR code's key does not match its connection".into(),
        ));
    }
    link(shared, &pending, phone, &code.identity_public, &code.adv_secret)
}

/// The phone links the companion behind `pending` to its account (the account of `phone`, or
/// see [`ScanRequest::phone`]): it signs a device identity keyed by `adv_secret` and offers the
/// companion the device in `<pair-success>`.
pub fn link(
    shared: &Shared,
    pending: &Pending,
    phone: Option<&str>,
    identity_public: &[u8; 32],
    adv_secret: &[u8],
) -> Result<Linked, AdminError> {
    let (offer, container, lid) = shared.with(|r| {
        let account = r.account_for(phone, pending.push_name.as_deref());
        let id = account.next_device_id();
        let container = phone::sign_device_identity(&account.identity, account.raw_id, id, identity_public, adv_secret)
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        let device = Device {
            id,
            noise_public: pending.noise_public,
            push_name: pending.push_name.clone(),
            signed_identity: None,
            keys: None,
            key_shared: false,
        };
        Ok::<_, AdminError>((
            Offer {
                phone: account.phone.clone(),
                device,
            },
            container,
            account.lid.clone(),
        ))
    })?;
    let linked = Linked {
        jid: format!("{}:{}@s.whatsapp.net", offer.phone, offer.device.id),
        phone: offer.phone.clone(),
        device: offer.device.id,
        lid: lid.clone(),
    };
    conn::offer_pairing(&pending.connection, offer, container, &lid)
        .ok_or_else(|| AdminError::NotFound("the companion's connection has closed".into()))?;
    Ok(linked)
}
