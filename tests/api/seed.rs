//! The dataset: deterministic, refuses to double itself, replaces atomically.

use indicatif::ProgressBar;
use perfblog::base::entities::{comment, post, post_tag, tag, user};
use perfblog::services::seed::{self, DatasetSize, Existing, SeedError};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, PaginatorTrait, Statement,
};

use crate::helpers::{SMALL, spawn_app};

#[tokio::test]
async fn seeding_writes_the_requested_sizes() {
    let app = spawn_app().await;

    let report = app.seed(SMALL).await;

    assert_eq!(user::Entity::find().count(&app.db).await.unwrap(), 6);
    assert_eq!(tag::Entity::find().count(&app.db).await.unwrap(), 8);
    assert_eq!(post::Entity::find().count(&app.db).await.unwrap(), 30);
    assert_eq!(post_tag::Entity::find().count(&app.db).await.unwrap(), 90);
    let comments = comment::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(comments, report.comments as u64);
    assert!((30..=150).contains(&comments), "about 3 a post: {comments}");
}

#[tokio::test]
async fn the_same_sizes_give_the_same_data_on_every_run() {
    let (first, second) = (spawn_app().await, spawn_app().await);
    first.seed(SMALL).await;
    second.seed(SMALL).await;

    let posts_of = |app: &crate::helpers::TestApp| {
        let db = app.db.clone();
        async move { post::Entity::find().all(&db).await.unwrap() }
    };
    assert_eq!(posts_of(&first).await, posts_of(&second).await);
    let comments_of = |app: &crate::helpers::TestApp| {
        let db = app.db.clone();
        async move { comment::Entity::find().all(&db).await.unwrap() }
    };
    assert_eq!(comments_of(&first).await, comments_of(&second).await);
}

/// Every index of the schema, by name, with the statement that makes it (SQLite has
/// none for the indexes behind constraints).
async fn index_definitions(db: &DatabaseConnection) -> Vec<(String, Option<String>)> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname AS name, indexdef AS definition FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY 1"
        }
        _ => "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' ORDER BY 1",
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("the catalog answers")
        .iter()
        .map(|row| {
            (
                row.try_get("", "name").expect("a name"),
                row.try_get("", "definition").expect("a definition or none"),
            )
        })
        .collect()
}

#[tokio::test]
async fn seeding_an_empty_database_or_replacing_data_leaves_every_index_as_the_migrations_made_it()
{
    let app = spawn_app().await;
    let before = index_definitions(&app.db).await;
    assert!(before.len() >= 8, "the schema's indexes: {before:?}");

    app.seed(SMALL).await;

    assert_eq!(index_definitions(&app.db).await, before);
    let again = seed::seed(&app.db, SMALL, Existing::Replace, &ProgressBar::hidden()).await;
    again.expect("replacing succeeds");
    assert_eq!(index_definitions(&app.db).await, before);
}

#[tokio::test]
async fn seeding_a_database_with_data_refuses_and_changes_nothing() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let again = seed::seed(&app.db, SMALL, Existing::Refuse, &ProgressBar::hidden()).await;

    assert!(matches!(again, Err(SeedError::AlreadySeeded)), "{again:?}");
    assert_eq!(post::Entity::find().count(&app.db).await.unwrap(), 30);
}

#[tokio::test]
async fn reset_replaces_the_data_instead_of_doubling_it() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let smaller = DatasetSize { posts: 10, ..SMALL };

    seed::seed(&app.db, smaller, Existing::Replace, &ProgressBar::hidden())
        .await
        .expect("reseeding succeeds");

    assert_eq!(post::Entity::find().count(&app.db).await.unwrap(), 10);
    assert_eq!(user::Entity::find().count(&app.db).await.unwrap(), 6);
}

#[tokio::test]
async fn rows_inserted_after_seeding_get_fresh_ids() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let tag = tag::ActiveModel {
        name: Set("new-tag".to_owned()),
        slug: Set("new-tag".to_owned()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("the id sequence is past the seeded ids");

    assert_eq!(tag.id, 9);
}
