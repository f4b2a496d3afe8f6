//! In-memory key lookup, so authenticating a request costs no database round trip.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::store::Db;
use crate::store::keys::{self, KeyRecord};

/// Keys by secret hash. Changes made through this server update it at once; an entry older than
/// `ttl` is read again, so changes made by another server on the same database arrive within `ttl`.
#[derive(Debug)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, (Arc<KeyRecord>, Instant)>>,
    ttl: Duration,
}

impl KeyCache {
    /// An empty cache whose entries are trusted for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
        }
    }

    /// The key whose secret hashes to `hash`, from memory when fresh, else from the database.
    pub async fn lookup(&self, db: &Db, hash: &str) -> anyhow::Result<Option<Arc<KeyRecord>>> {
        if let Some((key, loaded)) = self.read().get(hash)
            && loaded.elapsed() < self.ttl
        {
            return Ok(Some(Arc::clone(key)));
        }
        let found = keys::find_by_hash(db, hash).await?.map(Arc::new);
        let mut entries = self.write();
        match &found {
            Some(key) => entries.insert(hash.to_owned(), (Arc::clone(key), Instant::now())),
            None => entries.remove(hash),
        };
        Ok(found)
    }

    /// Replaces the cached copy of a key after it changed.
    pub fn store(&self, key: KeyRecord) {
        self.write().insert(key.hash.clone(), (Arc::new(key), Instant::now()));
    }

    /// Forgets a deleted key.
    pub fn forget(&self, hash: &str) {
        self.write().remove(hash);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, (Arc<KeyRecord>, Instant)>> {
        self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, (Arc<KeyRecord>, Instant)>> {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
