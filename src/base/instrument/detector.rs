//! The N+1 detector: a statement shape (see [`super::shape`]) run `threshold` times or
//! more in one request is a suspect — the loop that asks the database once per entry
//! of a list. A suspect is reported in the response's headers, in the page's footer,
//! in `/metrics`, and once per route in the log with the Rust function that issued it;
//! with `N_PLUS_ONE=raise` the response becomes a 500 carrying the report.
//!
//! The call site is the innermost function span when the request is traced (the
//! request history traces every request it may keep). Without one it costs a
//! backtrace, taken only when a shape first reaches the threshold in a request that will
//! be reported in full (a route not yet warned about, or `raise`); release builds keep
//! line tables for it (`Cargo.toml`), and the first resolution keeps them in memory
//! for the life of the process (docs/inspect.md has what that cost).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::shape;
pub use crate::base::config::{Inspection, NPlusOne};

/// One statement shape's tally in a scope: how often it ran, for how long, and — once
/// it became a suspect in a scope that asked — where in the Rust code it was issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeCount {
    pub shape: String,
    pub count: u32,
    pub db_time: Duration,
    pub call_site: Option<String>,
}

impl ShapeCount {
    /// Its database time in milliseconds, as pages show it: "1.25".
    pub fn db_ms(&self) -> String {
        format!("{:.2}", self.db_time.as_secs_f64() * 1000.0)
    }

    /// What would run it once instead of `count` times, and the lab page that shows it.
    pub fn fix(&self) -> Fix {
        Fix::for_shape(&self.shape)
    }

    /// The `X-N-Plus-One` header: `20 x SELECT ... WHERE "users"."id" = $1; fix: eager
    /// loading, /lab/eager-loading` — ASCII only, as headers should be.
    pub fn header(&self) -> String {
        let fix = self.fix();
        ascii(&format!(
            "{} x {}; fix: {}, /lab/{}",
            self.count,
            shape::brief(&self.shape, 240),
            fix.name,
            fix.lab
        ))
    }

    /// A `Server-Timing` entry: `n-plus-one;dur=3.100;desc="20 x SELECT users"`.
    pub fn server_timing(&self) -> String {
        format!(
            "n-plus-one;dur={:.3};desc=\"{} x {}\"",
            self.db_time.as_secs_f64() * 1000.0,
            self.count,
            self.gist()
        )
    }

    /// The verb and the table: "SELECT users", "UPDATE posts".
    pub fn gist(&self) -> String {
        gist(&self.shape)
    }

    /// The footer's line: "20 × SELECT … WHERE "users"."id" = $1".
    pub fn describe(&self) -> String {
        format!("{} × {}", self.count, shape::brief(&self.shape, 240))
    }
}

/// A statement's verb and first table, ASCII and without quotes: "SELECT users",
/// "COUNT comments" — how `Server-Timing` names a statement.
pub(super) fn gist(shape: &str) -> String {
    let words: Vec<&str> = shape.split_whitespace().collect();
    let verb = if shape.contains("COUNT(") {
        "COUNT".to_owned()
    } else {
        words.first().copied().unwrap_or("?").to_ascii_uppercase()
    };
    // The first table named, past any subquery's parenthesis.
    let table = words
        .windows(2)
        .find(|pair| {
            matches!(
                pair[0].to_ascii_uppercase().as_str(),
                "FROM" | "INTO" | "UPDATE"
            ) && !pair[1].starts_with('(')
        })
        .map(|pair| pair[1].trim_matches(|c: char| c == '"' || c == '`'))
        .unwrap_or("?");
    ascii(&format!("{verb} {table}"))
        .chars()
        .filter(|c| *c != '"' && *c != '\\')
        .collect()
}

/// The usual cure for a repeated shape, as Bullet names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fix {
    /// "eager loading".
    pub name: &'static str,
    /// What to write instead, in a line.
    pub advice: &'static str,
    /// The lab page that shows it: `/lab/{lab}`.
    pub lab: &'static str,
}

impl Fix {
    /// Every cure the detector suggests (the lab's tests check their pages).
    pub const ALL: [Fix; 7] = [
        Fix::EAGER_LOADING,
        Fix::PAGE_COUNTS,
        Fix::BULK_UPDATE,
        Fix::BULK_INSERT,
        Fix::SLOW_STATEMENT,
        Fix::SLOW_SIDEBAR,
        Fix::SLOW_PART,
    ];

