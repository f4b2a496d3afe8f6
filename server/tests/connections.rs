//! The connection pool on PostgreSQL hands out a connection again without a ping when it was
//! in use a moment ago; one that sat idle is pinged first, so connections the database closed
//! meanwhile (a restart, a proxy's idle timeout) are replaced instead of failing a request. A
//! caller that gives up while its transaction is being opened leaves no transaction open on the
//! connection it returns.

mod common;

use std::time::Duration;

use sqlx::{Connection, Row};
use titan_server::store::{Db, Write};

/// A server's database on PostgreSQL (its URL, and the database connected and migrated) with
/// an empty table `t` of numbers `n`; `None` when no PostgreSQL is configured.
async fn with_table(dir: &tempfile::TempDir) -> Option<(String, Db)> {
    let url = common::database_url(common::Backend::Postgres, dir).await?;
    let db = Db::connect(&url).await.expect("connect");
    sqlx::query("CREATE TABLE t (n BIGINT NOT NULL)")
        .write(&db)
        .await
        .expect("create the table");
    Some((url, db))
}

/// The server's connections to PostgreSQL are closed from the database's side while idle:
/// after a second and more of rest, reads and writes go on as if nothing happened.
#[tokio::test]
async fn postgres_connections_closed_while_idle_are_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((url, db)) = with_table(&dir).await else {
        return;
    };

    // Four connections at once, so the pool holds (at least) four; their backends' ids.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(db.pool.acquire().await.expect("a pooled connection"));
    }
    let mut pids = Vec::new();
    for connection in &mut held {
        let row = sqlx::query("SELECT pg_backend_pid() AS pid")
            .fetch_one(&mut **connection)
            .await
            .expect("backend id");
        pids.push(row.try_get::<i32, _>("pid").expect("pid"));
    }
    drop(held);
    // Back in the pool once sqlx's task has pinged each of them on its return.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut admin = sqlx::AnyConnection::connect(&url)
        .await
        .expect("a connection of its own");
    for pid in &pids {
        let row = sqlx::query("SELECT pg_terminate_backend($1) AS done")
            .bind(*pid)
            .fetch_one(&mut admin)
            .await
            .expect("terminate");
        assert!(
            row.try_get::<bool, _>("done").expect("done"),
            "backend {pid} terminated"
        );
    }
    admin.close().await.ok();

    // Past the idle time after which a connection is pinged before it is handed out.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for n in 0..8_i64 {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .write(&db)
            .await
            .expect("a write after the connections were closed");
    }
    let reads = (0..8).map(|_| sqlx::query("SELECT COUNT(*) AS n FROM t").fetch_one(&db.pool));
    for row in futures::future::join_all(reads).await {
        let count: i64 = row
            .expect("a read after the connections were closed")
            .try_get("n")
            .expect("n");
        assert_eq!(count, 8);
    }
    db.close().await;
}

/// Requests given up (their client went away, a timeout) while their transaction was being
/// opened, at every point of the opening: each write made through the pool afterwards commits,
/// and another connection sees them all. (sqlx 0.9.0 returned such a connection to the pool with
/// its `BEGIN` in force, so the writes that came next on it ran inside that transaction, neither
/// committed nor visible, holding their locks: transact-rs/sqlx#4393, fixed in 0.9.1.)
#[tokio::test]
async fn postgres_a_transaction_given_up_while_opening_leaves_none_open() {
    const TRIES: i64 = 40;
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((url, db)) = with_table(&dir).await else {
        return;
    };

    for polls in 1..=TRIES {
        // Polled `polls` times, letting the connection's I/O run in between, then dropped: the
        // early tries give up before the `BEGIN` is answered, the later ones after.
        let mut opening = Box::pin(db.begin_write());
        for _ in 0..polls {
            if futures::poll!(opening.as_mut()).is_ready() {
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(opening);
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(polls)
            .write(&db)
            .await
            .expect("a write after a transaction was given up");
    }

    let mut other = sqlx::AnyConnection::connect(&url)
        .await
        .expect("a connection of its own");
    let row = sqlx::query("SELECT COUNT(*) AS n FROM t")
        .fetch_one(&mut other)
        .await
        .expect("count");
    assert_eq!(
        row.try_get::<i64, _>("n").expect("n"),
        TRIES,
        "writes made after a given-up transaction are not committed"
    );
    other.close().await.ok();
    db.close().await;
}
