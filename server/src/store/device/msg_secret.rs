//! Message secrets, kept to decrypt the add-ons (poll votes, reactions, edits) of a message.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use sqlx::Row;
use whatsapp_rust::async_trait;
use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::{
    MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use super::{DeviceStore, db_err, removed};

/// A message secret's key: chat, sender and message id.
type SecretKey = (Arc<str>, Arc<str>, Arc<str>);

/// `entries` with repeated keys folded into one row by the library's merge rules, so the
/// multi-row upsert touches each row once.
fn merge_repeats(entries: Vec<MsgSecretEntry>) -> Vec<MsgSecretEntry> {
    let mut merged: Vec<MsgSecretEntry> = Vec::with_capacity(entries.len());
    let mut index: HashMap<SecretKey, usize> = HashMap::with_capacity(entries.len());
    for entry in entries {
        let key = (
            Arc::clone(&entry.chat),
            Arc::clone(&entry.sender),
            Arc::clone(&entry.msg_id),
        );
        match index.entry(key) {
            Entry::Occupied(at) => {
                let kept = &mut merged[*at.get()];
                kept.secret = entry.secret;
                kept.expires_at = merge_msg_secret_expiry(kept.expires_at, entry.expires_at);
                kept.message_ts = merge_msg_secret_message_ts(kept.message_ts, entry.message_ts);
            }
            Entry::Vacant(slot) => {
                slot.insert(merged.len());
                merged.push(entry);
            }
        }
    }
    merged
}

#[async_trait]
impl MsgSecretStore for DeviceStore {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let stored = entries.len();
        let merged = merge_repeats(entries);
        let rows: Vec<&MsgSecretEntry> = merged.iter().collect();
        // The conflict arm is `merge_msg_secret_expiry` and `merge_msg_secret_message_ts` in SQL:
        // 0 ("never") or else the later deadline wins; the later parent time wins.
        self.insert_rows(
            "put message secrets",
            "wa_msg_secrets (session, chat, sender, msg_id, secret, expires_at, message_ts)",
            7,
            "ON CONFLICT (session, chat, sender, msg_id) DO UPDATE SET secret = excluded.secret,
                 expires_at = CASE
                     WHEN wa_msg_secrets.expires_at = 0 OR excluded.expires_at = 0 THEN 0
                     WHEN wa_msg_secrets.expires_at > excluded.expires_at THEN wa_msg_secrets.expires_at
                     ELSE excluded.expires_at END,
                 message_ts = CASE
                     WHEN wa_msg_secrets.message_ts > excluded.message_ts THEN wa_msg_secrets.message_ts
                     ELSE excluded.message_ts END",
            &rows,
            |query, entry| {
                query
                    .bind(&*self.session)
                    .bind(&*entry.chat)
                    .bind(&*entry.sender)
                    .bind(&*entry.msg_id)
                    .bind(entry.secret.as_slice())
                    .bind(entry.expires_at)
                    .bind(entry.message_ts)
            },
        )
        .await?;
        Ok(stored)
    }

    async fn get_msg_secret(&self, chat: &str, sender: &str, msg_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(&self, chat: &str, sender: &str, msg_id: &str) -> Result<Option<(Vec<u8>, i64)>> {
        let row = sqlx::query(
            "SELECT secret, message_ts FROM wa_msg_secrets WHERE session = $1 AND chat = $2 AND sender = $3 AND msg_id = $4",
        )
        .bind(&*self.session)
        .bind(chat)
        .bind(sender)
        .bind(msg_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("get message secret"))?;
        row.map(|row| {
            Ok((
                row.try_get("secret").map_err(db_err("read message secret"))?,
                row.try_get("message_ts").map_err(db_err("read message secret"))?,
            ))
        })
        .transpose()
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let done = self
            .write(
                "delete expired message secrets",
                sqlx::query("DELETE FROM wa_msg_secrets WHERE session = $1 AND expires_at <> 0 AND expires_at <= $2")
                    .bind(&*self.session)
                    .bind(cutoff_timestamp),
            )
            .await?;
        Ok(removed(done))
    }
}
