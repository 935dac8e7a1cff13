//! Per-view caching: the optimized list, tag and post pages are rendered once per
//! write and served from the cache, with the view count and the footer filled in per
//! request, in the encoding the client accepts, compressed once.

use std::time::Duration;

use perfblog::base::config::PageCacheSettings;
use perfblog::views::sidebar::aggregated;
use serde_json::json;

use crate::helpers::{
    Page, SMALL, TestApp, TestOptions, fetch, gunzip, header, spawn_app, spawn_app_with, unbrotli,
};

fn page_cache_outcome(page: &Page) -> Option<&str> {
    page.timings
        .iter()
        .find_map(|timing| timing.strip_prefix("page;desc=\""))
        .map(|rest| rest.trim_end_matches('"'))
}

/// The HTML above the footer with the view count and the pager's links left out: what a cached page and a
/// freshly rendered one must agree on.
fn content_of(page: &Page) -> String {
    let html = page.content();
    match html.find("<span class=\"views\">") {
        Some(start) => {
            let end = html[start..]
                .find("</span>")
                .map_or(html.len(), |end| start + end);
            format!("{}{}", &html[..start], &html[end..])
        }
        None => html,
    }
}

/// Each page, served by the optimized path (cached) and by its naive twin (rendered
/// now from the database): the same content, or the cache is stale.
async fn assert_pages_are_fresh(app: &TestApp, paths: &[String], after: &str) {
    for path in paths {
        let (cached, rendered) = app.get_both(path).await;
        assert_eq!(cached.status, rendered.status, "{path} after {after}");
        assert_eq!(
            content_of(&cached),
            content_of(&rendered),
            "{path} is stale after {after}"
        );
    }
}

#[tokio::test]
async fn the_second_request_for_a_page_is_a_hit_that_runs_no_statements() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    for path in [
        "/".to_owned(),
        "/tags/rust".to_owned(),
        format!("/posts/{slug}"),
    ] {
        let first = app.get_page(&path).await;
        assert_eq!(page_cache_outcome(&first), Some("miss"), "{path}");
        let second = app.get_page(&path).await;
        assert_eq!(page_cache_outcome(&second), Some("hit"), "{path}");
        assert_eq!(second.query_count, Some(0), "{path}");
        assert!(
            second.body.contains("page from cache, rendered"),
            "{path}: the footer says where the page came from"
        );
        assert_eq!(content_of(&first), content_of(&second), "{path}");
    }
}

#[tokio::test]
async fn a_cached_post_page_still_counts_every_view_exactly() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let path = format!("/posts/{}", post.slug);
    for view in 1..=5 {
        let page = app.get_page(&path).await;
        let shown = format!(
            "<span class=\"views\"><!--volatile-->{} view",
            post.view_count + view
        );
        assert!(
            page.body.contains(&shown),
            "view {view} shows its own count"
        );
    }
}

#[tokio::test]
async fn comments_publishing_archiving_tagging_and_importing_each_show_on_the_next_request() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 80, ..SMALL })
        .await;
    let top = aggregated::load(&app.db).await.expect("loads").popular[0].clone();
    let pages = vec![
        "/".to_owned(),
        "/?page=2".to_owned(),
        "/tags/rust".to_owned(),
        format!("/posts/{}", top.slug),
    ];
    assert_pages_are_fresh(&app, &pages, "the seed").await;

    let comment = app
        .client
        .post(format!("{}/posts/{}/comments", app.address, top.slug))
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("body", "Cached?"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(comment.status(), 303);
    assert_pages_are_fresh(&app, &pages, "a comment").await;

    for (path, form) in [
        ("/admin/publish-drafts", vec![]),
        ("/admin/archive", vec![("before", "2024-06-01")]),
        (
            "/admin/tag-posts",
            vec![("tag", "rust"), ("title_contains", "e")],
        ),
    ] {
        assert!(
            app.admin_post(path, &form).await.rows_changed() > 0,
            "{path}"
        );
        assert_pages_are_fresh(&app, &pages, path).await;
    }
    let import = json!([{
        "title": "Imported while cached", "body": "Body.", "author_email": "user1@example.com",
        "tags": ["rust"], "status": "published"
    }]);
    assert_eq!(
        app.admin_post_json("/admin/import", import.to_string())
            .await
            .status,
        200
    );
    assert_pages_are_fresh(&app, &pages, "an import").await;
    assert!(
        app.get_page("/")
            .await
            .body
            .contains("Imported while cached")
    );
}

