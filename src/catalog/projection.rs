//! Column projection: a list page's posts as whole rows, or only the columns the page
//! shows.

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, POST_LIST, Pattern, Side, TAG_PAGE};
use crate::entities::post;
use crate::error::AppError;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::post_list::optimized::PostRow;
use crate::views::post_list::{naive, optimized};

pub static PATTERN: Pattern = Pattern {
    slug: "projection",
    title: "Column projection",
    django: "`only('title', 'slug', …)` / `defer('body')`, or `values()` / `values_list()`",
    rails: Some("`select(:id, :title, …)`, or `pluck`"),
    problem: "A list page that loads whole rows carries every post's 2–8 KB body, which it never shows.",
    setup: "Both sides run the list's page query for the same 100 posts; only the columns they select differ. The rows are one more than the posts shown (101 for 100): the list fetches one extra row to know whether an older page exists. Bytes are the decoded column values that came back.",
    why: "Selecting the six columns the page shows leaves the bodies in the database: far fewer bytes cross the connection, and far less text is decoded into Rust strings.",
    when_not: "When the page does show the large column, or the rows are small anyway; and a projection must change whenever the page shows one more field.",
    shows_on: &[POST_LIST, TAG_PAGE],
    naive: Side {
        summary: "whole rows, 2–8 KB `body` included",
        code: &[code!("src/views/post_list/naive.rs", "page_rows")],
    },
    optimized: Side {
        summary: "the six columns a list entry shows",
        code: &[
            code!("src/views/post_list/optimized.rs", "page_rows"),
            code!("src/views/post_list/optimized.rs", "project"),
        ],
    },
    tests: &["tests/api/post_list.rs", "tests/api/tag_page.rs"],
    benches: &[Comparison {
        what: "column projection: page query (posts)",
        bench: "projection",
        naive: "whole-rows",
        optimized: "projected",
        headline: Some("1000"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let hundred = PageWindow::new(PageNumber::FIRST).with_size(100);
    Ok(Outcome {
        naive: measure(|| async {
            let posts = naive::page_rows(db, hundred).await?;
            Ok(Fetched {
                rows: Some(posts.len() as u64),
                bytes: Some(posts.iter().map(whole_row_bytes).sum()),
                held: None,
                ..Fetched::default()
            })
        })
        .await?,
        optimized: measure(|| async {
            let posts = optimized::page_rows(db, hundred).await?;
            Ok(Fetched {
                rows: Some(posts.len() as u64),
                bytes: Some(posts.iter().map(projected_bytes).sum()),
                held: None,
                ..Fetched::default()
            })
        })
        .await?,
    })
}

/// Bytes of a whole post row's values: text lengths, 4-byte integers, 8-byte times.
pub fn whole_row_bytes(post: &post::Model) -> u64 {
    let text = post.title.len() + post.slug.len() + post.excerpt.len() + post.body.len();
    (text + "published".len() + 3 * 4 + 3 * 8) as u64
}

/// Bytes of a projected row's values.
pub fn projected_bytes(row: &PostRow) -> u64 {
    (row.title.len() + row.slug.len() + row.excerpt.len() + 2 * 4 + 8) as u64
}
