//! `titan serve --sandbox`: a WhatsApp emulator in the same process, so a newcomer can link a
//! session and send messages without a phone. The emulator's phone (scan a QR, type a pair
//! code) answers over HTTP at `--sandbox-bind`.

use wa_emulator::Emulator;

use crate::config::{Config, WhatsAppVersion};

/// Starts the emulator when `--sandbox` is set and points `config` at it.
pub async fn prepare(mut config: Config) -> anyhow::Result<(Config, Option<Emulator>)> {
    if !config.sandbox {
        return Ok((config, None));
    }
    let emulator = Emulator::start(config.sandbox_bind).await?;
    config.whatsapp_url = emulator.ws_url();
    config.media_roots.push(emulator.media_ca_pem().to_owned());
    config.whatsapp_version.get_or_insert(WhatsAppVersion(2, 3000, 0));
    // Sandbox users try webhooks against receivers on their own machine.
    config.webhook_allow_private = true;
    config.media_allow_private = true;
    tracing::info!(
        phone = %emulator.admin_url(),
        "sandbox: sessions connect to the emulator; scan a session's QR with \
         POST {}/admin/scan-qr {{\"qr\": \"<code>\", \"phone\": \"15550001111\"}}",
        emulator.admin_url()
    );
    Ok((config, Some(emulator)))
}
