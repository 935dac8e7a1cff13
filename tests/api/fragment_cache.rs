//! The sidebar and its fragment cache: fresh after every write, computed once under a
//! stampede, and pages that keep working when Redis does not.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use perfblog::base::config::CacheSettings;
use perfblog::base::instrument::count_queries;
use perfblog::services::cache::FRAGMENT_TTL;
use perfblog::views::sidebar::{aggregated, naive};
use serde_json::json;

use crate::helpers::{
    SMALL, TestApp, TestOptions, spawn_app, spawn_app_rendering_every_page, spawn_app_with,
};
use crate::smtp_sink::free_port;

/// The `<aside class="sidebar">…</aside>` of a page.
fn sidebar_of(body: &str) -> &str {
    let start = body
        .find("<aside class=\"sidebar\">")
        .expect("the page has a sidebar");
    let end = body[start..].find("</aside>").expect("closed") + start;
    &body[start..end]
}

/// The optimized page's sidebar must equal the naive page's, which is computed from
/// scratch on every request: that is what "fresh" means.
async fn assert_sidebar_is_fresh(app: &TestApp, after: &str) {
    let cached = app.get_page("/").await.body;
    let computed = app.get_page("/naive/").await.body;
    assert_eq!(
        sidebar_of(&cached),
        sidebar_of(&computed),
        "stale sidebar after {after}"
    );
}

#[tokio::test]
async fn every_list_and_post_page_shows_the_tag_cloud_and_the_most_discussed_posts() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let expected = aggregated::load(&app.db).await.expect("loads");
    assert!(!expected.tags.is_empty());
    assert_eq!(expected.popular.len(), 5);

    for path in ["/", "/tags/rust", "/naive/tags/rust"] {
        let body = app.get_page(path).await.body;
        let sidebar = sidebar_of(&body);
        for tag in &expected.tags {
            assert!(
                sidebar.contains(&format!(
                    "tags/{}\">{}</a> <span class=\"count\">{}</span>",
                    tag.slug, tag.name, tag.posts
                )),
                "{path}: {}",
                tag.name
            );
        }
        for post in &expected.popular {
            assert!(
                sidebar.contains(&format!("posts/{}\"", post.slug)),
                "{path}: {}",
                post.slug
            );
            assert!(
                sidebar.contains(&format!("{} comments", post.comments)),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn counting_in_rust_and_counting_in_the_database_give_the_same_sidebar() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 80, ..SMALL })
        .await;

    let (in_rust, rust_stats) = count_queries(naive::load(&app.db)).await;
    let (in_sql, sql_stats) = count_queries(aggregated::load(&app.db)).await;

    assert_eq!(in_rust.expect("loads"), in_sql.expect("loads"));
    assert_eq!((rust_stats.statements, sql_stats.statements), (4, 2));
}

#[tokio::test]
async fn a_new_comment_shows_in_the_sidebar_on_the_next_page_in_both_variants() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let top = aggregated::load(&app.db).await.expect("loads").popular[0].clone();

    for prefix in ["", "/naive"] {
        let before = app.get_page("/").await.body;
        let response = app
            .client
            .post(format!(
                "{}{prefix}/posts/{}/comments",
                app.address, top.slug
            ))
            .form(&[
                ("name", "Grace"),
                ("email", "grace@example.com"),
                ("body", "Fresh?"),
            ])
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 303);
        let after = app.get_page("/").await.body;
        assert_ne!(
            sidebar_of(&before),
            sidebar_of(&after),
            "{prefix}: the count moved"
        );
        assert_sidebar_is_fresh(&app, &format!("a comment through {prefix}/")).await;
    }
}

