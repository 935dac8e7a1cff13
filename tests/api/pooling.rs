//! Connection pooling: a connection opened for one request serves the same page as
//! the pool's, and is a connection of its own — opened for it, closed after.

use perfblog::base::config::DatabaseUrl;
use perfblog::base::slug::Slug;
use perfblog::services::db;
use perfblog::views::post_detail;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::helpers::{SMALL, spawn_app};

async fn backend_pid(db: &DatabaseConnection) -> i32 {
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT pg_backend_pid()",
    ))
    .await
    .expect("answers")
    .expect("a row")
    .try_get_by_index(0)
    .expect("a pid")
}

#[tokio::test]
async fn a_connection_of_its_own_loads_the_same_post_page_as_the_pool() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let url = DatabaseUrl::parse(&app.database_url).expect("a valid URL");
    let slug = Slug::parse(&app.first_published().await.slug).expect("a valid slug");

    let pooled = post_detail::optimized::load(&app.db, &slug)
        .await
        .expect("loads");
    let own = db::connect_one(&url).await.expect("connects");
    let alone = post_detail::optimized::load(&own, &slug)
        .await
        .expect("loads");
    own.close().await.expect("closes");

    assert!(pooled.is_some());
    assert_eq!(pooled, alone);
}

#[tokio::test]
async fn on_postgresql_each_connection_of_its_own_is_a_new_backend_gone_once_closed() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        eprintln!("skipped: backend processes are PostgreSQL's (set TEST_DATABASE_URL)");
        return;
    }
    let url = DatabaseUrl::parse(&app.database_url).expect("a valid URL");
    let mut pids = Vec::new();
    for _ in 0..2 {
        let own = db::connect_one(&url).await.expect("connects");
        pids.push(backend_pid(&own).await);
        own.close().await.expect("closes");
    }
    assert_ne!(pids[0], pids[1], "a new backend process each time");
    // A closed connection's backend exits on its own schedule, a few milliseconds
    // after the client has gone (CI once still saw one): wait up to 2 s for it.
    let query = format!(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid IN ({}, {})",
        pids[0], pids[1]
    );
    let mut still_there = i64::MAX;
    for _ in 0..40 {
        still_there = app
            .db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, query.clone()))
            .await
            .expect("answers")
            .expect("a row")
            .try_get_by_index(0)
            .expect("a count");
        if still_there == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(still_there, 0, "closed after use, within 2 s");
}
