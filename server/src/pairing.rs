//! Pairing a session with a WhatsApp account: the QR code to scan, or an 8-character code to
//! type on the phone.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Client;
use whatsapp_rust::pair_code::{PairCodeError, PairCodeOptions, PairError};

use crate::auth::Caller;
use crate::commands::Command;
use crate::error::ApiError;
use crate::model::bounded::PhoneNumber;
use crate::model::session::Status;
use crate::state::{AppState, SharedState};

/// How long a QR request waits for a just-started session's first code.
const FIRST_QR_WAIT: Duration = Duration::from_secs(15);
/// Pixels per QR module in the PNG.
const MODULE_PX: usize = 8;
/// Light modules around the code, as scanners expect.
const QUIET_ZONE: usize = 4;

/// The QR code a session shows now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"qr": "data:image/png;base64,iVBORw0KGgo...", "code": "2@ABC123XYZ...", "expiresAt": "2025-05-01T12:02:00Z"}))]
pub struct PairingQr {
    /// The QR image, a PNG data URL ready for an `<img src>`.
    pub qr: String,
    /// The text the QR encodes, to render it yourself.
    pub code: String,
    /// When WhatsApp rotates it: fetch again after this.
    pub expires_at: DateTime<Utc>,
}

/// Body of a pair-code request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"phoneNumber": "+5511999999999"}))]
pub struct PairCodeRequest {
    /// The phone number of the WhatsApp account to link, in international form.
    #[schema(inline)]
    pub phone_number: PhoneNumber,
}

/// A pair code to type on the phone (WhatsApp → Linked devices → Link with phone number).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"code": "ABCD-EFGH"}))]
pub struct PairCode {
    /// The 8-character code, shown as `XXXX-XXXX`.
    pub code: String,
}

crate::envelopes!(PairingQr => PairingQrData);
crate::envelopes!(PairCode => PairCodeData);

/// Checks that the session exists, may be used by the caller, and is waiting for a pairing.
async fn pairable(state: &AppState, caller: &Caller, name: &str) -> Result<(), ApiError> {
    match crate::sessions::find(state, caller, name).await?.state.status {
        Status::Connected => Err(ApiError::Conflict(format!(
            "session `{name}` is already paired and connected; log it out to pair another account"
        ))),
        Status::Disconnected => Err(ApiError::Conflict(format!(
            "session `{name}` is not started: POST /api/sessions/{name}/start, then ask for the QR code"
        ))),
        Status::Connecting => Ok(()),
    }
}

/// The session's current QR code (waiting briefly for the first one after a start).
pub async fn qr(state: &AppState, caller: &Caller, name: &str) -> Result<(PairingQr, Vec<u8>), ApiError> {
    pairable(state, caller, name).await?;
    let current = state.engine.qr(name, FIRST_QR_WAIT).await.ok_or_else(|| {
        ApiError::Conflict(format!(
            "session `{name}` has no QR code: it is already paired and reconnecting, or not running"
        ))
    })?;
    let png = render_png(&current.code)?;
    let data = PairingQr {
        qr: format!("data:image/png;base64,{}", STANDARD.encode(&png)),
        code: current.code,
        expires_at: current.expires_at,
    };
    Ok((data, png))
}

/// Checks `request` and that the session can pair; the command asks WhatsApp for a pair code for
/// `phoneNumber`, and typing it on that phone links the session.
pub async fn code(
    state: &SharedState,
    caller: &Caller,
    name: &str,
    request: PairCodeRequest,
) -> Result<Command<PairCode>, ApiError> {
    let digits = request.phone_number.as_str().trim_start_matches('+');
    pairable(state, caller, name).await?;
    let (state, name, digits) = (state.clone(), name.to_owned(), digits.to_owned());
    Ok(Box::pin(async move { request_code(&state, &name, digits).await }))
}

/// Asks WhatsApp for a pair code for `digits` on running, unpaired session `name`.
async fn request_code(state: &AppState, name: &str, digits: String) -> Result<PairCode, ApiError> {
    let client = state
        .engine
        .running_client(name, FIRST_QR_WAIT)
        .await
        .ok_or_else(|| ApiError::Conflict(format!("session `{name}` is not running")))?;
    if client.pn().is_some() {
        return Err(ApiError::Conflict(format!("session `{name}` is already paired")));
    }
    if let Err(e) = client.wait_for_socket(FIRST_QR_WAIT).await {
        return Err(failed(
            state,
            name,
            &client,
            format!("cannot reach WhatsApp to request a pair code: {e}"),
        )
        .await);
    }
    let options = PairCodeOptions {
        phone_number: digits,
        ..PairCodeOptions::default()
    };
    let code = match client.pair_with_code(options).await {
        Ok(code) => code,
        Err(PairError::PairCode(PairCodeError::CodeAlreadyOutstanding { remaining })) => {
            return Err(ApiError::Conflict(format!(
                "session `{name}` already has a pair code waiting to be entered on the phone ({} s left); \
                 enter that one, or ask again once it expires",
                remaining.as_secs()
            )));
        }
        Err(e) => {
            return Err(failed(
                state,
                name,
                &client,
                format!("WhatsApp refused the pair code request: {e}"),
            )
            .await);
        }
    };
    let code = match code.len() {
        8 => format!("{}-{}", &code[..4], &code[4..]),
        _ => code,
    };
    Ok(PairCode { code })
}

/// Why a pair-code request through `client` failed: a 409 when session `name` was stopped,
/// deleted or restarted meanwhile (its client is gone), else a 502 saying `upstream`.
async fn failed(state: &AppState, name: &str, client: &Arc<Client>, upstream: String) -> ApiError {
    let current = state.engine.running_client(name, Duration::ZERO).await;
    if current.is_some_and(|current| Arc::ptr_eq(&current, client)) {
        ApiError::Status {
            status: axum::http::StatusCode::BAD_GATEWAY,
            message: upstream,
        }
    } else {
        ApiError::Conflict(format!(
            "session `{name}` was stopped while asking WhatsApp for a pair code; start it and ask again"
        ))
    }
}

/// Renders `text` as a black-on-white QR code PNG.
pub fn render_png(text: &str) -> anyhow::Result<Vec<u8>> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
    let mut pixels = vec![255u8; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (x, y) = (index % modules + QUIET_ZONE, index / modules + QUIET_ZONE);
        for row in y * MODULE_PX..(y + 1) * MODULE_PX {
            pixels[row * side + x * MODULE_PX..row * side + (x + 1) * MODULE_PX].fill(0);
        }
    }
    let mut png = Vec::new();
    let side = u32::try_from(side)?;
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_codes_render_as_png() {
        let png = super::render_png("2@abc,def,ghi,jkl,1").unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG signature");
        assert!(png.len() > 100);
    }
}
