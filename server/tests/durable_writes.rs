//! Group commit on SQLite: every write returns only after a sync of the write-ahead log that
//! began after it committed (writes waiting at the same time share one), and the log is copied
//! into the database file in the background, not inside a commit. On PostgreSQL a commit is
//! durable by itself, and nothing is counted.

mod common;

use titan_server::store::{Db, Queue, Write, WriteTx};

/// The counters `names` as `db` reports them.
fn metrics<const N: usize>(db: &Db, names: [&str; N]) -> [u64; N] {
    let metrics = db.metrics();
    names.map(|name| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    })
}

/// `titan_sqlite_durable_writes_total` and `titan_sqlite_log_syncs_total` as `db` reports them.
fn counts(db: &Db) -> (u64, u64) {
    let [writes, syncs] = metrics(
        db,
        ["titan_sqlite_durable_writes_total", "titan_sqlite_log_syncs_total"],
    );
    (writes, syncs)
}

/// A fresh database of `backend` with a table `t (n)`, or `None` without PostgreSQL.
async fn with_table(backend: common::Backend) -> Option<(Db, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::database_url(backend, &dir).await?;
    let db = Db::connect(&url).await.expect("connect");
    sqlx::query("CREATE TABLE t (n BIGINT NOT NULL)")
        .write(&db)
        .await
        .expect("create the table");
    Some((db, dir))
}

/// [`with_table`], where `n` is unique.
async fn with_unique_table(backend: common::Backend) -> Option<(Db, tempfile::TempDir)> {
    let (db, dir) = with_table(backend).await?;
    sqlx::query("CREATE UNIQUE INDEX t_n ON t (n)")
        .write(&db)
        .await
        .expect("unique n");
    Some((db, dir))
}

/// Inserts `n` into `t` inside `tx`.
async fn insert(tx: &mut WriteTx, n: i64) {
    sqlx::query("INSERT INTO t (n) VALUES ($1)")
        .bind(n)
        .execute(&mut **tx)
        .await
        .expect("insert in a transaction");
}

/// The values of `t`, in order.
async fn kept(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT n FROM t ORDER BY n")
        .fetch_all(&db.pool)
        .await
        .expect("read")
}

