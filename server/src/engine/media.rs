//! Media files of the history: read back from the object store where they were persisted, else
//! downloaded again from WhatsApp's CDN through a session; and persisted on demand or, with the
//! session's `persistMedia` setting, as they arrive.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
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
        match persisted(&self.shared, session, &media.info.media_id).await {
            Ok(Some(bytes)) => return Ok(bytes),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(session, media = %media.info.media_id, error = format!("{error:#}"),
                    "cannot read a persisted media file; downloading it from WhatsApp's CDN");
            }
        }
        let client = self.require_connected(session)?;
        fetch_with(&client, media).await
    }

    /// Copies media file `media` of `session` into the object store (once: a file persisted to
    /// this store answers its object's URL again) and answers the object's URL. The session must be
    /// connected unless the file is persisted already.
    pub async fn persist(&self, session: &str, media: &StoredMedia) -> Result<String, EngineError> {
        let recorded = store::media_object(&self.shared.db, session, &media.info.media_id).await?;
        if let Some(url) = recorded.filter(|url| self.shared.settings.objects.holds(url)) {
            return Ok(url);
        }
        let client = self.require_connected(session)?;
        persist_with(&self.shared, &client, session, media).await
    }
}

/// The `persistMedia` worker of a session's connected client: one pass at a time over the files
/// the session received in the last two weeks and has not persisted yet (newest first), again
/// whenever a file arrives. It stops with its client: dropping it aborts it.
pub(super) struct PersistWorker {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl PersistWorker {
    /// Starts the worker for `session`'s `client`, with a first pass at once.
    pub(super) fn start(shared: Arc<Shared>, client: Arc<Client>, session: String) -> Self {
        let wake = Arc::new(Notify::new());
        let woken = Arc::clone(&wake);
        let task = tokio::spawn(async move {
            loop {
                persist_pass(&shared, &client, &session).await;
                woken.notified().await;
            }
        });
        Self { wake, task }
    }

    /// Asks for another pass (a file arrived); passes never overlap.
    pub(super) fn wake(&self) {
        self.wake.notify_one();
    }
}

impl Drop for PersistWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One pass: persists what is pending, each file tried a few times; a file that still fails is
/// logged and tried again at the next pass.
async fn persist_pass(shared: &Shared, client: &Client, session: &str) {
    let since = chrono::Utc::now() - PERSIST_LOOKBACK;
    let pending = match store::unpersisted_media(&shared.db, session, since, PERSIST_BATCH).await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::warn!(
                session,
                error = format!("{error:#}"),
                "cannot list the media files to persist"
            );
            return;
        }
    };
    for record in pending {
        persist_one(shared, client, session, record).await;
    }
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
    let url = shared
        .settings
        .objects
        .put(&key, bytes)
        .await
        .map_err(|e| EngineError::Upstream(format!("the media store did not take the file: {e:#}")))?;
    store::set_media_object(&shared.db, session, &media.info.media_id, &url).await?;
    Ok(url)
}

/// Persists `record`'s media file, trying a few times.
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
                tracing::warn!(session, media = %media.info.media_id, attempt, error = format!("{error:#}"), "cannot persist a media file");
                if attempt < PERSIST_ATTEMPTS {
                    tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
                }
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
