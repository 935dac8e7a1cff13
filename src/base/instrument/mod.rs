//! Counting the SQL statements each request runs, and showing the count.
//!
//! SeaORM calls a metric callback after every statement it executes. The callback
//! adds to a [`QueryLog`] held in a tokio task-local, which [`count_request_queries`]
//! installs around each request and [`count_queries`] around any future (tests,
//! benches). A scope opened inside another (the lab measures each side of a pattern
//! inside its own request) reports to both, so a request's count is every statement
//! it ran. The task-local follows the request's future wherever it is polled, but
//! not into a `tokio::spawn`ed task: code in a request path must not spawn queries. A
//! response body streamed after the handler returned (the export, the sitemap) is
//! polled inside the request's scope again ([`StreamedBody`]), so its queries count.
//!
//! A request's or a task's scope also carries its SQL comment's tags ([`sql_comment`]):
//! the commenting connection asks for them as each statement is sent.
//!
//! A page names its parts with [`component`] ("post list", "sidebar", "view
//! counter"): each part is a nested scope whose figures are kept under its name, so
//! the footer and `Server-Timing` can say which part of a page cost what.
//!
//! A request's scope also keeps each statement's shape ([`shape`]) with how often it
//! ran: the N+1 detector ([`detector`]) reports a shape that repeats, and the SQL panel
//! (`PERFBLOG_INSPECT=1`) lists them all.

pub mod detector;
pub mod findings;
mod middleware;
pub mod shape;
pub mod sql_comment;
pub mod trace;

pub use middleware::{StreamedBody, Suspects, count_request_queries};

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{DatabaseConnection, Statement};

use detector::Inspection;
pub use detector::{Detector, Fix, ShapeCount};

tokio::task_local! {
    static CURRENT: Arc<QueryLog>;
}

/// Statements run and time spent in the database, for one request or one future —
/// and whether a fragment cache was consulted, and what it answered.
#[derive(Debug, Default)]
pub struct QueryLog {
    statements: AtomicU32,
    db_nanos: AtomicU64,
    /// 0: not consulted; 1: hit; 2: miss (a miss anywhere makes the scope a miss):
    /// a part's summary in the footer.
    cache: AtomicU8,
    /// Every cache lookup in this scope, in order: one `Server-Timing` entry each
    /// (`cache.sidebar;desc="hit"`), so a miss of one never hides a hit of another.
    lookups: Mutex<Vec<CacheLookup>>,
    /// Each statement with its values, kept only where asked for (the lab).
    statements_run: Option<Mutex<Vec<Statement>>>,
    /// Each statement shape with its count and time, in the order first run: kept
    /// where asked for (a request with the detector or the panel on, the test helpers).
    shapes: Option<Mutex<Shapes>>,
    /// Where a repeated shape is a suspect: at how many runs, and whether to note the
    /// call site when a shape first gets there.
    watch: Option<Watch>,
    /// The statements run in here repeat on purpose (the lab's naive sides): their
    /// shapes are not passed on to the scopes around it.
    deliberate: bool,
    /// Database time that makes a part or a statement a slow finding (a request's scope).
    slow: Option<Duration>,
    /// Each statement that took at least `slow` by itself: its shape, time and the
    /// innermost named part it ran in (a request's scope).
    slow_runs: Mutex<Vec<SlowRun>>,
    /// The part's name, for a [`component`]'s scope.
    part: Option<&'static str>,
    /// The named parts run inside this scope, in the order they finished.
    components: Mutex<Vec<Component>>,
    /// The sqlcommenter tags of a request's or a task's scope (`SQL_COMMENTS`); nested
    /// scopes use their parent's.
    tags: Option<Arc<str>>,
    /// The enclosing scope's log, which counts this scope's statements too.
    parent: Option<Arc<QueryLog>>,
    /// The request's head has been answered: a shape that becomes a suspect after it (a
    /// streamed body's batches) can no longer be reported in it, so it gets the span's
    /// call site, never a backtrace — whose first use in a process resolves the
    /// binary's line tables and keeps them (docs/inspect.md: what that cost).
    answered: AtomicBool,
}

/// One statement that took at least the slow threshold by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SlowRun {
    pub shape: String,
    pub elapsed: Duration,
    pub part: Option<&'static str>,
}