    const EAGER_LOADING: Fix = Fix {
        name: "eager loading",
        advice: "load what every entry needs for the whole page at once: one `IN (…)` query or a JOIN",
        lab: "eager-loading",
    };
    /// A `COUNT` per entry: the page's counts in one grouped `IN (…)` query, as the
    /// eager-loading list does (`comment_counts_of`), or a counter column.
    const PAGE_COUNTS: Fix = Fix {
        name: "one grouped query for the page",
        advice: "count for the whole page in one `GROUP BY … WHERE id IN (…)`, or keep a counter column",
        lab: "eager-loading",
    };
    /// One statement past the slow threshold.
    pub const SLOW_STATEMENT: Fix = Fix {
        name: "a plan that reads less",
        advice: "read its plan (EXPLAIN): an index, fewer rows or fewer columns",
        lab: "indexes",
    };
    /// The naive sidebar: every post and comment loaded to count them.
    const SLOW_SIDEBAR: Fix = Fix {
        name: "counting in the database",
        advice: "count with `GROUP BY` instead of loading every row, then cache the result until a write",
        lab: "aggregation",
    };
    const SLOW_PART: Fix = Fix {
        name: "find its slowest statement",
        advice: "find the statement that dominates the part and read its plan",
        lab: "indexes",
    };

    /// What to do about the page part `name` when it is slow; `cached`: whether it
    /// consulted a cache (the optimized sidebar does, and already counts in the
    /// database — the naive one loads every row and consults none).
    pub fn for_part(name: &str, cached: bool) -> Fix {
        match (name, cached) {
            ("sidebar", false) => Fix::SLOW_SIDEBAR,
            _ => Fix::SLOW_PART,
        }
    }

    /// What to do about a slow statement run in the part `name`: the part's own fix
    /// where it has one (the naive sidebar's full loads want counting in the database,
    /// not an index), a better plan otherwise.
    pub fn for_slow_statement_in(name: &str, cached: bool) -> Fix {
        match Fix::for_part(name, cached) {
            Fix::SLOW_PART => Fix::SLOW_STATEMENT,
            specific => specific,
        }
    }
    const BULK_UPDATE: Fix = Fix {
        name: "a bulk statement",
        advice: "change every row in one `UPDATE … WHERE id IN (…)`",
        lab: "bulk-updates",
    };
    const BULK_INSERT: Fix = Fix {
        name: "a bulk statement",
        advice: "insert every row in one multi-row `INSERT`",
        lab: "bulk-inserts",
    };

    /// A repeated `SELECT … = $1` wants eager loading; a repeated `COUNT` a `GROUP BY`
    /// or a counter; a repeated `UPDATE`, `DELETE` or `INSERT` one bulk statement.
    pub fn for_shape(shape: &str) -> Fix {
        let upper = shape.trim_start().to_ascii_uppercase();
        if upper.starts_with("INSERT") {
            Fix::BULK_INSERT
        } else if upper.starts_with("UPDATE") || upper.starts_with("DELETE") {
            Fix::BULK_UPDATE
        } else if upper.contains("COUNT(") {
            Fix::PAGE_COUNTS
        } else {
            Fix::EAGER_LOADING
        }
    }
}

/// The detector as the app runs it: its settings, and the routes it has warned about.
#[derive(Clone, Debug, Default)]
pub struct Detector {
    pub settings: Inspection,
    /// `N_PLUS_ONE_ALLOW`: repeats that are meant, by a piece of their shape or of the
    /// call site that issued them.
    pub allowed: Arc<[String]>,
    /// One warning per route per app: the log says it once, `/metrics` keeps counting.
    warned: Arc<Mutex<HashSet<String>>>,
}

impl Detector {
    pub fn new(settings: Inspection, allowed: &[String]) -> Self {
        Self {
            settings,
            allowed: allowed
                .iter()
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().to_owned())
                .collect(),
            warned: Arc::default(),
        }
    }

    /// Whether `route` has been warned about.
    pub(super) fn has_warned(&self, route: &str) -> bool {
        self.warned
            .lock()
            .map(|warned| warned.contains(route))
            .unwrap_or(true)
    }

    /// Marks `route` warned; true if it was not yet.
    pub(super) fn first_warning(&self, route: &str) -> bool {
        self.warned
            .lock()
            .map(|mut warned| warned.insert(route.to_owned()))
            .unwrap_or(false)
    }
}

