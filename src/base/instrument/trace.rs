//! A request's timeline, for its waterfall: every span opened while it ran (the
//! request, its middleware layers, the handler, the page's parts, the loaders, each
//! cache and Redis call, each template, the body) and every SQL statement, each with
//! its start offset and its duration, so work that overlaps shows as overlapping.
//!
//! Two kinds of span go in. The handlers, the loaders and the Redis calls carry
//! `tracing` spans, at `DEBUG`: with `RUST_LOG=perfblog=debug` they are the context of
//! the log's lines, and a loader's span names the function that issued a statement.
//! [`SpanRecorder`] is a `tracing` layer that keeps such a span only while a [`Trace`]
//! is current — a task-local that the request recorder (and [`super::traced_task`])
//! installs — so a request that is not being recorded opens none. The rest are timed
//! by [`OpenSpan`] and [`timed`] instead: a `tracing` span is entered and left on
//! every poll of its future, through every span around it, and with one per layer,
//! part and cache call the recorder cost more than its budget (the measurement log,
//! 2026-12-05); an [`OpenSpan`] notes when it opened and when it closed, and logs
//! that at `DEBUG` when it closes. Statements come from SeaORM's metric callback, which
//! knows how long a statement took when it ends: its start is its end minus that.
//!
//! A trace is bounded: past [`Trace::MOST_SPANS`] spans and statements, runs are
//! counted, not kept; past [`Trace::MOST_SQL_BYTES`] of SQL and parameter text, a
//! statement keeps only a brief of its text, without parameters (no runnable form, no
//! EXPLAIN).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{Statement, Value};
use serde::{Deserialize, Serialize};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

tokio::task_local! {
    static TRACE: Arc<Trace>;
}

/// One request's spans and statements, as they finished.
#[derive(Debug)]
pub struct Trace {
    started: Instant,
    timeline: Mutex<Timeline>,
}

/// What a trace kept, and what it only counted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timeline {
    pub spans: Vec<SpanRun>,
    pub statements: Vec<StatementRun>,
    /// Spans and statements past [`Trace::MOST_SPANS`]: counted, not kept.
    pub not_kept: u32,
    /// SQL text kept so far, against [`Trace::MOST_SQL_BYTES`].
    #[serde(skip)]
    pub sql_bytes: usize,
}

/// A span that closed: what it was called, its fields, when it opened
/// (from the request's start) and how long it stayed open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanRun {
    /// `layer`, `handler`, `cache`.
    pub name: String,
    /// Its `label` field, what this one is among its name's: `compression`.
    pub label: String,
    /// Its other fields, `key=value` separated by spaces: `key=sidebar:./`.
    pub fields: String,
    pub start_us: u64,
    pub duration_us: u64,
}

/// One SQL statement: as sent, its parameters as SQL literals (emails and tokens
/// redacted), the part of the page it ran in, when and how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRun {
    pub sql: String,
    /// Its parameters as SQL literals, in order. Empty past the trace's SQL budget.
    pub params: Vec<String>,
    /// A fingerprint of the values redacted from `params` (0 if none), keyed per
    /// process so it cannot be guessed back: two runs that differ only in a redacted
    /// value are not exact duplicates.
    #[serde(default)]
    pub redacted: u64,
    /// Whether the SQL text was kept whole (within the trace's budget).
    pub whole: bool,
    pub part: Option<String>,
    /// The function that issued it, where that function carries a span
    /// (`#[tracing::instrument]`, as the loaders do): `perfblog::views::post_list::naive::summarize
    /// (src/views/post_list/naive.rs:45)`. Found from the current span, so it costs no
    /// backtrace.
    pub call_site: Option<String>,
    pub start_us: u64,
    pub duration_us: u64,
}

