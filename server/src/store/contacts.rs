//! The `contacts` table: the people each session knows, from the messages they sent it (with
//! the display name of the latest), from the account's address book (app-state contacts), and
//! from number checks that found them on WhatsApp (usync).
//! A person is kept under their phone-number JID when the session knows it, so a LID and a
//! phone number of one person make one contact.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Queue, Write, device, now_ms};
use crate::model::envelope::NewEvent;
use crate::model::jid::Addressing;

/// One stored contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    /// The phone-number JID when known, else the LID.
    pub jid: String,
    /// Their LID, when known.
    pub lid: Option<String>,
    /// The display name of their latest message that carried one.
    pub push_name: Option<String>,
    /// Their full name in the account's address book.
    pub name: Option<String>,
    /// Their first name in the account's address book.
    pub first_name: Option<String>,
}

/// The statements that forget a session's contacts (`$1`: the session).
pub(super) const FORGET: [&str; 1] = ["DELETE FROM contacts WHERE session = $1"];

/// The key and LID `jid` is kept under: a LID the session's mapping knows goes under its phone
/// number, with the LID beside it.
async fn key<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    session: &str,
    jid: &str,
) -> anyhow::Result<(String, Option<String>)> {
    let Some(lid) = jid.strip_suffix("@lid") else {
        return Ok((jid.to_owned(), None));
    };
    let mapping = device::mapping_of_lid(conn, session, lid)
        .await
        .context("read the LID mapping")?;
    Ok(lid_key(jid, mapping.map(|m| m.phone_number)))
}

/// The key and LID of the LID `jid`, whose phone number the session's mapping knows or not.
fn lid_key(jid: &str, phone_number: Option<String>) -> ContactKey {
    (
        phone_number.map_or_else(|| jid.to_owned(), |phone| format!("{phone}@s.whatsapp.net")),
        Some(jid.to_owned()),
    )
}

/// Whether `jid` names a person (a phone number or a LID), not a group, channel or broadcast.
fn is_person(jid: &str) -> bool {
    jid.ends_with("@s.whatsapp.net") || jid.ends_with("@lid")
}

/// The key and LID a contact is kept under (see [`key`]).
pub(super) type ContactKey = (String, Option<String>);

/// The contact `sender` is kept under, if a person (not a group, channel or broadcast): read
/// from the read pool before a write records them with [`heard_from`], so the read never holds
/// the writer.
pub(super) async fn sender(db: &Db, session: &str, sender: &str) -> anyhow::Result<Option<ContactKey>> {
    if !is_person(sender) {
        return Ok(None);
    }
    let Some(lid) = sender.strip_suffix("@lid") else {
        return Ok(Some((sender.to_owned(), None)));
    };
    let mapping = device::known_mapping(db, session, Addressing::Lid, lid).await?;
    Ok(Some(lid_key(sender, mapping.map(|pair| pair.phone_number))))
}

/// Queues on `q` that the contact `sender` (from [`sender`]) wrote to the session, with the
/// display name `push_name` when their message carried one.
pub(super) fn heard_from(q: &mut impl Queue, session: &str, sender: &ContactKey, push_name: Option<&str>) {
    let (jid, lid) = sender;
    q.defer(
        "INSERT INTO contacts (session, jid, lid, push_name, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (session, jid) DO UPDATE SET lid = COALESCE(excluded.lid, contacts.lid), \
         push_name = COALESCE(excluded.push_name, contacts.push_name), updated_at = excluded.updated_at",
    )
    .bind(session)
    .bind(jid)
    .bind(lid)
    .bind(push_name.filter(|n| !n.is_empty()))
    .bind(now_ms());
}

/// Records that WhatsApp knows `jid` (a phone-number JID) as an account, with its LID when it
/// said, as a number check found it.
pub async fn found(db: &Db, session: &str, jid: &str, lid: Option<&str>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO contacts (session, jid, lid, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (session, jid) DO UPDATE SET lid = COALESCE(excluded.lid, contacts.lid)",
    )
    .bind(session)
    .bind(jid)
    .bind(lid)
    .bind(now_ms())
    .write(db)
    .await?;
    Ok(())
}

