//! The session's own device: its keys, identity and account, as one serde JSON row.

use std::sync::Arc;

use whatsapp_rust::async_trait;
use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::DeviceStore as DeviceRowStore;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::device::DEVICE_PROPS;

use super::{DeviceStore, db_err, device_row_exists, json_err};
use crate::store::now_ms;

/// The id `create` reports: a store holds exactly one device, its session's.
const DEVICE_ID: i32 = 1;

impl DeviceStore {
    /// Writes `device` as the session's row; with `replace` false an existing row is kept.
    async fn write_device(&self, device: &Device, replace: bool) -> Result<()> {
        let data = serde_json::to_string(device).map_err(json_err)?;
        let conflict = if replace {
            "ON CONFLICT (session) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at"
        } else {
            "ON CONFLICT (session) DO NOTHING"
        };
        self.write(
            "save device",
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO wa_device (session, data, updated_at) VALUES ($1, $2, $3) {conflict}"
            )))
            .bind(&*self.session)
            .bind(data)
            .bind(now_ms()),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl DeviceRowStore for DeviceStore {
    async fn save(&self, device: &Device) -> Result<()> {
        self.write_device(device, true).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        let data: Option<String> = sqlx::query_scalar("SELECT data FROM wa_device WHERE session = $1")
            .bind(&*self.session)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err("load device"))?;
        let Some(data) = data else {
            return Ok(None);
        };
        let mut device: Device = serde_json::from_str(&data).map_err(json_err)?;
        // Not serialized: the client announces the library's default props (as the bundled
        // SQLite store restores them); the client profile's serde default is already the web one.
        device.device_props = Arc::new(DEVICE_PROPS.clone());
        Ok(Some(device))
    }

    async fn exists(&self) -> Result<bool> {
        device_row_exists(&self.db, &self.session)
            .await
            .map_err(db_err("look up device row"))
    }

    async fn create(&self) -> Result<i32> {
        // A fresh identity, written only if the session has none yet, so `exists` and `load`
        // see it at once (like the library's in-memory store).
        self.write_device(&Device::new(), false).await?;
        Ok(DEVICE_ID)
    }
}
