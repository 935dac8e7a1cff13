//! Indexes you can see: the statements pages run, with the indexes that serve them and
//! without, each side with its plan.

use std::sync::OnceLock;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use tokio::time::Instant;

use super::{Backfire, Comparison, Fact, Facts, Fut, Lesson, Line, Runs, Which, time};
use crate::base::error::AppError;
use crate::lab::fixtures::posts_to_import;
use crate::lab::workbench::{PageStatement, Workbench, rolled_back};
use crate::services::db::explain::{Plan, explain};
use crate::services::db::indexes::drop_page_indexes;
use crate::views::admin::import::optimized::insert;

pub static LESSON: Lesson = Lesson {
    slug: "indexes",
    comparisons: &[&PAGES, &POST_PAGE, &LIST_PAGE, &TITLE_SEARCH],
    backfire: Some(&WRITES_PAY),
};

/// Every page's statements together (what the lab runs), then each page's alone.
static PAGES: Comparison<Statements> = of("pages", |bench, _| Box::pin(statements(bench, None)));
static POST_PAGE: Comparison<Statements> = of("post-page", |bench, _| {
    Box::pin(statements(bench, Some("post page")))
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

/// Posts each run of [`WRITES_PAY`] imports.
const WRITTEN: u64 = 500;

/// The same import with the pages' indexes and without them: every index is one more
/// structure each row written must enter.
static WRITES_PAY: Backfire = Backfire {
    tries: "writing rows into tables whose indexes serve the pages",
    run: |bench| Box::pin(writes_pay(bench)),
};

async fn writes_pay(bench: &Workbench) -> Result<Vec<Line>, AppError> {
    let posts = posts_to_import(&bench.db, WRITTEN).await?;
    let mut times = [Vec::new(), Vec::new()];
    // Alternating, three runs a side: a slow moment falls on both.
    for _ in 0..3 {
        for (without, times) in [false, true].into_iter().zip(times.iter_mut()) {
            times.push(
                rolled_back(&bench.db, async |txn| {
                    if without {
                        drop_page_indexes(txn).await?;
                    }
                    let started = Instant::now();
                    insert(txn, &posts, Utc::now()).await?;
                    Ok(started.elapsed())
                })
                .await?,
            );
        }
    }
    let [with, without] = times.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    });
    let per_post = with.saturating_sub(without) / WRITTEN as u32;
    let n = catalog::report::thousands(WRITTEN);
    Ok(vec![
        Line::new(
            format!("{n} posts imported, with the pages' indexes"),
            time(with),
        ),
        Line::new(format!("{n} posts imported, without them"), time(without)),
        Line::new("what the indexes add to each post written", time(per_post)),
    ])
}
