//! Media files of the history, downloaded again from WhatsApp's CDN through a session.

use super::{Engine, EngineError};
use crate::model::attachment::StoredMedia;

impl Engine {
    /// Downloads `media` from WhatsApp's CDN through `session` (which must be connected) and
    /// decrypts it.
    pub async fn download(&self, session: &str, media: &StoredMedia) -> Result<Vec<u8>, EngineError> {
        let client = self.require_connected(session)?;
        client
            .download_from_params(&media.download_params())
            .await
            .map_err(|e| EngineError::Upstream(format!("WhatsApp's CDN did not give the file back: {e}")))
    }
}
