//! Indexes you can see: the statements pages run, with the indexes that serve them and
//! without, each side with its plan.

use std::sync::OnceLock;
use std::time::Duration;

use sea_orm::ConnectionTrait;
use tokio::time::Instant;

use super::{Backfire, Comparison, Fact, Facts, Fut, Lesson, Line, Runs, Which, time};
use crate::base::error::AppError;
use crate::lab::workbench::{PageStatement, Workbench, rolled_back};
use crate::services::db::explain::{Plan, explain};
use crate::services::db::indexes::drop_page_indexes;

pub static LESSON: Lesson = Lesson {
    slug: "indexes",
    comparisons: &[&PAGES, &POST_PAGE, &TAG_PAGE, &LIST_PAGE, &TITLE_SEARCH],
    backfire: Some(&WRITES_PAY),
};

/// Every page's statements together (what the lab runs), then each page's alone.
static PAGES: Comparison<Statements> = of("pages", |bench, _| Box::pin(statements(bench, None)));
static POST_PAGE: Comparison<Statements> = of("post-page", |bench, _| {
    Box::pin(statements(bench, Some("post page")))
});
static TAG_PAGE: Comparison<Statements> = of("tag-page", |bench, _| {
    Box::pin(statements(bench, Some("tag page")))
});
static LIST_PAGE: Comparison<Statements> = of("list-page", |bench, _| {
    Box::pin(statements(bench, Some("post list")))
});
static TITLE_SEARCH: Comparison<Statements> = of("title-search", |bench, _| {
    Box::pin(statements(bench, Some("title search")))
});

/// The statements `setup` picks, run with the schema's indexes and without them.
const fn of(
    measure: &'static str,
    setup: for<'a> fn(&'a Workbench, Option<u64>) -> Fut<'a, Statements>,
) -> Comparison<Statements> {
    Comparison::either(measure, setup, |bench, statements, runs, which| {
        Box::pin(side(bench, statements, runs, which))
    })
    .samples(20)
}

/// The statements of `page` (every page's: `None`) and their plans with the schema's
/// indexes, asked for beforehand. The naive side, which has the indexes dropped, finds
/// which plans they change; the optimized side, run after it, shows its own of those.
struct Statements {
    run: Vec<PageStatement>,
    with_indexes: Vec<Plan>,
    changed: OnceLock<Vec<usize>>,
}

async fn statements(bench: &Workbench, page: Option<&str>) -> Result<Statements, AppError> {
    let mut run = bench.page_statements().await?;
    run.retain(|statement| page.is_none_or(|page| statement.page == page));
    let with_indexes = rolled_back(&bench.db, async |txn| plans(txn, &run).await).await?;
    Ok(Statements {
        run,
        with_indexes,
        changed: OnceLock::new(),
    })
}

/// Runs every statement (the timed part), inside a transaction rolled back after: the
/// naive side first drops [`crate::services::db::indexes::PAGE_INDEXES`], which the
/// rollback brings back. In the lab, each side then shows the plans the indexes change.
async fn side(
    bench: &Workbench,
    statements: &Statements,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let without_indexes = which == Which::Naive;
    let (rows, plans) = rolled_back(&bench.db, async |txn| {
        if without_indexes {
            drop_page_indexes(txn).await?;
        }
        let rows = runs
            .time(|| async move {
                let mut rows = 0;
                for page_statement in &statements.run {
                    rows += txn
                        .query_all_raw(page_statement.statement.clone())
                        .await?
                        .len();
                }
                Ok::<_, AppError>(rows)
            })
            .await?;
        let plans = match runs.is_live() && without_indexes {
            true => Some(plans(txn, &statements.run).await?),
            false => None,
        };
        Ok((rows, plans))
    })
    .await?;
    let facts = Facts::rows(rows);
    if !runs.is_live() {
        return Ok(facts);
    }
    let shown = match &plans {
        Some(without) => {
            let changed = statements
                .changed
                .get_or_init(|| changed(without, &statements.with_indexes));
            shown(&statements.run, without, changed)
        }
        None => {
            let every: Vec<usize> = (0..statements.run.len()).collect();
            let changed = statements.changed.get().unwrap_or(&every);
            shown(&statements.run, &statements.with_indexes, changed)
        }
    };
    Ok(facts.and(Fact::Plan(shown)))
}

async fn plans(txn: &impl ConnectionTrait, run: &[PageStatement]) -> Result<Vec<Plan>, AppError> {
    let mut plans = Vec::with_capacity(run.len());
    for page_statement in run {
        plans.push(explain(txn, &page_statement.statement).await?);
    }
    Ok(plans)
}

