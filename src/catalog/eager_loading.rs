//! Eager loading: what each entry of a list shows, asked for per entry (the N + 1
//! problem) or for the whole page at once.

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, POST_LIST, POST_PAGE, Pattern, Side, TAG_PAGE};
use crate::error::AppError;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::post_list::optimized::PostRow;
use crate::views::post_list::{naive, optimized};

pub static PATTERN: Pattern = Pattern {
    slug: "eager-loading",
    title: "Eager loading",
    django: "the N+1 fix: `select_related('author')` (one JOIN, as the post page does) and `prefetch_related('tags')` (one `IN (…)` query per relation, as the list does), the comment counts by `annotate(Count('comments'))`",
    rails: Some("`includes(:author, :tags)`"),
    problem: "The N+1 query problem: a list that asks for each entry's author, tags and comment count runs three more queries per entry — 1 + 3N.",
    setup: "Both sides complete the same page of 20 posts, loaded once beforehand with whole rows; only how each side fetches the authors, tags and comment counts differs.",
    why: "Every statement costs a round trip and the database's per-statement work. The optimized side asks once per kind of thing — the authors, the tags and the comment counts of the whole page, one IN (…) query each — so a page costs 3 statements whatever its size, where the naive side's cost grows with every post.",
    when_not: "For one post, or when the related rows are already in memory, batching saves little; and a JOIN that multiplies rows (many tags × many comments) can fetch more than separate queries would.",
    shows_on: &[POST_LIST, TAG_PAGE, POST_PAGE],
    naive: Side {
        summary: "author, tags and comment count asked for per post: 3N statements (60 for a page of 20)",
        code: &[code!("src/views/post_list/naive.rs", "summarize")],
    },
    optimized: Side {
        summary: "one `IN (…)` query each for the page's authors, tags and comment counts: 3, whatever N (the post page joins its authors instead)",
        code: &[
            code!("src/views/post_list/optimized.rs", "summarize"),
            code!("src/views/batch.rs", "authors_of"),
            code!("src/views/batch.rs", "tags_of"),
            code!("src/views/batch.rs", "comment_counts_of"),
        ],
    },
    tests: &[
        "tests/api/post_list.rs",
        "tests/api/tag_page.rs",
        "tests/api/post_detail.rs",
    ],
    benches: &[
        Comparison {
            what: "eager loading: list entries (posts)",
            bench: "eager_loading",
            naive: "entries-naive",
            optimized: "entries-optimized",
            headline: Some("20"),
        },
        Comparison {
            what: "eager loading: post page (50 comments)",
            bench: "eager_loading",
            naive: "detail-naive",
            optimized: "detail-optimized",
            headline: None,
        },
    ],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let window = PageWindow::new(PageNumber::FIRST);
    let (posts, _) = window.split(naive::page_rows(db, window).await?);
    let rows: Vec<PostRow> = posts.iter().cloned().map(PostRow::from).collect();
    Ok(Outcome {
        naive: measure(|| async {
            let entries = naive::summarize(db, posts.clone()).await?;
            Ok(Fetched::rows(entries.len()))
        })
        .await?,
        optimized: measure(|| async {
            let entries = optimized::summarize(db, rows.clone()).await?;
            Ok(Fetched::rows(entries.len()))
        })
        .await?,
    })
}