#[tokio::test]
async fn publishing_archiving_retagging_and_importing_each_refresh_the_sidebar() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 80, ..SMALL })
        .await;
    let import = json!([{
        "title": "Imported and discussed", "body": "Body.", "author_email": "user1@example.com",
        "tags": ["rust"], "status": "published"
    }])
    .to_string();

    for (path, form) in [
        ("/admin/publish-drafts", vec![]),
        ("/naive/admin/archive", vec![("before", "2024-06-01")]),
        (
            "/admin/tag-posts",
            vec![("tag", "rust"), ("title_contains", "e")],
        ),
        (
            "/naive/admin/tag-posts",
            vec![("tag", "sql"), ("title_contains", "a")],
        ),
    ] {
        let before = app.get_page("/").await.body;
        let page = app.admin_post(path, &form).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.rows_changed() > 0, "{path} changed something");
        let after = app.get_page("/").await.body;
        assert_ne!(sidebar_of(&before), sidebar_of(&after), "{path}");
        assert_sidebar_is_fresh(&app, path).await;
    }
    app.get_page("/").await;
    assert_eq!(
        app.admin_post_json("/admin/import", import).await.status,
        200
    );
    assert_sidebar_is_fresh(&app, "an import").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_requests_on_a_cold_sidebar_compute_it_once() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;
    let before = app.cache.stats();

    let requests: Vec<_> = (0..100)
        .map(|_| tokio::spawn(app.client.get(format!("{}/", app.address)).send()))
        .collect();
    for request in requests {
        assert_eq!(
            request.await.expect("runs").expect("answered").status(),
            200
        );
    }

    let after = app.cache.stats();
    assert_eq!(
        after.renders - before.renders,
        1,
        "one computation for 100 requests"
    );
    assert_eq!(
        (after.hits + after.misses) - (before.hits + before.misses),
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_one_key_share_one_computation() {
    let app = spawn_app().await;
    let computations = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));

    let lookups: Vec<_> = (0..100)
        .map(|_| {
            let cache = app.cache.clone();
            let computations = computations.clone();
            tokio::spawn(async move {
                cache
                    .get_or_render("stampede", FRAGMENT_TTL, || async move {
                        computations.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok("<p>expensive</p>".to_owned())
                    })
                    .await
            })
        })
        .collect();
    for lookup in lookups {
        assert_eq!(
            &*lookup.await.expect("runs").expect("renders"),
            "<p>expensive</p>"
        );
    }

    assert_eq!(computations.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_slug_is_answered_from_the_cache_until_a_post_with_it_appears() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let first = app.get_page("/posts/ghost-post").await;
    assert_eq!(first.status, 404);
    assert!(
        first.query_count.unwrap_or(0) >= 1,
        "the first miss asks the database"
    );
    for _ in 0..5 {
        let again = app.get_page("/posts/ghost-post").await;
        assert_eq!(
            (again.status, again.query_count),
            (404, Some(0)),
            "remembered"
        );
    }

    let import = json!([{
        "title": "Ghost", "slug": "ghost-post", "body": "Boo.", "author_email": "user1@example.com",
        "status": "published"
    }])
    .to_string();
    assert_eq!(
        app.admin_post_json("/admin/import", import).await.status,
        200
    );

    assert_eq!(
        app.get_page("/posts/ghost-post").await.status,
        200,
        "not hidden"
    );
}

/// A Redis of the test's own, which it can stop and start again on the same port.
struct OwnRedis {
    port: u16,
    process: Option<Child>,
}

impl OwnRedis {
    /// `None` where `redis-server` is not installed and no Redis was asked for: the
    /// embedded-only `cargo test` on a bare machine skips these tests.
    fn start() -> Option<Self> {
        let mut redis = OwnRedis {
            port: free_port(),
            process: None,
        };
        if !redis.launch() {
            assert!(
                std::env::var("TEST_REDIS_URL").is_err(),
                "redis-server is needed when TEST_REDIS_URL is set"
            );
            eprintln!("skipped: redis-server is not installed");
            return None;
        }
        Some(redis)
    }

