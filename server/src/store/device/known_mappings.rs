//! The LID mappings Titan completes events with, kept in memory where this server is the only
//! writer of them (SQLite).
//!
//! Every event naming a person is completed with the other form of their JID (see
//! [`crate::store::events::complete`]), and every message sent or received writes such events:
//! one read of `wa_lid_pn_mapping` per person named, each a round trip to a reading connection's
//! thread and another for its return to the pool. The mappings change rarely, and on SQLite every
//! change is written through this server's [`super::DeviceStore`], which forgets the session's
//! known mappings after it commits, so what is kept here is what the table holds. (With several
//! servers on PostgreSQL another server may write them, so nothing is kept there.)

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use anyhow::Context;

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
    pairs: HashMap<(Addressing, String), Option<Pair>>,
}

impl KnownMappings {
    /// The kept answer for `user` (in `form`) of `session`, with the session's generation.
    fn get(&self, session: &str, form: Addressing, user: &str) -> (u64, Option<Option<Pair>>) {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get(session) {
            Some(known) => (known.generation, known.pairs.get(&(form, user.to_owned())).cloned()),
            None => (0, None),
        }
    }

    /// Keeps `pair` as the answer for `user` unless the session's mappings were forgotten since
    /// `generation`.
    fn keep(&self, session: &str, generation: u64, form: Addressing, user: &str, pair: Option<Pair>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let known = sessions.entry(session.to_owned()).or_default();
        if known.generation != generation {
            return;
        }
        if known.pairs.len() >= PER_SESSION {
            known.pairs.clear();
        }
        known.pairs.insert((form, user.to_owned()), pair);
    }

    /// Forgets `session`'s mappings: call after committing a change to them.
    pub fn forget(&self, session: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let known = sessions.entry(session.to_owned()).or_default();
        known.generation += 1;
        known.pairs.clear();
    }
}

/// `session`'s pairing of `user` (given in `form`), from memory where it is kept, else read
/// from the read pool (and kept, on SQLite).
pub async fn known_mapping(db: &Db, session: &str, form: Addressing, user: &str) -> anyhow::Result<Option<Pair>> {
    let known = db.known_mappings.as_deref();
    let generation = match known.map(|known| known.get(session, form, user)) {
        Some((_, Some(pair))) => return Ok(pair),
        Some((generation, None)) => generation,
        None => 0,
    };
    let entry = match form {
        Addressing::Pn => mapping_of_phone(&db.pool, session, user).await,
        Addressing::Lid => mapping_of_lid(&db.pool, session, user).await,
    }
    .context("read the LID mapping")?;
    let pair = entry.map(|entry| Pair {
        phone_number: entry.phone_number,
        lid: entry.lid,
    });
    if let Some(known) = known {
        known.keep(session, generation, form, user, pair.clone());
    }
    Ok(pair)
}
