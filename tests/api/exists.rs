//! Exists vs count: both give the same answer; `EXISTS … LIMIT 1` asks for one row
//! where counting visits every match — and the start-up check asks the cheap way.

use perfblog::base::entities::{post, post_tag, tag};
use perfblog::base::instrument::{record_queries, record_statements};
use perfblog::lab::workbench::busiest_tag;
use perfblog::services::db::exists::{by_counting, by_finding_one, published_tagged};
use perfblog::services::db::explain::explain;
use perfblog::services::seed::{self, DatasetSize};
use sea_orm::{ActiveValue::Set, DbBackend, EntityTrait};

use crate::helpers::{SMALL, TestApp, spawn_app};

async fn new_tag(app: &TestApp, slug: &str) -> i32 {
    tag::Entity::insert(tag::ActiveModel {
        name: Set(slug.to_owned()),
        slug: Set(slug.to_owned()),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .expect("the tag is stored")
    .last_insert_id
}

#[tokio::test]
async fn exists_and_counting_agree_on_a_busy_tag_a_tag_of_drafts_and_an_unused_tag() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let (busy, _) = busiest_tag(&app.db).await.expect("a tag");
    let draft = app.first_published().await.id;
    post::Entity::update(post::ActiveModel {
        id: Set(draft),
        status: Set(post::Status::Draft),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .expect("the post is a draft again");
    let of_drafts = new_tag(&app, "only-drafts").await;
    post_tag::Entity::insert(post_tag::ActiveModel {
        post_id: Set(draft),
        tag_id: Set(of_drafts),
        ..Default::default()
    })
    .exec_without_returning(&app.db)
    .await
    .expect("the link is stored");
    let unused = new_tag(&app, "unused").await;

    for (tag_id, expected) in [(busy, true), (of_drafts, false), (unused, false)] {
        let counted = by_counting(&app.db, published_tagged(tag_id)).await;
        let found = by_finding_one(&app.db, published_tagged(tag_id)).await;
        assert_eq!(counted.expect("counts"), expected, "tag {tag_id}");
        assert_eq!(found.expect("asks"), expected, "tag {tag_id}");
    }
}

#[tokio::test]
async fn the_start_up_check_asks_for_one_row_instead_of_counting() {
    let app = spawn_app().await;
    let (empty, _, _) = record_queries(seed::has_data(&app.db)).await;
    assert!(!empty.expect("asks"), "a new database holds no data");
    app.seed(SMALL).await;

    let (seeded, stats, sql) = record_queries(seed::has_data(&app.db)).await;

    assert!(seeded.expect("asks"));
    assert_eq!(stats.statements, 1, "users answer it: posts are not asked");
    assert!(
        sql[0].contains("EXISTS") && sql[0].contains("LIMIT"),
        "{}",
        sql[0]
    );
    assert!(!sql[0].contains("COUNT"), "{}", sql[0]);
}

/// The largest `actual rows=` of any step of a PostgreSQL plan.
fn most_rows_of_a_step(plan: &[String]) -> u64 {
    plan.iter()
        .filter_map(|line| line.split("actual rows=").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn on_postgresql_exists_stops_at_the_first_post_where_counting_visits_them_all() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        eprintln!("skipped: SQLite's plans count no rows (set TEST_DATABASE_URL)");
        return;
    }
    // One tag, so it is on every post.
    app.seed(DatasetSize {
        users: 5,
        tags: 1,
        posts: 400,
        comments_per_post: 0,
    })
    .await;
    let (tag_id, _) = busiest_tag(&app.db).await.expect("a tag");

    let (_, _, counting) = record_statements(by_counting(&app.db, published_tagged(tag_id))).await;
    let (_, _, finding) =
        record_statements(by_finding_one(&app.db, published_tagged(tag_id))).await;
    let counted = explain(&app.db, &counting[0]).await.expect("explains");
    let found = explain(&app.db, &finding[0]).await.expect("explains");

    let published = tag::Entity::find_by_id(tag_id)
        .one(&app.db)
        .await
        .expect("query runs")
        .expect("the tag")
        .published_post_count;
    assert!(published > 100, "{published} published posts");
    assert!(
        most_rows_of_a_step(&counted.lines) >= u64::try_from(published).expect("a count"),
        "{}",
        counted.text()
    );
    assert!(most_rows_of_a_step(&found.lines) <= 1, "{}", found.text());
}
