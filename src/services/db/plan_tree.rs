//! A safe EXPLAIN for the request history: the plan of one recorded `SELECT`, as a tree,
//! with what is worth a look flagged.
//!
//! Safe three ways, because `EXPLAIN ANALYZE` runs the statement (a write hidden in a
//! statement runs again: laravel-debugbar issue 1678):
//! - only a read is offered: one statement, a `SELECT` or a `WITH … SELECT` whose
//!   parts write nothing ([`is_a_read`]);
//! - on PostgreSQL it runs in a `READ ONLY` transaction that is rolled back, so a write
//!   that got past the first check (a function that writes, `nextval`) is refused by
//!   the database itself;
//! - under a `statement_timeout`: past it the statement is cancelled and the planner's
//!   estimate is shown instead, marked as such.
//!
//! PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`, each step with its estimated
//! and actual rows, loops, time and buffers. SQLite: `EXPLAIN QUERY PLAN`, which names
//! each step without running anything and counts nothing.
//!
//! Flagged: a step whose actual rows are more than [`ROW_GAP`] times off the estimate
//! (the planner's statistics are stale or blind: it chose its plan for another number)
//! and a sequential scan that read at least [`LARGE_TABLE`] rows over all its loops
//! (PostgreSQL) or a whole-table `SCAN` of a table that has that many (SQLite).

use std::time::Duration;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement,
    TransactionTrait,
};
use serde::Serialize;
use serde_json::Value;

/// Estimated and actual rows further apart than this are flagged.
pub const ROW_GAP: f64 = 10.0;
/// A whole-table read of at least this many rows is flagged.
pub const LARGE_TABLE: u64 = 10_000;

/// A statement's plan, as a tree in reading order (each step after its parent).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PlanTree {
    pub steps: Vec<Step>,
    /// Whether the statement ran (`ANALYZE`): actual rows and times are known.
    pub analyzed: bool,
    /// Why it did not, when it was meant to: "cancelled after 2000 ms".
    pub estimate_only_because: Option<String>,
    pub planning_ms: Option<f64>,
    pub execution_ms: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Step {
    pub depth: usize,
    /// `Seq Scan on posts`, `SEARCH comments USING INDEX …`.
    pub what: String,
    pub estimated_rows: Option<f64>,
    /// Rows per loop, as the estimate counts them.
    pub actual_rows: Option<f64>,
    /// Rows per loop read and thrown away by a filter (`Rows Removed by Filter`).
    pub removed_rows: Option<f64>,
    pub loops: Option<f64>,
    pub total_ms: Option<f64>,
    /// `shared hit=12 read=3`.
    pub buffers: Option<String>,
    /// What is worth a look here, each with the lab page that explains it.
    pub flags: Vec<String>,
}

impl Step {
    /// Rows the step handled over all its loops: those it produced and those its
    /// filter threw away (PostgreSQL; `None` where the plan counts no rows).
    pub fn rows_handled(&self) -> Option<f64> {
        let per_loop = self.actual_rows? + self.removed_rows.unwrap_or(0.0);
        Some(per_loop * self.loops.unwrap_or(1.0))
    }

    /// Non-breaking spaces, two per level, for the tree's indentation.
    pub fn indent(&self) -> String {
        "\u{a0}\u{a0}".repeat(self.depth.min(20))
    }

    pub fn rows(&self) -> String {
        let show = |rows: Option<f64>| rows.map_or("—".to_owned(), |r| format!("{r:.0}"));
        format!(
            "{} est. / {} actual{}",
            show(self.estimated_rows),
            show(self.actual_rows),
            self.loops
                .filter(|loops| *loops > 1.0)
                .map(|loops| format!(" × {loops:.0} loops"))
                .unwrap_or_default()
        )
    }
}

/// Why a statement was not explained.
#[derive(Debug)]
pub enum NotExplained {
    /// Not a single read: the reason.
    NotARead(String),
    /// The database refused or failed.
    Failed(DbErr),
}

/// Whether `sql` is one statement that only reads: a `SELECT`, or a `WITH` whose
/// parts neither insert, update, delete nor merge. Literals, quoted names and comments
/// are skipped, so a title that says "delete" does not count.
pub fn is_a_read(sql: &str) -> Result<(), String> {
    let code = code_only(sql);
    let words: Vec<String> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let body = code.trim().trim_end_matches(';');
    if body.contains(';') {
        return Err("more than one statement: only a single SELECT is explained".to_owned());
    }
    match words.first().map(String::as_str) {
        Some("SELECT") => {}
        Some("WITH") => {}
        Some(other) => {
            return Err(format!(
                "a {other} statement: only a SELECT is explained (EXPLAIN ANALYZE would run it)"
            ));
        }
        None => return Err("an empty statement".to_owned()),
    }
    if let Some(write) = words.iter().find(|word| {
        matches!(
            word.as_str(),
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" | "INTO"
        )
    }) {
        return Err(format!(
            "it contains {write}: a statement that writes is never explained (EXPLAIN ANALYZE would run it)"
        ));
    }
    Ok(())
}

