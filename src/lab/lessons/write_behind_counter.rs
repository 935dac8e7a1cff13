//! Write-behind counter: write every view to the database as it happens, or tally
//! views and write them about once a second.

use futures_util::future::try_join_all;
use sea_orm::DatabaseExecutor;

use super::{Comparison, Fact, Facts, Lesson, Runs, Which};
use crate::base::config::CacheSettings;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::cache::{FragmentCache, ViewTally};
use crate::services::db::scratch::ScratchPost;
use crate::views::post_detail::{optimized, write_behind};

pub static LESSON: Lesson = Lesson {
    slug: "write-behind-counter",
    comparisons: &[&VIEWS],
    backfire: None,
};

/// Views in flight at once when no size is asked for: the contention a popular post
/// sees, which one view at a time never shows.
pub const CONCURRENT_VIEWS: u64 = 16;

/// How many views go in flight at once, and a tally of the comparison's own — in Redis
/// when the app has one, like the site's — which is discarded, never flushed: a flush
/// is one statement a second, whatever the rate of views.
struct Tallied {
    views: u64,
    tally: ViewTally,
}

static VIEWS: Comparison<Tallied> = Comparison::either(
    "views",
    |bench, size| Box::pin(tallied(bench, size)),
    |bench, tallied, runs, which| Box::pin(all_at_once(bench, tallied, runs, which)),
);

/// Times `tallied.views` views of a scratch post counted by `which` side at once, each
/// on a pooled connection of its own and committed: the contention is on the row, so it
/// must be a real one, made for the side and deleted after it. Then forgets the tally.
async fn all_at_once(
    bench: &Workbench,
    tallied: &Tallied,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let scratch = ScratchPost::create(&bench.db).await?;
    let pool = &DatabaseExecutor::from(&bench.db);
    let (post_id, tally) = (scratch.id, &tallied.tally);
    let each = || {
        let views = (0..tallied.views).map(|_| async move {
            match which {
                Which::Naive => optimized::count_view(pool, post_id).await,
                Which::Optimized => write_behind::count_view(pool, tally, post_id).await,
            }
        });
        async move { Ok::<_, AppError>(try_join_all(views).await?.len()) }
    };
    let counted = runs.time(each).await;
    tally.discard().await;
    scratch.remove().await?;
    let facts = Facts::rows(counted?);
    Ok(match which {
        Which::Naive => facts,
        Which::Optimized => facts.and(Fact::TalliedIn(if tally.is_shared() {
            "Redis"
        } else {
            "this process"
        })),
    })
}

async fn tallied(bench: &Workbench, size: Option<u64>) -> Result<Tallied, AppError> {
    Ok(Tallied {
        views: size.unwrap_or(CONCURRENT_VIEWS),
        tally: tally(bench)?,
    })
}
/// In Redis under a namespace of the lab's own when the app has Redis, in process
/// otherwise.
fn tally(bench: &Workbench) -> Result<ViewTally, AppError> {
    let Some(url) = bench.redis_url.clone() else {
        return Ok(ViewTally::in_process());
    };
    let namespace = format!("perfblog-lab-views-{}", std::process::id());
    let cache = FragmentCache::new(&CacheSettings::Redis { url, namespace })?;
    Ok(ViewTally::new(&cache))
}
