//! Admin actions: publish drafts, archive old posts, tag matching posts — naive and
//! optimized change the same rows, in N statements or in one.

use chrono::{DateTime, Utc};
use perfblog::base::entities::post;
use perfblog::base::instrument::{count_queries, record_queries};
use perfblog::services::seed::DatasetSize;
use perfblog::views::admin::{ArchiveCutoff, TitleSearch, naive, one_transaction, optimized};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::{ADMIN_TOKEN, SMALL, TestApp, snapshot, spawn_app};

/// Every admin write, optimized and naive, with a valid form.
const ADMIN_WRITES: [(&str, &[(&str, &str)]); 8] = [
    ("/admin/publish-drafts", &[]),
    ("/naive/admin/publish-drafts", &[]),
    ("/admin/archive", &[("before", "2025-06-01")]),
    ("/naive/admin/archive", &[("before", "2025-06-01")]),
    (
        "/admin/tag-posts",
        &[("tag", "rust"), ("title_contains", "a")],
    ),
    (
        "/naive/admin/tag-posts",
        &[("tag", "rust"), ("title_contains", "a")],
    ),
    ("/admin/import", &[]),
    ("/naive/admin/import", &[]),
];

fn fixed_now() -> DateTime<Utc> {
    "2026-01-02T03:04:05Z".parse().expect("a valid instant")
}

async fn drafts(app: &TestApp) -> u64 {
    post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Draft))
        .count(&app.db)
        .await
        .expect("count runs")
}

/// Two apps with the same seed: one for each variant.
async fn twins(size: DatasetSize) -> (TestApp, TestApp) {
    let (a, b) = (spawn_app().await, spawn_app().await);
    a.seed(size).await;
    b.seed(size).await;
    (a, b)
}

#[tokio::test]
async fn every_admin_route_refuses_requests_without_the_token_and_changes_nothing() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;

    for (path, form) in ADMIN_WRITES {
        for credentials in [None, Some("wrong-token-but-long-enough")] {
            let mut request = app.client.post(format!("{}{path}", app.address)).form(form);
            if let Some(token) = credentials {
                request = request.basic_auth("admin", Some(token));
            }
            let response = request.send().await.expect("answered");
            assert_eq!(response.status(), 401, "{path} with {credentials:?}");
            assert!(
                response.headers().contains_key("www-authenticate"),
                "{path}"
            );
        }
    }
    let page = app.get_page("/admin").await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Admin credentials are required"));
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn over_http2_a_form_from_the_sites_own_origin_is_taken_and_another_refused() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    for (origin, status) in [(app.address.as_str(), 200), ("https://evil.example", 403)] {
        let response = h2
            .post(format!("{}/admin/publish-drafts", app.address))
            .basic_auth("admin", Some(ADMIN_TOKEN))
            .header("origin", origin)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(response.status(), status, "from {origin}");
    }
}

