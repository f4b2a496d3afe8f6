//! The connection SQLite's write rounds run on (see [`super::writer`]): a connection of the
//! rounds' own thread, on which each statement is prepared once, kept, and run in place.
//!
//! Through sqlx, every statement's result crosses from the connection's thread to the task that
//! asked, with a wake-up each time: a round of about 210 statements took 14 ms this way, with the
//! connection's thread mostly switching, not writing (see the README's measured performance).
//! Here a round is a loop on one thread.

use std::borrow::Cow;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx_core::any::AnyValueKind;

/// One statement of a write: its SQL, placeholders `$1`, `$2`…, and their values.
pub(super) type Statement = (String, AnyArguments);

/// How many prepared statements the connection keeps.
const PREPARED: usize = 256;

/// The rounds' connection to the database file.
pub(super) struct RoundConnection {
    conn: Connection,
}

impl RoundConnection {
    /// Opens the SQLite file at `path` for writing as the server's other connections do (foreign
    /// keys on); its commits leave the log unsynced and never checkpoint, both left to
    /// [`super::durable::WalSync`], and cut a long log back when it starts over.
    pub(super) fn open(path: &str) -> sqlx::Result<Self> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)
            .map_err(error)?;
        conn.set_prepared_statement_cache_capacity(PREPARED);
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
            super::durable::LOG_KEPT
        ))
        .map_err(error)?;
        Ok(Self { conn })
    }

    /// Runs each write of `writes` (its statements in order) inside one transaction, each write
    /// all or nothing: a write whose statement fails is rolled back alone, with that error, and
    /// the others go on. The outcome of each, or the error that kept the whole round from
    /// committing: the transaction is then left open, and the connection must be dropped (which
    /// rolls it back).
    ///
    /// The writes first run as they are, without a savepoint each: a savepoint copies every page
    /// a write changes to a journal of its own, in case the write must be undone (about a sixth
    /// of the rounds' processor time, measured), and writes almost never fail. A write whose
    /// first statement fails has changed nothing (SQLite undoes a failed statement); only when a
    /// later statement of a write fails is the round rolled back and run again, each write under
    /// a savepoint.
    pub(super) fn round<'w>(
        &mut self,
        writes: impl Iterator<Item = &'w [Statement]> + Clone,
    ) -> sqlx::Result<Vec<sqlx::Result<Vec<AnyQueryResult>>>> {
        self.exec("BEGIN IMMEDIATE").map_err(error)?;
        let unguarded = writes
            .clone()
            .map(|write| self.write_unguarded(write))
            .collect::<rusqlite::Result<Option<Vec<_>>>>()
            .map_err(error)?;
        let outcomes = match unguarded {
            Some(outcomes) => outcomes,
            None => {
                self.exec("ROLLBACK").map_err(error)?;
                self.exec("BEGIN IMMEDIATE").map_err(error)?;
                writes
                    .map(|write| self.write(write))
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(error)?
            }
        };
        self.exec("COMMIT").map_err(error)?;
        Ok(outcomes)
    }

    /// Runs one write's `statements` as they are: its outcome; `None` when a statement after
    /// the first failed, so that what the ones before it did must be undone; or (outer) an error
    /// that ends the round (SQLite rolled the transaction back).
    fn write_unguarded(
        &mut self,
        statements: &[Statement],
    ) -> rusqlite::Result<Option<sqlx::Result<Vec<AnyQueryResult>>>> {
        let mut results = Vec::with_capacity(statements.len());
        for (sql, args) in statements {
            match self.run(sql, args) {
                Ok(result) => results.push(result),
                Err(failed) if self.conn.is_autocommit() => return Err(failed),
                Err(failed) if results.is_empty() => return Ok(Some(Err(error(failed)))),
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(Ok(results)))
    }

    /// Runs one write's `statements` under a savepoint: its outcome, or (outer) an error that
    /// ends the round (the savepoint itself failed).
    fn write(&mut self, statements: &[Statement]) -> rusqlite::Result<sqlx::Result<Vec<AnyQueryResult>>> {
        self.exec("SAVEPOINT w")?;
        let outcome = statements
            .iter()
            .map(|(sql, args)| self.run(sql, args))
            .collect::<rusqlite::Result<Vec<_>>>();
        match outcome {
            Ok(outcome) => {
                self.exec("RELEASE w")?;
                Ok(Ok(outcome))
            }
            Err(failed) => {
                self.exec("ROLLBACK TO w")?;
                self.exec("RELEASE w")?;
                Ok(Err(error(failed)))
            }
        }
    }

    /// Runs `sql`, a statement without arguments, kept prepared.
    fn exec(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.raw_execute().map(drop)
    }

    /// Runs one statement; the rows it changed.
    fn run(&self, sql: &str, args: &AnyArguments) -> rusqlite::Result<AnyQueryResult> {
        let mut statement = self.conn.prepare_cached(sql)?;
        for index in 1..=statement.parameter_count() {
            // `$N` takes the N-th value, wherever it appears.
            let value = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$')?.parse::<usize>().ok())
                .and_then(|n| args.values.0.get(n.checked_sub(1)?))
                .map_or(Ok(ValueRef::Null), value)?;
            statement.raw_bind_parameter(index, ToSqlOutput::Borrowed(value))?;
        }
        let changed = statement.raw_execute()?;
        Ok(AnyQueryResult {
            rows_affected: u64::try_from(changed).unwrap_or(u64::MAX),
            last_insert_id: Some(self.conn.last_insert_rowid()),
        })
    }
}

/// An argument as SQLite takes it.
fn value(value: &AnyValueKind) -> rusqlite::Result<ValueRef<'_>> {
    Ok(match value {
        AnyValueKind::Null(_) => ValueRef::Null,
        AnyValueKind::Bool(b) => ValueRef::Integer(i64::from(*b)),
        AnyValueKind::SmallInt(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::Integer(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::BigInt(i) => ValueRef::Integer(*i),
        AnyValueKind::Real(r) => ValueRef::Real(f64::from(*r)),
        AnyValueKind::Double(d) => ValueRef::Real(*d),
        AnyValueKind::Text(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::TextSlice(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::Blob(b) => ValueRef::Blob(b.as_slice()),
        other => {
            return Err(rusqlite::Error::ToSqlConversionFailure(
                format!("no SQLite value for {other:?}").into(),
            ));
        }
    })
}

/// A failure of the rounds' connection as the store reports database errors: SQLite's own
/// errors (a broken constraint…) as [`sqlx::Error::Database`], with their kind.
fn error(error: rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => sqlx::Error::Database(Box::new(SqliteFailure {
            message: message.unwrap_or_else(|| failure.to_string()),
            code: failure.extended_code,
        })),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// An error SQLite reported, with its extended result code.
#[derive(Debug, thiserror::Error)]
#[error("(code: {code}) {message}")]
struct SqliteFailure {
    message: String,
    code: i32,
}

impl DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}
