//! The N+1 detector: a statement shape repeated in one request is reported — in the
//! response's headers, the footer, `/metrics` and, once per route, the log with the
//! Rust function that issued it — and under `N_PLUS_ONE=raise` the response is a 500
//! carrying the report. Every naive page trips it; no optimized page does.

use perfblog::base::config::{Inspection, NPlusOne};
use perfblog::base::entities::{post, tag};
use perfblog::base::instrument::{assert_no_n_plus_one, count_queries};
use perfblog::services::seed::DatasetSize;
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::{naive, optimized};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{CapturedLogs, Page, SMALL, TestApp, TestOptions, spawn_app, spawn_app_with};
use crate::import::posts_json;

/// Enough posts for two full list pages.
const TWO_PAGES: DatasetSize = DatasetSize { posts: 60, ..SMALL };

/// Every page both variants serve by GET, as (optimized, naive) paths: the list (its
/// first and second page: a cursor on the optimized list, a number on the naive),
/// a tag page, a post page.
async fn every_page(app: &TestApp) -> Vec<(String, String)> {
    let tag = tag::Entity::find()
        .one(&app.db)
        .await
        .expect("query runs")
        .expect("a tag");
    // Enough comments for the naive post page's one query per comment to count.
    let post = app.first_published().await;
    app.add_comments(post.id, 10).await;
    let older = app
        .get_page("/")
        .await
        .body
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the list links its second page")
        .replace("&amp;", "&");
    let twins = |path: String| (path.clone(), format!("/naive{path}"));
    vec![
        twins("/".to_owned()),
        (older, "/naive/?page=2".to_owned()),
        twins(format!("/tags/{}", tag.slug)),
        twins(format!("/posts/{}", post.slug)),
    ]
}

fn with_detector(n_plus_one: NPlusOne) -> TestOptions {
    TestOptions {
        inspection: Inspection {
            n_plus_one,
            ..Inspection::default()
        },
        ..TestOptions::rendering_every_page()
    }
}

#[tokio::test]
async fn every_naive_page_is_flagged_n_plus_one_and_no_optimized_page_is() {
    let app = spawn_app_with(with_detector(NPlusOne::Log)).await;
    app.seed(TWO_PAGES).await;

    for (path, naive_path) in every_page(&app).await {
        let optimized = app.get_page(&path).await;
        assert_eq!(optimized.status, 200, "{path}");
        assert!(
            optimized.n_plus_one.is_empty(),
            "{path}: {:?}",
            optimized.n_plus_one
        );
        assert!(!optimized.body.contains("N+1 suspected"), "{path}");

        let naive = app.get_page(&naive_path).await;
        assert_eq!(naive.status, 200, "{naive_path}");
        assert!(!naive.n_plus_one.is_empty(), "{naive_path}: not flagged");
        assert!(naive.body.contains("N+1 suspected"), "{naive_path}: footer");
        assert!(
            naive.timings.iter().any(|t| t.starts_with("n-plus-one;")),
            "{naive_path}: {:?}",
            naive.timings
        );
    }
}

/// The page's one `X-N-Plus-One` report whose shape contains `needle`.
fn report_naming<'a>(page: &'a Page, needle: &str) -> &'a str {
    page.n_plus_one
        .iter()
        .find(|report| report.contains(needle))
        .unwrap_or_else(|| panic!("no report names {needle}: {:?}", page.n_plus_one))
}

#[tokio::test]
async fn the_report_names_the_count_the_shape_and_the_fix_with_its_lab_page() {
    let app = spawn_app_with(with_detector(NPlusOne::Log)).await;
    app.seed(SMALL).await;

    let naive = app.get_page("/naive/").await;
    let authors = report_naming(&naive, "FROM \"users\"");
    assert!(authors.starts_with("20 x SELECT"), "{authors}");
    assert!(
        authors.ends_with("fix: eager loading, /lab/eager-loading"),
        "{authors}"
    );
    let counts = report_naming(&naive, "COUNT(");
    assert!(
        counts.ends_with("fix: one grouped query for the page, /lab/eager-loading"),
        "{counts}: the page's counts in one query, as the eager-loading list does"
    );
    assert!(naive.body.contains("href=\"/lab/eager-loading\""));
}

