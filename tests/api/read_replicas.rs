//! The optimized pages reading from a streaming standby (`DATABASE_REPLICA_URLS`): a
//! real primary and a real standby of the test's own (`OwnPostgres::standby`). A test
//! makes the standby lag by pausing its replay (`pg_wal_replay_pause()`): it receives
//! the primary's log and applies none of it until resumed.
//!
//! The promises: a reader who wrote sees the write at once, from whichever server has
//! it; a cached page never keeps what a lagging standby read; a standby down or too
//! far behind costs no request, only its reads (the primary takes them, `/healthz`
//! says `degraded`), and it serves again when it is back.

use std::time::{Duration, Instant};

use perfblog::base::config::{DatabaseUrl, StandbySettings};
use perfblog::services::db::standbys::CHECK_EVERY;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::comments::{comment_form, send_comment};
use crate::helpers::{SMALL, TestApp, TestOptions, header, spawn_app_on};
use crate::operations::sample;
use crate::own_postgres::OwnPostgres;

/// A primary, its standby and the app reading from it, seeded, with the standby caught
/// up and serving. `standby_may_lag`: `DATABASE_REPLICA_MAX_LAG`.
struct Cluster {
    app: TestApp,
    standby: OwnPostgres,
    /// Dropped last, after its standby.
    _primary: OwnPostgres,
}

async fn cluster(options: TestOptions, standby_may_lag: Duration) -> Option<Cluster> {
    let primary = OwnPostgres::start()?;
    let standby = primary.standby(Duration::ZERO);
    let app = spawn_app_on(
        &primary.url(),
        TestOptions {
            standbys: StandbySettings {
                urls: vec![DatabaseUrl::parse(&standby.url()).expect("a URL")],
                max_lag: standby_may_lag,
            },
            ..options
        },
    )
    .await;
    app.seed(SMALL).await;
    caught_up(&app).await;
    Some(Cluster {
        app,
        standby,
        _primary: primary,
    })
}

/// Waits until the standby has replayed every write so far and the app has seen it
/// do so: a look of the watcher's from now on, and a lag of zero.
async fn caught_up(app: &TestApp) {
    tokio::time::sleep(2 * CHECK_EVERY).await;
    wait_for_health(app, "ok").await;
}

