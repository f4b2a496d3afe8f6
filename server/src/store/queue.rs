//! Statements whose results nothing reads, queued to run with a commit ([`Queue::defer`]).
//!
//! On SQLite each statement is a round trip to the connection's thread, and a write's round
//! trips are time every other writer waits for the one write connection. Queued statements are
//! joined into one SQL text with the commit, and SQLite runs them all in one round trip.

use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyConnection, Arguments, Encode, Type};

/// Where the statements of a write are queued: a [`super::WriteTx`] or a [`super::WriteBatch`].
pub trait Queue {
    /// Queues `sql`, a statement that writes and whose result nothing reads, to run at the
    /// commit, after every statement the write ran and those queued before it (so nothing the
    /// write reads sees it); bind its arguments on the returned [`Deferred`]. Its placeholders
    /// are `$1`, `$2`…, and `sql` holds no other `$`. A statement that fails fails the commit,
    /// and nothing of the write is kept.
    fn defer(&mut self, sql: &str) -> Deferred<'_>;
}

/// The statements queued on one write.
#[derive(Default)]
pub(super) struct Queued {
    /// Whether they are joined into one SQL text (SQLite).
    joins: bool,
    /// SQLite: the statements, each ended by `;`, their placeholders numbered on from the
    /// previous ones' (SQLite numbers `$N` across one multi-statement SQL text).
    joined: String,
    /// SQLite: the arguments of them all, in order.
    args: AnyArguments,
    /// PostgreSQL, whose protocol runs one statement with arguments at a time: each statement
    /// with its own.
    each: Vec<(String, AnyArguments)>,
    /// The first argument that could not be encoded: the commit fails with it.
    failed: Option<BoxDynError>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued")
            .field("joined", &self.joined)
            .field("each", &self.each.iter().map(|(sql, _)| sql).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Queued {
    /// Nothing queued yet; `joins` on SQLite.
    pub(super) fn new(joins: bool) -> Self {
        Self {
            joins,
            ..Self::default()
        }
    }

    /// See [`Queue::defer`].
    pub(super) fn defer(&mut self, sql: &str) -> Deferred<'_> {
        let args = if self.joins {
            self.joined.push_str(&shifted(sql, self.args.len()));
            self.joined.push_str(";\n");
            &mut self.args
        } else {
            let at = self.each.len();
            self.each.push((sql.to_owned(), AnyArguments::default()));
            &mut self.each[at].1
        };
        Deferred {
            args,
            failed: &mut self.failed,
        }
    }

    /// SQLite: the statements as one SQL text (each ended by `;`), and their arguments.
    pub(super) fn joined(self) -> sqlx::Result<(String, AnyArguments)> {
        match self.failed {
            Some(error) => Err(sqlx::Error::Encode(error)),
            None => Ok((self.joined, self.args)),
        }
    }

    /// PostgreSQL: runs the statements one after another on `conn`.
    pub(super) async fn run_each(self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        if let Some(error) = self.failed {
            return Err(sqlx::Error::Encode(error));
        }
        for (sql, args) in self.each {
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

/// Binds, in order, the arguments of a statement queued by [`Queue::defer`].
pub struct Deferred<'t> {
    args: &'t mut AnyArguments,
    failed: &'t mut Option<BoxDynError>,
}

impl Deferred<'_> {
    /// Binds the statement's next placeholder to `value`.
    pub fn bind<'v, T: Encode<'v, Any> + Type<Any>>(self, value: T) -> Self {
        if let Err(error) = self.args.add(value) {
            self.failed.get_or_insert(error);
        }
        self
    }
}

/// `sql` with each placeholder `$N` numbered `$N+by`.
fn shifted(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::shifted;

    #[test]
    fn placeholders_are_numbered_on() {
        assert_eq!(
            shifted(
                "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO UPDATE SET b = $2",
                3
            ),
            "INSERT INTO t (a, b) VALUES ($4, $5) ON CONFLICT DO UPDATE SET b = $5"
        );
        assert_eq!(
            shifted("UPDATE t SET a = $10 WHERE b = $9", 0),
            "UPDATE t SET a = $10 WHERE b = $9"
        );
        assert_eq!(shifted("SELECT '$' || $1", 1), "SELECT '$' || $2");
    }
}
