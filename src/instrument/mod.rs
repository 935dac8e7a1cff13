//! Counting the SQL statements each request runs, and showing the count.
//!
//! SeaORM calls a metric callback after every statement it executes. The callback
//! adds to a [`QueryLog`] held in a tokio task-local, which [`count_request_queries`]
//! installs around each request and [`count_queries`] around any future (tests,
//! benches). A scope opened inside another (the lab measures each side of a pattern
//! inside its own request) reports to both, so a request's count is every statement
//! it ran. The task-local follows the request's future wherever it is polled, but
//! not into a `tokio::spawn`ed task: code in a request path must not spawn queries,
//! or they go uncounted.
//!
//! A page names its parts with [`component`] ("post list", "sidebar", "view
//! counter"): each part is a nested scope whose figures are kept under its name, so
//! the footer and `Server-Timing` can say which part of a page cost what.

use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use sea_orm::{DatabaseConnection, Statement};

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
    /// Every cache lookup in this scope, named, in order: one `Server-Timing` entry
    /// each (`cache.sidebar;desc="hit"`), so a miss of one never hides a hit of another.
    lookups: Mutex<Vec<(String, CacheOutcome)>>,
    /// Each statement with its values, kept only where asked for (the lab).
    statements_run: Option<Mutex<Vec<Statement>>>,
    /// The named parts run inside this scope, in the order they finished.
    components: Mutex<Vec<Component>>,
    /// The enclosing scope's log, which counts this scope's statements too.
    parent: Option<Arc<QueryLog>>,
}

impl QueryLog {
    fn record(&self, elapsed: Duration, statement: &Statement) {
        if let Some(log) = &self.statements_run
            && let Ok(mut log) = log.lock()
        {
            log.push(statement.clone());
        }
        self.statements.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.db_nanos.fetch_add(nanos, Ordering::Relaxed);
        if let Some(parent) = &self.parent {
            parent.record(elapsed, statement);
        }
    }

    /// Runs `future` with a fresh log nested in whatever scope is current, and returns
    /// its output with that log.
    async fn scope<F: Future>(keep_statements: bool, future: F) -> (F::Output, Arc<QueryLog>) {
        let log = Arc::new(QueryLog {
            statements_run: keep_statements.then(|| Mutex::new(Vec::new())),
            parent: CURRENT.try_with(Arc::clone).ok(),
            ..QueryLog::default()
        });
        let output = CURRENT.scope(log.clone(), future).await;
        (output, log)
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

/// Notes a lookup of the cache entry `key` in the current scope's log and every
/// scope around it. `Server-Timing` names it by the key's kind, what comes before its
/// first `:` (`sidebar:./` → `cache.sidebar`).
pub fn record_cache(key: &str, outcome: CacheOutcome) {
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
                lookups.push((name.clone(), outcome));
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
    let (output, log) = QueryLog::scope(false, future).await;
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

/// Makes every statement run through `db` count towards the current task's log.
pub fn attach(db: &mut DatabaseConnection) {
    db.set_metric_callback(|info| {
        // Outside a counted scope (start-up, the seeder) there is nothing to add to.
        let _ = CURRENT.try_with(|log| log.record(info.elapsed, info.statement));
    });
}

/// What the current request (or [`count_queries`] scope) has run so far.
/// Outside any scope: zero.
pub fn current() -> QueryStats {
    CURRENT.try_with(|log| log.stats()).unwrap_or_default()
}

/// Runs `future` with a fresh log and returns its output with the statements it ran.
/// This is how tests and benches assert query counts without going through HTTP.
pub async fn count_queries<F: Future>(future: F) -> (F::Output, QueryStats) {
    let (output, log) = QueryLog::scope(false, future).await;
    (output, log.stats())
}

/// Like [`count_queries`], and also returns the SQL of every statement, in order.
pub async fn record_queries<F: Future>(future: F) -> (F::Output, QueryStats, Vec<String>) {
    // Not through `record_statements`: one async frame fewer on a deep poll stack
    // (the lab's experiments run inside a request, inside this).
    let (output, log) = QueryLog::scope(true, future).await;
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
    let (output, log) = QueryLog::scope(true, future).await;
    (output, log.stats(), log.statements())
}

/// Middleware: counts the request's statements and reports them in `X-Query-Count`
/// and `Server-Timing`, so a browser's developer tools show them.
pub async fn count_request_queries(request: Request, next: Next) -> Response {
    let (mut response, log) = QueryLog::scope(false, next.run(request)).await;
    let stats = log.stats();
    let headers = response.headers_mut();
    headers.insert("x-query-count", HeaderValue::from(stats.statements));
    let lookups = log.lookups.lock().map(|l| l.clone()).unwrap_or_default();
    let timings = std::iter::once(stats.server_timing())
        .chain(
            lookups
                .into_iter()
                .map(|(name, outcome)| format!("cache.{name};desc=\"{}\"", outcome.as_str())),
        )
        .chain(log.parts().into_iter().map(|part| part.server_timing()));
    for timing in timings {
        if let Ok(timing) = HeaderValue::from_str(&timing) {
            headers.append("server-timing", timing);
        }
    }
    response
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

    #[tokio::test]
    async fn outside_a_scope_nothing_is_counted() {
        assert_eq!(current(), QueryStats::default());
    }
}
