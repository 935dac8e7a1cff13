//! Keyset pagination: a deep page found by skipping rows (`OFFSET`), or by seeking to a
//! cursor.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{Comparison, Facts, Lesson, Runs};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::views::cursor::Cursor;
use crate::views::pagination::{PAGE_SIZE, PageNumber, PageWindow};
use crate::views::post_list::optimized;

pub static LESSON: Lesson = Lesson {
    slug: "keyset-pagination",
    comparisons: &[&DEPTH],
    backfire: None,
};

/// The same 20 posts, seven columns each, of the page at a depth: by its number
/// (`OFFSET`), and just after the cursor the page before links to.
struct Depth {
    by_offset: PageWindow,
    by_cursor: PageWindow,
}

static DEPTH: Comparison<Depth> = Comparison::new(
    "depth",
    |bench, page| Box::pin(depth(bench, page)),
    |bench, depth, runs| Box::pin(page(bench, depth.by_offset, runs)),
    |bench, depth, runs| Box::pin(page(bench, depth.by_cursor, runs)),
);

/// The list's page query for `window`: the same function on both sides, only the
/// window differs.
async fn page(bench: &Workbench, window: PageWindow, runs: &mut Runs) -> Result<Facts, AppError> {
    let rows = runs
        .time(|| optimized::page_rows(&bench.db, window))
        .await?;
    Ok(Facts::rows(rows.len()))
}

/// The page `page`, or the deepest full page the data has (at most 450), both ways.
async fn depth(bench: &Workbench, page: Option<u64>) -> Result<Depth, AppError> {
    let db = &bench.db;
    let depth = match page {
        Some(page) => page,
        None => {
            let published = post::Entity::find()
                .filter(post::Column::Status.eq(post::Status::Published))
                .count(db)
                .await?;
            (published / PAGE_SIZE).clamp(2, 450)
        }
    };
    let number = PageNumber::parse(&depth.to_string()).map_err(AppError::BadRequest)?;
    let by_offset = PageWindow::new(number);
    let Some(before) = number.previous() else {
        return Ok(Depth {
            by_offset,
            by_cursor: by_offset,
        });
    };
    let mut rows = optimized::page_rows(db, PageWindow::new(before)).await?;
    rows.truncate(usize::try_from(PAGE_SIZE).unwrap_or(20));
    let cursor = rows
        .last()
        .and_then(|last| Cursor::after(last.published_at, last.id))
        .ok_or_else(|| {
            AppError::NotFound("The lab needs two pages of posts; seed the database.".to_owned())
        })?;
    Ok(Depth {
        by_offset,
        by_cursor: PageWindow::after(cursor),
    })
}
