//! `GET /`: the newest published posts, 20 a page.

use perfblog::base::entities::post;
use perfblog::base::instrument::{assert_no_n_plus_one, count_queries};
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::optimized;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::helpers::{
    NAIVE_SIDEBAR_QUERIES, SMALL, escaped, spawn_app, spawn_app_rendering_every_page,
};

/// Slugs of published posts, newest first, as the list must show them.
async fn newest_published_slugs(db: &sea_orm::DatabaseConnection, limit: u64) -> Vec<String> {
    post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .expect("posts load")
        .into_iter()
        .map(|post| post.slug)
        .collect()
}

fn positions(body: &str, slugs: &[String]) -> Vec<usize> {
    slugs
        .iter()
        .map(|slug| {
            body.find(&format!("href=\"./posts/{slug}\""))
                .unwrap_or_else(|| panic!("{slug} is on the page"))
        })
        .collect()
}

#[tokio::test]
async fn the_home_page_lists_the_newest_published_posts_in_order() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app.get_page("/").await;

    assert_eq!(page.status, 200);
    let expected = newest_published_slugs(&app.db, 20).await;
    assert_eq!(expected.len(), 20);
    let found = positions(&page.body, &expected);
    assert!(found.is_sorted(), "posts appear newest first");
    assert_eq!(page.body.matches("<li class=\"post\">").count(), 20);
}

#[tokio::test]
async fn drafts_and_archived_posts_are_not_listed() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 60, ..SMALL })
        .await;
    let hidden = post::Entity::find()
        .filter(post::Column::Status.ne(post::Status::Published))
        .all(&app.db)
        .await
        .expect("posts load");
    assert!(
        !hidden.is_empty(),
        "the dataset has drafts or archived posts"
    );

    for path in ["/", "/?page=2", "/?page=3"] {
        let page = app.get_page(path).await;
        for post in &hidden {
            let link = format!("href=\"./posts/{}\"", post.slug);
            assert!(!page.body.contains(&link), "{} is hidden", post.slug);
        }
    }
}

#[tokio::test]
async fn each_entry_shows_title_excerpt_author_tags_comment_count_and_date() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let newest = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .one(&app.db)
        .await
        .expect("query runs")
        .expect("a published post exists");
    let (summary, _) = count_queries(optimized::load_page(
        &app.db,
        PageWindow::new(PageNumber::FIRST),
    ))
    .await;
    let summary = summary.expect("page loads").posts.remove(0);
    assert_eq!(summary.slug, newest.slug);

    let body = app.get_page("/").await.body;
    let entry = body
        .split("<li class=\"post\">")
        .nth(1)
        .expect("the first entry");
    assert!(entry.contains(&escaped(&newest.title)), "title");
    assert!(entry.contains(&escaped(&newest.excerpt)), "excerpt");
    assert!(entry.contains(&escaped(&summary.author_name)), "author");
    assert!(!summary.tags.is_empty());
    for tag in &summary.tags {
        assert!(entry.contains(&format!("href=\"./tags/{}\">{}</a>", tag.slug, tag.name)));
    }
    let comments = summary.comment_count;
    let noun = if comments == 1 { "comment" } else { "comments" };
    assert!(
        entry.contains(&format!("{comments} {noun}")),
        "comment count"
    );
    assert!(entry.contains(&summary.published_on()), "date");
    assert!(
        !entry.contains(&newest.body[..200]),
        "the body is not on a list page"
    );
}

#[tokio::test]
async fn the_list_runs_three_queries_and_reports_them_in_headers_and_footer() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;

    let cold = app.get_page("/").await;
    let page = app.get_page("/").await;

    assert_eq!(
        cold.query_count,
        Some(5),
        "3 for the list, 2 to compute the sidebar"
    );
    assert_eq!(
        cold.cache_lookup("sidebar"),
        Some("miss"),
        "{:?}",
        cold.timings
    );
    assert_eq!(
        page.query_count,
        Some(3),
        "the sidebar comes from the cache"
    );
    let timing = page.server_timing.clone().expect("Server-Timing header");
    assert!(timing.starts_with("db;dur="), "{timing}");
    assert!(timing.ends_with("desc=\"3 queries\""), "{timing}");
    assert_eq!(
        page.cache_lookup("sidebar"),
        Some("hit"),
        "{:?}",
        page.timings
    );
    assert!(
        page.body
            .contains("<span class=\"figure\">3 queries</span>")
    );
    assert!(page.body.contains("ms in the database</span>"));
}

