//! `/_perf/requests` and `/_perf/requests/{id}`: the request history, as HTML for a
//! browser and as JSON for `Accept: application/json` (scripts, and the API and
//! streamed requests a browser never renders). Behind the admin token: the history
//! holds SQL and paths.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Perf;
use super::recorder::Recorder;
use super::waterfall::{Row, Waterfall};
use crate::base::error::AppError;
use crate::base::instrument::shape;
use crate::base::variant::Variant;
use crate::services::db::plan_tree;
use crate::services::history::{RecorderCost, RequestRecord, Summary};
use crate::views::footer::Footer;

/// `?route=GET /naive/&slow=1&n_plus_one=1`: each narrows the list.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    route: String,
    #[serde(default)]
    slow: Option<String>,
    #[serde(default)]
    n_plus_one: Option<String>,
}

impl Filters {
    fn admits(&self, summary: &Summary) -> bool {
        let on = |flag: &Option<String>| flag.as_deref().is_some_and(|v| !v.is_empty());
        (self.route.trim().is_empty()
            || summary.route == self.route.trim()
            || format!("{} {}", summary.method, summary.route) == self.route.trim())
            && (!on(&self.slow) || summary.slow > 0)
            && (!on(&self.n_plus_one) || summary.n_plus_one > 0)
    }
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// Rows the HTML list shows: the newest that match (the JSON has them all).
const MOST_LISTED: usize = 200;

#[derive(Template, WebTemplate)]
#[template(path = "perf_requests.html")]
struct RequestsPage {
    root: &'static str,
    requests: Vec<Summary>,
    /// How many matched the filters, of which the newest [`MOST_LISTED`] are shown.
    matching: usize,
    kept: usize,
    routes: Vec<String>,
    filters: Filters,
    cost: RecorderCost,
    shared: bool,
    footer: Footer,
}

/// `GET /_perf/requests`: the requests kept, newest first, filtered.
pub async fn requests(
    State(Perf { recorder, .. }): State<Perf>,
    Query(filters): Query<Filters>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, AppError> {
    let all = recorder.history.recent().await.map_err(|_| unavailable())?;
    let mut routes: Vec<String> = all
        .iter()
        .map(|s| format!("{} {}", s.method, s.route))
        .collect();
    routes.sort();
    routes.dedup();
    let kept = all.len();
    let mut requests: Vec<Summary> = all.into_iter().filter(|s| filters.admits(s)).collect();
    if wants_json(&headers) {
        return Ok(Json(requests).into_response());
    }
    let matching = requests.len();
    requests.truncate(MOST_LISTED);
    Ok(RequestsPage {
        root: "/",
        requests,
        matching,
        kept,
        routes,
        filters,
        cost: recorder.history.cost(),
        shared: recorder.history.is_shared(),
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "perf_request.html")]
struct RequestPage {
    root: &'static str,
    record: RequestRecord,
    waterfall: Waterfall,
    statements: Vec<StatementRow>,
    footer: Footer,
}

/// A statement in the detail page's table: how many times this exact statement (same
/// parameters) ran, and how many statements of its shape.
struct StatementRow {
    /// Its place in the request's statements: the EXPLAIN form's address.
    at: usize,
    /// Whether EXPLAIN is offered: a read, kept whole.
    explainable: bool,
    row: Row,
    sql: String,
    params: String,
    runnable: String,
    part: String,
    call_site: String,
    duplicates: usize,
    similar: usize,
}

/// `GET /_perf/requests/{id}`: one request, its findings, its waterfall, its
/// statements.
pub async fn request(
    State(Perf { recorder, .. }): State<Perf>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, AppError> {
    let record = recorded(&recorder, &id).await?;
    if wants_json(&headers) {
        return Ok(Json(record).into_response());
    }
    let waterfall = Waterfall::of(&record);
    let statements = statement_rows(&record, &waterfall);
    Ok(RequestPage {
        root: "/",
        record,
        waterfall,
        statements,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    }
    .into_response())
}

/// Each statement with its exact duplicates (same SQL, same parameters) and similar
/// ones (same shape, any parameters) counted apart, as django-debug-toolbar does.
fn statement_rows(record: &RequestRecord, waterfall: &Waterfall) -> Vec<StatementRow> {
    let statements = &record.timeline.statements;
    let mut exact: HashMap<(&str, &[String], u64), usize> = HashMap::new();
    let shape_of: Vec<String> = statements.iter().map(|run| shape::of(&run.sql)).collect();
    let mut shapes: HashMap<&str, usize> = HashMap::new();
    for (run, shape) in statements.iter().zip(&shape_of) {
        *exact
            .entry((&run.sql, &run.params, run.redacted))
            .or_default() += 1;
        *shapes.entry(shape).or_default() += 1;
    }
    statements
        .iter()
        .zip(&shape_of)
        .zip(waterfall.statement_rows())
        .enumerate()
        .map(|(at, ((run, shape), row))| StatementRow {
            at,
            explainable: run.whole && plan_tree::is_a_read(&run.sql).is_ok(),
            row,
            sql: run.sql.clone(),
            params: run.params.join(", "),
            runnable: run.runnable(),
            part: run.part.clone().unwrap_or_default(),
            call_site: run.call_site.clone().unwrap_or_default(),
            duplicates: exact
                .get(&(run.sql.as_str(), run.params.as_slice(), run.redacted))
                .copied()
                .unwrap_or(1),
            similar: shapes.get(shape.as_str()).copied().unwrap_or(1),
        })
        .collect()
}

/// The request `id` from the history, or a 404 that says why it may be missing.
pub async fn recorded(recorder: &Recorder, id: &str) -> Result<RequestRecord, AppError> {
    recorder
        .history
        .get(id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "No request `{id}` in the history: it was never recorded, or is older than what the history keeps."
            ))
        })
}

fn unavailable() -> AppError {
    AppError::Busy(
        "The request history is in Redis, which does not answer: try again shortly.".to_owned(),
    )
}
