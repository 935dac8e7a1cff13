//! Denormalized counters: after every kind of write, in both variants, each counter
//! equals a fresh `COUNT(*)` — and the sidebar read from them equals the one counted
//! by `GROUP BY`. The same writes leave each tag link's copy of its post's status and
//! date (kept by the database, for the tag page's index) equal to the post's.

use chrono::{DateTime, Utc};
use perfblog::base::entities::post;
use perfblog::services::db::counters::{self, Drift};
use perfblog::views::sidebar::{aggregated, denormalized};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use crate::helpers::{SMALL, TestApp, spawn_app};

/// Tag links whose copy of their post's status or date is not the post's.
async fn links_out_of_step(db: &DatabaseConnection) -> i64 {
    let sql = "SELECT COUNT(*) AS n FROM post_tags JOIN posts ON posts.id = post_tags.post_id \
               WHERE post_tags.status <> posts.status \
               OR post_tags.published_at IS DISTINCT FROM posts.published_at";
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("the links are compared")
        .expect("a count")
        .try_get("", "n")
        .expect("a number")
}

/// Every counter equals a fresh count, the sidebar from the counters is the sidebar
/// from `GROUP BY`, and every tag link carries its post's status and date.
async fn assert_exact(app: &TestApp, after: &str) {
    let drift = counters::drift(&app.db).await.expect("drift is measured");
    assert_eq!(drift, Drift::default(), "after {after}");
    assert_eq!(
        links_out_of_step(&app.db).await,
        0,
        "tag links after {after}"
    );
    assert_eq!(
        denormalized::load(&app.db).await.expect("loads"),
        aggregated::load(&app.db).await.expect("loads"),
        "the sidebar after {after}"
    );
}

async fn comment(app: &TestApp, path: &str, body: &str) -> u16 {
    app.client
        .post(format!("{}{path}", app.address))
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("body", body),
        ])
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

/// Two instants between the oldest and newest published post: archive cutoffs that
/// each archive some posts and leave others.
async fn cutoffs(app: &TestApp) -> [String; 2] {
    let dates: Vec<Option<DateTime<Utc>>> = post::Entity::find()
        .select_only()
        .column(post::Column::PublishedAt)
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_asc(post::Column::PublishedAt)
        .into_tuple()
        .all(&app.db)
        .await
        .expect("dates load");
    let day = |at: usize| {
        dates[at]
            .expect("published posts have a date")
            .format("%Y-%m-%d")
            .to_string()
    };
    [day(dates.len() / 4), day(dates.len() / 2)]
}

