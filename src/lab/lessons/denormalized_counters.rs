//! Denormalized counters: count on every read (`GROUP BY`), or keep the count beside the
//! row on every write and read it.

use super::{Comparison, Facts, Lesson};
use crate::views::sidebar::{aggregated, denormalized};

pub static LESSON: Lesson = Lesson {
    slug: "denormalized-counters",
    comparisons: &[&SIDEBAR],
    backfire: None,
};

/// The sidebar's figures, uncached and not rendered, from the same data.
static SIDEBAR: Comparison<()> = Comparison::new(
    "sidebar",
    |_, _| Box::pin(async { Ok(()) }),
    |bench, (), runs| {
        Box::pin(async move {
            let shown = runs.time(|| aggregated::load(&bench.db)).await?;
            Ok(Facts::rows(shown.tags.len() + shown.popular.len()))
        })
    },
    |bench, (), runs| {
        Box::pin(async move {
            let shown = runs.time(|| denormalized::load(&bench.db)).await?;
            Ok(Facts::rows(shown.tags.len() + shown.popular.len()))
        })
    },
)
.samples(10);
