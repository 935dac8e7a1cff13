//! The write-behind counter: a view of the optimized post page is shown at once and
//! stored at the next flush; N concurrent views are N once flushed; one flush is one
//! statement however many posts it writes; a graceful shutdown flushes; a crash loses
//! at most the views since the last flush (none, when the tally is in Redis); a
//! database or Redis outage loses none. A cached page counts its view without a
//! statement and stays exact.

use std::time::Duration;

use perfblog::base::config::CacheSettings;
use perfblog::base::entities::post;
use perfblog::base::instrument::count_queries;
use perfblog::services::cache::{FragmentCache, ViewTally};
use perfblog::views::post_detail::write_behind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::watch;

use crate::helpers::{SMALL, TestApp, TestOptions, default_cache, spawn_app, spawn_app_with};

const CONCURRENT_VIEWS: usize = 200;

/// A Redis nothing listens on (port 1): every call fails at once.
fn unreachable_redis() -> CacheSettings {
    CacheSettings::Redis {
        url: "redis://127.0.0.1:1".to_owned(),
        namespace: "perfblog-test-down".to_owned(),
    }
}

async fn published_ids(app: &TestApp) -> Vec<i32> {
    post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::Status.eq(post::Status::Published))
        .into_tuple()
        .all(&app.db)
        .await
        .expect("ids load")
}

#[tokio::test]
async fn a_view_is_shown_at_once_and_stored_at_the_next_flush() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;
    let path = format!("/posts/{}", post.slug);

    let first = app.get_page(&path).await;
    assert!(first.body.contains("42 views"), "stored 41 + pending 1");
    assert_eq!(app.views_of(post.id).await, 41, "not written yet");
    let second = app.get_page(&path).await;
    assert!(second.body.contains("43 views"));

    app.flush_views().await;
    assert_eq!(app.views_of(post.id).await, 43);
    let third = app.get_page(&path).await;
    assert!(third.body.contains("44 views"), "stored 43 + pending 1");
}

#[tokio::test]
async fn a_cached_post_page_counts_its_view_without_a_statement() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let path = format!("/posts/{}", post.slug);
    app.get_page(&path).await;

    let hit = app.get_page(&path).await;

    assert_eq!(hit.query_count, Some(0), "neither a read nor a write");
    assert!(hit.body.contains(&format!("{} views", post.view_count + 2)));
    assert_eq!(app.views_of(post.id).await, post.view_count);
}

#[tokio::test]
async fn a_cached_post_page_stays_exact_across_flushes() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;
    let path = format!("/posts/{}", post.slug);

    for expected in 42..=47 {
        let page = app.get_page(&path).await;
        assert!(
            page.body.contains(&format!("{expected} views")),
            "{expected}"
        );
        if expected % 2 == 0 {
            app.flush_views().await;
        }
    }
    app.flush_views().await;

    assert_eq!(app.views_of(post.id).await, 47);
}

#[tokio::test]
async fn a_cached_page_reads_the_stored_count_when_the_tally_cannot_give_its_total() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 41).await;
    let tally = ViewTally::new(&FragmentCache::new(&unreachable_redis()).expect("a lazy client"));
    let subject = write_behind::subject_at_render(&tally, post.id, 41, tally.flush_epoch()).await;
    assert_eq!(subject.counted_at_render, None, "Redis is down");

    let (shown, stats) =
        count_queries(write_behind::count_cached_view(&app.db, &tally, subject)).await;

    assert_eq!(shown.expect("counted"), 42, "stored 41 + pending 1");
    assert_eq!(stats.statements, 1, "the stored count, read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_views_are_two_hundred_after_a_flush() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.set_views(post.id, 0).await;

    app.get_concurrently(&format!("/posts/{}", post.slug), CONCURRENT_VIEWS)
        .await;
    app.flush_views().await;

    assert_eq!(app.views_of(post.id).await, CONCURRENT_VIEWS as i32);
}

#[tokio::test]
async fn one_flush_is_one_statement_for_every_post_viewed() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let ids = published_ids(&app).await;
    let before: Vec<i32> = stored_views(&app, &ids).await;
    for (i, id) in ids.iter().enumerate() {
        for _ in 0..=i {
            app.views.add(*id).await;
        }
    }

    let flushed = app.views.flush(&app.db).await.expect("written");

    assert_eq!(flushed.statements, 1);
    assert_eq!(flushed.posts, ids.len());
    for (i, id) in ids.iter().enumerate() {
        let expected = before[i] + i32::try_from(i + 1).expect("small");
        assert_eq!(app.views_of(*id).await, expected, "post {id}");
    }
    let again = app.views.flush(&app.db).await.expect("nothing to write");
    assert_eq!(again.statements, 0, "an empty tally writes nothing");
}

async fn stored_views(app: &TestApp, ids: &[i32]) -> Vec<i32> {
    let mut views = Vec::new();
    for id in ids {
        views.push(app.views_of(*id).await);
    }
    views
}

