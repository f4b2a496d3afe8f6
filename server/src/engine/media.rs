//! Media files of the history: read back from the object store where they were persisted, else
//! downloaded again from WhatsApp's CDN through a session; and persisted on demand or, with the
//! session's `persistMedia` setting, as they arrive.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use whatsapp_rust::Client;

use super::{Engine, EngineError, Shared};
use crate::model::attachment::{Attachment, StoredMedia};
use crate::store::messages::{self as store, MessageRecord};

/// How far back a session with `persistMedia` looks for received files it has not persisted yet
/// (WhatsApp's CDN keeps files about this long).
const PERSIST_LOOKBACK: chrono::Duration = chrono::Duration::days(14);
/// Files persisted per pass of that look-back.
const PERSIST_BATCH: usize = 50;
/// Attempts at persisting one file as it arrives before the next pass picks it up again.
const PERSIST_ATTEMPTS: u32 = 3;

impl Engine {
    /// The bytes of media file `media` of `session`: from the object store when it was persisted
    /// there, else from WhatsApp's CDN through the session (which must then be connected).
    pub async fn download(&self, session: &str, media: &StoredMedia) -> Result<Bytes, EngineError> {
        if let Some(bytes) = persisted(&self.shared, session, &media.info.media_id).await? {
            return Ok(bytes);
        }
        let client = self.require_connected(session)?;
        fetch_with(&client, media).await
    }

    /// Copies media file `media` of `session` into the object store (once: a persisted file
    /// answers its object's URL again) and answers the object's URL. The session must be
    /// connected unless the file is persisted already.
    pub async fn persist(&self, session: &str, media: &StoredMedia) -> Result<String, EngineError> {
        if let Some(url) = store::media_object(&self.shared.db, session, &media.info.media_id).await? {
            return Ok(url);
        }
        let client = self.require_connected(session)?;
        persist_with(&self.shared, &client, session, media).await
    }
}

/// Persists, in the background, the files `session` received in the last two weeks and has not
/// persisted yet, through its `client` (a session with `persistMedia` calls this when it connects
/// and as files arrive). A file that still fails is logged and tried again at the next pass.
pub(super) fn persist_received(shared: Arc<Shared>, client: Arc<Client>, session: String) {
    tokio::spawn(async move {
        let since = chrono::Utc::now() - PERSIST_LOOKBACK;
        let pending = match store::unpersisted_media(&shared.db, &session, since, PERSIST_BATCH).await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(session, error = %error, "cannot list the media files to persist");
                return;
            }
        };
        for record in pending {
            persist_one(&shared, &client, &session, record).await;
        }
    });
}

/// Downloads `media` from WhatsApp's CDN through `client` and decrypts it.
async fn fetch_with(client: &Client, media: &StoredMedia) -> Result<Bytes, EngineError> {
    client
        .download_from_params(&media.download_params())
        .await
        .map(Bytes::from)
        .map_err(|e| EngineError::Upstream(format!("WhatsApp's CDN did not give the file back: {e}")))
}

/// Downloads `media` through `client`, writes it as `session/{mediaId}.{ext}` and records the
/// object's URL.
async fn persist_with(
    shared: &Shared,
    client: &Client,
    session: &str,
    media: &StoredMedia,
) -> Result<String, EngineError> {
    let bytes = fetch_with(client, media).await?;
    let key = format!("{session}/{}.{}", media.info.media_id, media.info.extension());
    let url = shared.settings.objects.put(&key, bytes).await?;
    store::set_media_object(&shared.db, session, &media.info.media_id, &url).await?;
    Ok(url)
}

/// Persists `record`'s media file, retrying a few times.
async fn persist_one(shared: &Shared, client: &Client, session: &str, record: MessageRecord) {
    let Some(Attachment::Media(media)) = record.attachment else {
        return;
    };
    for attempt in 1..=PERSIST_ATTEMPTS {
        match persist_with(shared, client, session, &media).await {
            Ok(url) => {
                tracing::info!(session, media = %media.info.media_id, url, "media file persisted");
                return;
            }
            Err(error) => {
                tracing::warn!(session, media = %media.info.media_id, attempt, error = %error, "cannot persist a media file");
                tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
            }
        }
    }
}

/// The persisted copy of media file `media_id` of `session`, if there is one in this store.
async fn persisted(shared: &Shared, session: &str, media_id: &str) -> anyhow::Result<Option<Bytes>> {
    match store::media_object(&shared.db, session, media_id).await? {
        Some(url) => shared.settings.objects.get(&url).await,
        None => Ok(None),
    }
}
