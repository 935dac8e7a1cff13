//! `POST /admin/import`: all or nothing, one INSERT per row or one per 1,000 rows.

use chrono::{DateTime, Utc};
use perfblog::base::entities::post;
use perfblog::base::instrument::count_queries;
use perfblog::base::variant::Variant;
use perfblog::views::admin::import::{self, ImportRow, NewPost};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::comments;
use crate::helpers::{SMALL, TestApp, TestOptions, snapshot, spawn_app, spawn_app_with};

fn fixed_now() -> DateTime<Utc> {
    "2026-01-02T03:04:05Z".parse().expect("a valid instant")
}

/// `count` valid posts, each with two tags (the seeded `rust` and `sql`).
/// `count` posts as the import takes them, every other one a draft.
pub fn posts_json(count: usize) -> serde_json::Value {
    json!(
        (0..count)
            .map(|i| json!({
                "title": format!("Imported post {i} & friends"),
                "body": format!("Body of post {i}.\n\nSecond <paragraph>."),
                "author_email": "user2@example.com",
                "tags": ["rust", "sql"],
                "status": if i % 2 == 0 { "published" } else { "draft" },
            }))
            .collect::<Vec<_>>()
    )
}

fn rows(value: serde_json::Value) -> Vec<ImportRow> {
    serde_json::from_value(value).expect("valid rows")
}

async fn post_count(app: &TestApp) -> u64 {
    post::Entity::find()
        .count(&app.db)
        .await
        .expect("count runs")
}

#[tokio::test]
async fn an_import_inserts_every_row_with_its_tags() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app
        .admin_post_json("/admin/import", posts_json(3).to_string())
        .await;

    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body, r#"{"imported":3}"#);
    assert_eq!(post_count(&app).await, 33);
    let listed = app.get_page("/").await.body;
    assert!(
        listed.contains("Imported post 0 &#38; friends"),
        "published rows are listed"
    );
    assert!(!listed.contains("Imported post 1 "), "drafts are not");
}

/// `POST` `body` to `path` as NDJSON with the admin token.
async fn post_ndjson(app: &TestApp, path: &str, body: String) -> crate::helpers::Page {
    app.admin_post_body(path, "application/x-ndjson", body)
        .await
}

#[tokio::test]
async fn an_import_also_takes_one_post_per_line_and_names_the_line_that_is_wrong() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let lines: Vec<String> = posts_json(3)
        .as_array()
        .expect("an array")
        .iter()
        .map(|post| post.to_string())
        .collect();
    let body = format!("{}\n\n{}\n{}\n", lines[0], lines[1], lines[2]);
    for path in ["/admin/import", "/naive/admin/import"] {
        let page = post_ndjson(&app, path, body.replace("& friends", &format!("& {path}"))).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(page.body, r#"{"imported":3}"#);
    }
    assert_eq!(post_count(&app).await, 36);

    let bad_field = format!(
        "{}\n{}",
        lines[0],
        lines[1].replace("author_email", "author")
    );
    let page = post_ndjson(&app, "/admin/import", bad_field).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("row 2"), "{}", page.body);
    let broken = post_ndjson(&app, "/admin/import", format!("{}\n{{\"title\":", lines[0])).await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert!(
        broken.body.contains("row 2 is not valid JSON"),
        "{}",
        broken.body
    );
    assert_eq!(post_count(&app).await, 36, "nothing imported from either");
}

#[tokio::test]
async fn naive_and_optimized_imports_leave_the_same_rows() {
    let (a, b) = (spawn_app().await, spawn_app().await);
    a.seed(SMALL).await;
    b.seed(SMALL).await;

    let valid_a = import::validate(&a.db, rows(posts_json(25)), fixed_now())
        .await
        .expect("valid");
    let valid_b = import::validate(&b.db, rows(posts_json(25)), fixed_now())
        .await
        .expect("valid");
    import::insert(&a.db, Variant::Naive, &valid_a, fixed_now())
        .await
        .expect("inserts");
    import::insert(&b.db, Variant::Optimized, &valid_b, fixed_now())
        .await
        .expect("inserts");

    assert_eq!(snapshot(&a.db).await, snapshot(&b.db).await);
}

/// The statements `variant` sends to insert `posts` into a freshly seeded database.
async fn statements_inserting(variant: Variant, posts: &[NewPost]) -> u32 {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let (inserted, counted) =
        count_queries(import::insert(&app.db, variant, posts, fixed_now())).await;
    inserted.expect("inserted");
    counted.statements
}

#[tokio::test]
async fn the_optimized_import_runs_the_same_statements_for_5_and_50_rows_and_the_naive_one_grows() {
    for count in [5, 50] {
        let app = spawn_app().await;
        app.seed(SMALL).await;
        let valid = import::validate(&app.db, rows(posts_json(count)), fixed_now())
            .await
            .expect("valid");
        let fast = statements_inserting(Variant::Optimized, &valid).await;
        let slow = statements_inserting(Variant::Naive, &valid).await;

        assert_eq!(
            fast, 4,
            "posts INSERT, ids SELECT, tags INSERT, tag counters UPDATE for {count}"
        );
        let published = count.div_ceil(2);
        assert_eq!(
            slow as usize,
            count * 3 + published * 2,
            "one post and two tags a row, and two tag counters a published row"
        );
    }
}

