//! The optimized pages' sidebar: the sidebar read from its counters, rendered to HTML
//! once and served from the fragment cache (Redis or in process) until a write
//! invalidates it.
//!
//! What changed from `denormalized::fragment`: on a hit, no query at all — one Redis round
//! trip (or a hash-map lookup) returns finished HTML. On a miss, concurrent requests
//! share one computation. See `cache` for invalidation, TTL jitter and Redis outages.

use sea_orm::ConnectionTrait;

use super::{Fragment, denormalized};
use crate::base::error::AppError;
use crate::services::cache::{FRAGMENT_TTL, FragmentCache};

/// Pages at different depths link with different relative paths, so each depth has
/// its own entry (`sidebar:./`, `sidebar:../`). On a miss, `connection()` gives what to
/// read from — asked only then, after the cache has read its generation: the site
/// picks a server as current as the primary at that moment, the lab its pool.
pub async fn load<C: ConnectionTrait>(
    cache: &FragmentCache,
    connection: impl AsyncFnOnce() -> Result<C, AppError>,
    root: &str,
) -> Result<Fragment, AppError> {
    let html = cache
        .get_or_render(&format!("sidebar:{root}"), FRAGMENT_TTL, || async {
            let db = connection().await?;
            Ok(denormalized::fragment(&db, root).await?.0)
        })
        .await?;
    Ok(Fragment(html))
}
