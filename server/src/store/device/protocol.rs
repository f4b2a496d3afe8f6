//! Protocol state: per-group sender-key distribution, LID/PN mappings, retry base keys, device
//! lists, group metadata, trusted-contact tokens, sent-message payloads and the pending-inbound
//! buffer.

use sqlx::Row;
use sqlx::any::AnyRow;
use whatsapp_rust::async_trait;
use whatsapp_rust::store::error::{Result, StoreError};
use whatsapp_rust::store::traits::{
    DeviceInfo, DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore, TcTokenEntry,
};
use whatsapp_rust::wacore::time::now_secs;

use crate::model::jid::Addressing;

use super::{DeviceStore, db_err, in_list_queries, json_err, last_per_key, out_of_range, removed};

impl DeviceStore {
    /// Runs a write to the trusted-contact tokens of `jid` (every contact's with `None`) to its
    /// end, even if the caller stops waiting, then forgets what the store kept of them.
    async fn write_tc_token(&self, op: &'static str, jid: Option<&str>, query: super::AnyQuery) -> Result<u64> {
        let store = self.clone();
        self.tc_tokens
            .write(jid, async move { store.write(op, query).await })
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?
    }
}

/// A `wa_lid_pn_mapping` row.
fn lid_mapping(row: &AnyRow) -> Result<LidPnMappingEntry> {
    Ok(LidPnMappingEntry {
        lid: row.try_get("lid").map_err(db_err("read LID mapping"))?,
        phone_number: row.try_get("phone_number").map_err(db_err("read LID mapping"))?,
        created_at: row.try_get("created_at").map_err(db_err("read LID mapping"))?,
        updated_at: row.try_get("updated_at").map_err(db_err("read LID mapping"))?,
        learning_source: row.try_get("learning_source").map_err(db_err("read LID mapping"))?,
    })
}

/// The columns [`lid_mapping`] reads.
const LID_COLUMNS: &str = "lid, phone_number, created_at, updated_at, learning_source";

/// `session`'s mapping of the LID user `lid`, read on `conn` (the pool, or a transaction that
/// writes an event naming them).
pub(crate) async fn mapping_of_lid<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    session: &str,
    lid: &str,
) -> Result<Option<LidPnMappingEntry>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LID_COLUMNS} FROM wa_lid_pn_mapping WHERE session = $1 AND lid = $2"
    )))
    .bind(session)
    .bind(lid)
    .fetch_optional(conn)
    .await
    .map_err(db_err("get LID mapping"))?;
    row.as_ref().map(lid_mapping).transpose()
}

/// `session`'s newest mapping of the phone number `phone` (digits), read on `conn`.
pub(crate) async fn mapping_of_phone<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    session: &str,
    phone: &str,
) -> Result<Option<LidPnMappingEntry>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LID_COLUMNS} FROM wa_lid_pn_mapping WHERE session = $1 AND phone_number = $2
         ORDER BY updated_at DESC, created_at DESC LIMIT 1"
    )))
    .bind(session)
    .bind(phone)
    .fetch_optional(conn)
    .await
    .map_err(db_err("get PN mapping"))?;
    row.as_ref().map(lid_mapping).transpose()
}

/// `session`'s newest LID user of each of the phone numbers `phones` (digits) it has a mapping
/// for, by phone number, in one query.
pub(crate) async fn lids_of_phones(
    pool: &sqlx::AnyPool,
    session: &str,
    phones: &[&str],
) -> Result<std::collections::HashMap<String, String>> {
    if phones.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let sql = format!(
        "SELECT {LID_COLUMNS} FROM wa_lid_pn_mapping WHERE session = $1 AND phone_number IN ({}) \
         ORDER BY updated_at, created_at",
        crate::store::placeholders(phones.len(), 2)
    );
    let rows = phones
        .iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(session), |q, phone| {
            q.bind(*phone)
        })
        .fetch_all(pool)
        .await
        .map_err(db_err("get PN mappings"))?;
    // Oldest first, so the newest mapping of a number is the one kept.
    rows.iter()
        .map(|row| lid_mapping(row).map(|entry| (entry.phone_number, entry.lid)))
        .collect()
}