/// A scope's shapes in the order first run, found by their text.
#[derive(Debug, Default)]
struct Shapes {
    in_order: Vec<ShapeCount>,
    index: HashMap<String, usize>,
}

impl Shapes {
    /// Distinct shapes kept per scope; past that, every new one is tallied under
    /// [`Shapes::OTHERS`], so a request that builds a new statement per row keeps at
    /// most 1,001 shapes, each text twice (the list and the index).
    const MOST: usize = 1000;
    const OTHERS: &str = "(statement shapes past the first 1,000 of this request)";

    /// The tally of `shape`, added at zero if new.
    fn entry(&mut self, shape: &str) -> &mut ShapeCount {
        let key = if self.index.contains_key(shape) || self.index.len() < Self::MOST {
            shape
        } else {
            Self::OTHERS
        };
        let at = match self.index.get(key) {
            Some(&at) => at,
            None => {
                self.in_order.push(ShapeCount {
                    shape: key.to_owned(),
                    count: 0,
                    db_time: Duration::ZERO,
                    call_site: None,
                });
                self.index.insert(key.to_owned(), self.in_order.len() - 1);
                self.in_order.len() - 1
            }
        };
        &mut self.in_order[at]
    }
}

/// How a scope watches for repeated shapes.
#[derive(Clone, Debug)]
struct Watch {
    threshold: u32,
    /// Repeats that are meant (`N_PLUS_ONE_ALLOW`): a shape, or the call site that
    /// issued it, containing one of these is no suspect.
    allowed: Arc<[String]>,
    /// Take a backtrace when a shape reaches the threshold: the whole stack walked and
    /// resolved to files and lines, so once per route, not per statement.
    call_site: bool,
}

impl Watch {
    /// Whether `tally` is a repeat that is meant: its shape or its call site names an
    /// allowed pattern.
    fn allows(&self, tally: &ShapeCount) -> bool {
        self.allowed.iter().any(|pattern| {
            tally.shape.contains(pattern.as_str())
                || tally
                    .call_site
                    .as_deref()
                    .is_some_and(|site| site.contains(pattern.as_str()))
        })
    }
}

/// What a scope keeps besides its counts.
#[derive(Clone, Debug, Default)]
struct Keep {
    statements: bool,
    shapes: bool,
    watch: Option<Watch>,
    deliberate: bool,
    slow: Option<Duration>,
    part: Option<&'static str>,
    tags: Option<Arc<str>>,
}

