//! Every statement the app sends ends with a sqlcommenter comment naming its route,
//! variant and function, so what PostgreSQL reports leads back to the code. Tried on a
//! PostgreSQL of the test's own, started with `pg_stat_statements` loaded; skipped
//! where PostgreSQL's server binaries are not installed.

use sea_orm::{ConnectionTrait, Statement};

use crate::comments::post_comment;
use crate::helpers::{SMALL, TestApp, TestOptions, spawn_app_on};
use crate::own_postgres::OwnPostgres;
use perfblog::base::config::Inspection;

/// Empties `pg_stat_statements` (creating it the first time).
async fn forget_statements(app: &TestApp) {
    for sql in [
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        "SELECT pg_stat_statements_reset()",
    ] {
        app.db.execute_unprepared(sql).await.expect(sql);
    }
}

/// Each statement `pg_stat_statements` has seen since it was emptied, normalized.
async fn statements_seen(app: &TestApp) -> Vec<String> {
    app.db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT query FROM pg_stat_statements",
        ))
        .await
        .expect("pg_stat_statements answers")
        .iter()
        .map(|row| row.try_get::<String>("", "query").expect("a query text"))
        .collect()
}

#[tokio::test]
async fn pg_stat_statements_names_the_route_variant_and_function_of_each_statement_reads_and_writes()
 {
    let Some(postgres) = OwnPostgres::start().filter(OwnPostgres::has_pg_stat_statements) else {
        eprintln!("skipped: pg_stat_statements is not installed");
        return;
    };
    let app = spawn_app_on(&postgres.url(), TestOptions::rendering_every_page()).await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    forget_statements(&app).await;

    app.get_page("/naive/").await;
    post_comment(&app, &format!("/posts/{}/comments", post.slug), "Noted.").await;

    let seen = statements_seen(&app).await;
    let from = |table: &str, tags: &[&str]| {
        seen.iter().any(|sql| {
            sql.contains(table) && sql.ends_with("*/") && tags.iter().all(|tag| sql.contains(tag))
        })
    };
    assert!(
        from(
            r#"FROM "users""#,
            &[
                "action='summarize'",
                "controller='views/post_list/naive'",
                "framework='axum'",
                "route='/naive/'",
                "variant='naive'",
            ]
        ),
        "the naive list's N+1, by route, variant and function: {seen:#?}"
    );
    assert!(
        from(
            r#"INSERT INTO "comments""#,
            &[
                "controller='views/comments",
                "route='/posts/%7Bslug%7D/comments'",
                "variant='optimized'",
            ]
        ),
        "a write inside the comment's transaction: {seen:#?}"
    );
}

#[tokio::test]
async fn with_sql_comments_off_statements_reach_the_database_as_written() {
    let Some(postgres) = OwnPostgres::start().filter(OwnPostgres::has_pg_stat_statements) else {
        eprintln!("skipped: pg_stat_statements is not installed");
        return;
    };
    let options = TestOptions {
        inspection: Inspection {
            sql_comments: false,
            ..Inspection::default()
        },
        ..TestOptions::rendering_every_page()
    };
    let app = spawn_app_on(&postgres.url(), options).await;
    app.seed(SMALL).await;
    forget_statements(&app).await;

    app.get_page("/naive/").await;

    let seen = statements_seen(&app).await;
    assert!(seen.iter().any(|sql| sql.contains(r#"FROM "posts""#)));
    assert!(
        seen.iter().all(|sql| !sql.contains("framework=")),
        "{seen:#?}"
    );
}
