//! The request history: every response carries an `X-Request-Id`; a recorded request
//! is kept with its statements, spans and findings, listed at `/_perf/requests` and
//! drawn as a waterfall at `/_perf/requests/{id}` — HTML for a browser, JSON on
//! request — behind the admin token. A streamed body's statements are in its record.

use std::time::Duration;

use perfblog::base::config::{PerfRecording, RecordPolicy};
use perfblog::services::db::plan_tree::{self, NotExplained};
use sea_orm::DbBackend;
use serde_json::Value;

use crate::comments::post_comment;
use crate::helpers::{ADMIN_TOKEN, SMALL, TestApp, TestOptions, spawn_app, spawn_app_with};

async fn history(app: &TestApp, path: &str, json: bool) -> reqwest::Response {
    let request = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(ADMIN_TOKEN);
    let request = if json {
        request.header("accept", "application/json")
    } else {
        request
    };
    request.send().await.expect("answered")
}

/// The record of request `id`. A request is stored when its body ends, which the
/// server may see just after the client has read it: asked again for up to 2 s.
async fn record_of(app: &TestApp, id: &str) -> Value {
    for _ in 0..100 {
        let response = history(app, &format!("/_perf/requests/{id}"), true).await;
        if response.status() == 200 {
            return json_of(response).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("request {id} is not in the history");
}

async fn json_of<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    let body = response.text().await.expect("a body");
    serde_json::from_str(&body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .expect("an X-Request-Id")
        .to_owned()
}

fn query_count(response: &reqwest::Response) -> u64 {
    response.headers()["x-query-count"]
        .to_str()
        .ok()
        .and_then(|count| count.parse().ok())
        .expect("an X-Query-Count")
}

fn names(record: &Value, list: &str, field: &str) -> Vec<String> {
    record["timeline"][list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_naive_list_request_is_kept_with_its_statements_and_spans_as_html_and_json() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let response = app.get("/naive/").await;
    assert_eq!(response.status(), 200);
    let id = request_id(&response);
    let counted = query_count(&response);
    let _ = response.text().await;

    let record = record_of(&app, &id).await;
    assert_eq!(record["route"], "/naive/");
    assert_eq!(record["statements"].as_u64(), Some(counted));
    assert_eq!(
        names(&record, "statements", "sql").len() as u64,
        counted,
        "every statement is kept, with its SQL"
    );
    let spans = names(&record, "spans", "name");
    for span in ["request", "layer", "handler", "part", "template", "body"] {
        assert!(
            spans.iter().any(|s| s == span),
            "a {span} span in {spans:?}"
        );
    }
    let parts: Vec<String> = record["timeline"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["part"].as_str().map(str::to_owned))
        .collect();
    assert!(parts.iter().any(|p| p == "sidebar"), "{parts:?}");

    let page = history(&app, &format!("/_perf/requests/{id}"), false).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for expected in [
        "Waterfall",
        "layer compression",
        "part sidebar",
        "<svg",
        "Runnable SQL",
    ] {
        assert!(html.contains(expected), "the page shows {expected}");
    }

    let list = history(&app, "/_perf/requests", false)
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&format!("/_perf/requests/{id}")), "listed");
}

#[tokio::test]
async fn the_history_refuses_anyone_without_the_admin_token() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    let id = request_id(&response);
    for path in [
        "/_perf/requests".to_owned(),
        format!("/_perf/requests/{id}"),
    ] {
        assert_eq!(app.get(&path).await.status(), 401, "{path}");
    }
    assert_eq!(
        history(&app, "/_perf/requests/nope", false).await.status(),
        404
    );
}

#[tokio::test]
async fn an_incoming_request_id_is_replaced_unless_a_trusted_proxy_sent_it() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/", app.address))
        .header("x-request-id", "from-the-client")
        .send()
        .await
        .unwrap();
    let id = request_id(&response);
    assert_ne!(id, "from-the-client");
    assert_eq!(id.len(), 16);
}

