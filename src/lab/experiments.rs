//! What the lab runs for each pattern. Reads run as they are; writes run inside a
//! transaction that is always rolled back (dropping it mid-way rolls back too), so
//! nothing a visitor does here changes data. Nothing takes input from the visitor
//! but the pattern's name.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::cache::{CacheSettings, FragmentCache};
use crate::db;
use crate::entities::{comment, post, post_tag, tag};
use crate::error::AppError;
use crate::instrument;
use crate::views::comments::{self, CommentTarget, NewComment};
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::post_list::optimized::SummaryRow;
use crate::views::slug::Slug;
use crate::views::{admin, post_detail, post_list, sidebar};

/// Runs of each side; the page shows the median time.
const REPETITIONS: usize = 5;

/// What one side brought back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Rows that came back from the database (or were changed, for writes).
    pub rows: Option<u64>,
    /// Bytes of column values that came back, where the lab can count them.
    pub bytes: Option<u64>,
}

/// One side, measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    pub statements: u32,
    pub median: Duration,
    /// Distinct SQL statements with how often each ran, in first-run order.
    pub sql: Vec<(usize, String)>,
    pub fetched: Fetched,
    /// Set when this side is not run live, saying why.
    pub not_run: Option<&'static str>,
}

impl Measured {
    pub fn median_ms(&self) -> String {
        format!("{:.2}", self.median.as_secs_f64() * 1000.0)
    }
}

/// Runs `side` [`REPETITIONS`] times; keeps the SQL of the first run.
async fn measure<F, Fut>(side: F) -> Result<Measured, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Fetched, DbErr>>,
{
    let mut times = Vec::with_capacity(REPETITIONS);
    let mut first = None;
    for _ in 0..REPETITIONS {
        let started = Instant::now();
        let (fetched, stats, sql) = instrument::record_queries(side()).await;
        times.push(started.elapsed());
        let fetched = fetched?;
        if first.is_none() {
            first = Some((fetched, stats, sql));
        }
    }
    times.sort();
    let (fetched, stats, sql) = first.unwrap_or_default();
    Ok(Measured {
        statements: stats.statements,
        median: times[times.len() / 2],
        sql: grouped(sql),
        fetched,
        not_run: None,
    })
}

/// Identical statements counted together, the way a debug toolbar shows them.
fn grouped(statements: Vec<String>) -> Vec<(usize, String)> {
    let mut groups: Vec<(usize, String)> = Vec::new();
    for sql in statements {
        match groups.iter_mut().find(|(_, seen)| *seen == sql) {
            Some((count, _)) => *count += 1,
            None => groups.push((1, sql)),
        }
    }
    groups
}

/// Bytes of a whole post row's values: text lengths, 4-byte integers, 8-byte times.
pub fn whole_row_bytes(post: &post::Model) -> u64 {
    let text = post.title.len() + post.slug.len() + post.excerpt.len() + post.body.len();
    (text + "published".len() + 3 * 4 + 3 * 8) as u64
}

/// Bytes of a projected list row's values.
pub fn projected_bytes(row: &SummaryRow) -> u64 {
    (row.title.len() + row.slug.len() + row.excerpt.len() + row.author_name.len() + 4 + 8) as u64
}

fn rows(n: usize) -> Fetched {
    Fetched {
        rows: Some(n as u64),
        bytes: None,
    }
}