/// Records the name the account saved for `jid` in its address book (`None`s: cleared), with
/// `events`.
pub async fn named(
    db: &Db,
    session: &str,
    jid: &str,
    name: Option<&str>,
    first_name: Option<&str>,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let events = super::events::complete(db, session, events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    if is_person(jid) {
        let (jid, lid) = key(&mut *tx, session, jid).await?;
        sqlx::query(
            "INSERT INTO contacts (session, jid, lid, name, first_name, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (session, jid) DO UPDATE SET lid = COALESCE(excluded.lid, contacts.lid), \
             name = excluded.name, first_name = excluded.first_name, updated_at = excluded.updated_at",
        )
        .bind(session)
        .bind(&jid)
        .bind(lid)
        .bind(name)
        .bind(first_name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    }
    super::events::commit_with(tx, db, session, &events).await
}

const COLUMNS: &str = "jid, lid, push_name, name, first_name";

fn from_row(row: &AnyRow) -> anyhow::Result<ContactRow> {
    Ok(ContactRow {
        jid: row.try_get("jid")?,
        lid: row.try_get("lid")?,
        push_name: row.try_get("push_name")?,
        name: row.try_get("name")?,
        first_name: row.try_get("first_name")?,
    })
}

/// `rows` with their LIDs filled in from the session's mapping where they have none, in one
/// query.
async fn with_lids(db: &Db, session: &str, mut rows: Vec<ContactRow>) -> anyhow::Result<Vec<ContactRow>> {
    let phones: Vec<&str> = rows
        .iter()
        .filter(|row| row.lid.is_none())
        .filter_map(|row| row.jid.strip_suffix("@s.whatsapp.net"))
        .collect();
    let lids = device::lids_of_phones(&db.pool, session, &phones)
        .await
        .context("read the LID mappings")?;
    for row in rows.iter_mut().filter(|row| row.lid.is_none()) {
        row.lid = row
            .jid
            .strip_suffix("@s.whatsapp.net")
            .and_then(|phone| lids.get(phone))
            .map(|lid| format!("{lid}@lid"));
    }
    Ok(rows)
}

/// Up to `limit` of the session's contacts by JID, those after `after` when given.
pub async fn page(db: &Db, session: &str, after: Option<&str>, limit: usize) -> anyhow::Result<Vec<ContactRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE session = $1 AND jid > $2 ORDER BY jid LIMIT $3"
    )))
    .bind(session)
    .bind(after.unwrap_or(""))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&db.pool)
    .await?;
    let rows = rows.iter().map(from_row).collect::<anyhow::Result<Vec<_>>>()?;
    with_lids(db, session, rows).await
}

/// The session's address book: the contacts the account saved under a name (on the phone or
/// another device), with their LIDs where the session's mapping knows them.
pub async fn address_book(db: &Db, session: &str) -> anyhow::Result<Vec<ContactRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE session = $1 AND name IS NOT NULL ORDER BY jid"
    )))
    .bind(session)
    .fetch_all(&db.pool)
    .await?;
    let rows = rows.iter().map(from_row).collect::<anyhow::Result<Vec<_>>>()?;
    with_lids(db, session, rows).await
}

/// The session's contact `jid` (either JID form), if it knows them.
pub async fn one(db: &Db, session: &str, jid: &str) -> anyhow::Result<Option<ContactRow>> {
    let (key, _) = key(&db.pool, session, jid).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE session = $1 AND (jid = $2 OR lid = $3)"
    )))
    .bind(session)
    .bind(&key)
    .bind(jid)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(with_lids(db, session, vec![from_row(&row)?]).await?.pop()),
        None => Ok(None),
    }
}

/// The name the session knows each of `jids` by (either JID form): the address-book name, else
/// the push name of their latest message; people it knows no name for are left out.
pub async fn names(db: &Db, session: &str, jids: &[String]) -> anyhow::Result<HashMap<String, String>> {
    if jids.is_empty() {
        return Ok(HashMap::new());
    }
    let list = super::placeholders(jids.len(), 2);
    let sql = format!(
        "SELECT jid, lid, name, push_name FROM contacts WHERE session = $1 AND (jid IN ({list}) OR lid IN ({list}))"
    );
    let rows = jids
        .iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(session), |q, jid| {
            q.bind(jid)
        })
        .fetch_all(&db.pool)
        .await?;
    let mut names = HashMap::new();
    for row in &rows {
        let name: Option<String> = row.try_get("name")?;
        let Some(name) = name.or(row.try_get("push_name")?) else {
            continue;
        };
        let lid: Option<String> = row.try_get("lid")?;
        for key in std::iter::once(row.try_get::<String, _>("jid")?).chain(lid) {
            names.insert(key, name.clone());
        }
    }
    Ok(names)
}
