//! The LID mappings of each session, kept in memory: whatsapp-rust reads them as it sends and
//! receives, and Titan completes events with them.
//!
//! Every event naming a person is completed with the other form of their JID (see
//! [`crate::store::events::complete`]), every message sent or received writes such events, and
//! whatsapp-rust looks the mappings up through [`super::DeviceStore`] as it addresses messages:
//! each a read of `wa_lid_pn_mapping`, a round trip to the database. The mappings change rarely,
//! and only through the [`super::DeviceStore`] of the session's running client, which forgets
//! the session's known mappings once a change to them has ended. With several servers on
//! PostgreSQL, another server writes a session's mappings only while it runs the session, and a
//! server forgets them whenever it starts running it ([`super::DeviceStore::new`]), so what is
//! kept here is what the table holds while this server runs the session.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use anyhow::Context;

use whatsapp_rust::store::traits::LidPnMappingEntry;

use super::{mapping_of_lid, mapping_of_phone};
use crate::model::jid::Addressing;
use crate::store::Db;

/// The most mappings kept per session, found or not: past it, the session's are forgotten.
const PER_SESSION: usize = 10_000;

/// A person's two JID users, as the session's LID mapping pairs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The phone number's digits.
    pub phone_number: String,
    /// The LID user (without `@lid`).
    pub lid: String,
}

/// The mappings read so far, per session (see the module's documentation).
#[derive(Debug, Default)]
pub struct KnownMappings {
    sessions: Mutex<HashMap<String, Known>>,
}

/// One session's known mappings; `generation` changes each time they are forgotten, so a read
/// that began before a change does not keep what it found.
#[derive(Debug, Default)]
struct Known {
    generation: u64,
    entries: HashMap<(Addressing, String), Option<LidPnMappingEntry>>,
}

impl KnownMappings {
    /// The kept answer for `user` (in `form`) of `session`, with the session's generation.
    fn get(&self, session: &str, form: Addressing, user: &str) -> (u64, Option<Option<LidPnMappingEntry>>) {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get(session) {
            Some(known) => (known.generation, known.entries.get(&(form, user.to_owned())).cloned()),
            None => (0, None),
        }
    }

    /// Keeps `entry` as the answer for `user` unless the session's mappings were forgotten since
    /// `generation`.
    fn keep(&self, session: &str, generation: u64, form: Addressing, user: &str, entry: Option<LidPnMappingEntry>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let known = sessions.entry(session.to_owned()).or_default();
        if known.generation != generation {
            return;
        }
        if known.entries.len() >= PER_SESSION {
            known.entries.clear();
        }
        known.entries.insert((form, user.to_owned()), entry);
    }

    /// Forgets `session`'s mappings: call once a change to them has ended, and when this server
    /// starts running the session.
    pub fn forget(&self, session: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let known = sessions.entry(session.to_owned()).or_default();
        known.generation += 1;
        known.entries.clear();
    }
}

/// `session`'s pairing of `user` (given in `form`), from memory, else read from the read pool
/// (and kept).
pub async fn known_mapping(db: &Db, session: &str, form: Addressing, user: &str) -> anyhow::Result<Option<Pair>> {
    let entry = known_entry(db, session, form, user)
        .await
        .context("read the LID mapping")?;
    Ok(entry.map(|entry| Pair {
        phone_number: entry.phone_number,
        lid: entry.lid,
    }))
}

/// `session`'s mapping row of `user` (given in `form`: for a phone number its newest), from
/// memory, else read from the read pool (and kept).
pub async fn known_entry(
    db: &Db,
    session: &str,
    form: Addressing,
    user: &str,
) -> whatsapp_rust::store::error::Result<Option<LidPnMappingEntry>> {
    let known = &db.known_mappings;
    let generation = match known.get(session, form, user) {
        (_, Some(entry)) => return Ok(entry),
        (generation, None) => generation,
    };
    let entry = match form {
        Addressing::Pn => mapping_of_phone(&db.pool, session, user).await,
        Addressing::Lid => mapping_of_lid(&db.pool, session, user).await,
    }?;
    known.keep(session, generation, form, user, entry.clone());
    Ok(entry)
}
