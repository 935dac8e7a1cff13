//! Indexes: the statements the optimized pages run seek an index rather than read
//! whole tables or sort a page's rows, and the lab that shows it drops indexes only inside a transaction it
//! rolls back.

use std::time::Duration;

use perfblog::lab::workbench::Workbench;
use perfblog::services::db::explain::explain;
use perfblog::services::db::indexes::PAGE_INDEXES;
use perfblog::services::db::plan_tree::explain_read;
use perfblog::services::seed::DatasetSize;
use perfblog::views::pagination::{PageNumber, PageWindow};
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
async fn no_statement_of_the_optimized_pages_reads_all_posts_or_comments_and_a_page_of_posts_is_read_in_index_order_and_on_postgres_no_further()
 {
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
        // A page of posts (`LIMIT`) is read from an index in its order and stops at
        // its end; a sort would first find every post that could be on it. (The post
        // page's comments are one post's, found by an index: the planner may sort
        // that few.)
        if page_statement.page != "post page" && page_statement.statement.sql.contains("LIMIT") {
            assert!(!plan.sorts_every_row(), "{shown}");
            assert_handles_one_page_of_rows(&app.db, &page_statement.statement).await;
        }
    }
}

/// On PostgreSQL, which counts the rows of every step: no step of `statement` handles
/// — produces, or reads and filters out — more rows than a page fetches. Walking the newest posts and asking each whether it
/// has the tag sorts nothing, but handles as many posts as it takes to find a page's.
async fn assert_handles_one_page_of_rows(db: &DatabaseConnection, statement: &Statement) {
    let plan = explain_read(db, &statement.to_string(), Duration::from_secs(10))
        .await
        .unwrap_or_else(|_| panic!("EXPLAIN ANALYZE runs: {statement}"));
    if !plan.analyzed {
        return; // SQLite counts no rows.
    }
    let page = PageWindow::new(PageNumber::FIRST).rows_to_fetch() as f64;
    for step in &plan.steps {
        let handled = step.rows_handled().unwrap_or(0.0);
        assert!(
            handled <= page,
            "{} handled {handled} rows for a page of {page}: {statement}",
            step.what
        );
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