#[tokio::test]
async fn a_streamed_export_is_kept_with_the_statements_that_ran_after_its_headers() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let response = app
        .client
        .get(format!("{}/admin/export.ndjson", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let id = request_id(&response);
    let in_headers = query_count(&response);
    let _ = response.text().await;

    let record = record_of(&app, &id).await;
    assert_eq!(record["streamed"], true);
    let recorded = record["statements"].as_u64().unwrap();
    assert!(
        recorded > in_headers,
        "the body's statements are counted: {recorded} recorded, {in_headers} in the headers"
    );
    assert!(record["body_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn the_list_filters_by_route_and_by_finding() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let naive = request_id(&app.get("/naive/").await);
    let optimized = request_id(&app.get("/").await);
    record_of(&app, &naive).await;
    record_of(&app, &optimized).await;

    let listed = |query: &'static str| {
        let app = &app;
        async move {
            let list: Vec<Value> =
                json_of(history(app, &format!("/_perf/requests{query}"), true).await).await;
            list.iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let by_route = listed("?route=GET+%2Fnaive%2F").await;
    assert!(by_route.contains(&naive) && !by_route.contains(&optimized));
    let with_n_plus_one = listed("?n_plus_one=1").await;
    assert!(with_n_plus_one.contains(&naive), "the naive list loops");
    assert!(!with_n_plus_one.contains(&optimized));
}

fn recording(record: RecordPolicy) -> TestOptions {
    TestOptions {
        perf: PerfRecording {
            record,
            ..PerfRecording::default()
        },
        ..TestOptions::default()
    }
}

#[tokio::test]
async fn perf_record_keeps_what_it_names_and_off_keeps_nothing() {
    let slow = spawn_app_with(recording(RecordPolicy::Slow)).await;
    slow.seed(SMALL).await;
    let naive = request_id(&slow.get("/naive/").await);
    let optimized = request_id(&slow.get("/").await);
    assert!(record_of(&slow, &naive).await["n_plus_one"].as_u64() > Some(0));
    let missing = history(&slow, &format!("/_perf/requests/{optimized}"), true).await;
    assert_eq!(
        missing.status(),
        404,
        "a request without a finding is not kept"
    );

    let off = spawn_app_with(recording(RecordPolicy::Off)).await;
    let id = request_id(&off.get("/").await);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let list: Vec<Value> = json_of(history(&off, "/_perf/requests", true).await).await;
    assert!(list.is_empty(), "nothing kept, {id} included");
}

#[tokio::test]
async fn replicas_sharing_redis_share_one_history() {
    if std::env::var("TEST_REDIS_URL").map_or(true, |url| url.is_empty()) {
        return; // In process, each replica keeps its own: nothing shared to test.
    }
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let id = request_id(&replica.get("/").await);
    let record = record_of(&app, &id).await;
    assert_eq!(record["id"], id.as_str());
}

async fn explain(app: &TestApp, id: &str, n: usize) -> reqwest::Response {
    app.client
        .post(format!(
            "{}/_perf/requests/{id}/statements/{n}/explain",
            app.address
        ))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "application/json")
        .send()
        .await
        .expect("answered")
}

/// The place of the first recorded statement that starts with `verb`.
fn first(record: &Value, verb: &str) -> usize {
    names(record, "statements", "sql")
        .iter()
        .position(|sql| sql.starts_with(verb))
        .unwrap_or_else(|| panic!("a {verb} statement"))
}

#[tokio::test]
async fn a_recorded_select_is_explained_as_a_tree_on_either_backend() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let id = request_id(&app.get("/naive/").await);
    let record = record_of(&app, &id).await;

    let past_the_end = explain(&app, &id, 10_000).await;
    assert_eq!(
        past_the_end.status(),
        404,
        "no statement 10000: a 404 that says so"
    );
    assert!(
        past_the_end
            .text()
            .await
            .unwrap()
            .contains("there is no statement 10000")
    );

    let response = explain(&app, &id, first(&record, "SELECT")).await;
    assert_eq!(response.status(), 200);
    let plan: Value = json_of(response).await;
    assert!(!plan["steps"].as_array().unwrap().is_empty(), "{plan}");
    let postgres = app.db.get_database_backend() == DbBackend::Postgres;
    assert_eq!(
        plan["analyzed"], postgres,
        "ANALYZE on PostgreSQL only: {plan}"
    );
}

#[tokio::test]
async fn explain_is_refused_for_a_recorded_write() {
    let app = spawn_app_with(TestOptions::rendering_every_page()).await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let id = request_id(&app.get(&format!("/naive/posts/{}", post.slug)).await);
    let record = record_of(&app, &id).await;

    let response = explain(&app, &id, first(&record, "UPDATE")).await;
    assert_eq!(response.status(), 422);
    let message = response.text().await.unwrap();
    assert!(message.contains("only a SELECT is explained"), "{message}");
}

#[tokio::test]
async fn explain_refuses_a_write_hidden_in_a_cte_and_the_database_refuses_one_in_a_function() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let hidden =
        "WITH moved AS (UPDATE posts SET view_count = 0 RETURNING id) SELECT id FROM moved";
    assert!(matches!(
        plan_tree::explain_read(&app.db, hidden, Duration::from_secs(2)).await,
        Err(NotExplained::NotARead(_))
    ));
    if app.db.get_database_backend() != DbBackend::Postgres {
        return; // SQLite's EXPLAIN QUERY PLAN runs nothing.
    }
    let in_a_function = "SELECT nextval(pg_get_serial_sequence('posts', 'id'))";
    let refused = plan_tree::explain_read(&app.db, in_a_function, Duration::from_secs(2)).await;
    let Err(NotExplained::Failed(error)) = refused else {
        panic!("the read-only transaction refuses nextval: {refused:?}");
    };
    assert!(error.to_string().contains("read-only"), "{error}");
}

#[tokio::test]
async fn a_plan_made_with_redacted_values_says_so() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    post_comment(&app, &format!("/posts/{}/comments", post.slug), "Planned.").await;
    let mut posted = None;
    for _ in 0..100 {
        let list: Vec<Value> = json_of(history(&app, "/_perf/requests", true).await).await;
        posted = list
            .iter()
            .find(|summary| summary["method"] == "POST")
            .and_then(|summary| summary["id"].as_str().map(str::to_owned));
        if posted.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = posted.expect("the comment's POST is kept");
    let record = record_of(&app, &id).await;
    let statements = record["timeline"]["statements"].as_array().expect("a list");
    let by_email = statements
        .iter()
        .position(|run| {
            run["sql"]
                .as_str()
                .is_some_and(|sql| sql.starts_with("SELECT"))
                && run["params"][0] == "'[redacted]'"
        })
        .expect("the commenter looked up by a redacted email");

    let plan: Value = json_of(explain(&app, &id, by_email).await).await;
    assert_eq!(plan["planned_with_redacted_values"], true, "{plan}");
    let plain = first(&record, "SELECT");
    if plain != by_email {
        let plan: Value = json_of(explain(&app, &id, plain).await).await;
        assert_eq!(plan["planned_with_redacted_values"], false, "{plan}");
    }
}

#[tokio::test]
async fn a_statement_past_the_timeout_is_cancelled_and_its_estimate_shown() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        return; // SQLite's EXPLAIN QUERY PLAN runs nothing: it cannot run long.
    }
    let plan = plan_tree::explain_read(&app.db, "SELECT pg_sleep(5)", Duration::from_millis(200))
        .await
        .expect("an estimate");
    assert!(!plan.analyzed);
    let why = plan.estimate_only_because.expect("says why");
    assert!(why.contains("200 ms statement_timeout"), "{why}");
}

