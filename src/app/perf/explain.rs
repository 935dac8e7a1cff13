//! `POST /_perf/requests/{id}/statements/{n}/explain`: the plan of one recorded
//! statement, as a tree. Only a statement the history recorded, only a read (see
//! [`plan_tree`]); a `POST`, because on PostgreSQL it runs the statement again.

use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Perf;
use super::pages::{recorded, wants_json};
use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::services::db::plan_tree::{self, NotExplained, PlanTree};
use crate::views::footer::Footer;

/// How long an EXPLAIN ANALYZE may run before PostgreSQL cancels it.
pub const EXPLAIN_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Template, WebTemplate)]
#[template(path = "perf_explain.html")]
struct ExplainPage {
    root: &'static str,
    id: String,
    sql: String,
    /// Some values were redacted, and planned as the text `'[redacted]'`.
    redacted: bool,
    plan: PlanTree,
    footer: Footer,
}

/// The plan as JSON, saying whether it was made with redacted values.
#[derive(Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    plan: &'a PlanTree,
    planned_with_redacted_values: bool,
}

pub async fn explain(
    State(perf): State<Perf>,
    Path((id, n)): Path<(String, usize)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, AppError> {
    let record = recorded(&perf.recorder, &id).await?;
    let statement = record.timeline.statements.get(n).ok_or_else(|| {
        AppError::NotFound(format!(
            "Request `{id}` kept {} statements; there is no statement {n}.",
            record.timeline.statements.len()
        ))
    })?;
    let runnable = statement.runnable();
    if runnable.is_empty() {
        return Err(AppError::Unprocessable(
            "This statement's text was past what a record keeps: run it by hand to see its plan."
                .to_owned(),
        ));
    }
    let plan = plan_tree::explain_read(&perf.db, &runnable, EXPLAIN_TIMEOUT)
        .await
        .map_err(|refused| match refused {
            NotExplained::NotARead(why) => {
                AppError::Unprocessable(format!("Not explained: {why}."))
            }
            NotExplained::Failed(error) => AppError::Unprocessable(format!(
                "The database could not explain this statement: {error}"
            )),
        })?;
    let redacted = statement.redacted != 0;
    if wants_json(&headers) {
        return Ok(Json(Explained {
            plan: &plan,
            planned_with_redacted_values: redacted,
        })
        .into_response());
    }
    Ok(ExplainPage {
        root: "/",
        id,
        sql: runnable,
        redacted,
        plan,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    }
    .into_response())
}
