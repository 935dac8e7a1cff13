//! Concurrent independent reads: the post page's reads that need only the post's id
//! awaited one after another, or sent together.

use futures_util::future::try_join_all;

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::lab::workbench::Workbench;
use crate::views::post_detail::optimized::{load, load_concurrently};

pub static LESSON: Lesson = Lesson {
    slug: "concurrent-reads",
    comparisons: &[&PAGES],
    backfire: None,
};

/// The newest post's page, `size` of them in flight at once (one unless asked): one
/// visitor, or a crowd sharing the pool's connections.
struct InFlight {
    slug: Slug,
    pages: usize,
}

static PAGES: Comparison<InFlight> = Comparison::either(
    "pages",
    |bench, size| Box::pin(in_flight(bench, size)),
    |bench, input, runs, which| Box::pin(post_pages(bench, input, runs, which)),
);

async fn in_flight(bench: &Workbench, size: Option<u64>) -> Result<InFlight, AppError> {
    let pages = usize::try_from(size.unwrap_or(1)).unwrap_or(1);
    Ok(InFlight {
        slug: bench.newest_post().await?.1,
        pages,
    })
}

/// Loads the pages with `which` side's loader, all at once.
async fn post_pages(
    bench: &Workbench,
    in_flight: &InFlight,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let (db, slug) = (&bench.db, &in_flight.slug);
    let loaded = runs
        .time(|| {
            try_join_all((0..in_flight.pages).map(|_| async move {
                match which {
                    Which::Naive => load(db, slug).await,
                    Which::Optimized => load_concurrently(db, slug).await,
                }
            }))
        })
        .await?;
    Ok(Facts::rows(loaded.iter().flatten().count()))
}
