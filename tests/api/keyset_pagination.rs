//! Keyset pagination: the optimized list and tag pages link older posts with a cursor
//! (`?after=`) that seeks to a position instead of skipping rows with `OFFSET`.

use perfblog::base::entities::post;
use perfblog::services::seed::DatasetSize;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use crate::helpers::{Page, SMALL, TestApp, spawn_app, spawn_app_rendering_every_page};

/// Enough posts for five pages of a tag.
const SIZE: DatasetSize = DatasetSize {
    posts: 300,
    ..SMALL
};

/// The page's list of posts, `<ol class="posts">…</ol>`.
fn entries(page: &Page) -> &str {
    let start = page.body.find("<ol class=\"posts\">").unwrap_or(0);
    let end = page.body[start..]
        .find("</ol>")
        .map_or(page.body.len(), |end| start + end);
    &page.body[start..end]
}

/// The `href` of a page's "Older posts" link.
fn older_link(page: &Page) -> Option<String> {
    let at = page.body.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    let end = page.body[at..].find('"')? + at;
    Some(
        page.body[at..end]
            .replace("&#61;", "=")
            .replace("&amp;", "&"),
    )
}

/// Walks `depth` pages from `start` by the "Older posts" links.
async fn walk(app: &TestApp, start: &str, depth: usize) -> Vec<Page> {
    let mut pages = vec![app.get_page(start).await];
    while pages.len() < depth {
        let link = older_link(pages.last().expect("a page")).expect("an older page");
        let path = format!("{}{link}", start.split('?').next().unwrap_or(start));
        pages.push(app.get_page(&path).await);
    }
    pages
}

#[tokio::test]
async fn walking_five_pages_deep_shows_the_same_posts_by_cursor_as_by_page_number() {
    let app = spawn_app().await;
    app.seed(SIZE).await;
    for start in ["/", "/tags/rust"] {
        let by_cursor = walk(&app, start, 5).await;
        let by_number = walk(&app, &format!("/naive{start}"), 5).await;
        for (depth, (cursor, number)) in by_cursor.iter().zip(&by_number).enumerate() {
            assert_eq!(cursor.status, 200);
            assert_eq!(
                cursor.content(),
                number.content(),
                "{start}, page {}",
                depth + 1
            );
        }
        let second = older_link(&by_cursor[0]).expect("a link");
        assert!(second.starts_with("?after="), "{start}: {second}");
        assert!(by_number[1].body.contains("href=\"?page=1\">← Newer posts"));
        assert!(
            by_cursor[1]
                .body
                .contains("href=\"?page=1\">← Newest posts")
        );
    }
}

#[tokio::test]
async fn a_keyset_page_runs_the_same_three_queries_at_any_depth() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SIZE).await;
    app.get_page("/").await; // the sidebar, cached from here on
    let pages = walk(&app, "/", 7).await;
    for (depth, page) in pages.iter().enumerate() {
        assert_eq!(page.query_count, Some(3), "page {}", depth + 1);
    }
}

#[tokio::test]
async fn a_malformed_or_tampered_cursor_is_a_400_with_a_message_and_no_query() {
    let app = spawn_app().await;
    app.seed(SIZE).await;
    let first = app.get_page("/").await;
    let good = older_link(&first).expect("a link");
    let cursor = good.trim_start_matches("?after=");
    let mut tampered = cursor.as_bytes().to_vec();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    for path in [
        format!("/?after={tampered}"),
        "/?after=not-a-cursor".to_owned(),
        "/?after=".to_owned(),
        format!("/tags/rust?after={tampered}"),
    ] {
        let page = app.get_page(&path).await;
        assert_eq!(page.status, 400, "{path}");
        assert!(
            page.body.contains("Older posts"),
            "{path}: the message says what to send"
        );
        assert_eq!(
            page.query_count,
            Some(0),
            "{path}: refused before any query"
        );
    }
    let both = app.get_page(&format!("/{good}&page=2")).await;
    assert_eq!(both.status, 400);
    let naive = app.get_page(&format!("/naive/{good}")).await;
    assert_eq!(naive.status, 400, "the naive twin pages by number");
}

#[tokio::test]
async fn a_cursor_whose_post_was_archived_still_leads_to_the_older_posts() {
    let app = spawn_app().await;
    app.seed(SIZE).await;
    let first = app.get_page("/").await;
    let link = older_link(&first).expect("a link");
    let before = app.get_page(&format!("/{link}")).await;

    // The cursor names the last post of the first page; archive that post.
    let last_slug = {
        let html = first.without_footer();
        let at = html.rfind("href=\"./posts/").expect("an entry") + "href=\"./posts/".len();
        html[at..at + html[at..].find('"').expect("closed")].to_owned()
    };
    let post = post::Entity::find()
        .all(&app.db)
        .await
        .expect("query runs")
        .into_iter()
        .find(|post| post.slug == last_slug)
        .expect("the post");
    let mut archived: post::ActiveModel = post.into();
    archived.status = Set(post::Status::Archived);
    archived.update(&app.db).await.expect("archived");
    app.cache.invalidate().await;

    let after = app.get_page(&format!("/{link}")).await;
    assert_eq!(after.status, 200);
    assert_eq!(entries(&after), entries(&before), "the same older posts");
}

#[tokio::test]
async fn old_page_number_links_keep_working_on_the_optimized_pages() {
    let app = spawn_app().await;
    app.seed(SIZE).await;
    let (optimized, naive) = app.get_both("/?page=3").await;
    assert_eq!(optimized.status, 200);
    assert_eq!(optimized.content(), naive.content());
    assert!(optimized.body.contains("href=\"?page=2\">← Newer posts"));
    assert!(older_link(&optimized).is_some_and(|link| link.starts_with("?after=")));
}