async fn rows(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM t")
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_each_write_waits_for_a_sync_of_its_own_commit() {
    let (db, _dir) = with_table(common::Backend::Sqlite).await.expect("SQLite");
    let (writes, syncs) = counts(&db);
    assert_eq!((writes, syncs), (1, 1), "the table's creation waited for one sync");

    // One after another, no sync can serve two writes: each began after the previous returned.
    for n in 0..20_i64 {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .write(&db)
            .await
            .expect("insert");
        assert_eq!(rows(&db).await, n + 1, "a write is visible to readers once it returns");
        assert_eq!(
            counts(&db),
            (u64::try_from(n).unwrap() + 2, u64::try_from(n).unwrap() + 2)
        );
    }
    // A transaction's commit waits likewise.
    let mut tx = db.begin_write().await.expect("begin");
    for n in 0..3_i64 {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(&mut *tx)
            .await
            .expect("insert in a transaction");
    }
    tx.commit().await.expect("commit");
    assert_eq!(counts(&db), (22, 22));
    assert_eq!(rows(&db).await, 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writes_all_land_each_after_a_sync() {
    let (db, _dir) = with_table(common::Backend::Sqlite).await.expect("SQLite");
    let writers: Vec<_> = (0..200_i64)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.expect("begin");
                sqlx::query("INSERT INTO t (n) VALUES ($1)")
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    assert_eq!(rows(&db).await, 200);
    let (writes, syncs) = counts(&db);
    println!("200 concurrent writes: {syncs} log syncs");
    assert_eq!(writes, 201);
    assert!((1..=writes).contains(&syncs), "{syncs} syncs for {writes} writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_reaches_the_database_file_in_the_background() {
    let (db, dir) = with_table(common::Backend::Sqlite).await.expect("SQLite");
    let file = dir.path().join("titan.db");
    let size = || std::fs::metadata(&file).expect("database file").len();
    sqlx::query("CREATE TABLE b (data BLOB NOT NULL)")
        .write(&db)
        .await
        .expect("create a table of blobs");
    let empty = size();
    // 2 MiB, half of what would make a commit checkpoint by itself (1,000 pages of 4 KiB).
    for _ in 0..64 {
        let mut tx = db.begin_write().await.expect("begin");
        for _ in 0..8 {
            sqlx::query("INSERT INTO b (data) VALUES ($1)")
                .bind(vec![7_u8; 4096])
                .execute(&mut *tx)
                .await
                .expect("insert");
        }
        tx.commit().await.expect("commit");
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < empty + 1024 * 1024 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the database file is still {} bytes: the log was not checkpointed",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Under writes that never pause, the log still starts over instead of growing with everything
/// written: 256 MiB of writes leave a log file of less than half that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_starts_over_under_steady_writes() {
    const WRITERS: usize = 8;
    const BLOB: usize = 64 * 1024;
    const WRITTEN: usize = 256 * 1024 * 1024;
    let (db, dir) = with_table(common::Backend::Sqlite).await.expect("SQLite");
    sqlx::query("CREATE TABLE b (data BLOB NOT NULL)")
        .write(&db)
        .await
        .expect("create a table of blobs");
    let writers = (0..WRITERS).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            for _ in 0..WRITTEN / BLOB / WRITERS {
                sqlx::query("INSERT INTO b (data) VALUES ($1)")
                    .bind(vec![7_u8; BLOB])
                    .write(&db)
                    .await
                    .expect("insert");
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.expect("writer");
    }
    let log = std::fs::metadata(dir.path().join("titan.db-wal"))
        .expect("log file")
        .len();
    println!("{} MiB written, log file {} MiB", WRITTEN >> 20, log >> 20);
    assert!(
        log < (WRITTEN / 2) as u64,
        "the log file is {log} bytes after {WRITTEN} bytes written: it never started over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_commits_wait_for_nothing_and_count_nothing() {
    let Some((db, _dir)) = with_table(common::Backend::Postgres).await else {
        return;
    };
    let mut tx = db.begin_write().await.expect("begin");
    sqlx::query("INSERT INTO t (n) VALUES (1)")
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(rows(&db).await, 1);
    assert_eq!(db.metrics(), "");
}

/// A write transaction given up (dropped uncommitted, or its task cancelled while it held the
/// writer) leaves nothing behind, and the writes after it go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_given_up_leaves_nothing_and_the_next_goes_through() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some((db, _dir)) = with_table(backend).await else {
            continue;
        };
        let mut tx = db.begin_write().await.expect("begin");
        insert(&mut tx, 1).await;
        drop(tx);

        let (began, holding) = tokio::sync::oneshot::channel();
        let cancelled = tokio::spawn({
            let db = db.clone();
            async move {
                let mut tx = db.begin_write().await.expect("begin");
                insert(&mut tx, 2).await;
                began.send(()).expect("the test waits");
                std::future::pending::<()>().await;
                tx.commit().await.expect("never reached");
            }
        });
        holding.await.expect("the transaction began");
        cancelled.abort();
        assert!(cancelled.await.expect_err("cancelled").is_cancelled());

        sqlx::query("INSERT INTO t (n) VALUES (3)")
            .write(&db)
            .await
            .expect("a write after them");
        let mut tx = db.begin_write().await.expect("a transaction after them");
        insert(&mut tx, 4).await;
        tx.commit().await.expect("commit");
        assert_eq!(kept(&db).await, [3, 4], "{backend:?}");
    }
}

/// Statements queued with `defer` run at the commit, after the transaction's own, in order, with
/// their arguments; one that fails fails the commit and nothing of the transaction is kept. A
/// batch of queued statements alone likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_statements_run_at_the_commit_or_nothing_is_kept() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some((db, _dir)) = with_unique_table(backend).await else {
            continue;
        };

        let mut tx = db.begin_write().await.expect("begin");
        tx.defer("INSERT INTO t (n) VALUES ($1)").bind(10_i64);
        tx.defer("UPDATE t SET n = n + $1 WHERE n = $2")
            .bind(1_i64)
            .bind(10_i64);
        insert(&mut tx, 20).await;
        let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .expect("read in the transaction");
        assert_eq!(seen, 1, "{backend:?}: the queued insert has not run yet");
        tx.commit().await.expect("commit");
        assert_eq!(
            kept(&db).await,
            [11, 20],
            "{backend:?}: the update ran after the insert it follows"
        );

        let mut tx = db.begin_write().await.expect("begin");
        insert(&mut tx, 30).await;
        tx.defer("INSERT INTO t (n) VALUES ($1)").bind(40_i64);
        tx.defer("INSERT INTO t (n) VALUES ($1)").bind(11_i64);
        tx.defer("INSERT INTO t (n) VALUES ($1)").bind(50_i64);
        tx.commit().await.expect_err("a duplicate n fails the commit");
        sqlx::query("INSERT INTO t (n) VALUES (60)")
            .write(&db)
            .await
            .expect("a write after the failed one");
        assert_eq!(
            kept(&db).await,
            [11, 20, 60],
            "{backend:?}: nothing of the failed transaction is kept"
        );

        // A batch: only queued statements, begun and committed with them.
        let mut batch = db.batch();
        batch.defer("INSERT INTO t (n) VALUES ($1)").bind(70_i64);
        batch
            .defer("UPDATE t SET n = $1 WHERE n = $2")
            .bind(71_i64)
            .bind(70_i64);
        batch.commit(&db).await.expect("commit a batch");
        let mut batch = db.batch();
        batch.defer("INSERT INTO t (n) VALUES ($1)").bind(80_i64);
        batch.defer("INSERT INTO t (n) VALUES ($1)").bind(71_i64);
        batch.commit(&db).await.expect_err("a duplicate n fails the batch");
        let mut batch = db.batch();
        batch.defer("INSERT INTO t (n) VALUES ($1)").bind(90_i64);
        batch.commit(&db).await.expect("a batch after the failed one");
        assert_eq!(
            kept(&db).await,
            [11, 20, 60, 71, 90],
            "{backend:?}: nothing of the failed batch is kept"
        );
    }
}