/// The report a suspect request carries: the response body under `raise`, the panic
/// of [`super::assert_no_n_plus_one`].
pub fn report(route: &str, threshold: u32, suspects: &[ShapeCount]) -> String {
    let mut text = format!(
        "N+1 suspected in {route}: {} statement shape(s) ran {threshold} times or more.\n",
        suspects.len()
    );
    for suspect in suspects {
        let fix = suspect.fix();
        let _ = write!(
            text,
            "\n  {} × {}\n    {} ms in all\n",
            suspect.count,
            suspect.shape,
            suspect.db_ms()
        );
        if let Some(site) = &suspect.call_site {
            let _ = writeln!(text, "    issued by {site}");
        }
        let _ = writeln!(
            text,
            "    fix: {} — {}; see /lab/{}",
            fix.name, fix.advice, fix.lab
        );
    }
    text
}

/// The first function of this crate, outside this module, on the current stack: the
/// code that issued the statement being recorded. `None` when the binary has no line
/// tables or no such frame.
pub(super) fn call_site() -> Option<String> {
    #[cfg(test)]
    BACKTRACES_TAKEN.with(|taken| taken.set(taken.get() + 1));
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    call_site_in(&trace)
}

#[cfg(test)]
thread_local! {
    /// Backtraces this thread took: the tests' way to see one was taken at all, when
    /// their own frames (all the instruments') leave it no call site to find.
    pub(super) static BACKTRACES_TAKEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Frames of the crate's own that pass a statement on rather than issue it: the
/// instruments, and the connection that comments each statement.
const PASSING_ON: [&str; 2] = ["src/base/instrument/", "src/services/db/commented.rs"];

/// The first frame of this crate's `src/` outside [`PASSING_ON`] in a printed
/// backtrace, as `function (file:line)`, the file from the repository's root.
/// Frames are told by their file, not their symbol: with release builds' line
/// tables only, an inlined async body is named `{async_fn#0}<…>`, without its path.
/// Where the symbol is a full path (debug builds), it comes first, its `{{closure}}`
/// and hash dropped.
fn call_site_in(trace: &str) -> Option<String> {
    let lines: Vec<&str> = trace.lines().map(str::trim).collect();
    lines.windows(2).find_map(|pair| {
        let (number, symbol) = pair[0].split_once(": ")?;
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let at = pair[1].strip_prefix("at ")?;
        let at = at.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(at);
        let at = at.trim_start_matches(['.', '/']);
        if !at.starts_with("src/") || PASSING_ON.iter().any(|own| at.starts_with(own)) {
            return None;
        }
        // `file:line:column` → `file:line`.
        let location = match at.rsplit_once(':') {
            Some((file_line, column)) if column.chars().all(|c| c.is_ascii_digit()) => file_line,
            _ => at,
        };
        Some(if symbol.starts_with("perfblog::") {
            let function = symbol
                .split("::")
                .filter(|part| !part.starts_with("{{") && !is_hash(part))
                .collect::<Vec<_>>()
                .join("::");
            format!("{function} ({location})")
        } else {
            location.to_owned()
        })
    })
}

/// `h0123456789abcdef`: the hash rustc appends to legacy-mangled symbols.
fn is_hash(part: &str) -> bool {
    part.len() == 17 && part.starts_with('h') && part[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// `text` with `×` as `x`, `…` as `...`, and anything else outside ASCII as `?`.
pub(super) fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '×' => out.push('x'),
            '…' => out.push_str("..."),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspect(shape: &str) -> ShapeCount {
        ShapeCount {
            shape: shape.to_owned(),
            count: 20,
            db_time: Duration::from_micros(3100),
            call_site: None,
        }
    }

    #[test]
    fn a_slow_sidebar_is_told_to_count_in_the_database_only_when_it_consulted_no_cache() {
        assert_eq!(Fix::for_part("sidebar", false), Fix::SLOW_SIDEBAR);
        assert_eq!(Fix::for_part("sidebar", true), Fix::SLOW_PART);
        assert_eq!(
            Fix::for_slow_statement_in("sidebar", true),
            Fix::SLOW_STATEMENT
        );
        assert_eq!(
            Fix::for_slow_statement_in("post list", false),
            Fix::SLOW_STATEMENT
        );
    }

    #[test]
    fn a_repeated_lookup_wants_eager_loading_a_count_the_pages_grouped_query_a_write_a_bulk_statement()
     {
        let fix = |shape: &str| Fix::for_shape(shape).lab;
        assert_eq!(
            fix(r#"SELECT "users"."id" FROM "users" WHERE "id" = $1"#),
            "eager-loading"
        );
        assert_eq!(
            Fix::for_shape(r#"SELECT COUNT(*) AS num_items FROM "comments" WHERE "post_id" = $1"#),
            Fix::PAGE_COUNTS,
            "the page's counts in one grouped query, as the eager-loading list does"
        );
        assert_eq!(
            fix(r#"UPDATE "posts" SET "status" = $1 WHERE "id" = $2"#),
            "bulk-updates"
        );
        assert_eq!(
            fix(r#"INSERT INTO "post_tags" ("post_id") VALUES (…)"#),
            "bulk-inserts"
        );
    }

    #[test]
    fn the_header_is_ascii_and_names_count_shape_and_fix() {
        let header =
            suspect(r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (…)"#).header();
        assert_eq!(
            header,
            r#"20 x SELECT ... FROM "users" WHERE "users"."id" IN (...); fix: eager loading, /lab/eager-loading"#
        );
        assert!(axum::http::HeaderValue::from_str(&header).is_ok());
    }

    #[test]
    fn server_timing_names_the_verb_and_the_table_without_quotes() {
        let count = suspect(
            r#"SELECT COUNT(*) AS n FROM (SELECT "a" FROM "comments" WHERE "post_id" = $1) AS "q""#,
        );
        assert_eq!(count.gist(), "COUNT comments");
        let timing =
            suspect(r#"SELECT "tags"."id" FROM "tags" INNER JOIN "post_tags" ON x WHERE y = $1"#)
                .server_timing();
        assert_eq!(timing, r#"n-plus-one;dur=3.100;desc="20 x SELECT tags""#);
    }

    #[test]
    fn the_call_site_is_the_first_frame_of_this_crate_outside_the_instrument_and_the_commenting_connection()
     {
        let trace = format!(
            "   0: std::backtrace::Backtrace::force_capture\n             at /rustc/abc/library/std/src/backtrace.rs:312:9\n   1: perfblog::instrument::detector::call_site\n             at ./src/base/instrument/detector.rs:150:17\n   2: <perfblog::services::db::commented::Commented<C> as sea_orm::ConnectionTrait>::query_all_raw::{{{{closure}}}}\n             at ./src/services/db/commented.rs:82:9\n   2: sea_orm::driver::sqlx_sqlite::SqlxSqlitePoolConnection::query_all::{{{{closure}}}}\n             at /cargo/sea-orm/src/driver/sqlx_sqlite.rs:120:9\n   3: perfblog::views::post_list::naive::summarize::{{{{closure}}}}::{{{{closure}}}}\n             at {}/src/views/post_list/naive.rs:48:14\n   4: perfblog::views::post_list::naive::load_page::{{{{closure}}}}\n",
            env!("CARGO_MANIFEST_DIR")
        );
        assert_eq!(
            call_site_in(&trace).as_deref(),
            Some("perfblog::views::post_list::naive::summarize (src/views/post_list/naive.rs:48)")
        );
        assert_eq!(call_site_in("   0: main\n"), None);

        let release = format!(
            "  10: {{closure#0}}\n             at {0}/src/base/instrument/mod.rs:368:25\n  19: {{async_fn#0}}<sea_orm::DatabaseConnection>\n             at {0}/src/views/post_list/naive.rs:53:14\n",
            env!("CARGO_MANIFEST_DIR")
        );
        assert_eq!(
            call_site_in(&release).as_deref(),
            Some("src/views/post_list/naive.rs:53"),
            "release builds name the file and line"
        );
    }

    #[test]
    fn the_report_says_what_ran_where_and_what_would_fix_it() {
        let mut repeated = suspect(r#"SELECT "users"."id" FROM "users" WHERE "id" = $1"#);
        repeated.call_site = Some(
            "perfblog::views::post_list::naive::summarize (src/views/post_list/naive.rs:48)".into(),
        );
        let report = report("GET /naive/", 5, &[repeated]);
        assert!(
            report.starts_with("N+1 suspected in GET /naive/"),
            "{report}"
        );
        assert!(report.contains("20 × SELECT"));
        assert!(report.contains("issued by perfblog::views::post_list::naive::summarize"));
        assert!(report.contains("see /lab/eager-loading"));
    }
}
