//! Indexes: the statements the optimized pages run seek an index rather than read
//! whole tables, and the lab that shows it drops indexes only inside a transaction it
//! rolls back.

use perfblog::lab::workbench::Workbench;
use perfblog::services::db::explain::explain;
use perfblog::services::db::indexes::PAGE_INDEXES;
use perfblog::services::seed::DatasetSize;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::helpers::spawn_app;

/// The standard dataset's shape — 10,000 posts, 200 users, 50 tags — with fewer comments
/// (5 a post, not 20) to seed faster; 50,000 comments are still far too many to read
/// for one post's 50.
const PLANNED: DatasetSize = DatasetSize {
    users: 200,
    tags: 50,
    posts: 10_000,
    comments_per_post: 5,
};

/// The indexes the schema has, by name.
async fn index_names(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'index'",
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("the catalog answers")
        .iter()
        .map(|row| row.try_get::<String>("", "name").expect("a name"))
        .collect()
}

#[tokio::test]
async fn no_statement_of_the_optimized_post_tag_and_list_pages_reads_all_of_posts_or_comments() {
    let app = spawn_app().await;
    app.seed(PLANNED).await;
    // The planner chooses by statistics: give it the dataset's.
    app.db
        .execute_unprepared("ANALYZE")
        .await
        .expect("ANALYZE runs");
    let on_postgres = app.db.get_database_backend() == DbBackend::Postgres;

    let url = perfblog::base::config::DatabaseUrl::parse(&app.database_url).expect("a URL");
    let workbench = Workbench::new(app.db.clone(), url);
    let statements = workbench.page_statements().await.expect("the pages load");
    assert!(
        statements.len() >= 10,
        "every page's statements: {}",
        statements.len()
    );
    for page_statement in &statements {
        let plan = explain(&app.db, &page_statement.statement)
            .await
            .expect("EXPLAIN runs");
        let shown = format!(
            "{}\n{}\n{}",
            page_statement.page,
            page_statement.statement.sql,
            plan.text()
        );
        if page_statement.page == "title search" {
            // `LIKE '%…%'` has no prefix a B-tree could seek to: a trigram index on
            // PostgreSQL, a whole-table read on SQLite, which has none.
            assert_eq!(plan.scans_whole("posts"), !on_postgres, "{shown}");
            continue;
        }
        assert!(!plan.scans_whole("posts"), "{shown}");
        assert!(!plan.scans_whole("comments"), "{shown}");
    }
}

#[tokio::test]
async fn the_indexes_lab_shows_both_plans_and_leaves_every_index_in_place() {
    let app = spawn_app().await;
    app.seed(PLANNED).await;
    app.db
        .execute_unprepared("ANALYZE")
        .await
        .expect("ANALYZE runs");
    let before = index_names(&app.db).await;
    for (index, _) in PAGE_INDEXES.iter().take(3) {
        assert!(before.iter().any(|name| name == index), "{index} exists");
    }

    let page = app.get_page("/lab/indexes").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body.matches("How the database ran them").count(),
        2,
        "a plan on each side"
    );
    let scan = match app.db.get_database_backend() {
        DbBackend::Postgres => "Seq Scan on comments",
        _ => "SCAN comments",
    };
    assert!(
        page.body.contains(scan),
        "without its index, comments are read whole"
    );

    let mut after = index_names(&app.db).await;
    let mut before = before;
    after.sort();
    before.sort();
    assert_eq!(
        after, before,
        "the dropped indexes came back with the rollback"
    );
}
