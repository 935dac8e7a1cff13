//! A migration applied to a database in use keeps its rows: the schema changes, the
//! data does not.

use indicatif::ProgressBar;
use migrations::{Migrator, MigratorTrait};
use perfblog::base::entities::{comment, post, user};
use perfblog::services::seed::{self, Existing};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};

use crate::helpers::SMALL;

async fn counts(db: &sea_orm::DatabaseConnection) -> (u64, u64, u64) {
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
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("in-use.sqlite").display()
    );
    let db = Database::connect(&url).await.expect("opens");
    Migrator::up(&db, Some(5))
        .await
        .expect("the migrations before it");
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