#[tokio::test]
async fn the_footer_and_server_timing_say_what_each_part_of_a_twin_page_cost_costliest_first() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;
    app.get_page("/").await;

    let (optimized, naive) = app.get_both("/").await;

    // Each part as the footer shows it, "post list 61", with its milliseconds, in order.
    let parts = |page: &crate::helpers::Page| -> Vec<(String, f64)> {
        page.body
            .match_indices("<span class=\"part\">")
            .map(|(at, tag)| {
                let rest = &page.body[at + tag.len()..];
                let (part, rest) = rest.split_once(" · ").expect("a time follows");
                let ms = rest.split_once(" ms").expect("in ms").0;
                (part.to_owned(), ms.parse().expect("a number of ms"))
            })
            .collect()
    };
    let naive_sidebar = format!("sidebar {NAIVE_SIDEBAR_QUERIES}");
    for (page, expected) in [
        (&naive, ["post list 61", naive_sidebar.as_str()]),
        (&optimized, ["post list 3", "sidebar 0"]),
    ] {
        let parts = parts(page);
        let mut names: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, expected);
        assert!(
            parts.windows(2).all(|pair| pair[0].1 >= pair[1].1),
            "costliest first: {parts:?}"
        );
    }
    let timing = |page: &crate::helpers::Page, part: &str| {
        page.timings
            .iter()
            .find(|timing| timing.starts_with(&format!("{part};dur=")))
            .cloned()
            .unwrap_or_else(|| panic!("no {part} in {:?}", page.timings))
    };
    assert!(timing(&naive, "post-list").ends_with("desc=\"61 queries\""));
    let naive_queries = format!("desc=\"{NAIVE_SIDEBAR_QUERIES} queries\"");
    assert!(timing(&naive, "sidebar").ends_with(&naive_queries));
    assert!(timing(&optimized, "post-list").ends_with("desc=\"3 queries\""));
    assert!(
        timing(&optimized, "sidebar").ends_with("desc=\"0 queries, cache hit\""),
        "{:?}",
        optimized.timings
    );
}

#[tokio::test]
async fn the_optimized_list_runs_the_same_three_queries_at_5_and_at_50_posts() {
    for posts in [5, 50] {
        let app = spawn_app().await;
        app.seed(perfblog::services::seed::DatasetSize { posts, ..SMALL })
            .await;

        let (page, stats) = count_queries(optimized::load_page(
            &app.db,
            PageWindow::new(PageNumber::FIRST),
        ))
        .await;

        assert!(!page.expect("page loads").posts.is_empty());
        assert_eq!(stats.statements, 3, "with {posts} posts");
    }
}

#[tokio::test]
async fn an_empty_blog_shows_an_empty_first_page_in_one_query() {
    let app = spawn_app_rendering_every_page().await;

    app.get_page("/").await;
    let page = app.get_page("/").await;

    assert_eq!(page.status, 200);
    assert!(page.body.contains("No posts yet."));
    assert_eq!(page.query_count, Some(1));
}

#[tokio::test]
async fn the_naive_twins_older_and_newer_links_page_through_the_list_by_number() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 50, ..SMALL })
        .await;
    let published = newest_published_slugs(&app.db, 100).await;

    let first = app.get_page("/naive/").await.body;
    assert!(first.contains("href=\"?page=2\">Older posts"));
    assert!(!first.contains("rel=\"prev\""));

    let second = app.get_page("/naive/?page=2").await.body;
    assert!(second.contains("href=\"?page=1\">← Newer posts"));
    positions(&second, &published[20..40]);

    let last_page = published.len().div_ceil(20);
    let last = app
        .get_page(&format!("/naive/?page={last_page}"))
        .await
        .body;
    assert!(
        !last.contains("rel=\"next\""),
        "no older page after the last"
    );
    positions(&last, &published[(last_page - 1) * 20..]);
}

#[tokio::test]
async fn naive_and_optimized_lists_render_identical_html() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 50, ..SMALL })
        .await;

    for path in ["/", "/?page=2", "/?page=3"] {
        let (optimized, naive) = app.get_both(path).await;
        assert_eq!((optimized.status, naive.status), (200, 200), "{path}");
        assert_eq!(optimized.content(), naive.content(), "{path}");
    }
}

#[tokio::test]
async fn naive_and_optimized_render_the_same_empty_blog() {
    let app = spawn_app().await;

    let (optimized, naive) = app.get_both("/").await;

    assert_eq!(optimized.content(), naive.content());
}

