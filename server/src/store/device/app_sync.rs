//! App-state sync: the phone's sync keys, collection versions and value MACs.

use std::collections::HashMap;

use sqlx::Row;
use whatsapp_rust::async_trait;
use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::{AppStateSyncKey, AppSyncStore};
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;

use super::{DeviceStore, db_err, in_list_queries, json_err, last_per_key, out_of_range};

#[async_trait]
impl AppSyncStore for DeviceStore {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        let row = sqlx::query(
            "SELECT key_data, fingerprint, timestamp FROM wa_app_state_keys WHERE session = $1 AND key_id = $2",
        )
        .bind(&*self.session)
        .bind(key_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("get sync key"))?;
        row.map(|row| {
            Ok(AppStateSyncKey {
                key_data: row.try_get("key_data").map_err(db_err("read sync key"))?,
                fingerprint: row.try_get("fingerprint").map_err(db_err("read sync key"))?,
                timestamp: row.try_get("timestamp").map_err(db_err("read sync key"))?,
            })
        })
        .transpose()
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        // `stored_seq` numbers the keys in the order they were stored, so the latest key is the
        // last one stored (as in the library's in-memory store), whatever its id.
        self.write(
            "set sync key",
            sqlx::query(
                "INSERT INTO wa_app_state_keys (session, key_id, key_data, fingerprint, timestamp, stored_seq)
             VALUES ($1, $2, $3, $4, $5,
                     (SELECT COALESCE(MAX(stored_seq), 0) + 1 FROM wa_app_state_keys WHERE session = $1))
             ON CONFLICT (session, key_id) DO UPDATE SET key_data = excluded.key_data,
                 fingerprint = excluded.fingerprint, timestamp = excluded.timestamp,
                 stored_seq = excluded.stored_seq",
            )
            .bind(&*self.session)
            .bind(key_id)
            .bind(key.key_data)
            .bind(key.fingerprint)
            .bind(key.timestamp),
        )
        .await?;
        Ok(())
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM wa_app_state_versions WHERE session = $1 AND name = $2")
                .bind(&*self.session)
                .bind(name)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(db_err("get app state version"))?;
        state.map_or_else(
            || Ok(HashState::default()),
            |state| serde_json::from_str(&state).map_err(json_err),
        )
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        let state = serde_json::to_string(&state).map_err(json_err)?;
        self.write(
            "set app state version",
            sqlx::query(
                "INSERT INTO wa_app_state_versions (session, name, state) VALUES ($1, $2, $3)
             ON CONFLICT (session, name) DO UPDATE SET state = excluded.state",
            )
            .bind(&*self.session)
            .bind(name)
            .bind(state),
        )
        .await?;
        Ok(())
    }

    async fn put_mutation_macs(&self, name: &str, version: u64, mutations: &[AppStateMutationMAC]) -> Result<()> {
        let version = i64::try_from(version).map_err(|_| out_of_range("app state version", version))?;
        let rows = last_per_key(mutations, |mac| mac.index_mac.as_slice());
        self.insert_rows(
            "put mutation MACs",
            "wa_app_state_mutation_macs (session, name, index_mac, version, value_mac)",
            5,
            "ON CONFLICT (session, name, index_mac) DO UPDATE SET version = excluded.version,
                 value_mac = excluded.value_mac",
            &rows,
            |query, mac| {
                query
                    .bind(&*self.session)
                    .bind(name)
                    .bind(mac.index_mac.as_slice())
                    .bind(version)
                    .bind(mac.value_mac.as_slice())
            },
        )
        .await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT value_mac FROM wa_app_state_mutation_macs WHERE session = $1 AND name = $2 AND index_mac = $3",
        )
        .bind(&*self.session)
        .bind(name)
        .bind(index_mac)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("get mutation MAC"))
    }

    async fn get_mutation_macs(&self, name: &str, index_macs: &[[u8; 32]]) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let mut found = HashMap::with_capacity(index_macs.len());
        let queries = in_list_queries(
            "SELECT index_mac, value_mac FROM wa_app_state_mutation_macs
             WHERE session = $1 AND name = $2 AND index_mac IN ({in})",
            2,
            index_macs,
            |query| query.bind(&*self.session).bind(name),
            |query, index_mac| query.bind(index_mac.as_slice()),
        );
        for query in queries {
            for row in query
                .fetch_all(&self.db.pool)
                .await
                .map_err(db_err("get mutation MACs"))?
            {
                let index_mac: Vec<u8> = row.try_get("index_mac").map_err(db_err("read mutation MAC"))?;
                // Only 32-byte index MACs were asked for, so only those can come back.
                if let Ok(index_mac) = <[u8; 32]>::try_from(index_mac.as_slice()) {
                    found.insert(
                        index_mac,
                        row.try_get("value_mac").map_err(db_err("read mutation MAC"))?,
                    );
                }
            }
        }
        Ok(found)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let queries = in_list_queries(
            "DELETE FROM wa_app_state_mutation_macs WHERE session = $1 AND name = $2 AND index_mac IN ({in})",
            2,
            index_macs,
            |query| query.bind(&*self.session).bind(name),
            |query, index_mac| query.bind(index_mac.as_slice()),
        );
        self.execute_all("delete mutation MACs", queries.collect()).await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        self.write(
            "clear mutation MACs",
            sqlx::query("DELETE FROM wa_app_state_mutation_macs WHERE session = $1 AND name = $2")
                .bind(&*self.session)
                .bind(name),
        )
        .await?;
        Ok(())
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT key_id FROM wa_app_state_keys WHERE session = $1 ORDER BY stored_seq DESC, key_id DESC LIMIT 1",
        )
        .bind(&*self.session)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err("get latest sync key id"))
    }
}