    fn launch(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.process = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn settings(&self) -> CacheSettings {
        CacheSettings::Redis {
            url: format!("redis://127.0.0.1:{}", self.port),
            namespace: "perfblog-own".to_owned(),
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn with_redis_unreachable_from_the_start_pages_render_uncached_and_one_warning_is_logged() {
    let closed = CacheSettings::Redis {
        url: format!("redis://127.0.0.1:{}", free_port()),
        namespace: "perfblog-nowhere".to_owned(),
    };
    let app = spawn_app_with(TestOptions {
        cache: Some(closed),
        ..TestOptions::rendering_every_page()
    })
    .await;
    app.seed(SMALL).await;

    for path in ["/", "/", "/tags/rust", "/posts/no-such-post", "/naive/"] {
        let page = app.get_page(path).await;
        assert!(
            page.status == 200 || page.status == 404,
            "{path}: {}",
            page.status
        );
        assert!(!page.body.contains("Something went wrong"), "{path}");
    }
    let page = app.get_page("/").await;
    assert!(page.cache_lookup("sidebar") == Some("miss"), "never a hit");
    assert_eq!(
        app.cache.stats().outages,
        1,
        "one warning for the outage, not one per request"
    );
}

#[tokio::test]
async fn with_redis_unreachable_whole_pages_are_rendered_every_time_never_served_unchecked() {
    let closed = CacheSettings::Redis {
        url: format!("redis://127.0.0.1:{}", free_port()),
        namespace: "perfblog-nowhere".to_owned(),
    };
    let app = spawn_app_with(TestOptions {
        cache: Some(closed),
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    for path in [
        "/".to_owned(),
        "/tags/rust".to_owned(),
        format!("/posts/{slug}"),
    ] {
        for _ in 0..2 {
            let page = app.get_page(&path).await;
            assert_eq!(page.status, 200, "{path}");
            // Without the shared generation a kept page cannot be known current.
            assert!(
                page.timings.iter().any(|t| t == "page;desc=\"miss\""),
                "{path}: rendered, not served from memory"
            );
        }
    }
    assert_eq!(app.pages.stats().hits, 0);
}

#[tokio::test]
async fn when_redis_stops_mid_run_pages_still_render_and_caching_resumes_when_it_is_back() {
    let Some(mut redis) = OwnRedis::start() else {
        return;
    };
    let app = spawn_app_with(TestOptions {
        cache: Some(redis.settings()),
        ..TestOptions::rendering_every_page()
    })
    .await;
    app.seed(SMALL).await;
    app.get_page("/").await;
    assert_eq!(app.get_page("/").await.cache_lookup("sidebar"), Some("hit"));

    redis.stop();
    for _ in 0..5 {
        let page = app.get_page("/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.cache_lookup("sidebar"), Some("miss"));
    }
    assert_eq!(app.cache.stats().outages, 1);

    assert!(redis.launch(), "Redis restarts on the same port");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut resumed = false;
    for _ in 0..20 {
        if app.get_page("/").await.cache_lookup("sidebar") == Some("hit") {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed, "caching resumed");
    assert_eq!(app.cache.stats().outages, 1);
}

#[tokio::test]
async fn a_write_while_redis_is_down_is_not_undone_by_stale_values_when_it_is_back() {
    let Some(mut redis) = OwnRedis::start() else {
        return;
    };
    let app = spawn_app_with(TestOptions {
        cache: Some(redis.settings()),
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    app.get_page("/").await;

    redis.stop();
    let top = aggregated::load(&app.db).await.expect("loads").popular[0].clone();
    let response = app
        .client
        .post(format!("{}/posts/{}/comments", app.address, top.slug))
        .form(&[
            ("name", "Grace"),
            ("email", "grace@example.com"),
            ("body", "During the outage"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 303, "writes work without Redis");

    assert!(redis.launch());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_sidebar_is_fresh(&app, "a comment written while Redis was down").await;
}
