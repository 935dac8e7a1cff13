//! The view counter: read-add-write loses views under concurrency; an atomic
//! `UPDATE … SET view_count = view_count + 1` does not. (The optimized page counts
//! into the write-behind tally: `write_behind.rs`.)

use perfblog::base::config::Backend;
use perfblog::base::instrument::{count_queries, record_statements};
use perfblog::views::post_detail::{naive, optimized};

use crate::helpers::{SMALL, spawn_app};

const CONCURRENT_VIEWS: usize = 200;

fn backend() -> Backend {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

#[tokio::test]
async fn each_view_of_a_post_page_counts_once_and_the_page_shows_it() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;

    let optimized_page = app.get_page(&format!("/posts/{}", post.slug)).await;
    assert!(optimized_page.body.contains("42 views"));
    app.flush_views().await;
    let naive_page = app.get_page(&format!("/naive/posts/{}", post.slug)).await;
    assert!(naive_page.body.contains("43 views"));
    assert_eq!(app.views_of(post.id).await, 43);
}

#[tokio::test]
async fn a_head_request_is_no_view_on_either_page_cached_or_not() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;
    for prefix in ["", "/naive", "", "/naive"] {
        let response = app
            .client
            .head(format!("{}{prefix}/posts/{}", app.address, post.slug))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200, "HEAD {prefix}");
    }
    app.flush_views().await;
    assert_eq!(app.views_of(post.id).await, 41, "no HEAD counted");

    let page = app.get_page(&format!("/posts/{}", post.slug)).await;
    assert!(page.body.contains("42 views"), "a GET still counts");
}

#[tokio::test]
async fn a_revalidation_of_the_cached_post_page_answered_304_is_no_view() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;
    let url = format!("{}/posts/{}", app.address, post.slug);
    let first = app.client.get(&url).send().await.expect("answered");
    let etag = first.headers()["etag"].to_str().expect("text").to_owned();
    assert!(first.text().await.expect("a page").contains("42 views"));

    for _ in 0..3 {
        let again = app
            .client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("answered");
        assert_eq!(again.status(), 304);
    }
    app.flush_views().await;
    assert_eq!(app.views_of(post.id).await, 42, "no 304 counted");
}

#[tokio::test]
async fn a_crawlers_visit_is_no_view_on_either_page_and_a_browsers_is() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    for prefix in ["", "/naive", "", "/naive"] {
        let response = app
            .client
            .get(format!("{}{prefix}/posts/{}", app.address, post.slug))
            .header("user-agent", googlebot)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200, "GET {prefix}");
    }
    app.flush_views().await;
    assert_eq!(
        app.views_of(post.id).await,
        41,
        "no crawler's visit counted"
    );

    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let visit = |agent: &'static str| {
        let request = app
            .client
            .get(format!("{}/posts/{}", app.address, post.slug))
            .header("user-agent", agent);
        async move {
            let response = request.send().await.expect("answered");
            response.text().await.expect("a page")
        }
    };
    assert!(
        visit(firefox).await.contains("42 views"),
        "a browser's visit counts"
    );
    assert!(
        visit(googlebot).await.contains("42 views"),
        "a crawler sees the count as it stands, its own visit not in it"
    );
}

#[tokio::test]
async fn the_naive_counter_takes_two_statements_and_the_atomic_one_one() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    let (_, naive_stats) = count_queries(naive::count_view(&app.db, post.id)).await;
    let (_, atomic_stats) = count_queries(optimized::count_view(&app.db, post.id)).await;

    assert_eq!((naive_stats.statements, atomic_stats.statements), (2, 1));
}

#[tokio::test]
async fn both_counters_touch_only_the_view_count_so_the_pair_differs_in_where_it_adds() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    let (_, _, naive_sql) = record_statements(naive::count_view(&app.db, post.id)).await;
    let (_, _, atomic_sql) = record_statements(optimized::count_view(&app.db, post.id)).await;

    for statement in naive_sql.iter().chain(&atomic_sql) {
        let sql = &statement.sql;
        assert!(sql.contains("view_count"), "{sql}");
        for other in ["body", "title", "excerpt", "comment_count", "updated_at"] {
            assert!(!sql.contains(other), "touches {other}: {sql}");
        }
    }
    assert!(naive_sql[0].sql.starts_with("SELECT"), "reads, then writes");
    assert!(naive_sql[1].sql.starts_with("UPDATE"), "reads, then writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_views_count_two_hundred_with_the_atomic_counter() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 0).await;

    let views = (0..CONCURRENT_VIEWS).map(|_| {
        let db = app.db.clone();
        tokio::spawn(async move { optimized::count_view(&db, post.id).await })
    });
    for view in views.collect::<Vec<_>>() {
        view.await.expect("task runs").expect("view counted");
    }

    assert_eq!(app.views_of(post.id).await, CONCURRENT_VIEWS as i32);
}

/// The lesson is that the naive counter is wrong, not only slow: views read the same
/// count and overwrite each other's increments. On PostgreSQL (a pool of
/// backend connections) and on SQLite (8 connections in WAL mode, whose readers do not wait
/// for its one writer) alike, the read and the write are separate statements, so
/// another view's read slips in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_views_lose_updates_with_the_naive_counter() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 0).await;

    app.get_concurrently(&format!("/naive/posts/{}", post.slug), CONCURRENT_VIEWS)
        .await;

    let counted = app.views_of(post.id).await;
    println!(
        "{:?}: the naive counter kept {counted} of {CONCURRENT_VIEWS} views",
        backend()
    );
    assert!(
        counted < CONCURRENT_VIEWS as i32,
        "lost updates on {:?}",
        backend()
    );
    assert!(counted > 0);
}
