//! A recorded request drawn as a waterfall: one row per span and statement, in the
//! order they started, each indented under the span whose time interval holds it (the
//! nesting is read from the times, not recorded) and drawn as a bar
//! at its offset on the request's timeline. Server-rendered: each bar is an SVG
//! rectangle (the site's content security policy allows no inline style or script).

use crate::services::history::RequestRecord;

/// The bars' width, in SVG units.
const WIDTH: u64 = 1000;

/// A request's rows, in the order they started.
pub struct Waterfall {
    pub rows: Vec<Row>,
    /// What the bars are drawn against: the request's whole time.
    pub total_ms: String,
    /// Spans and statements past the trace's limit: counted, not drawn.
    pub not_kept: u32,
}

#[derive(Clone, Debug)]
pub struct Row {
    /// `span` or `sql`: the bar's class.
    pub kind: &'static str,
    /// `layer compression`, `part sidebar`, `SELECT … FROM "posts" …`.
    pub label: String,
    /// The span's fields, or the statement's part.
    pub detail: String,
    /// Non-breaking spaces, two per level.
    pub indent: String,
    pub start_ms: String,
    pub duration_ms: String,
    /// The bar, in SVG units of [`WIDTH`].
    pub x: u64,
    pub width: u64,
    /// For a statement, its place in the request's statements.
    statement: Option<usize>,
}

/// A row before it is placed: its interval in microseconds.
struct Interval {
    kind: &'static str,
    label: String,
    detail: String,
    start: u64,
    end: u64,
    statement: Option<usize>,
}

/// How far a statement may overrun the span around it and still count as inside it:
/// its start is computed from its end and duration, a few microseconds off.
const SLACK_US: u64 = 50;

impl Waterfall {
    pub fn of(record: &RequestRecord) -> Self {
        let timeline = &record.timeline;
        let mut intervals = intervals(record);
        // Outer before inner: earlier start first, then the longer, spans before SQL.
        intervals.sort_by_key(|i| (i.start, std::cmp::Reverse(i.end), i.kind == "sql"));
        let total = intervals
            .iter()
            .map(|i| i.end)
            .max()
            .unwrap_or(0)
            .max(record.summary.total_us)
            .max(1);
        let mut open: Vec<u64> = Vec::new();
        let rows = intervals
            .into_iter()
            .map(|interval| {
                while open
                    .last()
                    .is_some_and(|&end| interval.end > end + SLACK_US)
                {
                    open.pop();
                }
                let depth = open.len();
                // Only a span holds rows: statements that overlap (run at once) sit
                // side by side, not one under the other.
                if interval.kind == "span" {
                    open.push(interval.end);
                }
                Row {
                    kind: interval.kind,
                    label: interval.label,
                    detail: interval.detail,
                    indent: "\u{a0}\u{a0}".repeat(depth.min(12)),
                    start_ms: ms(interval.start),
                    duration_ms: ms(interval.end - interval.start),
                    x: interval.start * WIDTH / total,
                    width: ((interval.end - interval.start) * WIDTH / total).max(2),
                    statement: interval.statement,
                }
            })
            .collect();
        Self {
            rows,
            total_ms: ms(total),
            not_kept: timeline.not_kept,
        }
    }

    /// The statements' rows, in the order the statements ran.
    pub fn statement_rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .rows
            .iter()
            .filter(|row| row.statement.is_some())
            .cloned()
            .collect();
        rows.sort_by_key(|row| row.statement);
        rows
    }
}

/// Each span and statement of `record` as an interval, in no particular order.
fn intervals(record: &RequestRecord) -> Vec<Interval> {
    let timeline = &record.timeline;
    let spans = timeline.spans.iter().map(|span| Interval {
        kind: "span",
        label: if span.label.is_empty() {
            span.name.clone()
        } else {
            format!("{} {}", span.name, span.label)
        },
        detail: span.fields.clone(),
        start: span.start_us,
        end: span.start_us + span.duration_us,
        statement: None,
    });
    let statements = timeline
        .statements
        .iter()
        .enumerate()
        .map(|(at, run)| Interval {
            kind: "sql",
            label: crate::base::instrument::shape::brief(&run.sql, 140),
            detail: run.part.clone().unwrap_or_default(),
            start: run.start_us,
            end: run.start_us + run.duration_us,
            statement: Some(at),
        });
    spans.chain(statements).collect()
}

fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::instrument::trace::{SpanRun, StatementRun, Timeline};
    use crate::services::history::Summary;

    fn record(timeline: Timeline) -> RequestRecord {
        RequestRecord {
            summary: Summary {
                id: "r".to_owned(),
                at: chrono::Utc::now(),
                method: "GET".to_owned(),
                path: "/".to_owned(),
                route: "/".to_owned(),
                status: 200,
                total_us: 10_000,
                db_us: 0,
                statements: 1,
                slow: 0,
                n_plus_one: 0,
                streamed: false,
                body_bytes: 0,
            },
            findings: Vec::new(),
            timeline,
        }
    }

    #[test]
    fn rows_start_in_order_each_indented_under_the_span_it_ran_in() {
        let timeline = Timeline {
            spans: vec![
                SpanRun::at("part", "sidebar", 5_000, 4_000),
                SpanRun::at("layer", "compression", 0, 10_000),
                SpanRun::at("part", "post list", 1_000, 3_000),
            ],
            statements: vec![StatementRun {
                sql: "SELECT 1".to_owned(),
                params: Vec::new(),
                redacted: 0,
                whole: true,
                part: Some("sidebar".to_owned()),
                call_site: None,
                start_us: 6_000,
                duration_us: 2_000,
            }],
            ..Timeline::default()
        };
        let waterfall = Waterfall::of(&record(timeline));
        let rows: Vec<(&str, usize, u64, u64)> = waterfall
            .rows
            .iter()
            .map(|row| {
                (
                    row.label.as_str(),
                    row.indent.chars().count() / 2,
                    row.x,
                    row.width,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("layer compression", 0, 0, 1000),
                ("part post list", 1, 100, 300),
                ("part sidebar", 1, 500, 400),
                ("SELECT 1", 2, 600, 200),
            ]
        );
        assert_eq!(waterfall.statement_rows().len(), 1);
    }
}
