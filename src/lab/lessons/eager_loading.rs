//! Eager loading: the list's entries completed per post or per kind of thing (their
//! comments counted on both sides); the post page's comment authors asked for one by
//! one or joined.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{Comparison, Facts, Lesson};
use crate::base::entities::post;
use crate::base::error::AppError;
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
            let run = |rows| post_list::optimized::summarize_counting(&bench.db, rows);
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

/// The latest 50 comments of the most commented published post, with their authors'
/// names: asked for one by one, or joined into the comments' query.
static DETAIL: Comparison<post::Model> = Comparison::new(
    "detail",
    |bench, _| Box::pin(most_commented(bench)),
    |bench, post, runs| {
        Box::pin(async move {
            let shown = runs
                .time(|| post_detail::naive::latest_comments(&bench.db, post))
                .await?;
            Ok(Facts::rows(shown.len()))
        })
    },
    |bench, post, runs| {
        Box::pin(async move {
            let shown = runs
                .time(|| post_detail::optimized::latest_comments(&bench.db, post.id))
                .await?;
            Ok(Facts::rows(shown.len()))
        })
    },
);

async fn most_commented(bench: &Workbench) -> Result<post::Model, AppError> {
    let slug = bench.most_commented_post().await?;
    post::Entity::find()
        .filter(post::Column::Slug.eq(slug.as_str()))
        .one(&bench.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No post has the slug `{slug}`.")))
}