#[tokio::test]
async fn a_hundred_concurrent_cold_requests_render_the_page_once() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = app.pages.stats();
    let requests: Vec<_> = (0..100)
        .map(|_| tokio::spawn(app.client.get(format!("{}/tags/rust", app.address)).send()))
        .collect();
    for request in requests {
        let response = request.await.expect("runs").expect("answered");
        assert_eq!(response.status(), 200);
    }
    let after = app.pages.stats();
    assert_eq!(
        after.renders - before.renders,
        1,
        "one render for 100 requests"
    );
}

#[tokio::test]
async fn a_cached_page_goes_out_in_brotli_gzip_or_identity_each_with_its_own_etag() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    let path = format!("/posts/{slug}");
    app.get_page(&path).await;
    let mut etags = Vec::new();
    for (accept, coding) in [
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        let (status, headers, body) = fetch(&app, &path, accept, None).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-encoding"), coding, "{accept}");
        assert_eq!(header(&headers, "vary"), Some("accept-encoding"));
        assert_eq!(
            header(&headers, "content-length").and_then(|n| n.parse().ok()),
            Some(body.len())
        );
        let html = match coding {
            Some("br") => unbrotli(&body),
            Some(_) => gunzip(&body),
            None => body,
        };
        let html = String::from_utf8(html).expect("UTF-8");
        assert!(
            html.contains("page from cache"),
            "{accept}: the footer hole is filled"
        );
        assert!(
            html.trim_end().ends_with("</html>"),
            "{accept}: the whole page"
        );
        let etag = header(&headers, "etag").expect("an ETag").to_owned();
        assert!(etag.starts_with("W/\""));
        let (status, _, body) = fetch(&app, &path, accept, Some(&etag)).await;
        assert_eq!((status, body.len()), (304, 0), "{accept}: revalidated");
        etags.push(etag);
    }
    etags.dedup();
    assert_eq!(etags.len(), 3, "one ETag per representation");
}

#[tokio::test]
async fn x_gzip_is_gzip_and_every_representation_cached_or_not_has_its_own_etag_and_varies() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    for path in ["/", "/naive/"] {
        app.get_page(path).await;
        let mut etags = Vec::new();
        for (accept, coding) in [
            ("gzip", Some("gzip")),
            ("x-gzip", Some("gzip")),
            ("br", Some("br")),
            ("identity", None),
        ] {
            let (status, headers, body) = fetch(&app, path, accept, None).await;
            assert_eq!(status, 200);
            assert_eq!(
                header(&headers, "content-encoding"),
                coding,
                "{path} {accept}"
            );
            if coding == Some("gzip") {
                assert!(String::from_utf8_lossy(&gunzip(&body)).contains("</html>"));
            }
            let etag = header(&headers, "etag").expect("an ETag").to_owned();
            let (status, headers, _) = fetch(&app, path, accept, Some(&etag)).await;
            assert_eq!(status, 304, "{path} {accept}");
            assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
            assert_eq!(
                header(&headers, "vary"),
                Some("accept-encoding"),
                "{path} {accept}: a 304 varies too"
            );
            etags.push((coding, etag));
        }
        for (one, other) in etags.iter().zip(etags.iter().skip(1)) {
            if one.0 != other.0 {
                assert_ne!(one.1, other.1, "{path}: {etags:?}");
            }
        }
        let identity = fetch(&app, path, "identity", Some(&etags[0].1)).await;
        assert_eq!(identity.0, 200, "{path}: gzip's ETag is not identity's");
    }
}

#[tokio::test]
async fn a_cached_page_under_a_query_of_any_length_is_served_whole_without_echoing_it() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    // 13,049 `&`, each escaped to five bytes, once made the footer's hole past 64 KiB:
    // the twin link now leaves such a query off (holes past 64 KiB are unit-tested in
    // `precompressed`).
    for query in ["&".repeat(13_049), "a".repeat(65_400)] {
        for page in [
            "/".to_owned(),
            "/tags/rust".to_owned(),
            format!("/posts/{slug}"),
        ] {
            for (accept, coding) in [
                ("br", Some("br")),
                ("gzip", Some("gzip")),
                ("identity", None),
            ] {
                let path = format!("{page}?x={query}");
                let (status, headers, body) = fetch(&app, &path, accept, None).await;
                assert_eq!(status, 200, "{page} in {accept}");
                assert_eq!(header(&headers, "content-encoding"), coding);
                let html = match coding {
                    Some("br") => unbrotli(&body),
                    Some(_) => gunzip(&body),
                    None => body,
                };
                let html = String::from_utf8(html).expect("UTF-8");
                assert!(html.trim_end().ends_with("</html>"), "{page} in {accept}");
                assert!(
                    html.len() < 64 * 1024,
                    "the query is not echoed: {} bytes",
                    html.len()
                );
            }
        }
    }
}