#[tokio::test]
async fn the_naive_list_runs_one_query_plus_three_per_post() {
    for (posts, on_page) in [(5, 5), (50, 20)] {
        let app = spawn_app().await;
        app.seed(perfblog::services::seed::DatasetSize { posts, ..SMALL })
            .await;
        let published_on_page = newest_published_slugs(&app.db, 20).await.len();
        assert!(published_on_page <= on_page);

        let (page, stats) = count_queries(perfblog::views::post_list::naive::load_page(
            &app.db,
            PageWindow::new(PageNumber::FIRST),
        ))
        .await;

        assert_eq!(page.expect("page loads").posts.len(), published_on_page);
        assert_eq!(
            stats.statements as usize,
            1 + 3 * published_on_page,
            "{posts} posts"
        );
        let over_http = app.get_page("/naive/").await.query_count;
        assert_eq!(over_http, Some(stats.statements + NAIVE_SIDEBAR_QUERIES));
    }
}

#[tokio::test]
async fn each_variant_links_to_its_twin_and_stays_in_its_own_variant() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let (optimized, naive) = app.get_both("/?page=2").await;

    assert!(
        optimized
            .body
            .contains("href=\"/naive/?page=2\">see the naive twin")
    );
    assert!(
        naive
            .body
            .contains("href=\"/?page=2\">see the optimized twin")
    );
    // Links to posts are relative: from /naive/ they lead to /naive/posts/….
    assert!(naive.body.contains("href=\"./posts/"));
    let redirect = app.get("/naive").await;
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/naive/");
}

#[tokio::test]
async fn bad_page_numbers_get_the_same_400_from_both_variants() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for bad in ["0", "-1", "abc", "99999999999999999999"] {
        let (optimized, naive) = app.get_both(&format!("/?page={bad}")).await;
        assert_eq!((optimized.status, naive.status), (400, 400), "?page={bad}");
        assert!(
            naive.body.contains("`page` must be a whole number"),
            "?page={bad}"
        );
    }
}

#[tokio::test]
async fn a_page_past_the_end_is_a_404_in_both_variants() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let (optimized, naive) = app.get_both("/?page=50").await;

    assert_eq!((optimized.status, naive.status), (404, 404));
    assert!(naive.body.contains("past the last page"));
}

/// The eager-loading pair holds everything but the batching equal: the same rows in,
/// the same summaries out, the comment counts counted on both sides.
#[tokio::test]
async fn eager_loadings_sides_complete_the_same_rows_into_the_same_entries_both_counting() {
    use perfblog::base::instrument::record_statements;
    use perfblog::views::post_list::naive;
    use perfblog::views::post_list::optimized::PostRow;

    let app = spawn_app().await;
    app.seed(SMALL).await;
    let window = PageWindow::new(PageNumber::FIRST);
    let (posts, _) = window.split(naive::page_rows(&app.db, window).await.expect("loads"));
    let rows: Vec<PostRow> = posts.iter().cloned().map(PostRow::from).collect();

    let (one_by_one, _, naive_sql) = record_statements(naive::summarize(&app.db, posts)).await;
    let (batched, _, batched_sql) =
        record_statements(optimized::summarize_counting(&app.db, rows)).await;

    assert_eq!(one_by_one.expect("loads"), batched.expect("loads"));
    // The same columns of users and tags on both sides: the authors' names, the tags'
    // names and slugs — never a whole row.
    let lookups = naive_sql.iter().chain(&batched_sql);
    for statement in lookups.filter(|s| !s.sql.contains("comments")) {
        let sql = &statement.sql;
        for whole_row_only in ["email", "created_at", "published_post_count"] {
            assert!(!sql.contains(whole_row_only), "{sql}");
        }
    }
    let counts = |sql: &[sea_orm::Statement]| {
        sql.iter()
            .filter(|s| s.sql.contains("COUNT(") && s.sql.contains("comments"))
            .count()
    };
    assert!(
        counts(&naive_sql) > 0 && counts(&batched_sql) == 1,
        "both sides count"
    );
}

#[tokio::test]
async fn at_any_page_size_the_optimized_list_runs_three_queries_and_the_naive_one_1_plus_3n() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize {
        posts: 120,
        ..SMALL
    })
    .await;

    for size in [5, 20, 50] {
        let window = PageWindow::new(PageNumber::FIRST).with_size(size);
        let (fast, fast_stats) = assert_no_n_plus_one(optimized::load_page(&app.db, window)).await;
        let (slow, slow_stats) = count_queries(perfblog::views::post_list::naive::load_page(
            &app.db, window,
        ))
        .await;

        assert_eq!(fast.expect("loads"), slow.expect("loads"), "page of {size}");
        assert_eq!(fast_stats.statements, 3, "optimized, page of {size}");
        assert_eq!(
            u64::from(slow_stats.statements),
            1 + 3 * size,
            "naive, page of {size}"
        );
        // Three shapes (author, tags, comment count), each run once per post.
        let repeated: Vec<u32> = slow_stats.repeated(2).iter().map(|s| s.count).collect();
        assert_eq!(repeated, [size as u32; 3], "naive, page of {size}");
    }
}
