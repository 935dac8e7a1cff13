//! What the static files promise a browser and a crawler: a fingerprinted name is kept
//! for a year without asking again; a name that cannot carry a hash (`/favicon.ico`,
//! `/robots.txt`) is kept for a day, then revalidated to an empty 304; a plain name
//! (`/static/style.css`) is revalidated on every use.

use perfblog::base::static_files::{FAVICON, STYLESHEET};

use crate::helpers::{SMALL, fetch, header, spawn_app, unbrotli};

const BROWSER: &str = "gzip, deflate, br, zstd";

#[tokio::test]
async fn every_page_links_its_icon_by_a_fingerprinted_name_kept_for_a_year_without_asking() {
    let app = spawn_app().await;
    let page = app.get_page("/").await;
    let link = format!("<link rel=\"icon\" href=\"{}\">", FAVICON.path());
    assert!(page.body.contains(&link), "{link}");
    let (status, headers, _) = fetch(&app, FAVICON.path(), BROWSER, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&headers, "content-type"), Some("image/x-icon"));
}

#[tokio::test]
async fn favicon_ico_and_robots_txt_are_kept_a_day_then_revalidated_to_an_empty_304() {
    let app = spawn_app().await;
    for path in ["/favicon.ico", "/robots.txt"] {
        let (status, headers, _) = fetch(&app, path, BROWSER, None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            header(&headers, "cache-control"),
            Some("public, max-age=86400")
        );
        let etag = header(&headers, "etag").unwrap_or_default().to_owned();
        assert!(etag.starts_with('"'), "{path}: a strong ETag, {etag}");
        let (status, again, body) = fetch(&app, path, BROWSER, Some(&etag)).await;
        assert_eq!(status, 304, "{path}");
        assert_eq!(header(&again, "etag"), Some(etag.as_str()));
        assert!(body.is_empty());
    }
    let (_, headers, body) = fetch(&app, "/favicon.ico", BROWSER, None).await;
    assert_eq!(header(&headers, "content-encoding"), Some("br"));
    assert_eq!(
        unbrotli(&body),
        FAVICON.bytes,
        "the icon pages link by its hashed name"
    );
}

#[tokio::test]
async fn robots_txt_names_the_sitemap_and_keeps_crawlers_off_the_naive_twins_and_the_lab() {
    let app = spawn_app().await;
    let (_, headers, body) = fetch(&app, "/robots.txt", "identity", None).await;
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    let text = String::from_utf8(body).expect("text");
    assert!(text.starts_with("User-agent: *\n"), "{text}");
    for disallowed in ["/naive", "/lab", "/admin", "/_perf"] {
        assert!(
            text.lines()
                .any(|line| line == format!("Disallow: {disallowed}")),
            "{text}"
        );
    }
    assert!(
        text.lines()
            .any(|line| line == "Sitemap: http://blog.test/sitemap.xml"),
        "the sitemap by the public address: {text}"
    );
}

#[tokio::test]
async fn a_static_file_that_is_not_there_is_a_404_with_a_message() {
    let app = spawn_app().await;
    let stale = FAVICON.path().replace("favicon.", "favicon.0");
    let (status, _, body) = fetch(&app, &stale, "identity", None).await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("There is no such file."));
}

#[tokio::test]
async fn a_file_by_its_plain_name_is_the_same_bytes_revalidated_on_every_use() {
    let app = spawn_app().await;
    let (status, headers, body) = fetch(&app, "/static/style.css", BROWSER, None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert_eq!(unbrotli(&body), STYLESHEET.bytes);
    let etag = header(&headers, "etag").unwrap_or_default().to_owned();
    let (status, again, body) = fetch(&app, "/static/style.css", BROWSER, Some(&etag)).await;
    assert_eq!(status, 304);
    assert_eq!(header(&again, "cache-control"), Some("no-cache"));
    assert!(body.is_empty());
}

#[tokio::test]
async fn the_lab_walks_ten_pages_a_way_of_naming_and_refuses_an_eleventh_or_a_third_way() {
    let app = spawn_app().await;
    for (names, stylesheet) in [
        ("plain", "/static/style.css".to_owned()),
        ("fingerprinted", STYLESHEET.path().to_owned()),
    ] {
        let first = app
            .get_page(&format!("/lab/static-files/visit/{names}/1"))
            .await;
        assert_eq!(first.status, 200);
        assert!(
            first.body.contains(&format!("href=\"{stylesheet}\"")),
            "{names}"
        );
        let next = format!("href=\"/lab/static-files/visit/{names}/2\"");
        assert!(first.body.contains(&next), "{names}");
        let last = app
            .get_page(&format!("/lab/static-files/visit/{names}/10"))
            .await;
        assert!(!last.body.contains("Next page"), "{names}");
    }
    for path in ["plain/11", "plain/0", "plain/x", "hashed/1"] {
        let response = app.get(&format!("/lab/static-files/visit/{path}")).await;
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_client_that_takes_only_zstd_gets_the_stylesheet_and_a_cached_page_unencoded_under_their_identity_etags()
 {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    for path in [STYLESHEET.path(), "/"] {
        let (status, headers, _) = fetch(&app, path, "zstd", None).await;
        assert_eq!(status, 200, "{path}");
        // Compressed on the fly, it would go out as zstd under the identity ETag.
        assert_eq!(header(&headers, "content-encoding"), None, "{path}");
        let etag = header(&headers, "etag").unwrap_or_default();
        assert!(etag.ends_with("-id\""), "{path}: {etag}");
    }
}