/// `sql` with its string literals, quoted names and comments blanked out.
fn code_only(sql: &str) -> String {
    let mut code = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                // To the closing quote; a doubled quote inside is an escaped one.
                while let Some(inner) = chars.next() {
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                code.push(' ');
            }
            '-' if chars.peek() == Some(&'-') => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
                code.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for inner in chars.by_ref() {
                    if last == '*' && inner == '/' {
                        break;
                    }
                    last = inner;
                }
                code.push(' ');
            }
            other => code.push(other),
        }
    }
    code
}

/// The plan of `sql` (a statement with its values written in), if it is a read.
pub async fn explain_read(
    db: &DatabaseConnection,
    sql: &str,
    timeout: Duration,
) -> Result<PlanTree, NotExplained> {
    is_a_read(sql).map_err(NotExplained::NotARead)?;
    match db.get_database_backend() {
        DbBackend::Postgres => explain_postgres(db, sql, timeout).await,
        _ => explain_sqlite(db, sql).await.map_err(NotExplained::Failed),
    }
}

async fn explain_postgres(
    db: &DatabaseConnection,
    sql: &str,
    timeout: Duration,
) -> Result<PlanTree, NotExplained> {
    let analyzed = plan_json(
        db,
        &format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"),
        timeout,
    )
    .await;
    let (json, estimate_only_because) = match analyzed {
        Ok(json) => (json, None),
        Err(error) if cancelled_by_timeout(&error) => {
            let estimate = plan_json(db, &format!("EXPLAIN (FORMAT JSON) {sql}"), timeout)
                .await
                .map_err(NotExplained::Failed)?;
            let why = format!(
                "it ran past the {} ms statement_timeout and was cancelled: this is the planner's estimate",
                timeout.as_millis()
            );
            (estimate, Some(why))
        }
        Err(error) => return Err(NotExplained::Failed(error)),
    };
    let top = json.get(0).cloned().unwrap_or(Value::Null);
    let mut tree = PlanTree {
        analyzed: estimate_only_because.is_none(),
        estimate_only_because,
        planning_ms: top.get("Planning Time").and_then(Value::as_f64),
        execution_ms: top.get("Execution Time").and_then(Value::as_f64),
        ..PlanTree::default()
    };
    if let Some(plan) = top.get("Plan") {
        postgres_steps(plan, 0, &mut tree.steps);
    }
    Ok(tree)
}

/// Whether PostgreSQL cancelled the statement (SQLSTATE 57014, `query_canceled`): under
/// `SET LOCAL statement_timeout`, its timeout.
fn cancelled_by_timeout(error: &DbErr) -> bool {
    let (DbErr::Query(RuntimeErr::SqlxError(error)) | DbErr::Exec(RuntimeErr::SqlxError(error))) =
        error
    else {
        return false;
    };
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| code == "57014")
}

/// One `EXPLAIN … FORMAT JSON` in a read-only transaction under `timeout`, rolled back.
async fn plan_json(
    db: &DatabaseConnection,
    explain: &str,
    timeout: Duration,
) -> Result<Value, DbErr> {
    let transaction = db
        .begin_with_config(None, Some(AccessMode::ReadOnly))
        .await?;
    transaction
        .execute_unprepared(&format!(
            "SET LOCAL statement_timeout = {}",
            timeout.as_millis().max(1)
        ))
        .await?;
    let row = transaction
        .query_one_raw(Statement::from_string(DbBackend::Postgres, explain))
        .await;
    transaction.rollback().await?;
    let row = row?.ok_or_else(|| DbErr::RecordNotFound("EXPLAIN returned no row".to_owned()))?;
    row.try_get_by_index::<Value>(0)
}

/// A PostgreSQL plan node and its children, depth first.
fn postgres_steps(node: &Value, depth: usize, steps: &mut Vec<Step>) {
    let text = |key: &str| node.get(key).and_then(Value::as_str);
    let number = |key: &str| node.get(key).and_then(Value::as_f64);
    let mut what = text("Node Type").unwrap_or("?").to_owned();
    if let Some(relation) = text("Relation Name") {
        what = format!("{what} on {relation}");
    }
    if let Some(index) = text("Index Name") {
        what = format!("{what} using {index}");
    }
    let buffers = ["Shared Hit Blocks", "Shared Read Blocks"]
        .iter()
        .map(|key| number(key))
        .collect::<Option<Vec<f64>>>()
        .map(|b| format!("shared hit={:.0} read={:.0}", b[0], b[1]));
    let mut step = Step {
        depth,
        what,
        estimated_rows: number("Plan Rows"),
        actual_rows: number("Actual Rows"),
        removed_rows: number("Rows Removed by Filter"),
        loops: number("Actual Loops"),
        total_ms: number("Actual Total Time"),
        buffers,
        flags: Vec::new(),
    };
    if let (Some(estimated), Some(actual)) = (step.estimated_rows, step.actual_rows) {
        let gap = estimated.max(1.0) / actual.max(1.0);
        if !(1.0 / ROW_GAP..=ROW_GAP).contains(&gap) {
            step.flags.push(format!(
                "estimated {estimated:.0} rows, found {actual:.0}: the planner chose this plan for another number (ANALYZE the table, or see /lab/indexes)"
            ));
        }
    }
    if text("Node Type").is_some_and(|node| node.ends_with("Seq Scan")) {
        let loops = step.loops.unwrap_or(1.0);
        let read = match step.actual_rows {
            Some(actual) => (actual + step.removed_rows.unwrap_or(0.0)) * loops,
            None => step.estimated_rows.unwrap_or(0.0),
        };
        if read >= LARGE_TABLE as f64 {
            step.flags.push(format!(
                "reads every row of {} ({read:.0} rows): an index on what it filters or sorts by would seek instead (/lab/indexes)",
                text("Relation Name").unwrap_or("the table")
            ));
        }
    }
    steps.push(step);
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        postgres_steps(child, depth + 1, steps);
    }
}

