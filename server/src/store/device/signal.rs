//! Signal keys and sessions: identities, sessions, pre-keys, signed pre-keys and sender keys.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Row;
use whatsapp_rust::async_trait;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::store::error::{Result, StoreError};
use whatsapp_rust::store::traits::SignalStore;

use super::{DeviceStore, db_err, in_list_queries, last_per_key, out_of_range};

/// A stored identity key must be a 32-byte public key.
fn identity_key(bytes: Vec<u8>) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Validation(format!("stored identity key has {} bytes, not 32", bytes.len())))
}

/// A stored key id back to the `u32` the library uses.
fn key_id(id: i64) -> Result<u32> {
    u32::try_from(id).map_err(|_| out_of_range("key id", id))
}

#[async_trait]
impl SignalStore for DeviceStore {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.put_identities_batch(&[(Arc::from(address), key)]).await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let rows = last_per_key(identities, |(address, _)| &**address);
        self.insert_rows(
            "put identities",
            "wa_identities (session, address, key)",
            3,
            "ON CONFLICT (session, address) DO UPDATE SET key = excluded.key",
            &rows,
            |query, (address, key)| query.bind(&*self.session).bind(&**address).bind(key.as_slice()),
        )
        .await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        let key: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key FROM wa_identities WHERE session = $1 AND address = $2")
                .bind(&*self.session)
                .bind(address)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(db_err("load identity"))?;
        key.map(identity_key).transpose()
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.write(
            "delete identity",
            sqlx::query("DELETE FROM wa_identities WHERE session = $1 AND address = $2")
                .bind(&*self.session)
                .bind(address),
        )
        .await?;
        Ok(())
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        let record: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT record FROM wa_sessions WHERE session = $1 AND address = $2")
                .bind(&*self.session)
                .bind(address)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(db_err("get session"))?;
        Ok(record.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.put_sessions_batch(&[(Arc::from(address), Bytes::copy_from_slice(session))])
            .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = last_per_key(sessions, |(address, _)| &**address);
        self.insert_rows(
            "put sessions",
            "wa_sessions (session, address, record)",
            3,
            "ON CONFLICT (session, address) DO UPDATE SET record = excluded.record",
            &rows,
            |query, (address, record)| query.bind(&*self.session).bind(&**address).bind(&record[..]),
        )
        .await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.write(
            "delete session",
            sqlx::query("DELETE FROM wa_sessions WHERE session = $1 AND address = $2")
                .bind(&*self.session)
                .bind(address),
        )
        .await?;
        Ok(())
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM wa_sessions WHERE session = $1 AND address = $2")
            .bind(&*self.session)
            .bind(address)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err("has session"))?;
        Ok(found.is_some())
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        // Addresses are `user@server` (device 0) or `user:device@server`; an exact prefix
        // comparison, because LIKE would treat `_` as a wildcard (and ignore case on SQLite).
        let found = sqlx::query(
            "SELECT 1 FROM wa_sessions WHERE session = $1
               AND (substr(address, 1, length($2)) = $2 OR substr(address, 1, length($3)) = $3)
             UNION ALL
             SELECT 1 FROM wa_identities WHERE session = $1
               AND (substr(address, 1, length($2)) = $2 OR substr(address, 1, length($3)) = $3)
             LIMIT 1",
        )
        .bind(&*self.session)
        .bind(format!("{user}@"))
        .bind(format!("{user}:"))
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("look up signal state of a user"))?;
        Ok(found.is_some())
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.store_prekeys_batch(&[(id, Bytes::copy_from_slice(record))], uploaded)
            .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let rows = last_per_key(keys, |(id, _)| *id);
        self.insert_rows(
            "store pre-keys",
            "wa_prekeys (session, id, record, uploaded)",
            4,
            "ON CONFLICT (session, id) DO UPDATE SET record = excluded.record, uploaded = excluded.uploaded",
            &rows,
            |query, (id, record)| {
                query
                    .bind(&*self.session)
                    .bind(i64::from(*id))
                    .bind(&record[..])
                    .bind(i64::from(uploaded))
            },
        )
        .await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        let record: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT record FROM wa_prekeys WHERE session = $1 AND id = $2")
                .bind(&*self.session)
                .bind(i64::from(id))
                .fetch_optional(&self.db.pool)
                .await
                .map_err(db_err("load pre-key"))?;
        Ok(record.map(Bytes::from))
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let mut found = HashMap::with_capacity(ids.len());
        let queries = in_list_queries(
            "SELECT id, record FROM wa_prekeys WHERE session = $1 AND id IN ({in})",
            1,
            ids,
            |query| query.bind(&*self.session),
            |query, id| query.bind(i64::from(*id)),
        );
        for query in queries {
            for row in query.fetch_all(&self.db.pool).await.map_err(db_err("load pre-keys"))? {
                let id: i64 = row.try_get("id").map_err(db_err("read pre-key id"))?;
                let record: Vec<u8> = row.try_get("record").map_err(db_err("read pre-key"))?;
                found.insert(key_id(id)?, Bytes::from(record));
            }
        }
        // In the order asked, like the library's default.
        Ok(ids
            .iter()
            .filter_map(|id| found.get(id).map(|record| (*id, record.clone())))
            .collect())
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        // UPDATE only: a key consumed since the upload snapshot stays deleted.
        let queries = in_list_queries(
            "UPDATE wa_prekeys SET uploaded = 1 WHERE session = $1 AND id IN ({in})",
            1,
            ids,
            |query| query.bind(&*self.session),
            |query, id| query.bind(i64::from(*id)),
        );
        self.execute_all("mark pre-keys uploaded", queries.collect()).await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.write(
            "remove pre-key",
            sqlx::query("DELETE FROM wa_prekeys WHERE session = $1 AND id = $2")
                .bind(&*self.session)
                .bind(i64::from(id)),
        )
        .await?;
        Ok(())
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM wa_prekeys WHERE session = $1")
            .bind(&*self.session)
            .fetch_one(&self.db.pool)
            .await
            .map_err(db_err("get max pre-key id"))?;
        key_id(max)
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.write(
            "store signed pre-key",
            sqlx::query(
                "INSERT INTO wa_signed_prekeys (session, id, record) VALUES ($1, $2, $3)
             ON CONFLICT (session, id) DO UPDATE SET record = excluded.record",
            )
            .bind(&*self.session)
            .bind(i64::from(id))
            .bind(record),
        )
        .await?;
        Ok(())
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT record FROM wa_signed_prekeys WHERE session = $1 AND id = $2")
            .bind(&*self.session)
            .bind(i64::from(id))
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err("load signed pre-key"))
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let rows = sqlx::query("SELECT id, record FROM wa_signed_prekeys WHERE session = $1 ORDER BY id")
            .bind(&*self.session)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err("load signed pre-keys"))?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id").map_err(db_err("read signed pre-key id"))?;
                let record: Vec<u8> = row.try_get("record").map_err(db_err("read signed pre-key"))?;
                Ok((key_id(id)?, record))
            })
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.write(
            "remove signed pre-key",
            sqlx::query("DELETE FROM wa_signed_prekeys WHERE session = $1 AND id = $2")
                .bind(&*self.session)
                .bind(i64::from(id)),
        )
        .await?;
        Ok(())
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.put_sender_keys_batch(&[(Arc::from(address), Bytes::copy_from_slice(record))])
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = last_per_key(sender_keys, |(address, _)| &**address);
        self.insert_rows(
            "put sender keys",
            "wa_sender_keys (session, address, record)",
            3,
            "ON CONFLICT (session, address) DO UPDATE SET record = excluded.record",
            &rows,
            |query, (address, record)| query.bind(&*self.session).bind(&**address).bind(&record[..]),
        )
        .await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT record FROM wa_sender_keys WHERE session = $1 AND address = $2")
            .bind(&*self.session)
            .bind(address)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err("get sender key"))
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.write(
            "delete sender key",
            sqlx::query("DELETE FROM wa_sender_keys WHERE session = $1 AND address = $2")
                .bind(&*self.session)
                .bind(address),
        )
        .await?;
        Ok(())
    }
}
