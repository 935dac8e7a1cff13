//! The test harness's streaming standby: a base backup of the test's own PostgreSQL,
//! streaming from it and replaying each commit a set delay late — what the read-replica
//! tests will read from.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use crate::own_postgres::OwnPostgres;

/// The first column of the one row `sql` returns.
async fn one<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> T {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("answers")
        .expect("a row")
        .try_get_by_index(0)
        .expect("a value")
}

#[tokio::test]
async fn a_standby_streams_the_primarys_commits_and_replays_them_after_its_apply_delay() {
    let Some(primary) = OwnPostgres::start() else {
        return;
    };
    let standby = primary.standby(Duration::from_secs(2));
    let (writes, reads) = (
        Database::connect(primary.url()).await.expect("the primary"),
        Database::connect(standby.url()).await.expect("the standby"),
    );
    assert!(one::<bool>(&reads, "SELECT pg_is_in_recovery()").await);

    writes
        .execute_unprepared("CREATE TABLE comments (id int); INSERT INTO comments VALUES (1)")
        .await
        .expect("written on the primary");
    let committed_at: String = one(&writes, "SELECT pg_current_wal_lsn()::text").await;
    let replayed = format!("SELECT pg_last_wal_replay_lsn() >= '{committed_at}'::pg_lsn");
    assert!(
        !one::<bool>(&reads, &replayed).await,
        "inside the apply delay the standby has not replayed the commit"
    );

    let started = Instant::now();
    while !one::<bool>(&reads, &replayed).await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never replayed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(one::<i64>(&reads, "SELECT count(*) FROM comments").await, 1);
    let refused = reads
        .execute_unprepared("INSERT INTO comments VALUES (2)")
        .await;
    assert!(refused.is_err(), "a standby takes no writes");
    drop(standby);
}