/// The statements whose plans take different steps, timings aside.
fn changed(without: &[Plan], with: &[Plan]) -> Vec<usize> {
    let steps = |plan: &Plan| -> Vec<String> {
        let timing = |line: &&String| line.starts_with("Planning") || line.starts_with("Execution");
        plan.lines
            .iter()
            .filter(|line| !timing(line))
            .cloned()
            .collect()
    };
    (0..without.len().min(with.len()))
        .filter(|&i| steps(&without[i]) != steps(&with[i]))
        .collect()
}

/// The plans of the `changed` statements, each under its page's name.
fn shown(run: &[PageStatement], plans: &[Plan], changed: &[usize]) -> String {
    let text: Vec<String> = changed
        .iter()
        .filter_map(|&i| Some(format!("-- {}\n{}", run.get(i)?.page, plans.get(i)?.text())))
        .collect();
    if text.is_empty() {
        "No plan differs.".to_owned()
    } else {
        text.join("\n\n")
    }
}

/// Rows each run of [`WRITES_PAY`] writes: enough for a per-row cost to show, few enough
/// that six runs of whole rows, bodies included, keep the page quick.
pub const WRITTEN: u64 = 2_000;

/// The posts table's B-tree indexes besides its key, on a scratch copy: its slug (unique),
/// the list's order, the most-discussed order, its author. (PostgreSQL's trigram index
/// on titles is left out: it needs `pg_trgm`, which SQLite does not have.)
const COPY_INDEXES: [&str; 4] = [
    "CREATE UNIQUE INDEX lab_writes_slug ON lab_writes (slug)",
    "CREATE INDEX lab_writes_list ON lab_writes (status, published_at, id)",
    "CREATE INDEX lab_writes_discussed ON lab_writes (status, comment_count, id)",
    "CREATE INDEX lab_writes_author ON lab_writes (author_id)",
];

/// The same rows written into a table with its key alone and with the posts' B-tree
/// indexes too: every index is one more structure each row written must enter.
static WRITES_PAY: Backfire = Backfire {
    tries: "writing rows into a table with the indexes that serve its pages",
    run: |bench| Box::pin(writes_pay(bench)),
};

/// Copies up to [`WRITTEN`] whole posts, in one `INSERT … SELECT`, into a scratch table
/// made inside a transaction that is rolled back — the site's rows are only read (on
/// SQLite the transaction still holds the one write lock while it runs) — with and without
/// [`COPY_INDEXES`], three runs each, alternating so a slow moment falls on both.
async fn writes_pay(bench: &Workbench) -> Result<Vec<Line>, AppError> {
    let mut times = [Vec::new(), Vec::new()];
    let mut rows = 0;
    for _ in 0..3 {
        for (indexed, times) in [false, true].into_iter().zip(times.iter_mut()) {
            let (written, took) = rolled_back(&bench.db, async |txn| {
                // Whole rows, keyed by id as posts are; the indexes, on one side only.
                txn.execute_unprepared(
                    "CREATE TABLE lab_writes AS SELECT * FROM posts WHERE 1 = 0",
                )
                .await?;
                txn.execute_unprepared("CREATE UNIQUE INDEX lab_writes_key ON lab_writes (id)")
                    .await?;
                if indexed {
                    for index in COPY_INDEXES {
                        txn.execute_unprepared(index).await?;
                    }
                }
                let started = Instant::now();
                let written = txn
                    .execute_unprepared(&format!(
                        "INSERT INTO lab_writes SELECT * FROM posts ORDER BY id LIMIT {WRITTEN}"
                    ))
                    .await?
                    .rows_affected();
                Ok((written, started.elapsed()))
            })
            .await?;
            rows = written;
            times.push(took);
        }
    }
    let [bare, indexed] = times.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    });
    let n = catalog::report::thousands(rows);
    Ok(vec![
        Line::new(
            format!("{n} posts copied into a table with its key alone"),
            time(bare),
        ),
        Line::new(
            format!(
                "the same with {} of the posts' B-tree indexes as well",
                COPY_INDEXES.len()
            ),
            time(indexed),
        ),
        Line::new(
            "what the indexes add to each row written",
            per_row(bare, indexed, rows),
        ),
    ])
}

/// "+2.1 µs a row (the indexed copy took 1.8× as long)", or that no cost showed.
fn per_row(bare: Duration, indexed: Duration, rows: u64) -> String {
    if indexed <= bare || rows == 0 {
        return "none measurable in three runs".to_owned();
    }
    let rows = u32::try_from(rows).unwrap_or(u32::MAX);
    format!(
        "+{} a row (the indexed copy took {:.1}× as long)",
        time((indexed - bare) / rows),
        indexed.as_secs_f64() / bare.as_secs_f64().max(f64::MIN_POSITIVE)
    )
}