/// A batch of statements on different rows ([`Db::disjoint_batch`]) lands all or nothing, with
/// each statement's arguments where they belong (the statements have 1, 3 and 2 placeholders);
/// on PostgreSQL, which runs it as one statement, each of them sees the database as it was
/// before the batch, as its callers are told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disjoint_batches_land_all_or_nothing() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some((db, _dir)) = with_unique_table(backend).await else {
            continue;
        };
        sqlx::query("CREATE TABLE u (a BIGINT NOT NULL, b TEXT NOT NULL, c BIGINT NOT NULL)")
            .write(&db)
            .await
            .expect("create u");
        sqlx::query("INSERT INTO t (n) VALUES (1)")
            .write(&db)
            .await
            .expect("insert 1");

        let mut batch = db.disjoint_batch();
        batch.defer("UPDATE t SET n = $1 WHERE n = 1").bind(2_i64);
        batch
            .defer("INSERT INTO u (a, b, c) VALUES ($1, $2, (SELECT COUNT(*) FROM t WHERE n = $3))")
            .bind(10_i64)
            .bind("ten")
            .bind(1_i64);
        batch
            .defer("INSERT INTO t (n) VALUES ($1), ($2)")
            .bind(3_i64)
            .bind(4_i64);
        batch.commit(&db).await.expect("commit a disjoint batch");
        assert_eq!(kept(&db).await, [2, 3, 4], "{backend:?}");
        let (a, b, c): (i64, String, i64) = sqlx::query_as("SELECT a, b, c FROM u")
            .fetch_one(&db.pool)
            .await
            .expect("read u");
        assert_eq!((a, b.as_str()), (10, "ten"), "{backend:?}");
        let before = match backend {
            // One statement: the update of 1 to 2 is not seen.
            common::Backend::Postgres => 1,
            // A transaction, statement after statement.
            common::Backend::Sqlite => 0,
        };
        assert_eq!(c, before, "{backend:?}: what the second statement saw");

        let mut batch = db.disjoint_batch();
        batch
            .defer("INSERT INTO u (a, b, c) VALUES ($1, $2, $3)")
            .bind(20_i64)
            .bind("twenty")
            .bind(0_i64);
        batch.defer("INSERT INTO t (n) VALUES ($1)").bind(3_i64);
        batch.commit(&db).await.expect_err("a duplicate n fails the batch");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM u")
            .fetch_one(&db.pool)
            .await
            .expect("count u");
        assert_eq!(
            (kept(&db).await, rows),
            (vec![2, 3, 4], 1),
            "{backend:?}: nothing of it is kept"
        );
    }
}

/// `titan_sqlite_write_rounds_total` and `titan_sqlite_round_writes_total` as `db` reports them.
fn rounds(db: &Db) -> (u64, u64) {
    let [rounds, writes] = metrics(
        db,
        ["titan_sqlite_write_rounds_total", "titan_sqlite_round_writes_total"],
    );
    (rounds, writes)
}

