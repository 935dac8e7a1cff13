//! `GET /tags/{slug}`: published posts with one tag.

use perfblog::base::entities::{post, post_tag, tag};
use perfblog::base::instrument::{assert_no_n_plus_one, count_queries};
use perfblog::base::slug::Slug;
use perfblog::services::seed::DatasetSize;
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::tag_page::{naive, optimized};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};

use crate::helpers::{SMALL, spawn_app, spawn_app_rendering_every_page};

/// Slugs of the published posts tagged `tag_slug`, newest first.
async fn tagged_slugs(db: &sea_orm::DatabaseConnection, tag_slug: &str) -> Vec<String> {
    post::Entity::find()
        .join(JoinType::InnerJoin, post_tag::Relation::Post.def().rev())
        .join(JoinType::InnerJoin, post_tag::Relation::Tag.def())
        .filter(tag::Column::Slug.eq(tag_slug))
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .all(db)
        .await
        .expect("posts load")
        .into_iter()
        .map(|post| post.slug)
        .collect()
}

#[tokio::test]
async fn the_tag_page_lists_published_posts_with_that_tag_newest_first() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let expected = tagged_slugs(&app.db, "rust").await;
    assert!(!expected.is_empty());

    let page = app.get_page("/tags/rust").await;

    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Posts tagged <span class=\"tag-name\">rust</span>")
    );
    let positions: Vec<usize> = expected
        .iter()
        .take(20)
        .map(|slug| {
            page.body
                .find(&format!("href=\"../posts/{slug}\""))
                .unwrap_or_else(|| panic!("{slug} is listed"))
        })
        .collect();
    assert!(positions.is_sorted());
    assert_eq!(
        page.body.matches("<li class=\"post\">").count(),
        expected.len().min(20)
    );
}

#[tokio::test]
async fn naive_and_optimized_tag_pages_render_identical_html() {
    let app = spawn_app().await;
    app.seed(DatasetSize {
        posts: 120,
        ..SMALL
    })
    .await;

    for path in ["/tags/rust", "/tags/rust?page=2", "/tags/sql"] {
        let (optimized, naive) = app.get_both(path).await;
        assert_eq!((optimized.status, naive.status), (200, 200), "{path}");
        assert_eq!(optimized.content(), naive.content(), "{path}");
    }
}

#[tokio::test]
async fn the_optimized_tag_page_runs_four_queries_and_the_naive_one_two_plus_three_per_post() {
    for posts in [10, 120] {
        let app = spawn_app_rendering_every_page().await;
        app.seed(DatasetSize { posts, ..SMALL }).await;
        let slug = Slug::parse("rust").expect("valid slug");
        let shown = tagged_slugs(&app.db, "rust").await.len().min(20);

        let (fast, fast_stats) = assert_no_n_plus_one(optimized::load_page(
            &app.db,
            &slug,
            PageWindow::new(PageNumber::FIRST),
        ))
        .await;
        let (slow, slow_stats) = count_queries(naive::load_page(
            &app.db,
            &slug,
            PageWindow::new(PageNumber::FIRST),
        ))
        .await;

        assert_eq!(fast.expect("loads"), slow.expect("loads"), "{posts} posts");
        assert_eq!(fast_stats.statements, 4, "optimized, {posts} posts");
        assert_eq!(
            slow_stats.statements as usize,
            2 + 3 * shown,
            "naive, {posts} posts"
        );
        assert_eq!(
            slow_stats.most_repeated() as usize,
            shown,
            "naive: one per post"
        );
        app.get_page("/tags/rust").await;
        assert_eq!(
            app.get_page("/tags/rust").await.query_count,
            Some(4),
            "warm sidebar"
        );
    }
}

/// The slugs the optimized tag page of `tag_slug` lists on its first page.
async fn listed(db: &sea_orm::DatabaseConnection, tag_slug: &str) -> Vec<String> {
    let slug = Slug::parse(tag_slug).expect("valid slug");
    optimized::load_page(db, &slug, PageWindow::new(PageNumber::FIRST))
        .await
        .expect("loads")
        .expect("the tag exists")
        .page
        .posts
        .into_iter()
        .map(|post| post.slug)
        .collect()
}

