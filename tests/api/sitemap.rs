//! `GET /sitemap.xml`: every published post, once, streamed in batches; past the
//! protocol's limit, an index of numbered sitemaps that together list them.

use perfblog::base::entities::post;
use perfblog::services::seed::DatasetSize;
use perfblog::views::sitemap::BATCH;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{SMALL, TestOptions, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_sitemap_lists_every_published_post_once_across_batches_and_nothing_else() {
    let app = spawn_app().await;
    let posts = 2 * BATCH as usize + 300;
    app.seed(DatasetSize {
        posts,
        comments_per_post: 0,
        ..SMALL
    })
    .await;
    let response = app.get("/sitemap.xml").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("text");
    assert_eq!(content_type, "application/xml; charset=utf-8");
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed, so its length is not known up front"
    );
    let xml = response.text().await.expect("a body");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset"));
    assert!(xml.ends_with("</urlset>\n"));

    let published = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .all(&app.db)
        .await
        .expect("query runs");
    assert!(
        published.len() > 2 * BATCH as usize,
        "more than two batches"
    );
    let mut listed: Vec<&str> = xml
        .split("<loc>http://blog.test/posts/")
        .skip(1)
        .filter_map(|entry| entry.split("</loc>").next())
        .collect();
    assert_eq!(listed.len(), published.len(), "every published post");
    listed.sort_unstable();
    listed.dedup();
    assert_eq!(listed.len(), published.len(), "each once");
    let mut expected: Vec<&str> = published.iter().map(|post| post.slug.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected, "and nothing else");
    assert!(
        xml.contains("</loc><lastmod>20"),
        "with when each last changed"
    );
}

/// Addresses per sitemap file in the tests that split: a few posts make several files.
const PER_FILE: u64 = 7;

/// An app whose sitemap files list at most `per_file` addresses, seeded with `posts`
/// posts and no comments.
async fn splitting_every(per_file: u64, posts: usize) -> crate::helpers::TestApp {
    let app = spawn_app_with(TestOptions {
        sitemap_urls: per_file,
        ..TestOptions::default()
    })
    .await;
    app.seed(DatasetSize {
        posts,
        comments_per_post: 0,
        ..SMALL
    })
    .await;
    app
}

/// The published posts' slugs, sorted.
async fn published_slugs(app: &crate::helpers::TestApp) -> Vec<String> {
    let mut slugs: Vec<String> = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .all(&app.db)
        .await
        .expect("query runs")
        .into_iter()
        .map(|post| post.slug)
        .collect();
    slugs.sort_unstable();
    slugs
}

/// What each `<loc>…</loc>` of `xml` holds after `prefix`.
fn locations<'a>(xml: &'a str, prefix: &str) -> Vec<&'a str> {
    xml.split(&format!("<loc>{prefix}"))
        .skip(1)
        .filter_map(|entry| entry.split("</loc>").next())
        .collect()
}

#[tokio::test]
async fn past_the_limit_the_sitemap_is_an_index_of_numbered_files_that_list_every_published_post_once()
 {
    let app = splitting_every(PER_FILE, 40).await;
    let index = app.get("/sitemap.xml").await;
    assert_eq!(index.status(), 200);
    let index = index.text().await.expect("a body");
    assert!(
        index.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex"),
        "{index}"
    );
    assert!(index.ends_with("</sitemapindex>\n"));
    let files = locations(&index, "http://blog.test/sitemaps/");
    assert!(files.len() > 1, "more than one file: {index}");

    let mut listed = Vec::new();
    for file in files {
        let response = app.get(&format!("/sitemaps/{file}")).await;
        assert_eq!(response.status(), 200, "{file}");
        let xml = response.text().await.expect("a body");
        assert!(xml.contains("<urlset") && xml.ends_with("</urlset>\n"));
        let urls = locations(&xml, "http://blog.test/posts/");
        assert!(
            (1..=PER_FILE as usize).contains(&urls.len()),
            "{file}: between one and {PER_FILE} addresses, not {}",
            urls.len()
        );
        listed.extend(urls.into_iter().map(str::to_owned));
    }
    listed.sort_unstable();
    let each_once = listed.len();
    listed.dedup();
    assert_eq!(each_once, listed.len(), "each post once");
    assert_eq!(
        listed,
        published_slugs(&app).await,
        "every published post, nothing else"
    );
}

#[tokio::test]
async fn a_numbered_sitemap_that_does_not_exist_is_a_404_that_says_so() {
    let app = splitting_every(PER_FILE, 20).await;
    let too_far = [
        "9223372036854775807.xml",
        "184467440737097.xml",
        "306783380.xml", // its first id is past any post id (an i32)
    ];
    for file in [
        "999.xml", "0.xml", "-1.xml", "one.xml", "1.txt", "1", "01.xml", "+1.xml",
    ]
    .into_iter()
    .chain(too_far)
    {
        let response = app.get(&format!("/sitemaps/{file}")).await;
        assert_eq!(response.status(), 404, "{file}");
        let text = response.text().await.expect("a body");
        assert!(text.contains("There is no sitemap"), "{file}: {text}");
    }
}

/// `xmllint`, if installed: `.ci/run` installs it and sets `PERFBLOG_REQUIRE_XMLLINT=1`;
/// elsewhere, without it, the schema test says "skipped".
fn xmllint() -> Option<&'static str> {
    let found = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var("PERFBLOG_REQUIRE_XMLLINT").is_err(),
            "PERFBLOG_REQUIRE_XMLLINT is set but xmllint is not installed"
        );
        eprintln!("skipped: xmllint is not installed");
    }
    found.then_some("xmllint")
}

/// `xmllint --schema tests/schemas/{schema}` on `xml`: its verdict, or what it said.
fn validate(xmllint: &str, schema: &str, xml: &str) -> Result<(), String> {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), xml).expect("written");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(schema);
    let out = std::process::Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(file.path())
        .output()
        .expect("xmllint runs");
    out.status
        .success()
        .then_some(())
        .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn the_sitemap_its_index_and_a_numbered_file_validate_against_the_protocols_schemas() {
    let Some(xmllint) = xmllint() else { return };
    let single = splitting_every(perfblog::base::config::SITEMAP_URLS_PER_FILE, 30).await;
    let split = splitting_every(PER_FILE, 30).await;
    let whole = single
        .get("/sitemap.xml")
        .await
        .text()
        .await
        .expect("a body");
    let index = split
        .get("/sitemap.xml")
        .await
        .text()
        .await
        .expect("a body");
    let first = split
        .get("/sitemaps/1.xml")
        .await
        .text()
        .await
        .expect("a body");
    for (what, schema, xml) in [
        ("the whole sitemap", "sitemap.xsd", &whole),
        ("the index", "siteindex.xsd", &index),
        ("a numbered sitemap", "sitemap.xsd", &first),
    ] {
        if let Err(said) = validate(xmllint, schema, xml) {
            panic!("{what} does not validate against {schema}: {said}\n{xml}");
        }
    }
    assert!(
        validate(xmllint, "siteindex.xsd", &whole).is_err(),
        "the schemas tell a sitemap from an index"
    );
}