#[async_trait]
impl ProtocolStore for DeviceStore {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let rows = sqlx::query(
            "SELECT device_jid, has_key FROM wa_sender_key_devices WHERE session = $1 AND group_jid = $2
             ORDER BY device_jid",
        )
        .bind(&*self.session)
        .bind(group_jid)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err("get sender key devices"))?;
        rows.iter()
            .map(|row| {
                let device: String = row.try_get("device_jid").map_err(db_err("read sender key device"))?;
                let has_key: i64 = row.try_get("has_key").map_err(db_err("read sender key device"))?;
                Ok((device, has_key != 0))
            })
            .collect()
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let rows = last_per_key(entries, |(device, _)| *device);
        let now = now_secs();
        self.insert_rows(
            "set sender key status",
            "wa_sender_key_devices (session, group_jid, device_jid, has_key, updated_at)",
            5,
            "ON CONFLICT (session, group_jid, device_jid) DO UPDATE SET has_key = excluded.has_key,
                 updated_at = excluded.updated_at",
            &rows,
            |query, (device, has_key)| {
                query
                    .bind(&*self.session)
                    .bind(group_jid)
                    .bind(*device)
                    .bind(i64::from(*has_key))
                    .bind(now)
            },
        )
        .await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        self.write(
            "clear sender key devices",
            sqlx::query("DELETE FROM wa_sender_key_devices WHERE session = $1 AND group_jid = $2")
                .bind(&*self.session)
                .bind(group_jid),
        )
        .await?;
        Ok(())
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        let queries = in_list_queries(
            "DELETE FROM wa_sender_key_devices WHERE session = $1 AND device_jid IN ({in})",
            1,
            device_jids,
            |query| query.bind(&*self.session),
            |query, device| query.bind(*device),
        );
        self.execute_all("delete sender key device rows", queries.collect())
            .await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.write(
            "clear all sender key devices",
            sqlx::query("DELETE FROM wa_sender_key_devices WHERE session = $1").bind(&*self.session),
        )
        .await?;
        Ok(())
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        super::known_entry(&self.db, &self.session, Addressing::Lid, lid).await
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        super::known_entry(&self.db, &self.session, Addressing::Pn, phone).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        let rows = last_per_key(entries, |entry| entry.lid.as_str());
        // `created_at` is when the mapping was first learned: an update keeps it.
        let queries = super::inserts(
            "wa_lid_pn_mapping (session, lid, phone_number, created_at, updated_at, learning_source)",
            6,
            "ON CONFLICT (session, lid) DO UPDATE SET phone_number = excluded.phone_number,
                 updated_at = excluded.updated_at, learning_source = excluded.learning_source",
            &rows,
            |query, entry| {
                query
                    .bind(self.session.to_string())
                    .bind(entry.lid.clone())
                    .bind(entry.phone_number.clone())
                    .bind(entry.created_at)
                    .bind(entry.updated_at)
                    .bind(entry.learning_source.clone())
            },
        );
        // Run to its end even if the caller stops waiting (a write handed to the database may
        // commit after that), then forget the kept mappings.
        let store = self.clone();
        tokio::spawn(async move {
            let written = store.execute_all("put LID mappings", queries).await;
            store.db.mappings_changed(&store.session);
            written
        })
        .await
        .map_err(|e| StoreError::Database(Box::new(e)))?
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LID_COLUMNS} FROM wa_lid_pn_mapping WHERE session = $1 ORDER BY lid"
        )))
        .bind(&*self.session)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err("get all LID mappings"))?;
        rows.iter().map(lid_mapping).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        let query = sqlx::query(
            "INSERT INTO wa_base_keys (session, address, message_id, base_key, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session, address, message_id) DO UPDATE SET base_key = excluded.base_key,
                 created_at = excluded.created_at",
        )
        .bind(&*self.session)
        .bind(address)
        .bind(message_id)
        .bind(base_key)
        .bind(now_secs());
        self.write("save base key", query).await?;
        Ok(())
    }

    async fn has_same_base_key(&self, address: &str, message_id: &str, current_base_key: &[u8]) -> Result<bool> {
        let stored: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT base_key FROM wa_base_keys WHERE session = $1 AND address = $2 AND message_id = $3",
        )
        .bind(&*self.session)
        .bind(address)
        .bind(message_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("compare base key"))?;
        Ok(stored.is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.write(
            "delete base key",
            sqlx::query("DELETE FROM wa_base_keys WHERE session = $1 AND address = $2 AND message_id = $3")
                .bind(&*self.session)
                .bind(address)
                .bind(message_id),
        )
        .await?;
        Ok(())
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let prepared = records
            .iter()
            .map(|record| Ok((record, serde_json::to_string(&record.devices).map_err(json_err)?)))
            .collect::<Result<Vec<_>>>()?;
        let rows = last_per_key(&prepared, |(record, _)| record.user.as_str());
        let now = now_secs();
        self.insert_rows(
            "update device lists",
            "wa_device_registry (session, user_id, devices, timestamp, phash, raw_id, updated_at)",
            7,
            "ON CONFLICT (session, user_id) DO UPDATE SET devices = excluded.devices,
                 timestamp = excluded.timestamp, phash = excluded.phash, raw_id = excluded.raw_id,
                 updated_at = excluded.updated_at",
            &rows,
            |query, (record, devices)| {
                query
                    .bind(&*self.session)
                    .bind(record.user.as_str())
                    .bind(devices.as_str())
                    .bind(record.timestamp)
                    .bind(record.phash.as_deref())
                    .bind(record.raw_id.map(i64::from))
                    .bind(now)
            },
        )
        .await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        let row = sqlx::query(
            "SELECT devices, timestamp, phash, raw_id FROM wa_device_registry WHERE session = $1 AND user_id = $2",
        )
        .bind(&*self.session)
        .bind(user)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("get devices"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let devices: String = row.try_get("devices").map_err(db_err("read devices"))?;
        let devices: Vec<DeviceInfo> = serde_json::from_str(&devices).map_err(json_err)?;
        let raw_id: Option<i64> = row.try_get("raw_id").map_err(db_err("read devices"))?;
        Ok(Some(DeviceListRecord {
            user: user.to_owned(),
            devices,
            timestamp: row.try_get("timestamp").map_err(db_err("read devices"))?,
            phash: row.try_get("phash").map_err(db_err("read devices"))?,
            raw_id: raw_id
                .map(|raw| u32::try_from(raw).map_err(|_| out_of_range("device list raw id", raw)))
                .transpose()?,
        }))
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.write(
            "delete devices",
            sqlx::query("DELETE FROM wa_device_registry WHERE session = $1 AND user_id = $2")
                .bind(&*self.session)
                .bind(user),
        )
        .await?;
        Ok(())
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT info FROM wa_group_metadata WHERE session = $1 AND group_jid = $2")
            .bind(&*self.session)
            .bind(group_jid)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err("get group metadata"))
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.write(
            "put group metadata",
            sqlx::query(
                "INSERT INTO wa_group_metadata (session, group_jid, info, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (session, group_jid) DO UPDATE SET info = excluded.info, updated_at = excluded.updated_at",
            )
            .bind(&*self.session)
            .bind(group_jid)
            .bind(blob)
            .bind(now_secs()),
        )
        .await?;
        Ok(())
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.write(
            "delete group metadata",
            sqlx::query("DELETE FROM wa_group_metadata WHERE session = $1 AND group_jid = $2")
                .bind(&*self.session)
                .bind(group_jid),
        )
        .await?;
        Ok(())
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        let read = async {
            let row = sqlx::query(
                "SELECT token, token_timestamp, sender_timestamp FROM wa_tc_tokens WHERE session = $1 AND jid = $2",
            )
            .bind(&*self.session)
            .bind(jid)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err("get tc token"))?;
            row.map(|row| {
                Ok(TcTokenEntry {
                    token: row.try_get("token").map_err(db_err("read tc token"))?,
                    token_timestamp: row.try_get("token_timestamp").map_err(db_err("read tc token"))?,
                    sender_timestamp: row.try_get("sender_timestamp").map_err(db_err("read tc token"))?,
                })
            })
            .transpose()
        };
        self.tc_tokens.get_or_read(jid, read).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        let query = sqlx::query(
            "INSERT INTO wa_tc_tokens (session, jid, token, token_timestamp, sender_timestamp) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session, jid) DO UPDATE SET token = excluded.token,
                 token_timestamp = excluded.token_timestamp, sender_timestamp = excluded.sender_timestamp",
        )
        .bind(&*self.session)
        .bind(jid)
        .bind(entry.token.as_slice())
        .bind(entry.token_timestamp)
        .bind(entry.sender_timestamp);
        self.write_tc_token("put tc token", Some(jid), query).await?;
        Ok(())
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.write_tc_token(
            "delete tc token",
            Some(jid),
            sqlx::query("DELETE FROM wa_tc_tokens WHERE session = $1 AND jid = $2")
                .bind(&*self.session)
                .bind(jid),
        )
        .await?;
        Ok(())
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT jid FROM wa_tc_tokens WHERE session = $1 ORDER BY jid")
            .bind(&*self.session)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err("get tc token jids"))
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        // A row goes only when both its received token and its sender bucket are stale or absent.
        let done = self
            .write_tc_token(
                "delete expired tc tokens",
                None,
                sqlx::query(
                    "DELETE FROM wa_tc_tokens WHERE session = $1
               AND (length(token) = 0 OR token_timestamp < $2)
               AND (sender_timestamp IS NULL OR sender_timestamp < $3)",
                )
                .bind(&*self.session)
                .bind(token_cutoff)
                .bind(sender_cutoff),
            )
            .await?;
        Ok(removed(done))
    }

    async fn touch_tc_token_sender_timestamp(&self, jid: &str, sender_timestamp: i64) -> Result<()> {
        // One statement: inserts a byte-less placeholder, or only advances the sender bucket.
        let query = sqlx::query(
            "INSERT INTO wa_tc_tokens (session, jid, token, token_timestamp, sender_timestamp) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (session, jid) DO UPDATE SET sender_timestamp = CASE
                 WHEN wa_tc_tokens.sender_timestamp IS NULL
                   OR wa_tc_tokens.sender_timestamp < excluded.sender_timestamp
                 THEN excluded.sender_timestamp ELSE wa_tc_tokens.sender_timestamp END",
        )
        .bind(&*self.session)
        .bind(jid)
        .bind(Vec::<u8>::new())
        .bind(sender_timestamp);
        self.write_tc_token("touch tc token sender timestamp", Some(jid), query)
            .await?;
        Ok(())
    }

    async fn store_received_tc_token(&self, jid: &str, token: &[u8], token_timestamp: i64) -> Result<()> {
        // One statement, newer wins: the token pair is replaced only over a placeholder or by a
        // token at least as new; the sender bucket is never touched.
        let query = sqlx::query(
            "INSERT INTO wa_tc_tokens (session, jid, token, token_timestamp, sender_timestamp) VALUES ($1, $2, $3, $4, NULL)
             ON CONFLICT (session, jid) DO UPDATE SET token = excluded.token,
                 token_timestamp = excluded.token_timestamp
             WHERE length(wa_tc_tokens.token) = 0 OR excluded.token_timestamp >= wa_tc_tokens.token_timestamp",
        )
        .bind(&*self.session)
        .bind(jid)
        .bind(token)
        .bind(token_timestamp);
        self.write_tc_token("store received tc token", Some(jid), query).await?;
        Ok(())
    }

    async fn store_sent_message(&self, chat_jid: &str, message_id: &str, payload: &[u8]) -> Result<()> {
        let query = sqlx::query(
            "INSERT INTO wa_sent_messages (session, chat_jid, message_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session, chat_jid, message_id) DO UPDATE SET payload = excluded.payload,
                 created_at = excluded.created_at",
        )
        .bind(&*self.session)
        .bind(chat_jid)
        .bind(message_id)
        .bind(payload)
        .bind(now_secs());
        self.write("store sent message", query).await?;
        Ok(())
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        // DELETE … RETURNING: of two concurrent takes, exactly one gets the payload. (Only
        // retry receipts take one: the transaction costs little.)
        let op = "take sent message";
        let mut tx = self.begin(op).await?;
        let taken = sqlx::query_scalar(
            "DELETE FROM wa_sent_messages WHERE session = $1 AND chat_jid = $2 AND message_id = $3 RETURNING payload",
        )
        .bind(&*self.session)
        .bind(chat_jid)
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err(op))?;
        tx.commit().await.map_err(db_err(op))?;
        Ok(taken)
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        let done = self
            .write(
                "delete expired sent messages",
                sqlx::query("DELETE FROM wa_sent_messages WHERE session = $1 AND created_at < $2")
                    .bind(&*self.session)
                    .bind(cutoff_timestamp),
            )
            .await?;
        Ok(removed(done))
    }

    async fn store_pending_inbound(&self, chat: &str, sender: &str, id: &str, message: &[u8]) -> Result<()> {
        self.store_pending_inbound_batch(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }])
        .await
    }

    async fn get_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT message FROM wa_pending_inbound_messages WHERE session = $1 AND chat = $2 AND sender = $3 AND id = $4",
        )
        .bind(&*self.session)
        .bind(chat)
        .bind(sender)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("get pending inbound message"))
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_pending_inbound_batch(&[PendingInboundKey { chat, sender, id }])
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let done = self
            .write(
                "delete expired pending inbound messages",
                sqlx::query("DELETE FROM wa_pending_inbound_messages WHERE session = $1 AND inserted_at < $2")
                    .bind(&*self.session)
                    .bind(cutoff_timestamp),
            )
            .await?;
        Ok(removed(done))
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let rows = last_per_key(rows, |row| (row.chat, row.sender, row.id));
        let now = now_secs();
        self.insert_rows(
            "store pending inbound messages",
            "wa_pending_inbound_messages (session, chat, sender, id, message, inserted_at)",
            6,
            "ON CONFLICT (session, chat, sender, id) DO UPDATE SET message = excluded.message,
                 inserted_at = excluded.inserted_at",
            &rows,
            |query, row| {
                query
                    .bind(&*self.session)
                    .bind(row.chat)
                    .bind(row.sender)
                    .bind(row.id)
                    .bind(row.message)
                    .bind(now)
            },
        )
        .await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let queries = keys.iter().map(|key| {
            sqlx::query(
                "DELETE FROM wa_pending_inbound_messages WHERE session = $1 AND chat = $2 AND sender = $3 AND id = $4",
            )
            .bind(&*self.session)
            .bind(key.chat)
            .bind(key.sender)
            .bind(key.id)
        });
        self.execute_all("delete pending inbound messages", queries.collect())
            .await
    }
}
