//! `GET /sitemap.xml`: every published post, once, streamed in batches.

use perfblog::base::entities::post;
use perfblog::services::seed::DatasetSize;
use perfblog::views::sitemap::BATCH;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{SMALL, spawn_app};

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