impl QueryLog {
    /// Adds a statement to this scope and every scope around it; its shape, worked out
    /// once, to those that keep shapes — up to a deliberate scope. Returns the
    /// innermost named part it ran in. `written` is the statement's text without the
    /// app's SQL comment.
    fn record(
        &self,
        elapsed: Duration,
        statement: &Statement,
        written: &str,
    ) -> Option<&'static str> {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mut shape: Option<String> = None;
        let mut shapes_wanted = true;
        let mut part = None;
        let mut scope = Some(self);
        while let Some(log) = scope {
            part = part.or(log.part);
            if let Some(slow) = log.slow
                && elapsed >= slow
                && shapes_wanted
                && let Ok(mut runs) = log.slow_runs.lock()
            {
                let shape =
                    shape.get_or_insert_with(|| shape::of_sent(written, statement.db_backend));
                runs.push(SlowRun {
                    shape: shape.clone(),
                    elapsed,
                    part,
                });
            }
            if let Some(run) = &log.statements_run
                && let Ok(mut run) = run.lock()
            {
                run.push(Statement {
                    sql: written.to_owned(),
                    values: statement.values.clone(),
                    db_backend: statement.db_backend,
                });
            }
            log.statements.fetch_add(1, Ordering::Relaxed);
            log.db_nanos.fetch_add(nanos, Ordering::Relaxed);
            if shapes_wanted && let Some(shapes) = &log.shapes {
                let shape =
                    shape.get_or_insert_with(|| shape::of_sent(written, statement.db_backend));
                log.tally(shapes, shape, elapsed);
            }
            shapes_wanted &= !log.deliberate;
            scope = log.parent.as_deref();
        }
        part
    }

    /// Counts one run of `shape`; notes where it was issued when it reaches the
    /// threshold of a scope that asks.
    fn tally(&self, shapes: &Mutex<Shapes>, shape: &str, elapsed: Duration) {
        let Ok(mut shapes) = shapes.lock() else {
            return;
        };
        let tally = shapes.entry(shape);
        tally.count += 1;
        tally.db_time += elapsed;
        // Where it was issued, when it becomes a suspect: the loader's span, free when
        // the request is traced (as the request history traces it); a backtrace only
        // where there is no span and the scope will be reported in full — a process's
        // first backtrace resolves the binary's line tables and keeps them.
        if let Some(watch) = &self.watch
            && tally.count == watch.threshold
        {
            let backtrace = watch.call_site && !self.answered.load(Ordering::Relaxed);
            tally.call_site =
                trace::call_site().or_else(|| backtrace.then(detector::call_site).flatten());
        }
    }

    /// Runs `future` with a fresh log nested in whatever scope is current, and returns
    /// its output with that log.
    async fn scope<F: Future>(keep: Keep, future: F) -> (F::Output, Arc<QueryLog>) {
        let log = Arc::new(QueryLog {
            statements_run: keep.statements.then(|| Mutex::new(Vec::new())),
            shapes: keep.shapes.then(|| Mutex::new(Shapes::default())),
            watch: keep.watch,
            deliberate: keep.deliberate,
            slow: keep.slow,
            part: keep.part,
            tags: keep.tags,
            parent: CURRENT.try_with(Arc::clone).ok(),
            ..QueryLog::default()
        });
        let output = CURRENT.scope(log.clone(), future).await;
        (output, log)
    }

    /// The suspects the response's head reports. What a streamed body runs after this
    /// is counted, but reported in no header: see [`QueryLog::answered`].
    fn suspects_for_the_head(&self) -> Vec<ShapeCount> {
        self.answered.store(true, Ordering::Relaxed);
        self.suspects()
    }

    /// The statements that took at least the slow threshold by themselves.
    fn slow_runs(&self) -> Vec<SlowRun> {
        self.slow_runs
            .lock()
            .map(|runs| runs.clone())
            .unwrap_or_default()
    }

    /// Every shape this scope kept, in the order first run.
    fn shapes(&self) -> Vec<ShapeCount> {
        self.shapes
            .as_ref()
            .and_then(|shapes| shapes.lock().ok().map(|shapes| shapes.in_order.clone()))
            .unwrap_or_default()
    }

    /// The shapes that ran at least the threshold of times: N+1 suspects.
    fn suspects(&self) -> Vec<ShapeCount> {
        let Some(watch) = &self.watch else {
            return Vec::new();
        };
        // Filtered under the lock: only the suspects are copied, usually none.
        let mut suspects: Vec<ShapeCount> = self
            .shapes
            .as_ref()
            .and_then(|shapes| {
                let shapes = shapes.lock().ok()?;
                Some(
                    shapes
                        .in_order
                        .iter()
                        .filter(|tally| tally.count >= watch.threshold && !watch.allows(tally))
                        .cloned()
                        .collect(),
                )
            })
            .unwrap_or_default();
        suspects.sort_by_key(|suspect| std::cmp::Reverse(suspect.count));
        suspects
    }

    fn lookups(&self) -> Vec<CacheLookup> {
        self.lookups
            .lock()
            .map(|lookups| lookups.clone())
            .unwrap_or_default()
    }

    /// The statements kept, if this scope keeps them.
    fn statements(&self) -> Vec<Statement> {
        self.statements_run
            .as_ref()
            .and_then(|run| run.lock().ok().map(|run| run.clone()))
            .unwrap_or_default()
    }

    /// The named parts that finished inside this scope, in order.
    fn parts(&self) -> Vec<Component> {
        self.components
            .lock()
            .map(|parts| parts.clone())
            .unwrap_or_default()
    }

    fn stats(&self) -> QueryStats {
        QueryStats {
            statements: self.statements.load(Ordering::Relaxed),
            db_time: Duration::from_nanos(self.db_nanos.load(Ordering::Relaxed)),
            cache: match self.cache.load(Ordering::Relaxed) {
                1 => Some(CacheOutcome::Hit),
                2 => Some(CacheOutcome::Miss),
                _ => None,
            },
        }
    }
}

