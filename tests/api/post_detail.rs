//! `GET /posts/{slug}`: a post, its tags and its latest 50 comments with authors.

use perfblog::base::entities::post;
use perfblog::base::instrument::{assert_no_n_plus_one, count_queries};
use perfblog::base::slug::Slug;
use perfblog::views::post_detail::{naive, optimized};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{
    NAIVE_SIDEBAR_QUERIES, Page, SMALL, TestApp, escaped, spawn_app, spawn_app_rendering_every_page,
};

#[tokio::test]
async fn the_post_page_shows_body_author_tags_and_comments_newest_first() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.add_comments(post.id, 3).await;

    let page = app.get_page(&format!("/posts/{}", post.slug)).await;

    assert_eq!(page.status, 200);
    let first_paragraph = post.body.split("\n\n").next().expect("a paragraph");
    assert!(
        page.body
            .contains(&format!("<p>{}</p>", escaped(first_paragraph))),
        "the body, as paragraphs"
    );
    assert!(page.body.contains("href=\"../tags/"), "its tags");
    let newest = page
        .body
        .find("Comment number 2 &#60;b&#62;on&#60;/b&#62;")
        .expect("newest comment, escaped");
    let oldest = page
        .body
        .find("Comment number 0 &#60;b&#62;on&#60;/b&#62;")
        .expect("oldest comment");
    assert!(newest < oldest, "newest first");
}

#[tokio::test]
async fn only_the_latest_fifty_comments_are_shown_with_the_total() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.add_comments(post.id, 60).await;
    let slug = Slug::parse(&post.slug).expect("valid slug");

    let (detail, _) = count_queries(optimized::load(&app.db, &slug)).await;
    let detail = detail.expect("loads").expect("found");

    assert_eq!(detail.comments.len(), 50);
    assert!(detail.comment_count >= 60);
    assert_eq!(
        detail.comments[0].body,
        format!("Comment number 59 <b>on</b> post {}", post.id)
    );
    let page = app.get_page(&format!("/posts/{}", post.slug)).await;
    assert!(
        page.body
            .contains(&format!("{} comments", detail.comment_count))
    );
    assert!(page.body.contains("The latest 50 are shown, newest first."));
}

#[tokio::test]
async fn naive_and_optimized_post_pages_render_identical_html() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.add_comments(post.id, 55).await;
    let quiet = post::Entity::insert(post::ActiveModel {
        author_id: Set(2),
        title: Set("No comments & no tags".to_owned()),
        slug: Set("no-comments".to_owned()),
        excerpt: Set("Quiet.".to_owned()),
        body: Set("One paragraph.\n\nAnother <one>.".to_owned()),
        status: Set(post::Status::Published),
        published_at: Set(Some(chrono::Utc::now())),
        view_count: Set(0),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    })
    .exec(&app.db)
    .await;
    assert!(quiet.is_ok());

    for slug in [post.slug.as_str(), "no-comments"] {
        let (optimized, naive) = get_both_from_the_same_view_count(&app, slug).await;
        assert_eq!((optimized.status, naive.status), (200, 200), "{slug}");
        assert_eq!(optimized.without_footer(), naive.without_footer(), "{slug}");
    }
}

#[tokio::test]
async fn the_optimized_post_page_runs_three_queries_and_the_naive_one_five_plus_one_per_comment() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let slug = Slug::parse(&post.slug).expect("valid slug");

    let mut shown_before = None;
    for added in [0, 60] {
        if added > 0 {
            app.add_comments(post.id, added).await;
        }
        let (fast, fast_stats) = assert_no_n_plus_one(optimized::load(&app.db, &slug)).await;
        let (slow, slow_stats) = count_queries(naive::load(&app.db, &slug)).await;
        let fast = fast.expect("loads").expect("found");
        assert_eq!(Some(&fast), slow.expect("loads").as_ref());

        assert_eq!(fast_stats.statements, 3, "optimized after adding {added}");
        assert_eq!(
            slow_stats.statements as usize,
            5 + fast.comments.len(),
            "naive after adding {added}"
        );
        // The comment authors, one lookup per comment shown.
        assert_eq!(
            slow_stats.most_repeated() as usize,
            fast.comments.len().max(1),
            "naive after adding {added}"
        );
        assert_ne!(shown_before, Some(fast.comments.len()));
        shown_before = Some(fast.comments.len());
    }
    assert_eq!(shown_before, Some(50));
    // Over HTTP the page also counts the view (into the write-behind tally with the
    // count just loaded: no statement; or a read and a write) and shows the sidebar
    // (cached, or the naive sidebar's statements).
    app.get_page(&format!("/posts/{}", post.slug)).await;
    let (optimized, naive) = app.get_both(&format!("/posts/{}", post.slug)).await;
    assert_eq!(
        (optimized.query_count, naive.query_count),
        (Some(3), Some(57 + NAIVE_SIDEBAR_QUERIES))
    );
    assert!(
        naive.body.contains("<span class=\"part\">post 55 · ")
            && naive
                .body
                .contains("<span class=\"part\">view counter 2 · ")
            && naive.body.contains(&format!(
                "<span class=\"part\">sidebar {NAIVE_SIDEBAR_QUERIES} · "
            )),
        "the footer says which part cost what"
    );
    assert!(
        optimized.body.contains("<span class=\"part\">post 3 · ")
            && optimized
                .body
                .contains("<span class=\"part\">view counter 0 · ")
            && optimized.body.contains("<span class=\"part\">sidebar 0 · ")
    );
}