#[tokio::test]
async fn a_cross_site_form_is_refused_even_with_the_token() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;

    let response = app
        .client
        .post(format!("{}/admin/publish-drafts", app.address))
        .basic_auth("admin", Some(ADMIN_TOKEN))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 403);
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn the_token_is_taken_under_any_case_of_its_scheme() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .get(format!("{}/admin", app.address))
            .header("authorization", format!("{scheme} {ADMIN_TOKEN}"))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn the_admin_page_shows_post_counts_and_both_variants_of_each_action() {
    let app = spawn_app().await;
    app.seed(DatasetSize { posts: 60, ..SMALL }).await;
    assert!(drafts(&app).await > 0);

    let response = app
        .client
        .get(format!("{}/admin", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("text");
    assert!(body.contains(&format!("{} draft", drafts(&app).await)));
    for action in ["publish-drafts", "archive", "tag-posts"] {
        assert!(
            body.contains(&format!("action=\"/admin/{action}\"")),
            "{action}"
        );
        assert!(
            body.contains(&format!("formaction=\"/naive/admin/{action}\"")),
            "{action}"
        );
    }
}

#[tokio::test]
async fn publishing_drafts_naive_and_optimized_leave_the_same_rows() {
    let (a, b) = twins(DatasetSize { posts: 60, ..SMALL }).await;
    let expected = drafts(&a).await;
    assert!(expected > 0);

    let naive_changed = naive::publish_drafts(&a.db, fixed_now())
        .await
        .expect("runs");
    let optimized_changed = optimized::publish_drafts(&b.db, fixed_now())
        .await
        .expect("runs");

    assert_eq!((naive_changed, optimized_changed), (expected, expected));
    assert_eq!(snapshot(&a.db).await, snapshot(&b.db).await);
    assert_eq!(drafts(&b).await, 0);
}

#[tokio::test]
async fn publishing_in_one_transaction_sends_the_naive_loops_statements_and_leaves_the_same_rows() {
    let (a, b) = twins(DatasetSize { posts: 60, ..SMALL }).await;
    let expected = drafts(&a).await;

    let (per_row, _, per_row_sql) = record_queries(naive::publish_drafts(&a.db, fixed_now())).await;
    let (at_once, _, at_once_sql) =
        record_queries(one_transaction::publish_drafts(&b.db, fixed_now())).await;

    assert_eq!(
        (per_row.expect("runs"), at_once.expect("runs")),
        (expected, expected)
    );
    assert_eq!(per_row_sql, at_once_sql, "only BEGIN and COMMIT move");
    assert_eq!(per_row_sql.len() as u64, 1 + 2 * expected);
    assert_eq!(snapshot(&a.db).await, snapshot(&b.db).await);
}

#[tokio::test]
async fn archiving_naive_and_optimized_leave_the_same_rows() {
    let (a, b) = twins(DatasetSize { posts: 60, ..SMALL }).await;
    let cutoff = ArchiveCutoff::parse("2025-01-01", fixed_now()).expect("valid");

    let naive_changed = naive::archive_published_before(&a.db, cutoff, fixed_now()).await;
    let optimized_changed = optimized::archive_published_before(&b.db, cutoff, fixed_now()).await;

    let changed = optimized_changed.expect("runs");
    assert!(changed > 0);
    assert_eq!(naive_changed.expect("runs"), changed);
    assert_eq!(snapshot(&a.db).await, snapshot(&b.db).await);
}

#[tokio::test]
async fn tagging_naive_and_optimized_add_the_same_tags_and_skip_posts_already_tagged() {
    let (a, b) = twins(DatasetSize { posts: 60, ..SMALL }).await;
    let search = TitleSearch::parse("A").expect("valid");
    let tag_id = 1;

    let naive_added = naive::tag_matching(&a.db, tag_id, &search)
        .await
        .expect("runs");
    let optimized_added = optimized::tag_matching(&b.db, tag_id, &search)
        .await
        .expect("runs");

    assert!(optimized_added > 0);
    assert_eq!(naive_added, optimized_added);
    assert_eq!(snapshot(&a.db).await, snapshot(&b.db).await);
    let again = optimized::tag_matching(&b.db, tag_id, &search)
        .await
        .expect("runs");
    assert_eq!(again, 0, "a second run adds nothing");
}

#[tokio::test]
async fn optimized_actions_run_two_statements_whatever_the_rows_and_naive_ones_two_per_row() {
    for posts in [60, 240] {
        let (a, b) = twins(DatasetSize { posts, ..SMALL }).await;
        let rows = drafts(&a).await;

        let (changed, slow) = count_queries(naive::publish_drafts(&a.db, fixed_now())).await;
        let (_, fast) = count_queries(optimized::publish_drafts(&b.db, fixed_now())).await;

        assert_eq!(changed.expect("runs"), rows);
        assert!(rows > 0, "{posts} posts have drafts");
        // Each row: the post, then its tags' counters (in a transaction per row).
        assert_eq!(
            u64::from(slow.statements),
            1 + 2 * rows,
            "naive, {rows} drafts"
        );
        // `UPDATE … RETURNING id`, then the tags' counters.
        assert_eq!(fast.statements, 2, "optimized, {rows} drafts");

        let search = TitleSearch::parse("e").expect("valid");
        let (added, slow) = count_queries(naive::tag_matching(&a.db, 2, &search)).await;
        let (_, fast) = count_queries(optimized::tag_matching(&b.db, 2, &search)).await;
        let matching = post::Entity::find()
            .filter(search.condition())
            .count(&a.db)
            .await
            .expect("count runs");
        assert_eq!(
            u64::from(slow.statements),
            1 + matching + 2 * added.expect("runs")
        );
        assert_eq!(fast.statements, 2);
    }
}

#[tokio::test]
async fn over_http_both_variants_report_the_rows_they_changed() {
    let (a, b) = twins(DatasetSize { posts: 60, ..SMALL }).await;
    let expected = drafts(&a).await;

    let optimized = a.admin_post("/admin/publish-drafts", &[]).await;
    let naive = b.admin_post("/naive/admin/publish-drafts", &[]).await;

    assert_eq!((optimized.status, naive.status), (200, 200));
    assert_eq!(optimized.rows_changed(), expected);
    assert_eq!(naive.rows_changed(), expected);
    assert_eq!(
        optimized.without_footer(),
        naive.without_footer().replace("../../", "../")
    );
    assert_eq!(optimized.query_count, Some(2));
    assert_eq!(naive.query_count, Some(1 + 2 * expected as u32));

    let archived = a
        .admin_post("/admin/archive", &[("before", "2025-06-01")])
        .await;
    let tagged = a
        .admin_post(
            "/admin/tag-posts",
            &[("tag", "sql"), ("title_contains", "the")],
        )
        .await;
    assert_eq!((archived.status, tagged.status), (200, 200));
}

#[tokio::test]
async fn bad_admin_input_is_a_4xx_with_a_message_and_changes_nothing() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;
    let tomorrow = (Utc::now() + chrono::TimeDelta::days(1))
        .format("%Y-%m-%d")
        .to_string();

    for (path, form, status, says) in [
        (
            "/admin/archive",
            vec![("before", tomorrow.as_str())],
            422,
            "in the future",
        ),
        (
            "/naive/admin/archive",
            vec![("before", tomorrow.as_str())],
            422,
            "in the future",
        ),
        (
            "/admin/archive",
            vec![("before", "last tuesday")],
            422,
            "must be a date",
        ),
        ("/admin/archive", vec![], 422, "before"),
        (
            "/admin/tag-posts",
            vec![("tag", "no-such-tag"), ("title_contains", "a")],
            422,
            "There is no tag",
        ),
        (
            "/naive/admin/tag-posts",
            vec![("tag", "NOPE"), ("title_contains", "a")],
            422,
            "There is no tag",
        ),
        (
            "/admin/tag-posts",
            vec![("tag", "rust"), ("title_contains", "  ")],
            422,
            "title_contains",
        ),
    ] {
        let page = app.admin_post(path, &form).await;
        assert_eq!(page.status, status, "{path} {form:?}");
        assert!(page.body.contains(says), "{path} {form:?}: {}", page.body);
    }
    assert_eq!(snapshot(&app.db).await, before);
}