#[tokio::test]
async fn the_app_writes_pending_views_by_itself_about_once_an_interval() {
    let app = spawn_app_with(TestOptions {
        view_flush: Duration::from_millis(100),
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    app.get_page(&format!("/posts/{}", post.slug)).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.views_of(post.id).await != post.view_count + 1 {
        assert!(tokio::time::Instant::now() < deadline, "never flushed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_graceful_shutdown_writes_the_views_counted_before_it() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let tally = ViewTally::in_process();
    let (stop, stopped) = watch::channel(false);
    let flusher = tokio::spawn(tally.clone().run(
        app.db.clone(),
        Duration::from_secs(3600),
        stopped,
        None,
    ));
    for _ in 0..3 {
        write_behind::count_view(&app.db, &tally, post.id)
            .await
            .expect("counted");
    }

    stop.send(true).expect("the flusher listens");
    flusher.await.expect("the flusher ends");

    assert_eq!(app.views_of(post.id).await, post.view_count + 3);
}

#[tokio::test]
async fn a_crash_loses_at_most_the_views_tallied_in_process_since_the_last_flush() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let tally = ViewTally::in_process();
    for _ in 0..5 {
        tally.add(post.id).await;
    }
    tally.flush(&app.db).await.expect("written");
    for _ in 0..3 {
        tally.add(post.id).await;
    }

    drop(tally); // the process dies before its next flush

    assert_eq!(app.views_of(post.id).await, post.view_count + 5);
}

#[tokio::test]
async fn with_redis_the_tally_outlives_the_process_that_counted_it() {
    let CacheSettings::Redis { .. } = default_cache() else {
        eprintln!("skipped: needs Redis (set TEST_REDIS_URL)");
        return;
    };
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let counting = ViewTally::new(&FragmentCache::new(&app.cache_settings).expect("cache"));
    for _ in 0..3 {
        counting.add(post.id).await;
    }
    drop(counting); // a replica dies before flushing

    let replica = app.spawn_replica().await;
    replica.flush_views().await;

    assert_eq!(app.views_of(post.id).await, post.view_count + 3);
}

#[tokio::test]
async fn views_counted_while_redis_is_down_are_kept_in_process_and_written() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let tally = ViewTally::new(&FragmentCache::new(&unreachable_redis()).expect("a lazy client"));

    for view in 1..=4 {
        assert_eq!(
            tally.add(post.id).await.pending,
            view,
            "pending, counted in process"
        );
    }
    tally.flush(&app.db).await.expect("written");

    assert_eq!(app.views_of(post.id).await, post.view_count + 4);
}

#[tokio::test]
async fn a_flush_that_fails_keeps_its_views_for_the_next_one() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let tally = ViewTally::in_process();
    for _ in 0..2 {
        tally.add(post.id).await;
    }
    let closed = perfblog::services::db::connect_one(
        &perfblog::base::config::DatabaseUrl::parse(&app.database_url).expect("a URL"),
    )
    .await
    .expect("connects");
    closed.clone().close().await.expect("closes");

    assert!(tally.flush(&closed).await.is_err(), "the database is gone");
    tally.flush(&app.db).await.expect("written");

    assert_eq!(app.views_of(post.id).await, post.view_count + 2);
}

#[tokio::test]
async fn views_of_a_post_gone_before_the_flush_are_dropped_and_the_rest_written() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let tally = ViewTally::in_process();
    tally.add(i32::MAX).await; // a post deleted since its view was counted
    tally.add(post.id).await;

    let flushed = tally.flush(&app.db).await.expect("the flush succeeds");

    assert_eq!(flushed.statements, 1);
    assert_eq!(app.views_of(post.id).await, post.view_count + 1);
    let again = tally.flush(&app.db).await.expect("nothing left");
    assert_eq!(
        again.posts, 0,
        "the gone post's view is not retried forever"
    );
}

#[tokio::test]
async fn replicas_sharing_redis_show_every_view_either_counted_on_a_cached_page() {
    if std::env::var("TEST_REDIS_URL").map_or(true, |url| url.is_empty()) {
        eprintln!("skipped: replicas share the tally through Redis; set TEST_REDIS_URL");
        return;
    }
    let first = spawn_app().await;
    first.seed(SMALL).await;
    let second = first.spawn_replica().await;
    let post = first.first_published().await;
    first.set_views(post.id, 41).await;
    let path = format!("/posts/{}", post.slug);

    for (view, app) in [&first, &second, &second, &first, &second]
        .iter()
        .enumerate()
    {
        let page = app.get_page(&path).await;
        let expected = 42 + view;
        assert!(
            page.body.contains(&format!("{expected} views")),
            "view {expected}, whichever replica served it"
        );
        if view > 0 {
            assert_eq!(page.query_count, Some(0), "view {expected}: from the cache");
        }
    }
}

#[tokio::test]
async fn a_page_rendered_across_a_flush_counts_its_hits_from_the_stored_count() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let tally = ViewTally::in_process();
    tally.add(post.id).await;
    let before_the_read = tally.flush_epoch();
    tally.flush(&app.db).await.expect("written");

    let stored = app.views_of(post.id).await;
    let subject = write_behind::subject_at_render(&tally, post.id, stored, before_the_read).await;

    assert_eq!(
        subject.counted_at_render, None,
        "the flush moved views meanwhile"
    );
    let (shown, stats) =
        count_queries(write_behind::count_cached_view(&app.db, &tally, subject)).await;
    assert_eq!(shown.expect("counted"), stored + 1);
    assert_eq!(stats.statements, 1, "the stored count, read");
}

#[tokio::test]
async fn a_stale_post_page_still_counts_its_view_and_shows_it_while_the_database_is_down() {
    let app = spawn_app_with(TestOptions {
        worker: None,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let path = format!("/posts/{}", post.slug);
    app.get_page(&path).await; // rendered and cached, its view counted
    app.cache.invalidate().await;
    app.db.clone().close().await.expect("the pool closes");

    for view in 2..=3 {
        let page = app.get_page(&path).await;
        assert_eq!(page.status, 200, "served stale");
        let shown = format!("{} views", post.view_count + view);
        assert!(page.body.contains(&shown), "view {view}: {shown}");
    }
    assert_eq!(
        app.views.peek(post.id).await.pending,
        3,
        "every view kept in the tally for the next flush"
    );
}