impl Trace {
    /// Spans and statements kept per request.
    pub const MOST_SPANS: usize = 1000;
    /// SQL and parameter text kept per request: the lab runs
    /// statements with 10,000 values, and a history keeps hundreds of requests.
    pub const MOST_SQL_BYTES: usize = 64 * 1024;

    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            timeline: Mutex::new(Timeline::default()),
        })
    }

    /// How long ago the request started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// What it kept so far.
    pub fn timeline(&self) -> Timeline {
        self.timeline
            .lock()
            .map(|timeline| timeline.clone())
            .unwrap_or_default()
    }

    fn offset_us(&self, at: Instant) -> u64 {
        micros(at.saturating_duration_since(self.started))
    }

    fn add_span(&self, name: &str, fields: Fields, opened: Instant) {
        self.add_run(name, fields.label, fields.others, opened);
    }

    fn add_run(&self, name: &str, label: String, fields: String, opened: Instant) {
        let run = SpanRun {
            name: name.to_owned(),
            label,
            fields,
            start_us: self.offset_us(opened),
            duration_us: micros(opened.elapsed()),
        };
        if let Ok(mut timeline) = self.timeline.lock() {
            if timeline.spans.len() + timeline.statements.len() >= Self::MOST_SPANS {
                timeline.not_kept += 1;
            } else {
                timeline.spans.push(run);
            }
        }
    }

    fn add_statement(
        &self,
        elapsed: Duration,
        statement: &Statement,
        written: &str,
        part: Option<&str>,
    ) {
        self.add_statement_ended(Instant::now(), elapsed, statement, written, part);
    }

    /// A statement that ended at `ended`, after running for `elapsed`.
    fn add_statement_ended(
        &self,
        ended: Instant,
        elapsed: Duration,
        statement: &Statement,
        written: &str,
        part: Option<&str>,
    ) {
        let Ok(mut timeline) = self.timeline.lock() else {
            return;
        };
        if timeline.spans.len() + timeline.statements.len() >= Self::MOST_SPANS {
            timeline.not_kept += 1;
            return;
        }
        let fits = |params: &[String]| {
            let text = written.len() + params.iter().map(String::len).sum::<usize>();
            timeline.sql_bytes + text <= Self::MOST_SQL_BYTES
        };
        let (params, redacted) = if fits(&[]) {
            literals(statement)
        } else {
            (Vec::new(), 0)
        };
        // Past the budget even without its parameters, `params` is empty and this fails.
        let whole = fits(&params);
        let (sql, params) = if whole {
            (written.to_owned(), params)
        } else {
            let cut = crate::base::instrument::shape::brief(written, 200);
            (cut, Vec::new())
        };
        timeline.sql_bytes += sql.len() + params.iter().map(String::len).sum::<usize>();
        timeline.statements.push(StatementRun {
            sql,
            params,
            redacted,
            whole,
            part: part.map(str::to_owned),
            call_site: call_site(),
            start_us: self.offset_us(ended.checked_sub(elapsed).unwrap_or(self.started)),
            duration_us: micros(elapsed),
        });
    }
}

/// Spans that name a kind of work, not a function: never a call site.
const KINDS_OF_WORK: [&str; 9] = [
    "request", "layer", "handler", "part", "cache", "redis", "template", "body", "task",
];

/// The innermost span's metadata, when it is a function's span.
fn function_span() -> Option<&'static tracing::Metadata<'static>> {
    let metadata = tracing::Span::current().metadata()?;
    (!KINDS_OF_WORK.contains(&metadata.name())).then_some(metadata)
}

/// The innermost span's function, as its module and name, when it is a function's span.
pub(super) fn current_function() -> Option<(&'static str, &'static str)> {
    let metadata = function_span()?;
    Some((metadata.module_path().unwrap_or("?"), metadata.name()))
}

