//! Dead emails: what the outbox gave up on is listed on `/admin` with its last error,
//! counted on `/metrics`, and can be requeued — one, or all in one statement — after
//! which a worker sends it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use perfblog::base::entities::outbox_message::{self, Status};
use perfblog::base::instrument::count_queries;
use perfblog::services::mail::Mailer;
use perfblog::services::mail::outbox;
use perfblog::services::mail::worker::Worker;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use crate::comments::{self, outbox_rows};
use crate::helpers::{
    ADMIN_TOKEN, Page, SMALL, TestApp, TestOptions, escaped, fast_worker, spawn_app_with,
};
use crate::operations::sample;
use crate::smtp_sink::{self, Behaviour};

const WAIT: Duration = Duration::from_secs(10);

/// An app whose in-process worker never runs: the test decides what happens to the
/// outbox.
async fn app_without_worker() -> TestApp {
    spawn_app_with(TestOptions {
        worker: None,
        ..TestOptions::default()
    })
    .await
}

/// Writes an outbox row as the worker would have left it.
async fn message(
    app: &TestApp,
    status: Status,
    last_error: Option<&str>,
    created_at: DateTime<Utc>,
) -> outbox_message::Model {
    outbox_message::ActiveModel {
        recipient: Set("\"Ada <Lovelace>\" <ada@example.com>".to_owned()),
        subject: Set("New comment on “Engines & <Notes>”".to_owned()),
        body: Set("Hello.".to_owned()),
        status: Set(status),
        attempts: Set(if status == Status::Dead { 5 } else { 1 }),
        // Not due for an hour: nothing sends it unless a requeue makes it due.
        next_attempt_at: Set(Utc::now() + TimeDelta::hours(1)),
        locked_until: Set(None),
        locked_by: Set(Some("worker-gone".to_owned())),
        last_error: Set(last_error.map(str::to_owned)),
        created_at: Set(created_at),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("the outbox row is written")
}

async fn dead_message(app: &TestApp, last_error: &str) -> outbox_message::Model {
    message(app, Status::Dead, Some(last_error), Utc::now()).await
}

async fn admin_get(app: &TestApp, path: &str) -> Page {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("answered");
    Page::read(response).await
}

/// POSTs to `path` with the admin token and returns the response (not followed).
async fn admin_post(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("answered")
}

async fn metric(app: &TestApp, name: &str) -> Option<f64> {
    let metrics = app.get("/metrics").await.text().await.expect("text");
    sample(&metrics, name)
}

/// A comment on `slug`, accepted: its email is queued.
async fn post_comment(app: &TestApp, slug: &str) {
    let page = comments::post_comment(app, &format!("/posts/{slug}/comments"), "Bounce.").await;
    assert_eq!(page.status, 303);
}

#[tokio::test]
async fn a_message_the_server_keeps_refusing_ends_dead_and_the_admin_page_shows_its_last_error() {
    let sink = smtp_sink::start(Behaviour::Refuse);
    let app = spawn_app_with(TestOptions {
        smtp_url: Some(sink.url()),
        worker: None,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let empty = admin_get(&app, "/admin").await;
    assert!(
        empty.body.contains("None: every email was sent"),
        "{}",
        empty.body
    );
    post_comment(&app, &post.slug).await;

    let mut settings = fast_worker();
    settings.retry.max_attempts = 3;
    settings.retry.base_delay = Duration::ZERO;
    settings.retry.max_delay = Duration::ZERO;
    let mailer = Mailer::new(&sink.mail_settings()).expect("mailer");
    let worker = Worker::new(app.db.clone(), mailer, settings, Arc::default());
    for _ in 0..5 {
        worker.deliver_due().await.expect("runs");
    }
    let dead = &outbox_rows(&app).await[0];
    assert_eq!((dead.status, dead.attempts), (Status::Dead, 3));

    let page = admin_get(&app, "/admin").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<output id=\"dead-count\">1</output> email used up its attempts")
    );
    let row = page
        .body
        .split(&format!("<tr id=\"dead-{}\">", dead.id))
        .nth(1);
    let row = row
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the message's row");
    assert!(row.contains(&escaped(&dead.recipient)), "{row}");
    assert!(row.contains(&escaped(&dead.subject)), "{row}");
    assert!(row.contains("<td class=\"count\">3</td>"), "{row}");
    assert!(row.contains("550"), "the SMTP server's refusal: {row}");
    assert!(row.contains(&format!("action=\"/admin/outbox/{}/requeue\"", dead.id)));
}

#[tokio::test]
async fn the_admin_page_lists_the_newest_fifty_dead_emails_escaped_and_shortened_and_counts_all() {
    let app = app_without_worker().await;
    let start = Utc::now() - TimeDelta::days(1);
    let long_error = format!("550 <b>refused</b> {}", "and on ".repeat(100));
    let mut ids = Vec::new();
    for minute in 0..55 {
        let queued = start + TimeDelta::minutes(minute);
        ids.push(
            message(&app, Status::Dead, Some(&long_error), queued)
                .await
                .id,
        );
    }
    message(&app, Status::Pending, Some("421 try later"), start).await;
    message(&app, Status::Sent, None, start).await;

    let page = admin_get(&app, "/admin").await;

    assert!(page.body.contains("<output id=\"dead-count\">55</output> emails used up their attempts; the newest 50 are listed"));
    let listed: Vec<i32> = page
        .body
        .split("<tr id=\"dead-")
        .skip(1)
        .map(|rest| {
            rest.split('"')
                .next()
                .and_then(|id| id.parse().ok())
                .expect("an id")
        })
        .collect();
    let newest_first: Vec<i32> = ids.iter().rev().take(50).copied().collect();
    assert_eq!(listed, newest_first);
    assert!(
        !page.body.contains("<b>refused</b>"),
        "the error is escaped"
    );
    assert!(page.body.contains("550 &#60;b&#62;refused&#60;/b&#62;"));
    assert!(
        !page.body.contains(&escaped(&long_error)),
        "a long error is cut"
    );
    assert!(
        page.body.contains("and on…</td>"),
        "cut where it is long, and marked"
    );
    assert!(
        !page.body.contains("421 try later"),
        "pending messages are not dead"
    );
}

#[tokio::test]
async fn a_requeued_message_is_sent_as_soon_as_the_mail_server_takes_it_again() {
    let port = smtp_sink::free_port();
    let mut worker = fast_worker();
    worker.retry.max_attempts = 3;
    worker.retry.base_delay = Duration::ZERO;
    worker.retry.max_delay = Duration::ZERO;
    // Longer than the test waits: only being woken by the requeue gets the message out.
    worker.poll_interval = Duration::from_secs(600);
    let app = spawn_app_with(TestOptions {
        smtp_url: Some(smtp_sink::url_on(port)),
        worker: Some(worker),
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    post_comment(&app, &app.first_published().await.slug).await;
    let deadline = Instant::now() + WAIT;
    while outbox_rows(&app).await[0].status != Status::Dead {
        assert!(Instant::now() < deadline, "{:?}", outbox_rows(&app).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = outbox_rows(&app).await.remove(0);
    assert!(
        dead.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot connect")
    );

    let sink = smtp_sink::start_on(port, Behaviour::Accept);
    let response = admin_post(&app, &format!("/admin/outbox/{}/requeue", dead.id)).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/admin#dead-emails");
    let messages = smtp_sink::wait_for(&sink, 1, WAIT).await;
    assert_eq!(
        messages.len(),
        1,
        "woken by the requeue, the worker sent it"
    );
    assert_eq!(
        smtp_sink::header(&messages[0], "Message-ID"),
        Some(outbox::message_id(&dead))
    );
    let deadline = Instant::now() + WAIT;
    while outbox_rows(&app).await[0].status != Status::Sent {
        assert!(Instant::now() < deadline, "{:?}", outbox_rows(&app).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = outbox_rows(&app).await.remove(0);
    assert_eq!((sent.attempts, sent.last_error), (1, None));
}

#[tokio::test]
async fn requeueing_every_dead_email_is_one_statement_and_makes_each_pending_and_due_with_fresh_attempts()
 {
    let app = app_without_worker().await;
    for n in 0..5 {
        dead_message(&app, &format!("550 no mailbox {n}")).await;
    }
    let pending = message(&app, Status::Pending, Some("421 later"), Utc::now()).await;
    let sent = message(&app, Status::Sent, None, Utc::now()).await;
    let now = Utc::now();

    let (requeued, stats) = count_queries(outbox::requeue_all_dead(&app.db, now)).await;

    assert_eq!(requeued.expect("runs"), 5);
    assert_eq!(stats.statements, 1);
    let rows = outbox_rows(&app).await;
    let (requeued, untouched): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|row| row.id != pending.id && row.id != sent.id);
    assert_eq!(
        untouched,
        [pending, sent],
        "only dead messages are requeued"
    );
    for row in requeued {
        assert_eq!((row.status, row.attempts), (Status::Pending, 0), "{row:?}");
        assert!(row.next_attempt_at <= Utc::now(), "due now: {row:?}");
        assert!(
            row.last_error
                .as_deref()
                .unwrap_or_default()
                .starts_with("550 no mailbox"),
            "the last error is kept until the next attempt settles: {row:?}"
        );
    }
    let again = outbox::requeue_all_dead(&app.db, Utc::now()).await;
    assert_eq!(again.expect("runs"), 0, "nothing is dead any more");
}

#[tokio::test]
async fn metrics_count_dead_emails_apart_from_the_queue_and_requeue_all_brings_them_to_zero() {
    let app = app_without_worker().await;
    for _ in 0..3 {
        dead_message(&app, "550 no mailbox").await;
    }
    for _ in 0..2 {
        message(&app, Status::Pending, None, Utc::now()).await;
    }
    assert_eq!(metric(&app, "perfblog_outbox_dead").await, Some(3.0));
    assert_eq!(metric(&app, "perfblog_outbox_depth").await, Some(2.0));

    let response = admin_post(&app, "/admin/outbox/requeue-dead").await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/admin#dead-emails");
    assert_eq!(response.headers()["x-query-count"], "1", "one UPDATE");
    assert_eq!(metric(&app, "perfblog_outbox_dead").await, Some(0.0));
    assert_eq!(metric(&app, "perfblog_outbox_depth").await, Some(5.0));
    let page = admin_get(&app, "/admin").await;
    assert!(page.body.contains("None: every email was sent"));
}

#[tokio::test]
async fn the_requeue_routes_refuse_requests_without_the_token_or_from_another_site_and_change_nothing()
 {
    let app = app_without_worker().await;
    let dead = dead_message(&app, "550 no mailbox").await;
    let paths = [
        format!("/admin/outbox/{}/requeue", dead.id),
        "/admin/outbox/requeue-dead".to_owned(),
    ];

    for path in &paths {
        for token in [None, Some("wrong-token-but-long-enough")] {
            let mut request = app.client.post(format!("{}{path}", app.address));
            if let Some(token) = token {
                request = request.basic_auth("admin", Some(token));
            }
            let response = request.send().await.expect("answered");
            assert_eq!(response.status(), 401, "{path} with {token:?}");
        }
        let cross_site = app
            .client
            .post(format!("{}{path}", app.address))
            .basic_auth("admin", Some(ADMIN_TOKEN))
            .header("origin", "https://evil.example")
            .send()
            .await
            .expect("answered");
        assert_eq!(cross_site.status(), 403, "{path}");
    }
    assert_eq!(outbox_rows(&app).await, [dead]);
}

#[tokio::test]
async fn requeueing_an_unknown_id_is_a_404_a_message_not_dead_a_409_and_a_malformed_id_a_400() {
    let app = app_without_worker().await;
    let pending = message(&app, Status::Pending, None, Utc::now()).await;
    let sent = message(&app, Status::Sent, None, Utc::now()).await;

    for (path, status, says) in [
        (
            "/admin/outbox/999999/requeue".to_owned(),
            404,
            "There is no message 999999 in the outbox.",
        ),
        (
            format!("/admin/outbox/{}/requeue", pending.id),
            409,
            "is not dead: it is queued for delivery already",
        ),
        (
            format!("/admin/outbox/{}/requeue", sent.id),
            409,
            "is not dead: it was sent",
        ),
        (
            "/admin/outbox/abc/requeue".to_owned(),
            400,
            "is not an outbox message id",
        ),
    ] {
        let page = Page::read(admin_post(&app, &path).await).await;
        assert_eq!(page.status, status, "{path}: {}", page.body);
        assert!(page.body.contains(says), "{path}: {}", page.body);
    }
    assert_eq!(outbox_rows(&app).await, [pending, sent], "nothing changed");
}