async fn explain_sqlite(db: &DatabaseConnection, sql: &str) -> Result<PlanTree, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {sql}"),
        ))
        .await?;
    let mut nodes: Vec<(i64, i64, String)> = Vec::new();
    for row in rows {
        nodes.push((
            row.try_get::<i64>("", "id")?,
            row.try_get::<i64>("", "parent")?,
            row.try_get::<String>("", "detail")?,
        ));
    }
    let mut tree = PlanTree::default();
    for (id, parent, detail) in &nodes {
        let mut depth = 0;
        let mut up = *parent;
        while up != 0 && depth < 20 {
            depth += 1;
            up = nodes
                .iter()
                .find(|(id, ..)| *id == up)
                .map_or(0, |(_, p, _)| *p);
        }
        let _ = id;
        let mut step = Step {
            depth,
            what: detail.clone(),
            ..Step::default()
        };
        // A CTE's or a subquery's name is no table to count: those are skipped.
        if let Some(table) = whole_table_scan(detail)
            && let Ok(Some(rows)) = rows_at_least(db, table).await
        {
            step.flags.push(format!(
                "reads every row of {table} (at least {rows} rows): an index on what it filters or sorts by would seek instead (/lab/indexes)"
            ));
        }
        tree.steps.push(step);
    }
    Ok(tree)
}

/// The table a SQLite step reads whole: `SCAN posts`, not `SCAN posts USING INDEX …`.
fn whole_table_scan(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("SCAN ")?;
    if rest.contains(" USING ") {
        return None;
    }
    rest.split_whitespace()
        .next()
        .filter(|table| table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// `LARGE_TABLE` when `table` has at least that many rows (counting no further).
async fn rows_at_least(db: &DatabaseConnection, table: &str) -> Result<Option<u64>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM \"{table}\" LIMIT {LARGE_TABLE})"),
        ))
        .await?;
    let counted = row.map(|row| row.try_get::<i64>("", "n")).transpose()?;
    Ok(counted
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n >= LARGE_TABLE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_read_is_offered() {
        assert!(
            is_a_read("SELECT \"id\" FROM \"posts\" WHERE \"title\" = 'delete me; now'").is_ok()
        );
        assert!(is_a_read("WITH recent AS (SELECT id FROM posts) SELECT * FROM recent").is_ok());
        assert!(is_a_read("-- update\nSELECT 1").is_ok());
        for write in [
            "UPDATE posts SET title = 'x'",
            "WITH gone AS (DELETE FROM posts RETURNING id) SELECT * FROM gone",
            "WITH moved AS (UPDATE posts SET view_count = 0 RETURNING id) SELECT id FROM moved",
            "SELECT 1; DELETE FROM posts",
            "SELECT * INTO copy FROM posts",
            "insert into posts default values",
            "",
        ] {
            assert!(is_a_read(write).is_err(), "{write}");
        }
    }

    #[test]
    fn a_sqlite_whole_table_scan_is_told_from_an_index_scan() {
        assert_eq!(whole_table_scan("SCAN posts"), Some("posts"));
        assert_eq!(
            whole_table_scan("SCAN posts USING INDEX idx_posts_status"),
            None
        );
        assert_eq!(
            whole_table_scan("SEARCH comments USING INDEX idx (post_id=?)"),
            None
        );
    }

    #[test]
    fn a_postgres_step_far_off_its_estimate_or_reading_a_large_table_is_flagged() {
        let plan: Value = serde_json::json!({
            "Node Type": "Seq Scan", "Relation Name": "comments",
            "Plan Rows": 10.0, "Actual Rows": 5000.0, "Actual Loops": 1.0,
            "Rows Removed by Filter": 60000.0, "Actual Total Time": 12.5,
            "Shared Hit Blocks": 40.0, "Shared Read Blocks": 2.0
        });
        let mut steps = Vec::new();
        postgres_steps(&plan, 0, &mut steps);
        assert_eq!(steps[0].what, "Seq Scan on comments");
        assert_eq!(steps[0].flags.len(), 2, "{:?}", steps[0].flags);
        assert_eq!(steps[0].buffers.as_deref(), Some("shared hit=40 read=2"));
    }
}