#[tokio::test]
async fn a_route_is_warned_about_once_with_the_function_that_issued_the_statements() {
    let logs = CapturedLogs::default();
    let _capturing = logs.install();
    let app = spawn_app_with(with_detector(NPlusOne::Log)).await;
    app.seed(SMALL).await;

    app.get_page("/naive/").await;
    app.get_page("/naive/").await;

    let warnings = logs.count("N+1 suspected");
    assert!(warnings >= 1, "a warning");
    // (A slow machine adds a slow-part warning for the sidebar, which names the
    // route too: only the N+1 lines are counted.)
    assert_eq!(
        logs.count_with_all(&["N+1 suspected", "route=\"GET /naive/\""]),
        warnings,
        "every warning names the route pattern"
    );
    let again = logs.count("N+1 suspected");
    app.get_page("/naive/").await;
    assert_eq!(logs.count("N+1 suspected"), again, "once per route");
    assert!(
        logs.count(
            "call_site=\"perfblog::views::post_list::naive::summarize (src/views/post_list/naive.rs:"
        )
            >= 1,
        "the call site, from a backtrace with line tables"
    );
}

#[tokio::test]
async fn metrics_count_suspects_by_route() {
    let app = spawn_app_with(with_detector(NPlusOne::Log)).await;
    app.seed(SMALL).await;
    // Three repeated shapes a request (authors, tags, comment counts), twice.
    for _ in 0..2 {
        assert_eq!(app.get_page("/naive/").await.n_plus_one.len(), 3);
    }
    app.get_page("/").await;

    let metrics = app.get_page("/metrics").await.body;
    let line = metrics
        .lines()
        .find(|line| {
            line.starts_with("perfblog_n_plus_one_suspects_total")
                && line.contains("route=\"/naive/\"")
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(line.ends_with(" 6"), "{line}");
    assert!(
        !metrics.lines().any(
            |line| line.starts_with("perfblog_n_plus_one_suspects_total")
                && line.contains("route=\"/\"")
        ),
        "the optimized list is never a suspect"
    );
}

#[tokio::test]
async fn under_raise_a_suspect_is_a_500_carrying_the_report_and_optimized_pages_pass() {
    let app = spawn_app_with(with_detector(NPlusOne::Raise)).await;
    seed_with_drafts(&app).await;

    for (path, _) in every_page(&app).await {
        let optimized = app.get_page(&path).await;
        assert_eq!(optimized.status, 200, "{path}: {}", optimized.body);
    }
    for (path, form) in ADMIN_ACTIONS {
        let optimized = app.admin_post(path, form).await;
        assert_eq!(optimized.status, 200, "{path}: {}", optimized.body);
    }
    let import = app
        .admin_post_json("/admin/import", posts_json(10).to_string())
        .await;
    assert_eq!(import.status, 200, "{}", import.body);
    let naive = app.get_page("/naive/").await;
    assert_eq!(naive.status, 500);
    assert!(
        naive.body.starts_with("N+1 suspected in GET /naive/"),
        "{}",
        naive.body
    );
    assert!(
        naive
            .body
            .contains("issued by perfblog::views::post_list::naive::summarize"),
        "{}",
        naive.body
    );
    assert!(naive.body.contains("see /lab/eager-loading"));
}

/// The N+1 suspects `/naive/` reports on the small dataset under `options`.
async fn naive_list_suspects(options: TestOptions) -> Vec<String> {
    let app = spawn_app_with(options).await;
    app.seed(SMALL).await;
    let naive = app.get_page("/naive/").await;
    assert_eq!(naive.status, 200);
    naive.n_plus_one
}

#[tokio::test]
async fn a_higher_threshold_lets_a_page_of_twenty_pass() {
    let suspects = naive_list_suspects(TestOptions {
        inspection: Inspection {
            threshold: 21,
            ..Inspection::default()
        },
        ..TestOptions::rendering_every_page()
    })
    .await;
    assert!(suspects.is_empty(), "{suspects:?}");
}

#[tokio::test]
async fn a_repeat_allowed_by_its_shape_or_its_call_site_is_no_suspect() {
    let suspects = naive_list_suspects(TestOptions {
        n_plus_one_allow: vec![
            "FROM \"users\"".to_owned(),
            "post_list::naive::summarize".to_owned(),
        ],
        ..TestOptions::rendering_every_page()
    })
    .await;
    // The authors by their shape; the tags and counts by the function that loops (its
    // span names it: every request is traced under the default PERF_RECORD).
    assert!(suspects.is_empty(), "{suspects:?}");

    let suspects = naive_list_suspects(TestOptions {
        n_plus_one_allow: vec!["FROM \"users\"".to_owned()],
        ..TestOptions::rendering_every_page()
    })
    .await;
    assert_eq!(suspects.len(), 2, "{suspects:?}");
    assert!(suspects.iter().all(|r| !r.contains("FROM \"users\"")));
}

#[tokio::test]
async fn with_the_detector_off_nothing_is_reported() {
    let app = spawn_app_with(with_detector(NPlusOne::Off)).await;
    app.seed(SMALL).await;
    let naive: Page = app.get_page("/naive/").await;
    assert_eq!(naive.status, 200);
    assert!(naive.n_plus_one.is_empty());
    assert!(!naive.body.contains("N+1 suspected"));
}

#[tokio::test]
async fn the_lab_runs_naive_sides_on_purpose_and_is_not_flagged() {
    let app = spawn_app_with(with_detector(NPlusOne::Raise)).await;
    app.seed(SMALL).await;
    let lab = app.get_page("/lab/eager-loading").await;
    assert_eq!(lab.status, 200, "{}", lab.body);
    assert!(lab.n_plus_one.is_empty());
}

#[tokio::test]
async fn count_queries_groups_the_naive_lists_statements_by_shape() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let window = PageWindow::new(PageNumber::FIRST);

    let (_, naive) = count_queries(naive::load_page(&app.db, window)).await;
    assert_eq!(naive.most_repeated(), 20, "{:#?}", naive.shapes);
    assert_eq!(
        naive.repeated(5).len(),
        3,
        "authors, tags and counts: {:#?}",
        naive.shapes
    );
    assert_eq!(
        naive.shapes.iter().map(|s| s.count).sum::<u32>(),
        naive.statements
    );

    let (_, fast) = assert_no_n_plus_one(optimized::load_page(&app.db, window)).await;
    assert_eq!(fast.most_repeated(), 1, "{:#?}", fast.shapes);
}

#[tokio::test]
#[should_panic(expected = "issued by perfblog::views::post_list::naive::summarize")]
async fn assert_no_n_plus_one_fails_on_the_naive_list_naming_where_and_how_to_fix_it() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let window = PageWindow::new(PageNumber::FIRST);
    let _ = assert_no_n_plus_one(naive::load_page(&app.db, window)).await;
}

