//! Aggregation in the database: count in Rust over loaded rows, or `COUNT … GROUP BY`.

use super::{Comparison, Facts, Lesson};
use crate::lab::fixtures::rows_the_naive_sidebar_loads;
use crate::views::sidebar::{aggregated, naive};

pub static LESSON: Lesson = Lesson {
    slug: "aggregation",
    comparisons: &[&SIDEBAR],
};

/// The sidebar's figures — the tag cloud, the five most-discussed posts — uncached and
/// not rendered. The input is how many rows the naive side loads, counted beforehand.
static SIDEBAR: Comparison<u64> = Comparison::new(
    "sidebar",
    |bench, _| Box::pin(rows_the_naive_sidebar_loads(&bench.db)),
    |bench, loaded, runs| {
        Box::pin(async move {
            runs.time(|| naive::load(&bench.db)).await?;
            Ok(Facts::rows(*loaded as usize))
        })
    },
    |bench, _, runs| {
        Box::pin(async move {
            let shown = runs.time(|| aggregated::load(&bench.db)).await?;
            Ok(Facts::rows(shown.tags.len() + shown.popular.len()))
        })
    },
)
.samples(10);