#[tokio::test]
async fn validation_runs_three_queries_whatever_the_number_of_rows() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for count in [1, 40] {
        let (valid, stats) = count_queries(import::validate(
            &app.db,
            rows(posts_json(count)),
            fixed_now(),
        ))
        .await;
        assert_eq!(valid.expect("valid").len(), count);
        assert_eq!(stats.statements, 3, "{count} rows");
    }
}

#[tokio::test]
async fn one_invalid_row_rejects_the_whole_import_naming_the_row_and_the_field() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;
    let mut body = posts_json(5);
    body[2]["tags"] = json!(["rust", "no-such-tag"]);

    for path in ["/admin/import", "/naive/admin/import"] {
        let page = app.admin_post_json(path, body.to_string()).await;
        assert_eq!(page.status, 422, "{path}");
        assert!(
            page.body
                .contains("row 3, field `tags`: there is no tag `no-such-tag`"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Nothing was imported."));
    }
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn malformed_imports_are_4xx_with_a_message_and_change_nothing() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;
    let mut wrong_type = posts_json(3);
    wrong_type[1]["tags"] = json!("rust");
    let mut unknown_author = posts_json(3);
    unknown_author[0]["author_email"] = json!("nobody@example.com");
    let mut taken_slug = posts_json(2);
    taken_slug[1]["slug"] = json!(
        post::Entity::find_by_id(1)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .slug
    );
    let mut twice = posts_json(2);
    twice[0]["slug"] = json!("same-slug");
    twice[1]["slug"] = json!("same-slug");
    let mut bad_slug = posts_json(1);
    bad_slug[0]["slug"] = json!("Not A Slug");
    let mut typo = posts_json(1);
    typo[0]["tag"] = json!(["rust"]);
    let mut empty_title = posts_json(2);
    empty_title[1]["title"] = json!("   ");

    for (body, status, says) in [
        ("[{\"title\": ".to_owned(), 400, "not valid JSON"),
        ("{}".to_owned(), 422, "must be a JSON array"),
        (
            wrong_type.to_string(),
            422,
            "row 2, field `tags`: invalid type",
        ),
        (
            unknown_author.to_string(),
            422,
            "row 1, field `author_email`: no user has the email",
        ),
        (taken_slug.to_string(), 422, "row 2, field `slug`:"),
        (
            twice.to_string(),
            422,
            "row 2, field `slug`: `same-slug` is also the slug of row 1",
        ),
        (bad_slug.to_string(), 422, "row 1, field `slug`: A slug is"),
        (typo.to_string(), 422, "unknown field `tag`"),
        (empty_title.to_string(), 422, "row 2, field `title`"),
    ] {
        let page = app.admin_post_json("/admin/import", body.clone()).await;
        assert_eq!(page.status, status, "{body}: {}", page.body);
        assert!(page.body.contains(says), "{says} in {}", page.body);
        assert!(
            page.body.starts_with("{\"error\":"),
            "JSON errors: {}",
            page.body
        );
    }
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn a_json_array_over_5_mb_is_a_413_pointing_to_ndjson_and_a_non_json_body_a_415() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;
    let huge = format!("[{}]", "0,".repeat(5 * 1024 * 1024) + "0");

    let too_large = app.admin_post_json("/admin/import", huge).await;
    assert_eq!(too_large.status, 413);
    assert!(
        too_large.body.contains("up to 5 MB") && too_large.body.contains("application/x-ndjson"),
        "{}",
        too_large.body
    );

    let form = app
        .admin_post("/naive/admin/import", &[("title", "x")])
        .await;
    assert_eq!(form.status, 415);
    assert!(form.body.contains("application/json"));
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn text_with_a_nul_and_dates_no_page_link_can_reach_are_422s_on_every_backend() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;

    for (field, value, says) in [
        (
            "title",
            json!("Nul \u{0} title"),
            "row 1, field `title`: contains a NUL",
        ),
        (
            "body",
            json!("Nul \u{0} body"),
            "row 1, field `body`: contains a NUL",
        ),
        (
            "excerpt",
            json!("\u{0}"),
            "row 1, field `excerpt`: contains a NUL",
        ),
        (
            "author_email",
            json!("user2@example.com\u{0}"),
            "row 1, field `author_email`: contains a NUL",
        ),
        (
            "tags",
            json!(["rust\u{0}"]),
            "row 1, field `tags`: contains a NUL",
        ),
        (
            "published_at",
            json!("1500-01-01T00:00:00Z"),
            "row 1, field `published_at`: must be between 1677",
        ),
        (
            "published_at",
            json!("9999-12-31T00:00:00Z"),
            "row 1, field `published_at`: must be between 1677",
        ),
    ] {
        let mut rows = posts_json(1);
        rows[0][field] = value;
        let page = app.admin_post_json("/admin/import", rows.to_string()).await;
        assert_eq!(page.status, 422, "{field}: {}", page.body);
        assert!(page.body.contains(says), "{says} in {}", page.body);
    }
    assert_eq!(snapshot(&app.db).await, before);
}

/// `count` posts as NDJSON lines, each with a body of about `body_bytes`, slugs from
/// `prefix`.
fn ndjson_posts(prefix: &str, count: usize, body_bytes: usize) -> String {
    let body = "All work and no play. ".repeat(body_bytes / 22 + 1);
    (0..count)
        .map(|i| {
            json!({
                "title": format!("{prefix} post {i}"),
                "body": body,
                "author_email": "user2@example.com",
                "tags": ["rust", "sql"],
                "status": if i % 2 == 0 { "published" } else { "draft" },
            })
            .to_string()
                + "\n"
        })
        .collect()
}

#[tokio::test]
async fn an_ndjson_import_larger_than_a_json_array_may_be_imports_in_one_request_in_both_variants()
{
    let app = spawn_app().await;
    app.seed(SMALL).await;
    // Over the 5 MB a JSON array may be, in several batches of 1,000 lines.
    let (optimized, naive) = (
        ndjson_posts("streamed", 2_500, 2_500),
        ndjson_posts("slow", 1_200, 200),
    );
    assert!(
        optimized.len() > 5 * 1024 * 1024,
        "{} bytes",
        optimized.len()
    );

    let page = post_ndjson(&app, "/admin/import", optimized).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body, r#"{"imported":2500}"#);
    let page = post_ndjson(&app, "/naive/admin/import", naive).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body, r#"{"imported":1200}"#);

    assert_eq!(post_count(&app).await, 30 + 2_500 + 1_200);
    let drift = perfblog::services::db::counters::drift(&app.db)
        .await
        .expect("measured");
    assert_eq!(drift, perfblog::services::db::counters::Drift::default());
}

#[tokio::test]
async fn a_wrong_row_in_a_later_batch_is_named_by_its_place_in_the_whole_import_and_nothing_is_imported()
 {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;
    let mut lines: Vec<String> = ndjson_posts("batched", 2_100, 100)
        .lines()
        .map(str::to_owned)
        .collect();

    lines[2_049] = lines[2_049].replace("\"sql\"", "\"no-such-tag\"");
    let page = post_ndjson(&app, "/admin/import", lines.join("\n")).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains("row 2050, field `tags`"),
        "{}",
        page.body
    );

    lines[2_049] = lines[2].replace("batched post 2", "batched post 2 again");
    lines[2_049] = lines[2_049].replacen("{", r#"{"slug":"batched-post-2","#, 1);
    let page = post_ndjson(&app, "/admin/import", lines.join("\n")).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body
            .contains("row 2050, field `slug`: `batched-post-2` is also the slug of row 3"),
        "{}",
        page.body
    );
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn an_ndjson_import_above_import_max_mb_is_a_413_naming_the_setting_and_imports_nothing() {
    let app = spawn_app_with(TestOptions {
        import_max_bytes: 1_000_000,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let before = snapshot(&app.db).await;

    let page = post_ndjson(&app, "/admin/import", ndjson_posts("big", 600, 2_000)).await;

    assert_eq!(page.status, 413, "{}", page.body);
    assert!(page.body.contains("IMPORT_MAX_MB"), "{}", page.body);
    assert_eq!(snapshot(&app.db).await, before);
}

#[tokio::test]
async fn a_comment_posted_while_an_ndjson_import_is_still_arriving_is_taken() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut upload = tokio::net::TcpStream::connect(&address)
        .await
        .expect("it listens");
    let lines = ndjson_posts("arriving", 1_500, 100);
    let (first, rest) = lines.split_at(lines.len() / 2);
    let head = format!(
        "POST /admin/import HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n{:x}\r\n{first}\r\n",
        crate::helpers::ADMIN_TOKEN,
        first.len()
    );
    upload
        .write_all(head.as_bytes())
        .await
        .expect("half the import is sent");

    // The import has a batch validated and waits for the rest: it holds no write lock
    // (SQLite has one for the whole database), so a comment goes in now.
    let path = format!("/posts/{slug}/comments");
    let comment = comments::comment_form_as(&app, &path, ("Ada", "ada@example.com"), "Meanwhile.")
        .send()
        .await
        .expect("answered");
    assert_eq!(comment.status().as_u16(), 303);

    let tail = format!("{:x}\r\n{rest}\r\n0\r\n\r\n", rest.len());
    upload
        .write_all(tail.as_bytes())
        .await
        .expect("the rest is sent");
    let mut answer = String::new();
    upload.read_to_string(&mut answer).await.expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"{"imported":1500}"#), "{answer}");
    assert_eq!(post_count(&app).await, 30 + 1_500);
}