/// What a fragment cache answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
}

impl CacheOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
        }
    }
}

/// One lookup of a cache entry, and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheLookup {
    /// The key's kind, what comes before its first `:`, made header-safe: `sidebar`.
    pub name: String,
    /// The whole key: `sidebar:./`.
    pub key: String,
    pub outcome: CacheOutcome,
    /// Whether `Server-Timing` names it (`cache.sidebar;desc="hit"`).
    pub in_server_timing: bool,
}

/// Notes a lookup of the cache entry `key` in the current scope's log and every
/// scope around it. `Server-Timing` names it by the key's kind, what comes before its
/// first `:` (`sidebar:./` → `cache.sidebar`).
pub fn record_cache(key: &str, outcome: CacheOutcome) {
    note_lookup(key, outcome, true);
}

/// Notes a lookup for the SQL panel only: for a cache whose answer has a
/// `Server-Timing` entry of its own (the page cache's `page;desc="hit|miss|stale"`).
pub fn record_cache_for_panel(key: &str, outcome: CacheOutcome) {
    note_lookup(key, outcome, false);
}

fn note_lookup(key: &str, outcome: CacheOutcome, in_server_timing: bool) {
    let code = match outcome {
        CacheOutcome::Hit => 1,
        CacheOutcome::Miss => 2,
    };
    let name: String = key
        .split(':')
        .next()
        .unwrap_or(key)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let _ = CURRENT.try_with(|log| {
        let mut scope = Some(log.as_ref());
        while let Some(log) = scope {
            log.cache.fetch_max(code, Ordering::Relaxed);
            if let Ok(mut lookups) = log.lookups.lock() {
                lookups.push(CacheLookup {
                    name: name.clone(),
                    key: key.to_owned(),
                    outcome,
                    in_server_timing,
                });
            }
            scope = log.parent.as_deref();
        }
    });
}

/// A named part of a request and what it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// What the footer calls it: "post list", "sidebar".
    pub name: &'static str,
    pub stats: QueryStats,
}

impl Component {
    /// The footer's figure: "post list 61".
    pub fn describe(&self) -> String {
        format!("{} {}", self.name, self.stats.statements)
    }

    /// Its database time in milliseconds, as the footer shows it: "9.10".
    pub fn db_ms(&self) -> String {
        format!("{:.2}", self.stats.db_millis())
    }

    /// A `Server-Timing` entry: `post-list;dur=1.234;desc="61 queries"`, with the
    /// cache's answer when the part consulted one.
    pub fn server_timing(&self) -> String {
        let metric = self.name.replace(' ', "-");
        let cache = self
            .stats
            .cache
            .map(|outcome| format!(", cache {}", outcome.as_str()))
            .unwrap_or_default();
        format!(
            "{metric};dur={:.3};desc=\"{}{cache}\"",
            self.stats.db_millis(),
            self.stats.describe()
        )
    }
}

/// Runs `future` as the part of the request called `name`: its statements count
/// toward the request as always, and are also kept under that name.
pub async fn component<F: Future>(name: &'static str, future: F) -> F::Output {
    let keep = Keep {
        part: Some(name),
        ..Keep::default()
    };
    let (output, log) = QueryLog::scope(keep, trace::timed("part", name, future)).await;
    if let Some(parent) = &log.parent
        && let Ok(mut components) = parent.components.lock()
    {
        components.push(Component {
            name,
            stats: log.stats(),
        });
    }
    output
}

/// The parts of the current request (or scope) that have finished, in order.
pub fn components() -> Vec<Component> {
    CURRENT.try_with(|log| log.parts()).unwrap_or_default()
}

/// A snapshot of a [`QueryLog`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    pub statements: u32,
    pub db_time: Duration,
    pub cache: Option<CacheOutcome>,
}

impl QueryStats {
    /// Database time in milliseconds, as pages and `Server-Timing` show it.
    pub fn db_millis(&self) -> f64 {
        self.db_time.as_secs_f64() * 1000.0
    }