/// The innermost span's function, when it is a function's span.
pub(super) fn call_site() -> Option<String> {
    let metadata = function_span()?;
    Some(format!(
        "{}::{} ({}:{})",
        metadata.module_path().unwrap_or("?"),
        metadata.name(),
        metadata.file().unwrap_or("?"),
        metadata.line().unwrap_or(0)
    ))
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Runs `future` with `trace` current: its spans and statements go there.
pub async fn tracing_into<F: Future>(trace: Arc<Trace>, future: F) -> F::Output {
    TRACE.scope(trace, future).await
}

/// Runs `poll` (a body's next frame) with `trace` current.
pub fn tracing_into_sync<R>(trace: Arc<Trace>, poll: impl FnOnce() -> R) -> R {
    TRACE.sync_scope(trace, poll)
}

/// A span timed without `tracing`: opened where it is made, closed when dropped.
pub struct OpenSpan {
    trace: Arc<Trace>,
    name: &'static str,
    label: &'static str,
    fields: String,
    at: Instant,
}

impl OpenSpan {
    /// A span of the current trace, or `None` outside one (nothing to time).
    pub fn open(name: &'static str, label: &'static str) -> Option<Self> {
        TRACE
            .try_with(|trace| Self {
                trace: trace.clone(),
                name,
                label,
                fields: String::new(),
                at: Instant::now(),
            })
            .ok()
    }

    /// With fields, `key=value` separated by spaces (made only when tracing).
    pub fn with_fields(mut self, fields: String) -> Self {
        self.fields = fields;
        self
    }
}

impl Drop for OpenSpan {
    fn drop(&mut self) {
        tracing::debug!(
            span = self.name,
            label = self.label,
            elapsed_us = micros(self.at.elapsed()),
            "span closed"
        );
        let fields = std::mem::take(&mut self.fields);
        self.trace
            .add_run(self.name, self.label.to_owned(), fields, self.at);
    }
}

pin_project_lite::pin_project! {
    /// A future timed as a span of the current trace: see [`timed`].
    pub struct Timed<F> {
        #[pin]
        inner: F,
        span: Option<OpenSpan>,
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        this.span.take();
        std::task::Poll::Ready(output)
    }
}

/// `future`, timed as the span `name` `label` (`layer compression`, `part sidebar`)
/// of the current trace, from now until it finishes or is dropped. Outside a trace it
/// costs one task-local lookup.
pub fn timed<F: Future>(name: &'static str, label: &'static str, future: F) -> Timed<F> {
    Timed {
        inner: future,
        span: OpenSpan::open(name, label),
    }
}

fn is_tracing() -> bool {
    TRACE.try_with(|_| ()).is_ok()
}

/// Adds a statement that just ended to the current trace, if there is one.
/// `written` is its text without the app's SQL comment.
pub(super) fn record_statement(
    elapsed: Duration,
    statement: &Statement,
    written: &str,
    part: Option<&str>,
) {
    let _ = TRACE.try_with(|trace| trace.add_statement(elapsed, statement, written, part));
}

#[cfg(test)]
impl SpanRun {
    /// A span without fields that opened at `start_us` and lasted `duration_us`.
    pub fn at(name: &str, label: &str, start_us: u64, duration_us: u64) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            fields: String::new(),
            start_us,
            duration_us,
        }
    }
}

impl StatementRun {
    /// The statement with its parameters written in, ready to paste into `psql` or
    /// `sqlite3` (redacted ones stay redacted); empty when its text was not kept whole.
    /// Made when a page asks, not while the request runs.
    pub fn runnable(&self) -> String {
        if !self.whole {
            return String::new();
        }
        let mut written = String::with_capacity(self.sql.len() + 16 * self.params.len());
        let mut next = 0;
        let mut quote: Option<char> = None;
        let mut chars = self.sql.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            match (quote, c) {
                (Some(open), c) if c == open => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '?') => {
                    written.push_str(self.params.get(next).map_or("?", String::as_str));
                    next += 1;
                    continue;
                }
                (None, '$') if chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) => {
                    let mut number = 0usize;
                    while let Some((_, d)) =
                        chars.peek().copied().filter(|(_, d)| d.is_ascii_digit())
                    {
                        number = number * 10 + d.to_digit(10).unwrap_or(0) as usize;
                        chars.next();
                    }
                    match number.checked_sub(1).and_then(|at| self.params.get(at)) {
                        Some(literal) => written.push_str(literal),
                        None => written.push_str(&format!("${number}")),
                    }
                    continue;
                }
                _ => {}
            }
            written.push(c);
        }
        written
    }
}

