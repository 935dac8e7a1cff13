//! Indexes you can see: the statements pages run, with the indexes that serve them and
//! without, each side with its plan.

use sea_orm::ConnectionTrait;

use super::{Comparison, Fact, Facts, Fut, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::lab::workbench::{PageStatement, Workbench, rolled_back};
use crate::services::db::explain::{Plan, explain};
use crate::services::db::indexes::drop_page_indexes;

pub static LESSON: Lesson = Lesson {
    slug: "indexes",
    comparisons: &[&PAGES, &POST_PAGE, &LIST_PAGE, &TITLE_SEARCH],
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

/// The statements of `page` (every page's: `None`), and each side's plans of those
/// whose plan the indexes change, asked for once beforehand.
struct Statements {
    run: Vec<PageStatement>,
    plans: [String; 2],
}

async fn statements(bench: &Workbench, page: Option<&str>) -> Result<Statements, AppError> {
    let mut run = bench.page_statements().await?;
    run.retain(|statement| page.is_none_or(|page| statement.page == page));
    let without = rolled_back(&bench.db, async |txn| {
        drop_page_indexes(txn).await?;
        plans(txn, &run).await
    });
    let without = without.await?;
    let with = rolled_back(&bench.db, async |txn| plans(txn, &run).await).await?;
    let plans = shown_where_they_differ(&run, [&without, &with]);
    Ok(Statements { run, plans })
}

/// Runs every statement (the timed part), inside a transaction rolled back after: the
/// naive side first drops [`crate::services::db::indexes::PAGE_INDEXES`], which the
/// rollback brings back; the lab then shows each side's plans.
async fn side(
    bench: &Workbench,
    statements: &Statements,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let rows = rolled_back(&bench.db, async |txn| {
        if which == Which::Naive {
            drop_page_indexes(txn).await?;
        }
        runs.time(|| async move {
            let mut rows = 0;
            for page_statement in &statements.run {
                rows += txn
                    .query_all_raw(page_statement.statement.clone())
                    .await?
                    .len();
            }
            Ok::<_, AppError>(rows)
        })
        .await
    });
    let facts = Facts::rows(rows.await?);
    let plan = &statements.plans[usize::from(which == Which::Optimized)];
    Ok(if runs.is_live() {
        facts.and(Fact::Plan(plan.clone()))
    } else {
        facts
    })
}

async fn plans(txn: &impl ConnectionTrait, run: &[PageStatement]) -> Result<Vec<Plan>, AppError> {
    let mut plans = Vec::with_capacity(run.len());
    for page_statement in run {
        plans.push(explain(txn, &page_statement.statement).await?);
    }
    Ok(plans)
}

/// Each side's plans of the statements whose steps differ, timings aside.
fn shown_where_they_differ(run: &[PageStatement], sides: [&[Plan]; 2]) -> [String; 2] {
    let steps = |plan: &Plan| -> Vec<String> {
        let timing = |line: &&String| line.starts_with("Planning") || line.starts_with("Execution");
        plan.lines
            .iter()
            .filter(|line| !timing(line))
            .cloned()
            .collect()
    };
    let changed: Vec<usize> = (0..run.len())
        .filter(|&i| steps(&sides[0][i]) != steps(&sides[1][i]))
        .collect();
    sides.map(|plans| {
        let text: Vec<String> = changed
            .iter()
            .map(|&i| format!("-- {}\n{}", run[i].page, plans[i].text()))
            .collect();
        if text.is_empty() {
            "No plan differs.".to_owned()
        } else {
            text.join("\n\n")
        }
    })
}