/// One of the writes [`writes_waiting_together_keep_their_own_results`] sends at once.
async fn one_write(db: &Db, n: i64) -> Result<String, sqlx::Error> {
    match n % 4 {
        0 => sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .write(db)
            .await
            .map(|done| format!("inserted {}", done.rows_affected())),
        1 => sqlx::query("INSERT INTO t (n) VALUES ($1) RETURNING n + 1000000 AS m")
            .bind(n)
            .write_returning(db)
            .await
            .map(|rows| {
                let back: Vec<i64> = rows.iter().map(|row| sqlx::Row::get(row, "m")).collect();
                format!("returned {back:?}")
            }),
        2 => sqlx::query("UPDATE t SET n = n WHERE n = $1")
            .bind(-n)
            .write(db)
            .await
            .map(|done| format!("updated {}", done.rows_affected())),
        _ => {
            let mut batch = db.batch();
            batch.defer("INSERT INTO t (n) VALUES ($1)").bind(n);
            batch.defer("INSERT INTO t (n) VALUES ($1)").bind(n + 500_000);
            batch.commit(db).await.map(|()| "batch".to_owned())
        }
    }
}

/// What [`one_write`] gives for `n` when it lands.
fn landed(n: i64) -> String {
    match n % 4 {
        0 => "inserted 1".to_owned(),
        1 => format!("returned [{}]", n + 1_000_000),
        2 => "updated 0".to_owned(),
        _ => "batch".to_owned(),
    }
}

/// Writes sent at once (single statements, `RETURNING` statements and batches) each get their
/// own results, whether they ran together or not; one that fails fails alone, as a unique
/// violation, and leaves nothing, and the others land. On SQLite, the writes that wait while a
/// transaction holds the writer run together, in fewer rounds than writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_waiting_together_keep_their_own_results() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some((db, _dir)) = with_unique_table(backend).await else {
            continue;
        };
        // Taken already: the writes of 8 (an insert), 5 (a RETURNING insert), 7 (a batch whose
        // first statement inserts 7) and 3 (a batch whose second statement inserts 500003) fail.
        for taken in [8_i64, 5, 7, 500_003] {
            sqlx::query("INSERT INTO t (n) VALUES ($1)")
                .bind(taken)
                .write(&db)
                .await
                .expect("insert");
        }
        let before = matches!(backend, common::Backend::Sqlite).then(|| rounds(&db));

        // A transaction holds the writer while the writes queue behind it.
        let mut tx = db.begin_write().await.expect("begin");
        insert(&mut tx, -1).await;
        let writes: Vec<_> = (0..120_i64)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move { (n, one_write(&db, n).await) })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        tx.commit().await.expect("commit");

        for write in writes {
            let (n, outcome) = write.await.expect("writer");
            match n {
                3 | 5 | 7 | 8 => {
                    let error = outcome.expect_err("fails");
                    assert!(
                        error.as_database_error().is_some_and(|e| e.is_unique_violation()),
                        "{backend:?}: write {n} fails as a unique violation: {error}"
                    );
                }
                _ => assert_eq!(outcome.expect("lands"), landed(n), "{backend:?}: write {n}"),
            }
        }
        let kept = kept(&db).await;
        let mut expected: Vec<i64> = [-1, 8, 5, 7, 500_003]
            .into_iter()
            .chain((0..120_i64).filter(|n| n % 4 != 2 && ![3, 5, 7, 8].contains(n)))
            .chain(
                (0..120_i64)
                    .filter(|n| n % 4 == 3 && ![3, 7].contains(n))
                    .map(|n| n + 500_000),
            )
            .collect();
        expected.sort_unstable();
        assert_eq!(
            kept, expected,
            "{backend:?}: every write that landed, nothing of those that failed"
        );

        if let Some((rounds_before, writes_before)) = before {
            let (rounds_after, writes_after) = rounds(&db);
            let (rounds, writes) = (rounds_after - rounds_before, writes_after - writes_before);
            println!("90 writes queued behind a transaction: {rounds} rounds");
            // `RETURNING` statements run on the transactions' connection instead.
            assert_eq!(
                writes, 90,
                "every write of statements known up front went through a round"
            );
            assert!(rounds < 10, "{rounds} rounds for 90 writes waiting together");
        }
    }
}