#[tokio::test]
async fn the_stylesheet_is_compressed_once_and_served_in_the_encoding_asked_for() {
    let app = spawn_app().await;
    let path = perfblog::base::static_files::STYLESHEET.path();
    for (accept, coding) in [
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip", Some("gzip")),
    ] {
        let (status, headers, body) = fetch(&app, path, accept, None).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-encoding"), coding);
        let css = if coding == Some("br") {
            unbrotli(&body)
        } else {
            gunzip(&body)
        };
        assert_eq!(css, perfblog::base::static_files::STYLESHEET.bytes);
    }
}

#[tokio::test]
async fn with_page_cache_off_every_optimized_page_is_rendered() {
    let app = spawn_app_with(TestOptions::rendering_every_page()).await;
    app.seed(SMALL).await;
    app.get_page("/").await;
    let second = app.get_page("/").await;
    assert_eq!(page_cache_outcome(&second), None);
    assert_eq!(second.query_count, Some(3), "rendered again");
    assert_eq!(app.pages.stats().renders, 0);
}

#[tokio::test]
async fn past_its_ttl_a_page_is_rendered_again() {
    let app = spawn_app_with(TestOptions {
        page_cache: PageCacheSettings {
            ttl: Duration::from_millis(300),
            ..PageCacheSettings::default()
        },
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    app.get_page("/").await;
    assert_eq!(page_cache_outcome(&app.get_page("/").await), Some("hit"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(page_cache_outcome(&app.get_page("/").await), Some("miss"));
}

#[tokio::test]
async fn when_the_database_is_unreachable_a_page_it_cannot_render_is_served_stale() {
    let app = spawn_app_with(TestOptions {
        worker: None,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    let path = format!("/posts/{slug}");
    app.get_page(&path).await;
    app.cache.invalidate().await;
    // Closing the pool makes every statement fail, as a stopped server would.
    app.db.clone().close().await.expect("the pool closes");

    let (status, headers, _) = fetch(&app, &path, "identity", None).await;
    assert_eq!(status, 200, "a stale page rather than an error");
    let cache_status = header(&headers, "cache-status").expect("Cache-Status");
    assert!(
        cache_status.contains("detail=stale-if-error"),
        "{cache_status}"
    );
    let never_cached = app.get("/tags/rust").await;
    assert_eq!(
        never_cached.status(),
        503,
        "nothing to fall back on: the database is unavailable, try again"
    );
    assert!(never_cached.headers().contains_key("retry-after"));
    assert_eq!(app.pages.stats().stale, 1);
}

#[tokio::test]
async fn a_write_through_one_instance_is_seen_by_the_next_request_to_another() {
    if std::env::var("TEST_REDIS_URL").map_or(true, |url| url.is_empty()) {
        eprintln!("skipped: replicas share pages through Redis; set TEST_REDIS_URL");
        return;
    }
    let first = spawn_app().await;
    first.seed(SMALL).await;
    let second = first.spawn_replica().await;
    let slug = first.first_published().await.slug;
    let path = format!("/posts/{slug}");
    second.get_page(&path).await;
    assert_eq!(
        page_cache_outcome(&second.get_page(&path).await),
        Some("hit")
    );
    assert_eq!(
        page_cache_outcome(&first.get_page(&path).await),
        Some("hit"),
        "the page the replica rendered is shared through Redis"
    );

    let response = first
        .client
        .post(format!("{}/posts/{slug}/comments", first.address))
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("body", "Seen by the replica?"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 303);
    let seen = second.get_page(&path).await;
    assert_eq!(page_cache_outcome(&seen), Some("miss"));
    assert!(seen.body.contains("Seen by the replica?"));
}
