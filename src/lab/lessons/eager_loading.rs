//! Eager loading: the list's entries completed per post or per kind of thing; the post
//! page's comment authors asked for one by one or joined.

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::lab::workbench::Workbench;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::post_list::optimized::PostRow;
use crate::views::{post_detail, post_list};

pub static LESSON: Lesson = Lesson {
    slug: "eager-loading",
    comparisons: &[&ENTRIES, &DETAIL],
};

/// A first page of `size` posts (20 unless asked), loaded once with whole rows, as
/// each side's `summarize` takes them; each run gets its own copy, made untimed.
struct Page {
    posts: Vec<post::Model>,
    rows: Vec<PostRow>,
}

static ENTRIES: Comparison<Page> = Comparison::new(
    "entries",
    |bench, size| Box::pin(first_page(bench, size)),
    |bench, page, runs| {
        Box::pin(async move {
            let copy = || async { Ok(page.posts.clone()) };
            let run = |posts| post_list::naive::summarize(&bench.db, posts);
            Ok(Facts::rows(runs.time_with(copy, run).await?.len()))
        })
    },
    |bench, page, runs| {
        Box::pin(async move {
            let copy = || async { Ok(page.rows.clone()) };
            let run = |rows| post_list::optimized::summarize(&bench.db, rows);
            Ok(Facts::rows(runs.time_with(copy, run).await?.len()))
        })
    },
);

async fn first_page(bench: &Workbench, size: Option<u64>) -> Result<Page, AppError> {
    let window = PageWindow::new(PageNumber::FIRST).with_size(size.unwrap_or(20));
    let (posts, _) = window.split(post_list::naive::page_rows(&bench.db, window).await?);
    let rows = posts.iter().cloned().map(PostRow::from).collect();
    Ok(Page { posts, rows })
}

/// The post page of the most commented published post: 50 comments shown, 50 authors.
static DETAIL: Comparison<Slug> = Comparison::either(
    "detail",
    |bench, _| Box::pin(bench.most_commented_post()),
    |bench, slug, runs, which| Box::pin(post_page(bench, slug, runs, which)),
);

/// The post page with `which` side's loader: its comments' authors one by one, or
/// joined.
async fn post_page(
    bench: &Workbench,
    slug: &Slug,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let page = runs
        .time(|| async {
            match which {
                Which::Naive => post_detail::naive::load(&bench.db, slug).await,
                Which::Optimized => post_detail::optimized::load(&bench.db, slug).await,
            }
        })
        .await?;
    Ok(Facts::rows(page.map_or(0, |page| page.comments.len())))
}