fn with_the_panel() -> TestOptions {
    TestOptions {
        inspection: Inspection {
            panel: true,
            ..Inspection::default()
        },
        ..TestOptions::default()
    }
}

/// The panel's rows: (count, shape) per statement shape, in the order first run.
fn panel_rows(body: &str) -> Vec<(u32, String)> {
    let Some(start) = body.find("<table class=\"inspect-sql\">") else {
        return Vec::new();
    };
    let table = &body[start..];
    let table = &table[..table.find("</table>").unwrap_or(table.len())];
    table
        .split("<td class=\"count\">")
        .skip(1)
        .map(|row| {
            let count = row
                .split('<')
                .next()
                .unwrap_or_default()
                .parse()
                .unwrap_or(0);
            let shape = row
                .split("<code>")
                .nth(1)
                .and_then(|rest| rest.split("</code>").next())
                .unwrap_or_default()
                .to_owned();
            (count, shape)
        })
        .collect()
}

#[tokio::test]
async fn with_the_sql_panel_on_every_page_lists_its_statements_by_shape_and_its_cache_lookups() {
    let app = spawn_app_with(with_the_panel()).await;
    app.seed(SMALL).await;

    let naive = app.get_page("/naive/").await;
    let rows = panel_rows(&naive.body);
    assert_eq!(
        rows.iter().map(|(count, _)| count).sum::<u32>(),
        naive.query_count.expect("counted"),
        "every statement, grouped: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(count, shape)| *count == 20 && shape.contains("users"))
    );
    assert!(
        naive.body.contains("FROM &#34;users&#34;") && !naive.body.contains("FROM \"users\""),
        "the SQL is escaped"
    );
    assert!(
        naive.body.contains("<details class=\"inspect\" open>"),
        "opens on an N+1"
    );
    assert!(naive.body.contains("<tr class=\"suspect\">"));
    let shares: Vec<u32> = naive
        .body
        .split("<td class=\"share\"><meter min=\"0\" max=\"100\" value=\"")
        .skip(1)
        .map(|rest| {
            rest.split('"')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a share")
        })
        .collect();
    assert_eq!(shares.len(), rows.len(), "a bar per row");
    assert!(
        shares.windows(2).all(|pair| pair[0] >= pair[1]),
        "costliest first: {shares:?}"
    );

    app.get_page("/").await;
    let cached = app.get_page("/").await;
    assert!(
        cached.body.contains("<details class=\"inspect\">"),
        "closed without one"
    );
    assert!(
        cached.body.contains("<table class=\"inspect-cache\">")
            && cached.body.contains(">hit</td>"),
        "the page cache's lookup: {}",
        cached.body
    );
    assert!(cached.body.contains("never in production"));
}