/// The history's summaries, newest first, as JSON; asked again for up to 5 s until
/// one is a run of the background task `task`.
async fn wait_for_task(app: &TestApp, task: &str) -> Value {
    for _ in 0..250 {
        let list: Vec<Value> = json_of(history(app, "/_perf/requests", true).await).await;
        if let Some(run) = list.into_iter().find(|s| s["route"] == task) {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no run of {task} in the history");
}

#[tokio::test]
async fn the_outbox_worker_and_the_view_counts_flusher_are_in_the_history() {
    let app = spawn_app_with(TestOptions {
        view_flush: Duration::from_millis(50),
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    let comment =
        crate::comments::post_comment(&app, &format!("/posts/{}/comments", post.slug), "Recorded.")
            .await;
    assert_eq!(comment.status, 303);
    let _ = app.get(&format!("/posts/{}", post.slug)).await.text().await;

    for task in ["outbox worker batch", "view counts flush"] {
        let run = wait_for_task(&app, task).await;
        assert_eq!(run["method"], "TASK");
        assert_eq!(run["status"], 200, "{run}");
        let record = record_of(&app, run["id"].as_str().unwrap()).await;
        assert!(record["statements"].as_u64() > Some(0), "{record}");
        assert!(
            names(&record, "spans", "name").contains(&"task".to_owned()),
            "{record}"
        );
    }
}