#[tokio::test]
async fn whatever_writes_a_link_or_its_post_even_plain_sql_the_tag_page_stays_in_step() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let run = async |sql: String| {
        app.db
            .execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    // Written as a hand-typed session would, past every write path of the app: the
    // database copies the post's status and date into the link itself.
    run(
        "INSERT INTO tags (name, slug, published_post_count) VALUES ('by hand', 'by-hand', 0)"
            .to_owned(),
    )
    .await;
    run(format!(
        "INSERT INTO post_tags (post_id, tag_id) SELECT {}, id FROM tags WHERE slug = 'by-hand'",
        post.id
    ))
    .await;
    assert_eq!(
        listed(&app.db, "by-hand").await,
        std::slice::from_ref(&post.slug),
        "tagged"
    );

    run(format!(
        "UPDATE posts SET status = 'archived' WHERE id = {}",
        post.id
    ))
    .await;
    assert!(listed(&app.db, "by-hand").await.is_empty(), "archived");
    // The copy written over by hand is put back at once.
    run(format!(
        "UPDATE post_tags SET status = 'published' WHERE post_id = {}",
        post.id
    ))
    .await;
    assert!(
        listed(&app.db, "by-hand").await.is_empty(),
        "copy overwritten"
    );

    run(format!(
        "UPDATE posts SET status = 'published' WHERE id = {}",
        post.id
    ))
    .await;
    for tag in ["by-hand", "rust", "sql"] {
        assert_eq!(
            listed(&app.db, tag).await,
            tagged_slugs(&app.db, tag)
                .await
                .into_iter()
                .take(20)
                .collect::<Vec<_>>(),
            "{tag}, republished"
        );
    }
    // A new date moves the post on every tag page it is on.
    post::Entity::update_many()
        .col_expr(post::Column::PublishedAt, Expr::value(chrono::Utc::now()))
        .filter(post::Column::Id.eq(post.id))
        .exec(&app.db)
        .await
        .expect("the date changes");
    let tags_of_post: Vec<String> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Slug)
        .join(JoinType::InnerJoin, post_tag::Relation::Tag.def().rev())
        .filter(post_tag::Column::PostId.eq(post.id))
        .into_tuple()
        .all(&app.db)
        .await
        .expect("its tags load");
    for tag in &tags_of_post {
        assert_eq!(
            listed(&app.db, tag).await.first(),
            Some(&post.slug),
            "{tag}, redated"
        );
    }
}

#[tokio::test]
async fn a_tag_without_posts_shows_an_empty_page() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;
    // Inserted without reading the row back: on SQLite the returned row once came back
    // without its defaulted counter (a flake of the read-back, not of the page).
    tag::Entity::insert(tag::ActiveModel {
        name: Set("brand new".to_owned()),
        slug: Set("brand-new".to_owned()),
        published_post_count: Set(0),
        ..Default::default()
    })
    .exec_without_returning(&app.db)
    .await
    .expect("tag is created");

    app.get_page("/tags/brand-new").await;
    let (optimized, naive) = app.get_both("/tags/brand-new").await;

    assert_eq!((optimized.status, naive.status), (200, 200));
    assert!(
        optimized
            .body
            .contains("No published posts carry this tag yet.")
    );
    assert_eq!(optimized.content(), naive.content());
    assert_eq!(optimized.query_count, Some(2), "the tag and an empty page");
}

#[tokio::test]
async fn an_unknown_tag_is_a_404_in_both_variants() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let (optimized, naive) = app.get_both("/tags/no-such-tag").await;

    assert_eq!((optimized.status, naive.status), (404, 404));
    assert!(optimized.body.contains("There is no tag `no-such-tag`."));
    assert_eq!(optimized.content(), naive.content());
}

#[tokio::test]
async fn malformed_tag_slugs_and_pages_are_400s_and_pages_past_the_end_404s() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let long = "a".repeat(2000);

    for (path, status) in [
        ("/tags/rust%00".to_owned(), 400),
        (format!("/tags/{long}"), 400),
        ("/tags/Rust".to_owned(), 400),
        ("/tags/%FF".to_owned(), 400),
        ("/tags/rust?page=0".to_owned(), 400),
        ("/tags/rust?page=-1".to_owned(), 400),
        ("/tags/rust?page=abc".to_owned(), 400),
        ("/tags/rust?page=99999999999999999999".to_owned(), 400),
        ("/tags/rust?page=500".to_owned(), 404),
    ] {
        let (optimized, naive) = app.get_both(&path).await;
        assert_eq!((optimized.status, naive.status), (status, status), "{path}");
        assert!(optimized.body.contains("<p class=\"message\">"), "{path}");
        assert!(
            optimized.body.len() < 2000,
            "{path}: the input is not echoed in full"
        );
    }
}
