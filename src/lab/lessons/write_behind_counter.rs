//! Write-behind counter: write every view to the database as it happens, or tally
//! views and write them about once a second.

use futures_util::future::try_join_all;

use super::atomic_counters::{Views, views};
use super::{Comparison, Facts, Lesson};
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::cache::ViewTally;
use crate::views::post_detail::{optimized, write_behind};

pub static LESSON: Lesson = Lesson {
    slug: "write-behind-counter",
    comparisons: &[&VIEWS],
};

/// The views to count, and a tally of the comparison's own, never flushed: a flush is
/// one statement a second, whatever the rate of views.
struct Tallied {
    views: Views,
    tally: ViewTally,
}

static VIEWS: Comparison<Tallied> = Comparison::new(
    "views",
    |bench, size| Box::pin(tallied(bench, size)),
    |bench, tallied, runs| {
        Box::pin(async move {
            let Views { post_id, views } = tallied.views;
            let all_at_once = || {
                bench.write(&bench.db, async |db| {
                    let each = (0..views).map(|_| optimized::count_view(db, post_id));
                    Ok(try_join_all(each).await?.len())
                })
            };
            Ok(Facts::rows(runs.time(all_at_once).await?))
        })
    },
    |bench, tallied, runs| {
        Box::pin(async move {
            let Views { post_id, views } = tallied.views;
            let all_at_once = || {
                let each = (0..views)
                    .map(|_| write_behind::count_view(&bench.db, &tallied.tally, post_id));
                async { Ok::<_, AppError>(try_join_all(each).await?.len()) }
            };
            Ok(Facts::rows(runs.time(all_at_once).await?))
        })
    },
);

async fn tallied(bench: &Workbench, size: Option<u64>) -> Result<Tallied, AppError> {
    Ok(Tallied {
        views: views(bench, size).await?,
        tally: ViewTally::in_process(),
    })
}
