//! Column projection: a list page's posts as whole rows, or only the columns it shows.

use super::{Comparison, Fact, Facts, Lesson};
use crate::base::entities::post;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::post_list::optimized::PostRow;
use crate::views::post_list::{naive, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "projection",
    comparisons: &[&PAGE_QUERY],
    backfire: None,
};

/// The list's page query for the first `size` posts (one more row: the list fetches
/// one extra to know whether an older page exists).
static PAGE_QUERY: Comparison<PageWindow> = Comparison::new(
    "page-query",
    |_, size| {
        Box::pin(
            async move { Ok(PageWindow::new(PageNumber::FIRST).with_size(size.unwrap_or(20))) },
        )
    },
    |bench, window, runs| {
        Box::pin(async move {
            let posts = runs.time(|| naive::page_rows(&bench.db, *window)).await?;
            let bytes = posts.iter().map(whole_row_bytes).sum();
            Ok(Facts::rows(posts.len()).and(Fact::BytesFetched(bytes)))
        })
    },
    |bench, window, runs| {
        Box::pin(async move {
            let rows = runs
                .time(|| optimized::page_rows(&bench.db, *window))
                .await?;
            let bytes = rows.iter().map(projected_bytes).sum();
            Ok(Facts::rows(rows.len()).and(Fact::BytesFetched(bytes)))
        })
    },
);

/// Bytes of a whole post row's values: text lengths, 4-byte integers, 8-byte times.
fn whole_row_bytes(post: &post::Model) -> u64 {
    let text = post.title.len() + post.slug.len() + post.excerpt.len() + post.body.len();
    (text + "published".len() + 3 * 4 + 3 * 8) as u64
}

/// Bytes of a projected row's values.
fn projected_bytes(row: &PostRow) -> u64 {
    (row.title.len() + row.slug.len() + row.excerpt.len() + 2 * 4 + 8) as u64
}