/// Both sides of `slug`'s experiment, naive first.
pub async fn run(db: &DatabaseConnection, slug: &str) -> Result<(Measured, Measured), AppError> {
    let first_page = PageWindow::new(PageNumber::FIRST);
    match slug {
        "eager-loading" => Ok((
            measure(|| async {
                let page = post_list::naive::load_page(db, first_page).await?;
                Ok(rows(page.posts.len()))
            })
            .await?,
            measure(|| async {
                let page = post_list::optimized::load_page(db, first_page).await?;
                Ok(rows(page.posts.len()))
            })
            .await?,
        )),
        "projection" => {
            let hundred = first_page.with_size(100);
            Ok((
                measure(|| async {
                    let posts = post_list::naive::page_rows(db, hundred).await?;
                    Ok(Fetched {
                        rows: Some(posts.len() as u64),
                        bytes: Some(posts.iter().map(whole_row_bytes).sum()),
                    })
                })
                .await?,
                measure(|| async {
                    let posts = post_list::optimized::page_rows(db, hundred).await?;
                    Ok(Fetched {
                        rows: Some(posts.len() as u64),
                        bytes: Some(posts.iter().map(projected_bytes).sum()),
                    })
                })
                .await?,
            ))
        }
        "bulk-updates" => Ok((
            measure(|| async {
                let txn = db::begin_write(db).await?;
                let changed = admin::naive::publish_drafts(&txn, Utc::now()).await?;
                txn.rollback().await?;
                Ok(rows(changed as usize))
            })
            .await?,
            measure(|| async {
                let txn = db::begin_write(db).await?;
                let changed = admin::optimized::publish_drafts(&txn, Utc::now()).await?;
                txn.rollback().await?;
                Ok(rows(changed as usize))
            })
            .await?,
        )),
        "atomic-counters" => {
            let id = newest_post_id(db).await?;
            Ok((
                measure(|| async {
                    let txn = db::begin_write(db).await?;
                    post_detail::naive::count_view(&txn, id).await?;
                    txn.rollback().await?;
                    Ok(rows(1))
                })
                .await?,
                measure(|| async {
                    let txn = db::begin_write(db).await?;
                    post_detail::optimized::count_view(&txn, id).await?;
                    txn.rollback().await?;
                    Ok(rows(1))
                })
                .await?,
            ))
        }
        "aggregation" => {
            let loaded = rows_the_naive_sidebar_loads(db).await?;
            Ok((
                measure(|| async {
                    sidebar::naive::load(db).await?;
                    Ok(rows(loaded as usize))
                })
                .await?,
                measure(|| async {
                    let shown = sidebar::aggregated::load(db).await?;
                    Ok(rows(shown.tags.len() + shown.popular.len()))
                })
                .await?,
            ))
        }
        "fragment-caching" => {
            // A cache of the lab's own, warmed first: the site's cache is not touched.
            let cache = FragmentCache::new(&CacheSettings::Memory)?;
            sidebar::cached::load(&cache, db, "./").await?;
            Ok((
                measure(|| async {
                    let shown = sidebar::aggregated::load(db).await?;
                    Ok(rows(shown.tags.len() + shown.popular.len()))
                })
                .await?,
                measure(|| async {
                    sidebar::cached::load(&cache, db, "./")
                        .await
                        .map_err(|error| DbErr::Custom(error.to_string()))?;
                    Ok(rows(0))
                })
                .await?,
            ))
        }
        "offloaded-email" => {
            let target = newest_target(db).await?;
            let comment = NewComment {
                name: "Lab visitor".to_owned(),
                email: "lab@example.com".to_owned(),
                body: "A comment the lab writes and rolls back.".to_owned(),
            };
            let naive = Measured {
                statements: 3,
                median: Duration::ZERO,
                sql: Vec::new(),
                fetched: Fetched::default(),
                not_run: Some(
                    "Not run live: it would send a real email. It runs the same three statements \
                     as the optimized side's first three, then waits for the SMTP server — 51 ms \
                     when the server takes 50 ms (see the offloaded_email bench).",
                ),
            };
            let optimized = measure(|| async {
                let txn = db::begin_write(db).await?;
                comments::insert_comment(&txn, &target, &comment, Utc::now()).await?;
                crate::mail::outbox::enqueue(
                    &txn,
                    &target.notification(&comment, "http://lab"),
                    Utc::now(),
                )
                .await?;
                txn.rollback().await?;
                Ok(rows(2))
            })
            .await?;
            Ok((naive, optimized))
        }
        _ => Err(AppError::NotFound(format!("There is no lab for `{slug}`."))),
    }
}

async fn newest_post_id(db: &DatabaseConnection) -> Result<i32, AppError> {
    post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .one(db)
        .await?
        .map(|post| post.id)
        .ok_or_else(|| {
            AppError::NotFound(
                "The lab needs at least one published post; seed the database.".to_owned(),
            )
        })
}

async fn newest_target(db: &DatabaseConnection) -> Result<CommentTarget, AppError> {
    let newest = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(
                "The lab needs at least one published post; seed the database.".to_owned(),
            )
        })?;
    let slug = Slug::parse(&newest.slug).map_err(AppError::Unprocessable)?;
    CommentTarget::find(db, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound("The newest post disappeared; try again.".to_owned()))
}

/// Tags, published posts, post–tag links and comments: what `sidebar::naive` loads.
async fn rows_the_naive_sidebar_loads(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Ok(tag::Entity::find().count(db).await?
        + post::Entity::find()
            .filter(post::Column::Status.eq(post::Status::Published))
            .count(db)
            .await?
        + post_tag::Entity::find().count(db).await?
        + comment::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_statements_are_grouped_in_first_seen_order() {
        let groups = grouped(vec!["A".into(), "B".into(), "A".into(), "A".into()]);
        assert_eq!(groups, vec![(3, "A".to_owned()), (1, "B".to_owned())]);
    }
}