    /// "1 query", "3 queries".
    pub fn describe(&self) -> String {
        match self.statements {
            1 => "1 query".to_owned(),
            n => format!("{n} queries"),
        }
    }

    /// The `Server-Timing` value: `db;dur=1.234;desc="3 queries"`.
    pub fn server_timing(&self) -> String {
        format!(
            "db;dur={:.3};desc=\"{}\"",
            self.db_millis(),
            self.describe()
        )
    }
}

/// Makes every statement run through `db` count towards the current task's log, as
/// written: without the comment [`sql_comment`] added.
pub fn attach(db: &mut DatabaseConnection) {
    db.set_metric_callback(|info| {
        let written = sql_comment::without(&info.statement.sql);
        // Outside a counted scope (start-up, the seeder) there is nothing to add to.
        let part = CURRENT
            .try_with(|log| log.record(info.elapsed, info.statement, &written))
            .ok()
            .flatten();
        trace::record_statement(info.elapsed, info.statement, &written, part);
    });
}

/// The sqlcommenter comment for a statement sent now: the current scope's tags and the
/// function whose span is current. None outside a tagged scope, or with
/// `SQL_COMMENTS=0`.
pub fn sql_comment_now() -> Option<String> {
    let tags = CURRENT
        .try_with(|log| {
            let mut scope = Some(log.as_ref());
            while let Some(log) = scope {
                if let Some(tags) = &log.tags {
                    return Some(tags.clone());
                }
                scope = log.parent.as_deref();
            }
            None
        })
        .ok()
        .flatten()?;
    Some(sql_comment::comment(&tags, trace::current_function()))
}

/// What the current request (or [`count_queries`] scope) has run so far.
/// Outside any scope: zero.
pub fn current() -> QueryStats {
    CURRENT.try_with(|log| log.stats()).unwrap_or_default()
}

/// The N+1 suspects of the current request so far: what its footer reports.
pub fn suspects() -> Vec<ShapeCount> {
    CURRENT.try_with(|log| log.suspects()).unwrap_or_default()
}

/// `part` as a whole percentage of `whole`: a row's share of a request's database time.
pub fn percent_of(part: Duration, whole: Duration) -> u32 {
    let share = 100.0 * part.as_secs_f64() / whole.as_secs_f64().max(f64::MIN_POSITIVE);
    share.round().clamp(0.0, 100.0) as u32
}

/// The current request's slow parts and statements so far, costliest first: what its
/// footer reports before any N+1. None outside a request's scope.
pub fn slow_findings() -> Vec<findings::Finding> {
    CURRENT
        .try_with(|log| match log.slow {
            Some(slow) => findings::of(log, &[], slow),
            None => Vec::new(),
        })
        .unwrap_or_default()
}

/// A request's log, handed on in its response's extensions to what reports on the
/// request after its body has ended (the request history): a streamed body's
/// statements are in it by then.
#[derive(Clone, Debug)]
pub struct RequestLog(Arc<QueryLog>);

impl RequestLog {
    pub fn stats(&self) -> QueryStats {
        self.0.stats()
    }

    /// Its findings, slow before N+1, each costliest first.
    pub fn findings(&self) -> Vec<findings::Finding> {
        let slow = self.0.slow.unwrap_or(Duration::MAX);
        findings::of(&self.0, &self.0.suspects(), slow)
    }
}

/// A background task's run, traced like a request: its log (statements, findings) and
/// its trace (spans, statements with their offsets).
pub struct TracedRun {
    pub log: RequestLog,
    pub trace: Arc<trace::Trace>,
}

/// Runs `future` — one batch of a background task — as if it were a request: traced,
/// its statements checked for N+1 and slow ones as `inspection` says. The outbox
/// worker and the view counts' flusher run each batch through this, so the detector
/// and the request history see what no request ran.
pub async fn traced_task<F: Future>(
    name: &'static str,
    inspection: Inspection,
    allowed: &Arc<[String]>,
    future: F,
) -> (F::Output, TracedRun) {
    let trace = trace::Trace::new();
    let keep = Keep {
        shapes: true,
        watch: (inspection.n_plus_one != detector::NPlusOne::Off).then(|| Watch {
            threshold: inspection.threshold,
            allowed: allowed.clone(),
            call_site: false,
        }),
        slow: Some(inspection.slow),
        tags: inspection
            .sql_comments
            .then(|| sql_comment::task_tags(name)),
        ..Keep::default()
    };
    let traced = async { QueryLog::scope(keep, trace::timed("task", name, future)).await };
    let (output, log) = trace::tracing_into(trace.clone(), traced).await;
    (
        output,
        TracedRun {
            log: RequestLog(log),
            trace,
        },
    )
}

