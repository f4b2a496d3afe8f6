//! Statements whose results nothing reads, queued to run with a commit ([`Queue::defer`]).
//!
//! On SQLite each statement of a transaction is a round trip to the connection's thread, and a
//! write's round trips are time every other writer waits for. Queued statements are joined into
//! one SQL text with the commit, and SQLite runs them all in one round trip; a write made only of
//! queued statements ([`super::WriteBatch`]) runs in a round (see [`super::writer`]).

use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyConnection, Arguments, Encode, Type};

use super::rounds::Statement;

/// Where the statements of a write are queued: a [`super::WriteTx`] or a [`super::WriteBatch`].
pub trait Queue {
    /// Queues `sql`, a statement that writes and whose result nothing reads, to run at the
    /// commit, after every statement the write ran and those queued before it (so nothing the
    /// write reads sees it); bind its arguments on the returned [`Deferred`]. Its placeholders
    /// are `$1`, `$2`…, and `sql` holds no other `$`. A statement that fails fails the commit,
    /// and nothing of the write is kept.
    fn defer(&mut self, sql: &str) -> Deferred<'_>;
}

/// Statements joined into one SQL text, as SQLite runs them in one round trip: each ended by
/// `;`, their placeholders numbered on across the text (SQLite numbers `$N` across one
/// multi-statement text), with the arguments of them all in order.
#[derive(Default)]
pub(super) struct Joined {
    /// The statements.
    pub(super) sql: String,
    /// Their arguments.
    pub(super) args: AnyArguments,
}

impl Joined {
    /// Appends the statement `sql` (placeholders from `$1`) with its arguments `args`.
    pub(super) fn push(&mut self, sql: &str, args: AnyArguments) {
        self.sql.push_str(&shifted(sql, self.args.len()));
        self.sql.push_str(";\n");
        // `AnyArguments` has no other way to add values already encoded.
        self.args.values.0.extend(args.values.0);
    }
}

/// The statements queued on one write, each with its arguments.
#[derive(Default)]
pub(super) struct Queued {
    each: Vec<Statement>,
    /// The first argument that could not be encoded: the commit fails with it.
    failed: Option<BoxDynError>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued")
            .field("each", &self.each.iter().map(|(sql, _)| sql).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Queued {
    /// See [`Queue::defer`].
    pub(super) fn defer(&mut self, sql: &str) -> Deferred<'_> {
        let at = self.each.len();
        self.each.push((sql.to_owned(), AnyArguments::default()));
        Deferred {
            args: &mut self.each[at].1,
            failed: &mut self.failed,
        }
    }

    /// Queues `query`, a statement already bound (see [`Queue::defer`]).
    pub(super) fn push(&mut self, query: super::durable::Query<'_>) {
        match super::durable::statement(query) {
            Ok(statement) => self.each.push(statement),
            // An argument that could not be encoded, kept as `defer`'s are (not wrapped twice).
            Err(sqlx::Error::Encode(error)) => {
                self.failed.get_or_insert(error);
            }
            Err(other) => {
                self.failed.get_or_insert(other.into());
            }
        }
    }

    /// The statements, each with its arguments.
    pub(super) fn statements(self) -> sqlx::Result<Vec<Statement>> {
        match self.failed {
            Some(error) => Err(sqlx::Error::Encode(error)),
            None => Ok(self.each),
        }
    }

    /// The statements as one SQL text (SQLite).
    pub(super) fn joined(self) -> sqlx::Result<Joined> {
        let mut joined = Joined::default();
        for (sql, args) in self.statements()? {
            joined.push(&sql, args);
        }
        Ok(joined)
    }
}

/// Runs `statements` one after another on `conn` (PostgreSQL, whose protocol runs one statement
/// with arguments at a time).
pub(super) async fn run_each(statements: Vec<Statement>, conn: &mut AnyConnection) -> sqlx::Result<()> {
    for (sql, args) in statements {
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The most arguments one PostgreSQL statement takes.
const MAX_ARGUMENTS: usize = u16::MAX as usize;

/// `statements` as one PostgreSQL statement, when they can be: each but the last a
/// data-modifying query in a `WITH` clause of the last, their placeholders numbered on. One
/// statement is a round trip and a commit, where a transaction of them takes a round trip for
/// each, `BEGIN` and `COMMIT` included; but its parts all see the database as it was before it
/// (none sees another's writes), so only statements that touch different rows and read nothing
/// another writes may be joined (see [`super::Db::disjoint_batch`]). `statements` back when
/// they cannot be: more arguments than a statement takes, or a statement with a `WITH` clause
/// of its own (PostgreSQL takes data-modifying queries in `WITH` only at the top).
pub(super) fn one_statement(statements: Vec<Statement>) -> Result<Statement, Vec<Statement>> {
    let arguments: usize = statements.iter().map(|(_, args)| args.len()).sum();
    let has_with = |sql: &str| {
        sql.trim_start()
            .get(..4)
            .is_some_and(|word| word.eq_ignore_ascii_case("WITH"))
    };
    if arguments > MAX_ARGUMENTS || (statements.len() > 1 && statements.iter().any(|(sql, _)| has_with(sql))) {
        return Err(statements);
    }
    let last = statements.len().saturating_sub(1);
    let mut sql = String::new();
    let mut args = AnyArguments::default();
    for (at, (part, part_args)) in statements.into_iter().enumerate() {
        let part = shifted(&part, args.len());
        match at {
            0 if last == 0 => sql = part,
            0 => sql = format!("WITH w0 AS ({part})"),
            _ if at < last => sql.push_str(&format!(", w{at} AS ({part})")),
            _ => {
                sql.push(' ');
                sql.push_str(&part);
            }
        }
        // `AnyArguments` has no other way to add values already encoded.
        args.values.0.extend(part_args.values.0);
    }
    Ok((sql, args))
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
    if by == 0 {
        return sql.to_owned();
    }
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
    use sqlx::Arguments as _;
    use sqlx::any::AnyArguments;

    use super::{one_statement, shifted};

    /// Arguments of `n` values.
    fn arguments(n: i64) -> AnyArguments {
        let mut args = AnyArguments::default();
        for value in 0..n {
            args.add(value).expect("an integer encodes");
        }
        args
    }

    #[test]
    fn statements_join_into_one_with_their_placeholders_numbered_on() {
        let (sql, args) = one_statement(vec![
            ("INSERT INTO a (x, y) VALUES ($1, $2)".to_owned(), arguments(2)),
            ("UPDATE b SET x = $1 WHERE y = $1".to_owned(), arguments(1)),
            ("INSERT INTO c (z) VALUES ($1)".to_owned(), arguments(1)),
        ])
        .unwrap_or_else(|_| panic!("joined"));
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), w1 AS (UPDATE b SET x = $3 WHERE y = $3) \
             INSERT INTO c (z) VALUES ($4)"
        );
        assert_eq!(args.len(), 4);
        let (sql, _) = one_statement(vec![("DELETE FROM a WHERE x = $1".to_owned(), arguments(1))])
            .unwrap_or_else(|_| panic!("one"));
        assert_eq!(sql, "DELETE FROM a WHERE x = $1", "one statement stays as it is");
        let fenced = vec![
            (
                "WITH f AS (SELECT 1) INSERT INTO a (x) VALUES ($1)".to_owned(),
                arguments(1),
            ),
            ("INSERT INTO b (x) VALUES ($1)".to_owned(), arguments(1)),
        ];
        assert_eq!(
            one_statement(fenced).err().map(|given| given.len()),
            Some(2),
            "a statement with a WITH of its own: given back as they were"
        );
    }

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
