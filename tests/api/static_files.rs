//! What the static files promise a browser and a crawler: a fingerprinted name is kept
//! for a year without asking again; a name that cannot carry a hash (`/favicon.ico`,
//! `/robots.txt`) is kept for a day, then revalidated to an empty 304.

use perfblog::base::static_files::FAVICON;

use crate::helpers::{TestApp, spawn_app};

const BROWSER: &str = "gzip, deflate, br, zstd";

async fn get(app: &TestApp, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}{path}", app.address))
        .header("accept-encoding", BROWSER);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.send().await.expect("answered")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn every_page_links_its_icon_by_a_fingerprinted_name_kept_for_a_year_without_asking() {
    let app = spawn_app().await;
    let page = app.get_page("/").await;
    let link = format!("<link rel=\"icon\" href=\"{}\">", FAVICON.path());
    assert!(page.body.contains(&link), "{link}");
    let icon = get(&app, FAVICON.path(), None).await;
    assert_eq!(icon.status(), 200);
    assert_eq!(
        header(&icon, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&icon, "content-type"), "image/x-icon");
}

#[tokio::test]
async fn favicon_ico_and_robots_txt_are_kept_a_day_then_revalidated_to_an_empty_304() {
    let app = spawn_app().await;
    for path in ["/favicon.ico", "/robots.txt"] {
        let first = get(&app, path, None).await;
        assert_eq!(first.status(), 200, "{path}");
        assert_eq!(header(&first, "cache-control"), "public, max-age=86400");
        let etag = header(&first, "etag");
        assert!(etag.starts_with('"'), "{path}: a strong ETag, {etag}");
        let again = get(&app, path, Some(&etag)).await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, "etag"), etag);
        assert!(again.bytes().await.expect("a body").is_empty());
    }
    let icon = get(&app, "/favicon.ico", None).await;
    let body = if header(&icon, "content-encoding") == "br" {
        let mut out = Vec::new();
        let compressed = icon.bytes().await.expect("a body");
        brotli::BrotliDecompress(&mut &compressed[..], &mut out).expect("valid brotli");
        out
    } else {
        icon.bytes().await.expect("a body").to_vec()
    };
    assert_eq!(
        body, FAVICON.bytes,
        "the same icon as under its hashed name"
    );
}

#[tokio::test]
async fn robots_txt_names_the_sitemap_and_keeps_crawlers_off_the_naive_twins_and_the_lab() {
    let app = spawn_app().await;
    let robots = get(&app, "/robots.txt", None).await;
    assert_eq!(header(&robots, "content-type"), "text/plain; charset=utf-8");
    let text = robots.text().await.expect("a body");
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