/// Runs `future` — one batch of a background task that is not traced
/// (`PERF_RECORD=off`) — in a scope that only carries its SQL comment's tags.
pub async fn tagged_task<F: Future>(
    name: &'static str,
    inspection: Inspection,
    future: F,
) -> F::Output {
    let keep = Keep {
        tags: inspection
            .sql_comments
            .then(|| sql_comment::task_tags(name)),
        ..Keep::default()
    };
    QueryLog::scope(keep, future).await.0
}

/// A request's statements and cache lookups, as the SQL panel shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspected {
    /// Every shape run, costliest first.
    pub shapes: Vec<ShapeCount>,
    /// The request's database time so far: what each row's share is of.
    pub db_time: Duration,
    /// From how many runs a shape is flagged (none when the detector is off).
    pub threshold: Option<u32>,
    pub lookups: Vec<CacheLookup>,
}

impl Inspected {
    /// `shape`'s share of the request's database time, in percent: its row's bar.
    pub fn share(&self, shape: &ShapeCount) -> u32 {
        percent_of(shape.db_time, self.db_time)
    }

    /// Whether `shape` is flagged as an N+1 suspect.
    pub fn is_suspect(&self, shape: &ShapeCount) -> bool {
        self.threshold
            .is_some_and(|threshold| shape.count >= threshold)
    }
}

/// The current request's statements and cache lookups so far, when the SQL panel
/// (`PERFBLOG_INSPECT=1`) is on for it.
pub fn inspected() -> Option<Inspected> {
    CURRENT
        .try_with(|log| {
            PANEL.try_with(|_| Inspected {
                shapes: {
                    let mut shapes = log.shapes();
                    shapes.sort_by_key(|shape| std::cmp::Reverse(shape.db_time));
                    shapes
                },
                db_time: log.stats().db_time,
                threshold: log.watch.as_ref().map(|watch| watch.threshold),
                lookups: log.lookups(),
            })
        })
        .ok()
        .and_then(Result::ok)
}

tokio::task_local! {
    /// Set for a request whose footer shows the SQL panel.
    static PANEL: ();
}

/// What a [`count_queries`] scope ran: its totals, and each statement shape with how
/// often it ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryReport {
    pub statements: u32,
    pub db_time: Duration,
    pub cache: Option<CacheOutcome>,
    /// Every shape, in the order first run.
    pub shapes: Vec<ShapeCount>,
}

impl QueryReport {
    fn of(log: &QueryLog) -> Self {
        let stats = log.stats();
        Self {
            statements: stats.statements,
            db_time: stats.db_time,
            cache: stats.cache,
            shapes: log.shapes(),
        }
    }

    /// How many times the shape that ran most ran (0 when nothing ran).
    pub fn most_repeated(&self) -> u32 {
        self.shapes.iter().map(|s| s.count).max().unwrap_or(0)
    }

    /// The shapes that ran at least `threshold` times.
    pub fn repeated(&self, threshold: u32) -> Vec<&ShapeCount> {
        self.shapes
            .iter()
            .filter(|shape| shape.count >= threshold)
            .collect()
    }
}

/// Runs `future` with a fresh log and returns its output with what it ran: the
/// statement count and each shape with its count. This is how tests and benches
/// assert query counts without going through HTTP.
pub async fn count_queries<F: Future>(future: F) -> (F::Output, QueryReport) {
    let keep = Keep {
        shapes: true,
        ..Keep::default()
    };
    let (output, log) = QueryLog::scope(keep, future).await;
    (output, QueryReport::of(&log))
}