/// Pauses (`false`) or resumes (`true`) the standby's replay, and waits until it has.
async fn replay(standby: &OwnPostgres, on: bool) {
    let db = sea_orm::Database::connect(standby.url())
        .await
        .expect("the standby");
    let (call, state) = match on {
        true => ("SELECT pg_wal_replay_resume()", "not paused"),
        false => ("SELECT pg_wal_replay_pause()", "paused"),
    };
    db.execute_unprepared(call)
        .await
        .expect("replay paused or resumed");
    let started = Instant::now();
    loop {
        let sql = "SELECT pg_get_wal_replay_pause_state()";
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .expect("answers")
            .expect("a row");
        if row.try_get_by_index::<String>(0).expect("a state") == state {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "replay never {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (up to 20 s) until `/healthz` gives the standby `status`, and its lag is zero
/// when that status is `ok`: the standby has replayed everything.
async fn wait_for_health(app: &TestApp, status: &str) {
    let started = Instant::now();
    loop {
        let health = app.get("/healthz").await.text().await.expect("text");
        let wanted = format!(r#""status":"{status}""#);
        let standby = health.split(r#""standbys":"#).nth(1).unwrap_or_default();
        if standby.contains(&wanted) && (status != "ok" || standby.contains(r#""lag_ms":0"#)) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the standby never became {status}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Page renders that read from `server` ("primary" or "standby") so far.
async fn reads_from(app: &TestApp, server: &str) -> f64 {
    let metrics = app.get("/metrics").await.text().await.expect("text");
    sample(
        &metrics,
        &format!("perfblog_page_reads_total{{server=\"{server}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Posts a comment as a browser would, and returns the cookie it was given back.
async fn comment(app: &TestApp, slug: &str, body: &str) -> String {
    let response = send_comment(app, &format!("/posts/{slug}/comments"), body).await;
    assert_eq!(response.status(), 303);
    let cookie = header(response.headers(), "set-cookie").expect("a cookie with the write");
    assert!(cookie.starts_with("perfblog_written="), "{cookie}");
    cookie.split(';').next().unwrap_or_default().to_owned()
}

/// GET `path` with `cookie` (or none), as the page's text.
async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> String {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("answered");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_who_wrote_nothing_reads_from_the_standby_and_the_naive_twin_from_the_primary() {
    let Some(cluster) = cluster(TestOptions::rendering_every_page(), Duration::from_secs(30)).await
    else {
        return;
    };
    let app = &cluster.app;
    let (primary, standby) = (
        reads_from(app, "primary").await,
        reads_from(app, "standby").await,
    );
    page(app, "/", None).await;
    page(app, "/naive/", None).await;
    assert_eq!(reads_from(app, "standby").await, standby + 1.0);
    assert_eq!(reads_from(app, "primary").await, primary + 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_cookie_never_goes_back_and_a_position_no_standby_has_reads_the_primary() {
    let Some(cluster) = cluster(TestOptions::rendering_every_page(), Duration::from_secs(30)).await
    else {
        return;
    };
    let app = &cluster.app;
    let post = app.first_published().await;
    // A position far past anything written: from a later write, or forged.
    let ahead = "perfblog_written=FFFF/0";
    let response = comment_form(app, &format!("/posts/{}/comments", post.slug), "Later.")
        .header("cookie", ahead)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 303);
    let cookie = header(response.headers(), "set-cookie").expect("a cookie");
    assert!(cookie.starts_with(&format!("{ahead};")), "{cookie}");

    let primary = reads_from(app, "primary").await;
    page(app, &format!("/posts/{}", post.slug), Some(ahead)).await;
    assert_eq!(
        reads_from(app, "primary").await,
        primary + 1.0,
        "no standby has that position: the primary answers, the page does not fail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_their_own_comment_at_once_while_the_standby_lags_and_others_later() {
    let Some(cluster) = cluster(TestOptions::rendering_every_page(), Duration::from_secs(30)).await
    else {
        return;
    };
    let app = &cluster.app;
    let post = app.first_published().await;
    let path = format!("/posts/{}", post.slug);

    replay(&cluster.standby, false).await;
    let cookie = comment(app, &post.slug, "Read your writes.").await;
    let (primary, standby) = (
        reads_from(app, "primary").await,
        reads_from(app, "standby").await,
    );
    assert!(
        page(app, &path, Some(&cookie))
            .await
            .contains("Read your writes.")
    );
    assert_eq!(
        reads_from(app, "primary").await,
        primary + 1.0,
        "the standby has not replayed the comment: the writer reads the primary"
    );
    assert!(
        !page(app, &path, None).await.contains("Read your writes."),
        "a reader who did not write reads the standby, which has not replayed it"
    );
    assert_eq!(reads_from(app, "standby").await, standby + 1.0);

    replay(&cluster.standby, true).await;
    caught_up(app).await;
    assert!(
        page(app, &path, Some(&cookie))
            .await
            .contains("Read your writes.")
    );
    assert_eq!(
        reads_from(app, "standby").await,
        standby + 2.0,
        "once the standby has the comment, the writer reads from it too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_page_after_a_comment_shows_it_to_everyone_while_the_standby_lags() {
    let Some(cluster) = cluster(TestOptions::default(), Duration::from_secs(30)).await else {
        return;
    };
    let app = &cluster.app;
    let post = app.first_published().await;
    let path = format!("/posts/{}", post.slug);
    page(app, &path, None).await;
    let standby = reads_from(app, "standby").await;
    assert!(
        standby >= 1.0,
        "the page was rendered from the caught-up standby"
    );

    replay(&cluster.standby, false).await;
    comment(app, &post.slug, "Cached, and current.").await;
    assert!(
        page(app, &path, None)
            .await
            .contains("Cached, and current."),
        "the page cached after the comment was read from the primary"
    );
    assert!(page(app, "/", None).await.contains(&post.title));
    assert_eq!(
        reads_from(app, "standby").await,
        standby,
        "nothing a cache keeps is read from a standby behind the primary"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_stopped_sends_its_reads_to_the_primary_and_serves_again_when_back() {
    let Some(cluster) = cluster(TestOptions::rendering_every_page(), Duration::from_secs(30)).await
    else {
        return;
    };
    let app = &cluster.app;
    cluster.standby.stop();
    wait_for_health(app, "unavailable").await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert!(
        health
            .text()
            .await
            .expect("text")
            .contains(r#""status":"degraded""#)
    );

    let (primary, standby) = (
        reads_from(app, "primary").await,
        reads_from(app, "standby").await,
    );
    let post = app.first_published().await;
    for path in ["/".to_owned(), format!("/posts/{}", post.slug)] {
        page(app, &path, None).await;
    }
    assert_eq!(reads_from(app, "primary").await, primary + 2.0);
    assert_eq!(reads_from(app, "standby").await, standby);

    cluster.standby.resume();
    wait_for_health(app, "ok").await;
    page(app, "/", None).await;
    assert_eq!(reads_from(app, "standby").await, standby + 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_further_behind_than_the_bound_serves_no_reads_until_it_catches_up() {
    let Some(cluster) = cluster(TestOptions::rendering_every_page(), Duration::from_secs(1)).await
    else {
        return;
    };
    let app = &cluster.app;
    let post = app.first_published().await;
    replay(&cluster.standby, false).await;
    comment(app, &post.slug, "Too far behind.").await;
    wait_for_health(app, "lagging").await;
    let standby = reads_from(app, "standby").await;
    let body = page(app, &format!("/posts/{}", post.slug), None).await;
    assert!(body.contains("Too far behind."), "read from the primary");
    assert_eq!(reads_from(app, "standby").await, standby);

    replay(&cluster.standby, true).await;
    caught_up(app).await;
    page(app, "/", None).await;
    assert_eq!(reads_from(app, "standby").await, standby + 1.0);
}

/// Each side's `label` figure on a lab page: the naive side's, then the optimized.
fn lab_figures(body: &str, label: &str) -> Vec<String> {
    let opening = format!("<dt>{label}</dt><dd class=\"");
    body.split(&opening)
        .skip(1)
        .filter_map(|rest| {
            let value = rest.split_once("\">")?.1;
            Some(value.split('<').next()?.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_shows_the_plain_router_missing_the_readers_comment_and_the_pinned_one_not() {
    let Some(cluster) = cluster(TestOptions::default(), Duration::from_secs(30)).await else {
        return;
    };
    replay(&cluster.standby, false).await;
    let lab = cluster.app.get_page("/lab/read-replicas").await;
    assert_eq!(lab.status, 200, "{}", lab.body);
    let seen = lab_figures(&lab.body, "reads after the write that showed it");
    assert_eq!(seen, ["0 of 10", "10 of 10"], "plain router, pinned");
    let on_primary = lab_figures(&lab.body, "reads the primary served");
    assert_eq!(on_primary, ["0 of 10", "10 of 10"]);
    replay(&cluster.standby, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_shows_reading_by_log_position_sparing_the_primary_the_pin_keeps_busy() {
    let Some(cluster) = cluster(TestOptions::default(), Duration::from_secs(30)).await else {
        return;
    };
    let lab = cluster.app.get_page("/lab/read-your-writes").await;
    assert_eq!(lab.status, 200, "{}", lab.body);
    let standby = cluster.standby.url();
    let name = standby
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next());
    assert!(
        lab.body.contains(&format!(
            "<code>{}</code> serving reads, at least",
            name.expect("host:port")
        )),
        "the page says how the standby stands"
    );
    let seen = lab_figures(&lab.body, "reads after the write that showed it");
    assert_eq!(seen, ["10 of 10", "10 of 10"], "pinned, by log position");
    let on_primary = lab_figures(&lab.body, "reads the primary served");
    assert_eq!(on_primary[0], "10 of 10", "pinned: {on_primary:?}");
    let by_position: u64 = on_primary[1]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(by_position < 10, "by log position: {on_primary:?}");
}

#[tokio::test]
async fn without_a_standby_the_lessons_about_standbys_say_so_and_read_the_primary() {
    let app = crate::helpers::spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let response = send_comment(&app, &format!("/posts/{}/comments", post.slug), "Hi.").await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        header(response.headers(), "set-cookie"),
        None,
        "without standbys a write sets no cookie and asks nothing more"
    );
    for lesson in ["/lab/read-replicas", "/lab/read-your-writes"] {
        let lab = app.get_page(lesson).await;
        assert_eq!(lab.status, 200, "{lesson}: {}", lab.body);
        assert!(
            lab.body.contains(
                "This app reads from no standby (<code>DATABASE_REPLICA_URLS</code> is unset)"
            ),
            "{lesson}"
        );
        let on_primary = lab_figures(&lab.body, "reads the primary served");
        assert_eq!(on_primary, ["10 of 10", "10 of 10"], "{lesson}");
    }
}