#[tokio::test]
async fn the_post_pages_reads_that_need_only_its_id_go_together_and_load_the_same_page() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let slug = Slug::parse(&post.slug).expect("valid slug");

    let (one_by_one, sequential) = count_queries(optimized::load(&app.db, &slug)).await;
    let (together, concurrent) =
        assert_no_n_plus_one(optimized::load_concurrently(&app.db, &slug)).await;
    assert_eq!(together.expect("loads"), one_by_one.expect("loads"));
    assert_eq!((sequential.statements, concurrent.statements), (3, 3));

    // On a single connection the two reads cannot overlap: they queue, and the page
    // is the same.
    let url = perfblog::base::config::DatabaseUrl::parse(&app.database_url).expect("a URL");
    let one_connection = perfblog::services::db::connect_one(&url)
        .await
        .expect("a connection");
    let queued = optimized::load_concurrently(&one_connection, &slug).await;
    assert_eq!(
        queued.expect("loads").map(|page| page.comments.len()),
        Some(post.comment_count as usize).map(|n| n.min(50))
    );
    one_connection.close().await.expect("closes");
}

/// Each request counts a view, so the second page would show one view more: reset the
/// count before each, and the pages must then agree byte for byte.
async fn get_both_from_the_same_view_count(app: &TestApp, slug: &str) -> (Page, Page) {
    let reset = || async {
        post::Entity::update_many()
            .col_expr(post::Column::ViewCount, sea_orm::sea_query::Expr::value(7))
            .filter(post::Column::Slug.eq(slug))
            .exec(&app.db)
            .await
            .expect("views are reset");
    };
    reset().await;
    let optimized = app.get_page(&format!("/posts/{slug}")).await;
    reset().await;
    let naive = app.get_page(&format!("/naive/posts/{slug}")).await;
    assert!(optimized.body.contains("8 views"));
    (optimized, naive)
}

#[tokio::test]
async fn drafts_archived_and_unknown_posts_are_404s_in_both_variants() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 60, ..SMALL })
        .await;
    let hidden = post::Entity::find()
        .filter(post::Column::Status.ne(post::Status::Published))
        .all(&app.db)
        .await
        .expect("posts load");
    assert!(!hidden.is_empty());

    let mut slugs: Vec<&str> = hidden.iter().map(|post| post.slug.as_str()).collect();
    slugs.push("no-such-post");
    for slug in slugs {
        let (optimized, naive) = app.get_both(&format!("/posts/{slug}")).await;
        assert_eq!((optimized.status, naive.status), (404, 404), "{slug}");
        assert!(
            optimized.body.contains("No published post has the slug"),
            "{slug}"
        );
    }
}

#[tokio::test]
async fn malformed_post_slugs_are_400s_with_a_message() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let long = "a".repeat(2000);

    for slug in ["post%00", long.as_str(), "UPPER", "%FF%FE", "a%20b"] {
        let (optimized, naive) = app.get_both(&format!("/posts/{slug}")).await;
        assert_eq!((optimized.status, naive.status), (400, 400), "{slug}");
        assert!(
            optimized
                .body
                .contains("A slug is 1 to 200 lowercase letters"),
            "{slug}"
        );
        assert_eq!(
            optimized.query_count,
            Some(0),
            "no query for a malformed slug"
        );
    }
}

#[tokio::test]
async fn server_timing_names_each_cache_lookup_so_a_slug_miss_never_hides_a_sidebar_hit() {
    let app = crate::helpers::spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;
    let path = format!("/posts/{}", app.first_published().await.slug);
    app.get_page(&path).await;

    let page = app.get_page(&path).await;

    assert_eq!(
        page.cache_lookup("sidebar"),
        Some("hit"),
        "{:?}",
        page.timings
    );
    assert_eq!(
        page.cache_lookup("missing-post"),
        Some("miss"),
        "the post exists: the cache of unknown slugs has no entry for it"
    );
    assert!(
        page.timings.iter().all(|t| !t.starts_with("cache;")),
        "no anonymous cache entry: {:?}",
        page.timings
    );
}
