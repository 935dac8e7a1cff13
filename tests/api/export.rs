//! `GET /admin/export.ndjson`: every post as a line the import takes back — all at
//! once (naive) or streamed a batch at a time (optimized).

use futures_util::TryStreamExt;
use perfblog::base::entities::{post, post_tag, tag, user};
use perfblog::base::instrument::count_queries;
use perfblog::services::seed::DatasetSize;
use perfblog::views::admin::export::{naive, optimized};
use sea_orm::{EntityTrait, QueryOrder};

use crate::helpers::{ADMIN_TOKEN, SMALL, TestApp, spawn_app};

/// Two and a half batches, so the stream crosses batch boundaries and ends on a short
/// one.
fn beyond_two_batches() -> DatasetSize {
    DatasetSize {
        posts: 2 * optimized::BATCH as usize + optimized::BATCH as usize / 2,
        comments_per_post: 0,
        ..SMALL
    }
}

async fn export(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request is answered")
}

/// Every post as the export describes it: its columns, its author's email and its
/// tags' slugs, sorted by slug — what a round trip must keep.
async fn posts_as_exported(
    app: &TestApp,
) -> Vec<(
    String,
    String,
    String,
    String,
    String,
    post::Status,
    Option<String>,
    Vec<String>,
)> {
    let users: std::collections::HashMap<i32, String> = user::Entity::find()
        .all(&app.db)
        .await
        .expect("users load")
        .into_iter()
        .map(|user| (user.id, user.email))
        .collect();
    let tags: std::collections::HashMap<i32, String> = tag::Entity::find()
        .all(&app.db)
        .await
        .expect("tags load")
        .into_iter()
        .map(|tag| (tag.id, tag.slug))
        .collect();
    let links = post_tag::Entity::find()
        .all(&app.db)
        .await
        .expect("links load");
    let mut posts: Vec<_> = post::Entity::find()
        .order_by_asc(post::Column::Id)
        .all(&app.db)
        .await
        .expect("posts load")
        .into_iter()
        .map(|post| {
            let mut slugs: Vec<String> = links
                .iter()
                .filter(|link| link.post_id == post.id)
                .map(|link| tags[&link.tag_id].clone())
                .collect();
            slugs.sort_unstable();
            (
                post.slug,
                post.title,
                post.excerpt,
                post.body,
                users[&post.author_id].clone(),
                post.status,
                post.published_at.map(|at| at.to_rfc3339()),
                slugs,
            )
        })
        .collect();
    posts.sort_by(|a, b| a.0.cmp(&b.0));
    posts
}

#[tokio::test]
async fn an_export_imported_into_an_empty_database_gives_back_every_post_and_tag_link() {
    let source = spawn_app().await;
    source.seed(beyond_two_batches()).await;
    let response = export(&source, "/admin/export.ndjson").await;
    assert_eq!(response.status(), 200);
    let exported = response.text().await.expect("a body");

    // The same users and tags, no posts: what the import needs to resolve a row.
    let target = spawn_app().await;
    let users = user::Entity::find()
        .all(&source.db)
        .await
        .expect("users load");
    let tags = tag::Entity::find()
        .all(&source.db)
        .await
        .expect("tags load");
    user::Entity::insert_many(users.into_iter().map(user::ActiveModel::from))
        .exec_without_returning(&target.db)
        .await
        .expect("users copied");
    tag::Entity::insert_many(tags.into_iter().map(tag::ActiveModel::from))
        .exec_without_returning(&target.db)
        .await
        .expect("tags copied");

    let imported = target
        .admin_post_body("/admin/import", "application/x-ndjson", exported)
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(
        imported.body,
        format!("{{\"imported\":{}}}", beyond_two_batches().posts)
    );
    assert_eq!(
        posts_as_exported(&target).await,
        posts_as_exported(&source).await,
        "every post, its author, status, dates and tags, identical"
    );
}

#[tokio::test]
async fn both_exports_write_the_same_lines_and_the_optimized_one_is_streamed() {
    let app = spawn_app().await;
    app.seed(beyond_two_batches()).await;
    let streamed = export(&app, "/admin/export.ndjson").await;
    assert_eq!(streamed.headers()["content-type"], "application/x-ndjson");
    assert!(
        streamed.headers().get("content-length").is_none(),
        "streamed, so its length is not known up front"
    );
    let buffered = export(&app, "/naive/admin/export.ndjson").await;
    assert!(
        buffered.headers().get("content-length").is_some(),
        "built whole before it is sent"
    );
    let streamed = streamed.text().await.expect("a body");
    let buffered = buffered.text().await.expect("a body");
    assert_eq!(streamed.lines().count(), beyond_two_batches().posts);
    assert_eq!(streamed, buffered, "byte for byte");
    let first: serde_json::Value =
        serde_json::from_str(streamed.lines().next().expect("a line")).expect("JSON");
    for field in [
        "title",
        "slug",
        "excerpt",
        "body",
        "author_email",
        "tags",
        "status",
        "published_at",
    ] {
        assert!(
            first.get(field).is_some(),
            "every line has `{field}`: {first}"
        );
    }
}

#[tokio::test]
async fn the_streamed_export_arrives_whole_when_compressed_as_a_browser_asks() {
    use std::io::Read;
    let app = spawn_app().await;
    app.seed(beyond_two_batches()).await;
    let plain = export(&app, "/admin/export.ndjson")
        .await
        .text()
        .await
        .expect("a body");
    for path in ["/admin/export.ndjson", "/naive/admin/export.ndjson"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(ADMIN_TOKEN)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("request is answered");
        assert_eq!(response.headers()["content-encoding"], "gzip", "{path}");
        // A body cut short (the server failing after its last batch) is an error here.
        let compressed = response
            .bytes()
            .await
            .expect("the whole body, to its last chunk");
        let mut unpacked = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut unpacked)
            .expect("a complete gzip stream");
        assert_eq!(unpacked, plain, "{path}");
    }
}

#[tokio::test]
async fn both_exports_ask_for_authors_and_tags_per_batch_and_only_the_streamed_one_reads_by_batch()
{
    let app = spawn_app().await;
    app.seed(beyond_two_batches()).await;
    for posts in [10, 40] {
        let (_, naive) = count_queries(naive::export(&app.db, Some(posts))).await;
        assert_eq!(naive.statements, 1 + 2, "naive, {posts} posts: one batch");
        let (_, streamed) =
            count_queries(optimized::export(app.db.clone(), Some(posts)).try_collect::<Vec<_>>())
                .await;
        assert_eq!(streamed.statements, 3, "streamed, {posts} posts: one batch");
    }
    let (lines, every_post) =
        count_queries(optimized::export(app.db.clone(), None).try_collect::<Vec<_>>()).await;
    assert_eq!(lines.expect("the export runs").len(), 3, "three batches");
    assert_eq!(
        every_post.statements,
        3 * 3,
        "{} posts",
        beyond_two_batches().posts
    );
    let (_, naive) = count_queries(naive::export(&app.db, None)).await;
    assert_eq!(naive.statements, 1 + 2 * 3, "naive, every post");
}

#[tokio::test]
async fn the_export_is_for_the_admin_only() {
    let app = spawn_app().await;
    for path in ["/admin/export.ndjson", "/naive/admin/export.ndjson"] {
        assert_eq!(app.get(path).await.status(), 401, "{path}");
    }
}