/// Each parameter of `statement` as the SQL literal that would replace it — a string
/// that looks like an email address or a token as `'[redacted]'`: a history is read
/// by more people than the database is — and a fingerprint of what was redacted.
fn literals(statement: &Statement) -> (Vec<String>, u64) {
    use sea_orm::sea_query::{
        MysqlQueryBuilder, PostgresQueryBuilder, QueryBuilder, SqliteQueryBuilder,
    };
    use std::hash::{BuildHasher, Hash, Hasher};
    /// Random per process: a fingerprint of an email address that anyone could compute
    /// would give the address back to whoever tried the likely ones.
    static KEYS: std::sync::LazyLock<std::collections::hash_map::RandomState> =
        std::sync::LazyLock::new(Default::default);
    let Some(values) = &statement.values else {
        return (Vec::new(), 0);
    };
    let mut hidden: Option<std::collections::hash_map::DefaultHasher> = None;
    let literals = values
        .0
        .iter()
        .map(|value| match value {
            Value::String(Some(text)) if looks_secret(text) => {
                text.hash(hidden.get_or_insert_with(|| KEYS.build_hasher()));
                "'[redacted]'".to_owned()
            }
            value => match statement.db_backend {
                sea_orm::DbBackend::Postgres => PostgresQueryBuilder.value_to_string(value),
                sea_orm::DbBackend::MySql => MysqlQueryBuilder.value_to_string(value),
                _ => SqliteQueryBuilder.value_to_string(value),
            },
        })
        .collect();
    (literals, hidden.map_or(0, |hasher| hasher.finish()))
}

/// Anything with an `@` in it (an address, `"Ada" <ada@example.com>`, a comment that
/// quotes one), or a long unbroken run of token characters (an admin token, a session
/// key, a hash).
fn looks_secret(text: &str) -> bool {
    let email = text.contains('@');
    let token = text.len() >= 24
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '/'));
    email || token
}

/// The `tracing` layer that keeps each span of a traced request in its [`Trace`],
/// with [`WhileTracing`] as its filter: install both (`SpanRecorder::layer()`).
pub struct SpanRecorder;

/// Kept in a span's extensions from its opening to its closing.
struct Opened {
    trace: Arc<Trace>,
    at: Instant,
    fields: Fields,
}

impl SpanRecorder {
    /// The recorder and its filter, ready for `tracing_subscriber::registry().with(…)`.
    pub fn layer<S>() -> tracing_subscriber::filter::Filtered<SpanRecorder, WhileTracing, S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        SpanRecorder.with_filter(WhileTracing)
    }
}

impl<S> Layer<S> for SpanRecorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Ok(trace) = TRACE.try_with(Arc::clone) else {
            return;
        };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Opened {
                trace,
                at: Instant::now(),
                fields,
            });
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let opened = span.extensions_mut().remove::<Opened>();
        if let Some(opened) = opened {
            // A function's span (`#[tracing::instrument]`) is named with where the
            // function lives: `post_list::naive::load_page`.
            let name = if KINDS_OF_WORK.contains(&span.name()) {
                span.name().to_owned()
            } else {
                let mut path: Vec<&str> = span.metadata().target().rsplit("::").take(2).collect();
                path.reverse();
                path.push(span.name());
                path.join("::")
            };
            opened.trace.add_span(&name, opened.fields, opened.at);
        }
    }
}

/// perfblog's own spans, and only while a request is being traced: a request that is
/// not recorded opens none (unless the log asks for them).
pub struct WhileTracing;

