//! Eager loading: the list's entries completed per post or per kind of thing (their
//! comments counted on both sides); the post page's comment authors asked for one by
//! one or joined.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Backfire, Comparison, Facts, Lesson, Line, median_of, refusal, time};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::views::batch::tags_of;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::post_list::optimized::PostRow;
use crate::views::{post_detail, post_list};

pub static LESSON: Lesson = Lesson {
    slug: "eager-loading",
    comparisons: &[&ENTRIES, &DETAIL],
    backfire: Some(&HUGE_IN_LIST),
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

/// Ids in the largest list the lab sends in one `IN (…)`.
const HUGE: usize = 10_000;
/// The same lists in statements of this many ids.
const CHUNK: usize = 1_000;
const CHUNK_SHOWN: &str = "1,000";
/// Ids past PostgreSQL's limit of 65,535 bind parameters a statement.
const PAST_THE_LIMIT: i32 = 70_000;

/// The tags of 20 posts, of 10,000 in one statement and in ten, and of 70,000 ids.
static HUGE_IN_LIST: Backfire = Backfire {
    tries: "the tags of more posts in one `IN (…)` than a page shows",
    run: |bench| Box::pin(huge_in_list(bench)),
};

async fn huge_in_list(bench: &Workbench) -> Result<Vec<Line>, AppError> {
    let db = &bench.db;
    let ids: Vec<i32> = post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .order_by_asc(post::Column::Id)
        .limit(HUGE as u64)
        .into_tuple()
        .all(db)
        .await?;
    let page = &ids[..ids.len().min(20)];
    let (_, one_page) = median_of(|| async { Ok(tags_of(db, page).await?) }).await?;
    let (_, all_at_once) = median_of(|| async { Ok(tags_of(db, &ids).await?) }).await?;
    let (_, chunked) = median_of(|| async {
        for chunk in ids.chunks(CHUNK) {
            tags_of(db, chunk).await?;
        }
        Ok(())
    })
    .await?;
    let past: Vec<i32> = (1..=PAST_THE_LIMIT).collect();
    let refused = match tags_of(db, &past).await {
        Ok(_) => "accepted: this database takes that many values".to_owned(),
        Err(error) => format!("refused: {}", refusal(&error)),
    };
    let n = catalog::report::thousands(ids.len() as u64);
    Ok(vec![
        Line::new(
            format!("{} posts (a page's worth), one statement", page.len()),
            time(one_page),
        ),
        Line::new(format!("{n} posts, one statement"), time(all_at_once)),
        Line::new(
            match ids.len().div_ceil(CHUNK) {
                1 => format!("{n} posts, one statement of at most {CHUNK_SHOWN}"),
                chunks => format!("{n} posts, {chunks} statements of {CHUNK_SHOWN}"),
            },
            time(chunked),
        ),
        Line::new(
            format!(
                "{} ids in one statement (past PostgreSQL's 65,535 and SQLite's 32,766)",
                catalog::report::thousands(PAST_THE_LIMIT as u64)
            ),
            refused,
        ),
    ])
}
