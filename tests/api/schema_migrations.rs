//! A migration applied to a database in use keeps its rows: the schema changes, the
//! data does not.

use indicatif::ProgressBar;
use migrations::{Migrator, MigratorTrait};
use perfblog::base::entities::{comment, post, user};
use perfblog::services::seed::{self, Existing};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::helpers::SMALL;

/// A SQLite database in `dir` at the migration before the commenter identity's: its
/// URL, and a connection to it.
async fn before_the_commenter_identity(dir: &std::path::Path) -> (String, DatabaseConnection) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("old.sqlite").display());
    let db = Database::connect(&url).await.expect("opens");
    Migrator::up(&db, Some(5))
        .await
        .expect("the migrations before it");
    (url, db)
}

async fn counts(db: &DatabaseConnection) -> (u64, u64, u64) {
    (
        user::Entity::find().count(db).await.expect("counts users"),
        post::Entity::find().count(db).await.expect("counts posts"),
        comment::Entity::find()
            .count(db)
            .await
            .expect("counts comments"),
    )
}

/// SQLite rebuilds `users` for it, with foreign keys off: with them on, dropping the
/// table would first delete its rows, and the cascading keys every post and comment.
#[tokio::test]
async fn the_commenter_identity_migration_keeps_every_user_post_and_comment_of_a_seeded_sqlite_database()
 {
    let dir = tempfile::tempdir().expect("a folder");
    let (_, db) = before_the_commenter_identity(dir.path()).await;
    seed::seed(&db, SMALL, Existing::Refuse, &ProgressBar::hidden())
        .await
        .expect("seeds");
    let before = counts(&db).await;
    assert!(before.2 > 0, "{before:?}");

    Migrator::up(&db, None)
        .await
        .expect("the commenter identity migration");

    assert_eq!(counts(&db).await, before);
    let broken = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "PRAGMA foreign_key_check",
        ))
        .await
        .expect("checks");
    assert!(broken.is_empty(), "{} rows with a broken key", broken.len());
    let keys_on = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "PRAGMA foreign_keys",
        ))
        .await
        .expect("asks")
        .and_then(|row| row.try_get_by_index::<i32>(0).ok());
    assert_eq!(keys_on, Some(1), "foreign keys are back on");
}

/// Why start-up migrates on a connection of its own before it opens the pool: a SQLite
/// connection that read the schema before a migration checks a statement it prepares
/// against that old copy, so the comment's `ON CONFLICT (email, name)` fails there
/// ("does not match any PRIMARY KEY or UNIQUE constraint") until the connection runs
/// something else. A pool opened after `migrate` never holds such a connection. (What
/// SQLite 3 does today, bundled with libsqlite3-sys: a version that re-read the schema
/// on a failed prepare would fail the first half of this test, and make the order moot.)
/// It shows the mechanism, not the order: a server started the old way passed a test of
/// sixteen comments at once on an idle machine; the flake needed the whole suite's load.
#[tokio::test]
async fn a_sqlite_connection_opened_before_a_migration_refuses_its_new_constraint_and_one_opened_after_takes_it()
 {
    let dir = tempfile::tempdir().expect("a folder");
    let (raw, _) = before_the_commenter_identity(dir.path()).await;
    let url = perfblog::base::config::DatabaseUrl::parse(&raw).expect("a URL");
    let mut one = sea_orm::ConnectOptions::new(raw.as_str());
    one.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let opened_before = Database::connect(one).await.expect("opens");
    user::Entity::find()
        .count(&opened_before)
        .await
        .expect("reads the schema");

    perfblog::services::db::migrate(&url)
        .await
        .expect("the commenter identity migration");

    let upsert = "INSERT INTO users (name, email, created_at) VALUES ('Ada', 'ada@example.com', '2026-12-06') \
                  ON CONFLICT (email, name) DO NOTHING";
    let stale = opened_before
        .execute_unprepared(upsert)
        .await
        .expect_err("the old schema has no such constraint");
    assert!(stale.to_string().contains("ON CONFLICT"), "{stale}");
    let opened_after = perfblog::services::db::connect(&url).await.expect("opens");
    opened_after
        .execute_unprepared(upsert)
        .await
        .expect("the new schema has it");
}