fn import_lines(prefix: &str) -> String {
    (0..4)
        .map(|i| {
            serde_json::json!({
                "title": format!("Counted import {prefix} {i}"),
                "body": "Body.",
                "author_email": "user1@example.com",
                "tags": ["rust", "sql"],
                "status": if i % 2 == 0 { "published" } else { "draft" },
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn after_every_kind_of_write_in_both_variants_each_counter_and_copy_equals_its_source() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    assert_exact(&app, "seeding").await;
    let slug = app.first_published().await.slug;
    let [early, later] = cutoffs(&app).await;

    for (prefix, cutoff, tag) in [("", early, "sql"), ("/naive", later, "postgresql")] {
        let status = comment(&app, &format!("{prefix}/posts/{slug}/comments"), "Counted.").await;
        assert_eq!(status, 303, "{prefix} comment");
        assert_exact(&app, &format!("a comment ({prefix:?})")).await;

        let imported = app
            .admin_post_body(
                &format!("{prefix}/admin/import"),
                "application/x-ndjson",
                import_lines(prefix),
            )
            .await;
        assert_eq!(imported.status, 200, "{}", imported.body);
        assert_exact(&app, &format!("an import ({prefix:?})")).await;

        let tagged = app
            .admin_post(
                &format!("{prefix}/admin/tag-posts"),
                &[("tag", tag), ("title_contains", "a")],
            )
            .await;
        assert!(tagged.rows_changed() > 0, "{prefix} tagged some posts");
        assert_exact(&app, &format!("tagging ({prefix:?})")).await;

        let published = app
            .admin_post(&format!("{prefix}/admin/publish-drafts"), &[])
            .await;
        assert!(
            published.rows_changed() > 0,
            "{prefix} published some drafts"
        );
        assert_exact(&app, &format!("publishing ({prefix:?})")).await;

        let archived = app
            .admin_post(&format!("{prefix}/admin/archive"), &[("before", &cutoff)])
            .await;
        assert!(archived.rows_changed() > 0, "{prefix} archived some posts");
        assert_exact(&app, &format!("archiving ({prefix:?})")).await;
    }
}

#[tokio::test]
async fn two_hundred_concurrent_comments_on_one_post_leave_its_count_exact() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let path = format!("/posts/{}/comments", post.slug);
    let bodies: Vec<String> = (0..200).map(|i| format!("Comment {i}")).collect();
    let statuses =
        futures_util::future::join_all(bodies.iter().map(|body| comment(&app, &path, body))).await;
    assert!(statuses.iter().all(|&status| status == 303), "{statuses:?}");
    let count = post::Entity::find_by_id(post.id)
        .one(&app.db)
        .await
        .expect("loads")
        .expect("exists")
        .comment_count;
    assert_eq!(count, post.comment_count + 200);
    assert_exact(&app, "200 concurrent comments").await;
}

#[tokio::test]
async fn recount_corrects_drifted_counters_and_says_how_many_had_drifted() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post_id = app.first_published().await.id;
    app.db
        .execute_unprepared(&format!(
            "UPDATE posts SET comment_count = comment_count + 7 WHERE id = {post_id}"
        ))
        .await
        .expect("drifts a post");
    app.db
        .execute_unprepared(
            "UPDATE tags SET published_post_count = 0 WHERE slug IN ('rust', 'sql')",
        )
        .await
        .expect("drifts two tags");
    assert_eq!(
        counters::recount(&app.db).await.expect("recounts"),
        Drift { posts: 1, tags: 2 }
    );
    assert_exact(&app, "a recount").await;
    assert_eq!(
        counters::recount(&app.db).await.expect("recounts"),
        Drift::default(),
        "nothing left to correct"
    );
}

#[tokio::test]
async fn the_optimized_pages_read_comment_counts_from_the_counter_and_never_count_comments() {
    use perfblog::base::instrument::record_statements;
    use perfblog::base::slug::Slug;
    use perfblog::views::pagination::{PageNumber, PageWindow};
    use perfblog::views::{post_detail, post_list, tag_page};

    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    app.add_comments(post.id, 3).await;
    let post_slug = Slug::parse(&post.slug).expect("valid slug");
    let tag_slug = Slug::parse("rust").expect("valid slug");
    let first = || PageWindow::new(PageNumber::FIRST);

    let (list, _, list_sql) =
        record_statements(post_list::optimized::load_page(&app.db, first())).await;
    let (tagged, _, tag_sql) =
        record_statements(tag_page::optimized::load_page(&app.db, &tag_slug, first())).await;
    let (detail, _, detail_sql) =
        record_statements(post_detail::optimized::load(&app.db, &post_slug)).await;

    for statement in list_sql.iter().chain(&tag_sql).chain(&detail_sql) {
        let sql = statement.sql.to_lowercase();
        assert!(
            !(sql.contains("count(") && sql.contains("comments")),
            "{}",
            statement.sql
        );
    }
    // And the counts they show are the comments there are.
    assert_eq!(
        list.expect("loads").posts,
        post_list::naive::load_page(&app.db, first())
            .await
            .expect("loads")
            .posts
    );
    assert!(
        !tagged
            .expect("loads")
            .expect("the tag")
            .page
            .posts
            .is_empty()
    );
    assert_eq!(
        detail.expect("loads").expect("found"),
        post_detail::naive::load(&app.db, &post_slug)
            .await
            .expect("loads")
            .expect("found")
    );
}

/// The seeder writes each tag's count in statements of a thousand tags: a dataset with
/// more tags than one statement holds is counted exactly too.
#[tokio::test]
async fn a_seed_with_more_tags_than_one_counting_statement_holds_is_exact() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize {
        tags: 2_500,
        posts: 3_000,
        comments_per_post: 1,
        ..SMALL
    })
    .await;
    assert_exact(&app, "seeding 2,500 tags").await;
}
