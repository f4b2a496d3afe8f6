//! Media files of the history: read back from the object store where they were persisted, else
//! downloaded again from WhatsApp's CDN through a session; and persisted on demand or, with the
//! session's `persistMedia` setting, as they arrive. A file WhatsApp's CDN no longer has (it
//! keeps files for a few weeks) is asked of the account's phone, which uploads it again: the new
//! CDN path is recorded and the download goes on from there.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use whatsapp_rust::wacore_binary::jid::JidExt as _;
use whatsapp_rust::{Client, ErrorChainExt as _, Jid};
use whatsapp_rust::{MediaRetryResult, MediaReuploadError, MediaReuploadRequest};

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
    /// The bytes of media file `media` of `session`, carried by message `record`: from the object
    /// store when it was persisted there, else from WhatsApp's CDN through the session (which
    /// must then be connected), uploaded again by the phone if the CDN no longer has it.
    pub async fn download(
        &self,
        session: &str,
        record: &MessageRecord,
        media: &StoredMedia,
    ) -> Result<Bytes, EngineError> {
        match persisted(&self.shared, session, &media.info.media_id).await {
            Ok(Some(bytes)) => return Ok(bytes),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(session, media = %media.info.media_id, error = format!("{error:#}"),
                    "cannot read a persisted media file; downloading it from WhatsApp's CDN");
            }
        }
        let client = self.require_connected(session)?;
        fetch_with(&self.shared, &client, record, media).await
    }

    /// Copies media file `media` of `session`, carried by message `record`, into the object store
    /// (once: a file persisted to this store answers its object's URL again) and answers the
    /// object's URL. The session must be connected unless the file is persisted already.
    pub async fn persist(
        &self,
        session: &str,
        record: &MessageRecord,
        media: &StoredMedia,
    ) -> Result<String, EngineError> {
        let recorded = store::media_object(&self.shared.db, session, &media.info.media_id).await?;
        if let Some(url) = recorded.filter(|url| self.shared.settings.objects.holds(url)) {
            return Ok(url);
        }
        let client = self.require_connected(session)?;
        persist_with(&self.shared, &client, record, media).await
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

/// Downloads `media` (of message `record`) from WhatsApp's CDN through `client` and decrypts it.
/// When the CDN answers that it no longer has the file (404 or 410), the phone is asked to upload
/// it again; its new path is recorded, then downloaded.
async fn fetch_with(
    shared: &Shared,
    client: &Client,
    record: &MessageRecord,
    media: &StoredMedia,
) -> Result<Bytes, EngineError> {
    let refused = |e: anyhow::Error| EngineError::Upstream(format!("WhatsApp's CDN did not give the file back: {e}"));
    let error = match client.download_from_params(&media.download_params()).await {
        Ok(bytes) => return Ok(Bytes::from(bytes)),
        Err(error) if matches!(error.http_status(), Some(404 | 410)) => error,
        Err(error) => return Err(refused(error)),
    };
    tracing::info!(session = %record.session, media = %media.info.media_id, error = %error,
        "WhatsApp's CDN no longer has a media file; asking the phone to upload it again");
    let mut renewed = media.clone();
    renewed.keys.direct_path = reupload(client, record, media).await?;
    store::set_media_keys(&shared.db, &record.session, &renewed).await?;
    tracing::info!(session = %record.session, media = %media.info.media_id, "the phone uploaded a media file again");
    client
        .download_from_params(&renewed.download_params())
        .await
        .map(Bytes::from)
        .map_err(refused)
}

/// Asks the account's phone to upload `media` of message `record` again (WhatsApp's media
/// retry: a `server-error` receipt, answered by a `mediaretry` notification) and answers the new
/// CDN path.
async fn reupload(client: &Client, record: &MessageRecord, media: &StoredMedia) -> Result<String, EngineError> {
    let unusable = |what: &str| EngineError::Internal(anyhow::anyhow!("stored {what} is not a JID"));
    let chat: Jid = record.chat_id.parse().map_err(|_| unusable("chat"))?;
    let participant: Option<Jid> = match (&record.sender, chat.is_group()) {
        (Some(sender), true) => Some(sender.parse().map_err(|_| unusable("sender"))?),
        _ => None,
    };
    let request = MediaReuploadRequest {
        msg_id: &record.id,
        chat_jid: &chat,
        media_key: &media.keys.media_key,
        is_from_me: record.from_me,
        participant: participant.as_ref(),
    };
    let gone = |why: &str| {
        EngineError::Gone(format!(
            "WhatsApp's CDN no longer has media file `{}`, and {why}",
            media.info.media_id
        ))
    };
    match client.media_reupload().request(&request).await {
        Ok(MediaRetryResult::Success { direct_path }) => Ok(direct_path),
        Ok(MediaRetryResult::NotFound) => Err(gone("the phone no longer has it either")),
        Ok(MediaRetryResult::DecryptionError) => Err(gone("the phone could not match the request to it")),
        Ok(MediaRetryResult::GeneralError) => Err(gone("the phone could not upload it again")),
        Err(MediaReuploadError::Timeout) => Err(EngineError::Upstream(format!(
            "WhatsApp's CDN no longer has media file `{}`, and the phone did not answer the request to upload it again (is it online?)",
            media.info.media_id
        ))),
        Err(error) => Err(EngineError::Upstream(format!(
            "asking the phone to upload media file `{}` again failed: {error}",
            media.info.media_id
        ))),
    }
}

/// Downloads `media` of message `record` through `client`, writes it as
/// `session/{mediaId}.{ext}` and records the object's URL.
async fn persist_with(
    shared: &Shared,
    client: &Client,
    record: &MessageRecord,
    media: &StoredMedia,
) -> Result<String, EngineError> {
    let session = record.session.as_str();
    let bytes = fetch_with(shared, client, record, media).await?;
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
async fn persist_one(shared: &Shared, client: &Client, session: &str, mut record: MessageRecord) {
    let Some(Attachment::Media(media)) = record.attachment.take() else {
        return;
    };
    for attempt in 1..=PERSIST_ATTEMPTS {
        match persist_with(shared, client, &record, &media).await {
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