#[tokio::test]
async fn without_the_panel_no_page_shows_sql() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    for path in ["/", "/naive/"] {
        let page = app.get_page(path).await;
        assert!(!page.body.contains("class=\"inspect"), "{path}");
    }
}

/// Seeds two pages' worth of posts and makes the first eight drafts: enough for
/// publishing them one by one to show.
async fn seed_with_drafts(app: &TestApp) {
    app.seed(TWO_PAGES).await;
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Draft))
        .filter(post::Column::Id.lte(8))
        .exec(&app.db)
        .await
        .expect("update runs");
}

/// The admin actions, as (path, form): each run once per variant, on two apps seeded
/// alike (they write).
const ADMIN_ACTIONS: [(&str, &[(&str, &str)]); 3] = [
    ("/admin/publish-drafts", &[]),
    ("/admin/archive", &[("before", "2025-06-01")]),
    (
        "/admin/tag-posts",
        &[("tag", "sql"), ("title_contains", "e")],
    ),
];

#[tokio::test]
async fn every_naive_admin_action_loops_and_is_flagged_and_no_optimized_one_is() {
    let optimized_app = spawn_app_with(with_detector(NPlusOne::Log)).await;
    let naive_app = spawn_app_with(with_detector(NPlusOne::Log)).await;
    for app in [&optimized_app, &naive_app] {
        seed_with_drafts(app).await;
    }

    for (path, form) in ADMIN_ACTIONS {
        let optimized = optimized_app.admin_post(path, form).await;
        assert_eq!(optimized.status, 200, "{path}: {}", optimized.body);
        assert!(
            optimized.n_plus_one.is_empty(),
            "{path}: {:?}",
            optimized.n_plus_one
        );

        let naive_path = format!("/naive{path}");
        let naive = naive_app.admin_post(&naive_path, form).await;
        assert_eq!(naive.status, 200, "{naive_path}: {}", naive.body);
        assert!(
            naive.rows_changed() >= 5,
            "{naive_path}: too few rows to tell"
        );
        assert!(
            !naive.n_plus_one.is_empty(),
            "{naive_path} changed {} rows, a statement each, unflagged",
            naive.rows_changed()
        );
        if path == "/admin/publish-drafts" {
            // 1 + 2N: the post, then its tags' counters — built with the ids written
            // into the SQL, which the shape counts as values.
            assert_eq!(naive.n_plus_one.len(), 2, "{:?}", naive.n_plus_one);
        }
    }

    let rows = posts_json(10).to_string();
    let optimized = optimized_app
        .admin_post_json("/admin/import", rows.clone())
        .await;
    assert_eq!(optimized.status, 200, "{}", optimized.body);
    assert!(
        optimized.n_plus_one.is_empty(),
        "{:?}",
        optimized.n_plus_one
    );
    let naive = naive_app.admin_post_json("/naive/admin/import", rows).await;
    assert_eq!(naive.status, 200, "{}", naive.body);
    assert!(
        naive
            .n_plus_one
            .iter()
            .any(|report| report.contains("/lab/bulk-inserts")),
        "{:?}",
        naive.n_plus_one
    );
}

/// A loop is a loop however short: at the default threshold, 2 (Prosopite's), a post
/// with two comments, whose naive page asks for each comment's author alone, is
/// flagged, and its optimized page is not.
#[tokio::test]
async fn at_the_default_threshold_a_loop_of_two_is_flagged() {
    assert_eq!(Inspection::default().threshold, 2);
    let app = spawn_app_with(TestOptions::rendering_every_page()).await;
    app.seed(DatasetSize {
        comments_per_post: 0,
        ..SMALL
    })
    .await;
    let post = app.first_published().await;
    app.add_comments(post.id, 2).await;

    let naive = app.get_page(&format!("/naive/posts/{}", post.slug)).await;
    let optimized = app.get_page(&format!("/posts/{}", post.slug)).await;

    assert!(
        naive
            .n_plus_one
            .iter()
            .any(|report| report.starts_with("2 x SELECT")),
        "{:?}",
        naive.n_plus_one
    );
    assert!(
        optimized.n_plus_one.is_empty(),
        "{:?}",
        optimized.n_plus_one
    );
}