/// Runs `future` and panics with the detector's report — each repeated shape, the
/// function that issued it and the fix — if one statement shape ran
/// [`Inspection::default`]'s threshold of times or more. Returns its output and report.
pub async fn assert_no_n_plus_one<F: Future>(future: F) -> (F::Output, QueryReport) {
    let threshold = Inspection::default().threshold;
    let keep = Keep {
        shapes: true,
        watch: Some(Watch {
            threshold,
            allowed: Arc::from([]),
            call_site: true,
        }),
        ..Keep::default()
    };
    let (output, log) = QueryLog::scope(keep, future).await;
    let suspects = log.suspects();
    assert!(
        suspects.is_empty(),
        "{}",
        detector::report("this future", threshold, &suspects)
    );
    (output, QueryReport::of(&log))
}

/// Runs `future` as code that repeats statements on purpose (the lab runs naive sides
/// to show them): its statements count as always, but the detector does not see them.
pub async fn deliberately<F: Future>(future: F) -> F::Output {
    let keep = Keep {
        deliberate: true,
        ..Keep::default()
    };
    QueryLog::scope(keep, future).await.0
}

/// Like [`count_queries`], and also returns the SQL of every statement, in order.
pub async fn record_queries<F: Future>(future: F) -> (F::Output, QueryStats, Vec<String>) {
    // Not through `record_statements`: one async frame fewer on a deep poll stack
    // (the lab's experiments run inside a request, inside this).
    let keep = Keep {
        statements: true,
        ..Keep::default()
    };
    let (output, log) = QueryLog::scope(keep, future).await;
    let sql = log
        .statements()
        .into_iter()
        .map(|statement| statement.sql)
        .collect();
    (output, log.stats(), sql)
}

/// Like [`count_queries`], and also returns every statement with its values, in order:
/// what it takes to run one again, or `EXPLAIN` it.
pub async fn record_statements<F: Future>(future: F) -> (F::Output, QueryStats, Vec<Statement>) {
    let keep = Keep {
        statements: true,
        ..Keep::default()
    };
    let (output, log) = QueryLog::scope(keep, future).await;
    (output, log.stats(), log.statements())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_counts_in_plain_english() {
        let one = QueryStats {
            statements: 1,
            db_time: Duration::from_micros(1500),
            cache: None,
        };
        assert_eq!(one.describe(), "1 query");
        assert_eq!(one.server_timing(), "db;dur=1.500;desc=\"1 query\"");

        assert_eq!(QueryStats::default().describe(), "0 queries");
    }

    #[test]
    fn a_scope_keeps_a_bounded_number_of_shapes() {
        let mut shapes = Shapes::default();
        for n in 0..Shapes::MOST + 50 {
            shapes.entry(&format!("SELECT {n}x")).count += 1;
        }
        shapes.entry("SELECT 0x").count += 1;
        assert_eq!(shapes.in_order.len(), Shapes::MOST + 1);
        assert_eq!(shapes.in_order[0].count, 2);
        let others = shapes.in_order.last().unwrap();
        assert_eq!((others.shape.as_str(), others.count), (Shapes::OTHERS, 50));
    }

    #[tokio::test]
    async fn outside_a_scope_nothing_is_counted() {
        assert_eq!(current(), QueryStats::default());
    }

    /// A shape that becomes a suspect before the head is answered takes a backtrace
    /// (outside a span there is no other call site); after it — a streamed body's
    /// batches — none, though the scope asked for one.
    #[test]
    fn a_suspect_found_after_the_answer_takes_no_backtrace() {
        let taken = || detector::BACKTRACES_TAKEN.with(std::cell::Cell::get);
        let suspect = |answered: bool| {
            let log = QueryLog {
                shapes: Some(Mutex::new(Shapes::default())),
                watch: Some(Watch {
                    threshold: 2,
                    allowed: Arc::from([]),
                    call_site: true,
                }),
                ..QueryLog::default()
            };
            if answered {
                assert!(log.suspects_for_the_head().is_empty());
            }
            let before = taken();
            for _ in 0..2 {
                log.tally(
                    log.shapes.as_ref().expect("kept"),
                    "SELECT 1",
                    Duration::ZERO,
                );
            }
            assert_eq!(log.shapes()[0].count, 2);
            taken() - before
        };
        assert_eq!(suspect(false), 1, "one backtrace before the answer");
        assert_eq!(suspect(true), 0, "none after it");
    }
}
