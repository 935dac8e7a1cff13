//! Connection pooling: open a connection for each request and close it after, or take
//! one that is already open from the pool.

use sea_orm::DatabaseConnection;

use super::{Comparison, Facts, Lesson, Runs};
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::lab::workbench::Workbench;
use crate::services::db;
use crate::views::post_detail;

pub static LESSON: Lesson = Lesson {
    slug: "connection-pooling",
    comparisons: &[&PER_REQUEST, &STATEMENT_CACHE],
    backfire: None,
};

/// The newest post's page (the optimized loader's three statements) on a connection
/// opened for it and closed after, or on the pool.
static PER_REQUEST: Comparison<Slug> = Comparison::new(
    "per-request",
    |bench, _| Box::pin(async move { Ok(bench.newest_post().await?.1) }),
    |bench, slug, runs| {
        Box::pin(async move {
            let loaded = runs
                .time(|| async {
                    let own = db::connect_one(&bench.database_url).await?;
                    let loaded = post_detail::optimized::load(&own, slug).await;
                    own.close().await?;
                    Ok::<_, AppError>(loaded?)
                })
                .await?;
            Ok(Facts::rows(usize::from(loaded.is_some())))
        })
    },
    |bench, slug, runs| Box::pin(post_page(&bench.db, slug, runs)),
);

/// The same page on a pool whose connections keep no prepared statements (every
/// statement parsed and planned again), or on the pool.
static STATEMENT_CACHE: Comparison<(Slug, DatabaseConnection)> = Comparison::new(
    "statement-cache",
    |bench, _| Box::pin(without_statement_cache(bench)),
    |_, (slug, uncached), runs| Box::pin(post_page(uncached, slug, runs)),
    |bench, (slug, _), runs| Box::pin(post_page(&bench.db, slug, runs)),
);

async fn without_statement_cache(
    bench: &Workbench,
) -> Result<(Slug, DatabaseConnection), AppError> {
    let uncached = db::connect_without_statement_cache(&bench.database_url).await?;
    Ok((bench.newest_post().await?.1, uncached))
}

async fn post_page(
    db: &DatabaseConnection,
    slug: &Slug,
    runs: &mut Runs,
) -> Result<Facts, AppError> {
    let loaded = runs.time(|| post_detail::optimized::load(db, slug)).await?;
    Ok(Facts::rows(usize::from(loaded.is_some())))
}