impl<S> Filter<S> for WhileTracing {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        metadata.is_span() && metadata.target().starts_with("perfblog") && is_tracing()
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() && metadata.target().starts_with("perfblog") {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

/// A span's `label`, and its other fields as `key=value` pairs.
#[derive(Default)]
struct Fields {
    label: String,
    others: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "label" {
            value.clone_into(&mut self.label);
            return;
        }
        if !self.others.is_empty() {
            self.others.push(' ');
        }
        self.others.push_str(field.name());
        self.others.push('=');
        self.others.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_that_differ_only_in_a_redacted_value_are_told_apart_and_equal_ones_are_not() {
        let with = |email: &str| {
            literals(&Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT 1 WHERE email = $1",
                [Value::from(email)],
            ))
        };
        let (ada, grace) = (with("ada@example.com"), with("grace@example.com"));
        assert_eq!(ada.0, grace.0, "both read '[redacted]'");
        assert_ne!(ada.1, grace.1);
        assert_eq!(ada.1, with("ada@example.com").1);
        assert_eq!(with("no secret here").1, 0);
    }

    #[test]
    fn emails_and_tokens_are_redacted_and_other_values_kept() {
        let statement = Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 WHERE a = $1 AND b = $2 AND c = $3 AND d = $4",
            [
                Value::from("ada@example.com"),
                Value::from("3f9a8c7d6e5b4a39281706f5e4d3c2b1"),
                Value::from("a title with words"),
                Value::from(42),
            ],
        );
        let (params, redacted) = literals(&statement);
        assert_eq!(
            params,
            ["'[redacted]'", "'[redacted]'", "'a title with words'", "42"]
        );
        let run = StatementRun {
            sql: statement.sql.clone(),
            params,
            redacted,
            whole: true,
            part: None,
            call_site: None,
            start_us: 0,
            duration_us: 0,
        };
        assert_eq!(
            run.runnable(),
            "SELECT 1 WHERE a = '[redacted]' AND b = '[redacted]' AND c = 'a title with words' AND d = 42"
        );
        let sqlite = StatementRun {
            sql: "SELECT '?' WHERE a = ? AND b = ?".to_owned(),
            params: vec!["1".to_owned(), "'x'".to_owned()],
            redacted: 0,
            ..run
        };
        assert_eq!(sqlite.runnable(), "SELECT '?' WHERE a = 1 AND b = 'x'");
    }

    #[test]
    fn a_statement_starts_its_duration_before_it_ended() {
        let trace = Trace::new();
        let statement = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT 1");
        let ended = trace.started + Duration::from_millis(20);
        trace.add_statement_ended(
            ended,
            Duration::from_millis(15),
            &statement,
            "SELECT 1",
            Some("sidebar"),
        );
        let run = &trace.timeline().statements[0];
        assert_eq!((run.start_us, run.duration_us), (5_000, 15_000));
        assert_eq!(run.part.as_deref(), Some("sidebar"));
    }

    #[test]
    fn a_statement_without_parameters_is_kept_whole() {
        let trace = Trace::new();
        // What SeaORM builds for `find().all()`: values present, and empty.
        let statement = Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            r#"SELECT "id" FROM "comments""#,
            Vec::<Value>::new(),
        );
        trace.add_statement(Duration::from_millis(1), &statement, &statement.sql, None);
        let run = &trace.timeline().statements[0];
        assert!(run.whole, "{run:?}");
        assert_eq!(run.runnable(), r#"SELECT "id" FROM "comments""#);
    }

    #[test]
    fn a_statement_outside_the_traces_scope_is_not_in_it() {
        let trace = Trace::new();
        let statement = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT 1");
        record_statement(Duration::from_millis(1), &statement, "SELECT 1", None);
        tracing_into_sync(trace.clone(), || {
            record_statement(Duration::from_millis(1), &statement, "SELECT 1", None);
        });
        assert_eq!(trace.timeline().statements.len(), 1);
        assert!(!is_tracing());
    }
}
