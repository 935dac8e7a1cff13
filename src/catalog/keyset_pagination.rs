//! Keyset pagination: a deep page found by skipping rows (`OFFSET`), or by seeking to
//! a cursor.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, POST_LIST, Pattern, Side, TAG_PAGE};
use crate::entities::post;
use crate::error::AppError;
use crate::views::cursor::Cursor;
use crate::views::pagination::{PAGE_SIZE, PageNumber, PageWindow};
use crate::views::post_list::optimized;

pub static PATTERN: Pattern = Pattern {
    slug: "keyset-pagination",
    title: "Keyset pagination",
    django: "cursor pagination — DRF's `CursorPagination`, or `filter(published_at__lt=…)` — instead of `Paginator` and its `OFFSET`",
    rails: None,
    problem: "`?page=445` makes the database walk past 8,880 posts in order and throw them away before the 20 it shows; every page deeper costs more.",
    setup: "Both sides load the same 20 posts, six columns each, from the deepest full page of the list (page 447 on the standard dataset, at most 450): one by page number (`OFFSET`), one just after the cursor that the page before links to. The cursor is found before the runs.",
    why: "`WHERE (published_at, id) < (cursor)` lets the index on `(status, published_at DESC, id DESC)` seek straight to the position and read the next 21 entries, so a deep page costs what the first does. The cursor names a position, not a row: it still works after its post is archived.",
    when_not: "When readers jump to page 37 or need \"page 12 of 450\": a cursor only knows the next page (the optimized pages link the newest posts instead of the newer page), and there is no total. Lists that stay a few pages deep gain nothing.",
    shows_on: &[POST_LIST, TAG_PAGE],
    naive: Side {
        summary: "`?page=N`: `OFFSET (N - 1) × 20`, rows walked past and thrown away",
        code: &[
            code!("src/views/post_list/optimized.rs", "page_rows"),
            code!("src/views/pagination.rs", "offset"),
        ],
    },
    optimized: Side {
        summary: "`?after=CURSOR`: seek to `(published_at, id)` on the index",
        code: &[
            code!("src/views/post_list/optimized.rs", "page_rows"),
            code!("src/views/post_list/optimized.rs", "keyset"),
            code!("src/views/cursor.rs", "after"),
        ],
    },
    tests: &["tests/api/keyset_pagination.rs"],
    benches: &[Comparison {
        what: "keyset pagination: page query at depth (page)",
        bench: "keyset_pagination",
        naive: "offset",
        optimized: "keyset",
        headline: Some("445"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

/// The deepest page of 20 the data has, at most 450, found by number and by cursor.
async fn deepest_page(bench: &Workbench) -> Result<(PageWindow, PageWindow), AppError> {
    let db = &bench.db;
    let published = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .count(db)
        .await?;
    let depth = (published / PAGE_SIZE).clamp(2, 450);
    let number = PageNumber::parse(&depth.to_string()).map_err(AppError::BadRequest)?;
    let before = PageWindow::new(number.previous().unwrap_or(PageNumber::FIRST));
    let mut rows = optimized::page_rows(db, before).await?;
    rows.truncate(usize::try_from(PAGE_SIZE).unwrap_or(20));
    let cursor = rows
        .last()
        .and_then(|last| Cursor::after(last.published_at, last.id))
        .ok_or_else(|| {
            AppError::NotFound(
                "The lab needs two pages of published posts; seed the database.".to_owned(),
            )
        })?;
    Ok((PageWindow::new(number), PageWindow::after(cursor)))
}

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let (by_offset, by_cursor) = deepest_page(bench).await?;
    Ok(Outcome {
        naive: measure(|| async {
            Ok(Fetched::rows(
                optimized::page_rows(db, by_offset).await?.len(),
            ))
        })
        .await?,
        optimized: measure(|| async {
            Ok(Fetched::rows(
                optimized::page_rows(db, by_cursor).await?.len(),
            ))
        })
        .await?,
    })
}
