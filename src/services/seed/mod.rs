//! `perfblog seed`: the deterministic dataset, written with multi-row inserts.
//!
//! This is the bulk-insert pattern at work (see `bulk_insert`): one
//! `INSERT … VALUES (…), (…), …` per 1,000 rows, all in one transaction, instead of one
//! statement and one round trip per row. Ids are assigned here rather than by the
//! database so that post 1 is the same post on every machine and on both backends.
//! Into an empty database, the indexes are built after the rows (`indexes_after`).

mod content;
mod indexes_after;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::{Rng, seq::index};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
};

use content::{Writer, tag_name, user_name};
use indexes_after::SetAside;

use crate::base::entities::{comment, outbox_message, post, post_tag, tag, user};
use crate::base::slug::slugify;
use crate::services::db::bulk_insert::{INSERT_BATCH_ROWS, insert_batched};
use crate::services::db::counters;
use crate::services::db::exists;

/// Fixed, so the dataset is the same on every run.
const RNG_SEED: u64 = 0x5EED_B106;

/// The tables the seed fills.
const SEEDED_TABLES: [&str; 5] = ["users", "tags", "posts", "post_tags", "comments"];

/// Tags per post in the dataset.
const TAGS_PER_POST: usize = 3;

/// Post bodies are 2–8 KB: large enough that loading them for a list page hurts.
const BODY_BYTES: (usize, usize) = (2 * 1024, 8 * 1024);

/// How big a dataset to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetSize {
    pub users: usize,
    pub tags: usize,
    pub posts: usize,
    /// The average; each post gets between 0 and twice this many.
    pub comments_per_post: usize,
}

impl DatasetSize {
    /// The dataset the README's figures are measured on.
    pub const STANDARD: DatasetSize = DatasetSize {
        users: 200,
        tags: 50,
        posts: 10_000,
        comments_per_post: 20,
    };
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users: usize,
    pub tags: usize,
    pub posts: usize,
    pub post_tags: usize,
    pub comments: usize,
    pub elapsed: Duration,
}

/// Whether the database already holds blog data (users or posts): a question about
/// one row, asked with `EXISTS … LIMIT 1` rather than by counting every row (the
/// `exists` pattern; `db::exists`).
pub async fn has_data(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(exists::by_finding_one(db, user::Entity::find()).await?
        || exists::by_finding_one(db, post::Entity::find()).await?)
}

/// What to do with data that is already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse: seeding twice would double the data.
    Refuse,
    /// Delete it first, in the same transaction as the new data: a failed seed leaves
    /// the old data as it was.
    Replace,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(
        "the database already holds data; seeding again would double it. \
         Run `perfblog seed --reset` to replace it"
    )]
    AlreadySeeded,
    #[error("{what}: {source}")]
    Database {
        what: &'static str,
        #[source]
        source: DbErr,
    },
}

fn failed(what: &'static str) -> impl FnOnce(DbErr) -> SeedError {
    move |source| SeedError::Database { what, source }
}

/// Generates the dataset and writes it in one transaction.
pub async fn seed(
    db: &DatabaseConnection,
    size: DatasetSize,
    existing: Existing,
    progress: &ProgressBar,
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    // Reads (is there data?) then writes: IMMEDIATE on SQLite, see `db::begin_write`.
    let txn = crate::services::db::begin_write(db)
        .await
        .map_err(failed("starting the transaction"))?;
    let set_aside = make_room(&txn, existing).await?;
    // The counters are written with the rows: the seeder knows how many comments each
    // post gets and which tags each published post has. Counting them afterwards, as
    // `perfblog recount` does, was the slowest part of a ten-times seed on PostgreSQL
    // (docs/measurement-log.md) — planned with no statistics for tables filled moments
    // before.
    let cache = SeedCache::enlarge(&txn)
        .await
        .map_err(failed("enlarging SQLite's page cache"))?;
    let written = async {
        let report = write_dataset(&txn, size, progress).await?;
        advance_id_sequences(&txn)
            .await
            .map_err(failed("advancing id sequences"))?;
        Ok(report)
    }
    .await;
    // Restored whether or not the writing failed: the connection goes back to its pool.
    let restored = cache.restore(&txn).await;
    let mut report = written?;
    restored.map_err(failed("restoring SQLite's page cache"))?;
    // With the connection's own page cache again: SQLite sorts an index's keys in
    // memory up to the cache's size, then in runs on disk; with the seed's larger
    // cache the sorts raised the peak and were no faster (docs/measurement-log.md).
    if let Some(set_aside) = set_aside {
        progress.set_message("building indexes");
        set_aside
            .rebuild(&txn)
            .await
            .map_err(failed("building indexes"))?;
    }
    progress.set_message("committing");
    txn.commit().await.map_err(failed("committing"))?;
    progress.set_message("updating planner statistics");
    refresh_statistics(db)
        .await
        .map_err(failed("updating planner statistics"))?;
    progress.finish_and_clear();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Refuses or deletes the data already there, as `existing` says. Into an empty
/// database the indexes are set aside, to be built after the rows (`indexes_after`);
/// replacing data that pages may be reading, they are kept.
async fn make_room(
    txn: &impl ConnectionTrait,
    existing: Existing,
) -> Result<Option<SetAside>, SeedError> {
    let had_data = has_data(txn).await.map_err(failed("checking for data"))?;
    match existing {
        Existing::Refuse if had_data => return Err(SeedError::AlreadySeeded),
        Existing::Refuse => {}
        Existing::Replace => delete_all(txn).await.map_err(failed("deleting old data"))?,
    }
    if had_data {
        return Ok(None);
    }
    let set_aside = SetAside::drop(txn, &SEEDED_TABLES)
        .await
        .map_err(failed("setting indexes aside"))?;
    Ok(Some(set_aside))
}

/// SQLite's page cache, larger for the seed's one transaction. With the default
/// (2 MB) the pages of the tables and indexes being filled are written to the log,
/// changed again and written again; with this one a ten-times seed wrote less and took
/// less time, for about this much more memory while it runs (the figures, and the sizes
/// tried: docs/measurement-log.md, "Seeding ten times the data, again in time").
const SEED_CACHE_KIB: i64 = 16 * 1024;

/// The page cache the seed's connection had, to give it back before the connection
/// returns to the pool (`serve` seeds an empty database on its own pool).
struct SeedCache {
    previous: Option<i64>,
}

impl SeedCache {
    async fn enlarge(txn: &impl ConnectionTrait) -> Result<SeedCache, DbErr> {
        if txn.get_database_backend() != DbBackend::Sqlite {
            return Ok(SeedCache { previous: None });
        }
        let statement = sea_orm::Statement::from_string(DbBackend::Sqlite, "PRAGMA cache_size");
        let previous: Option<i64> = match txn.query_one_raw(statement).await? {
            Some(row) => Some(row.try_get_by_index(0)?),
            None => None,
        };
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{SEED_CACHE_KIB}"))
            .await?;
        Ok(SeedCache { previous })
    }

    /// Before the commit: the commit writes every changed page to the log whatever
    /// the cache's size.
    async fn restore(self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        if let Some(previous) = self.previous {
            txn.execute_unprepared(&format!("PRAGMA cache_size = {previous}"))
                .await?;
        }
        Ok(())
    }
}

/// Users and tags, then posts a batch at a time, each batch followed by its tags and
/// comments, so memory stays flat whatever the dataset size.
async fn write_dataset(
    txn: &impl ConnectionTrait,
    size: DatasetSize,
    progress: &ProgressBar,
) -> Result<SeedReport, SeedError> {
    let mut writer = Writer::new(ChaCha8Rng::seed_from_u64(RNG_SEED));
    let mut report = SeedReport {
        users: size.users,
        tags: size.tags,
        ..SeedReport::default()
    };
    progress.set_length(size.posts as u64);
    progress.set_message("users and tags");
    insert_batched(txn, users(size.users))
        .await
        .map_err(failed("inserting users"))?;
    insert_batched(txn, tags(size.tags))
        .await
        .map_err(failed("inserting tags"))?;
    progress.set_message("posts, tags and comments");
    let mut next_comment_id = 1;
    let mut published_per_tag = vec![0; size.tags];
    for first in (0..size.posts).step_by(INSERT_BATCH_ROWS) {
        let last = (first + INSERT_BATCH_ROWS).min(size.posts);
        let mut counts = Counts {
            next_comment_id: &mut next_comment_id,
            published_per_tag: &mut published_per_tag,
        };
        let batch = posts_batch(&mut writer, size, first..last, &mut counts);
        report.posts += batch.posts.len();
        report.post_tags += batch.post_tags.len();
        report.comments += batch.comments.len();
        insert_batched(txn, batch.posts)
            .await
            .map_err(failed("inserting posts"))?;
        insert_batched(txn, batch.post_tags)
            .await
            .map_err(failed("inserting post tags"))?;
        insert_batched(txn, batch.comments)
            .await
            .map_err(failed("inserting comments"))?;
        progress.set_position(last as u64);
    }
    progress.set_message("published posts per tag");
    counters::set_published_post_counts(txn, &published_per_tag)
        .await
        .map_err(failed("counting published posts per tag"))?;
    Ok(report)
}

/// What the batches keep across the dataset: the next comment's id, and each tag's
/// published posts so far.
struct Counts<'a> {
    next_comment_id: &'a mut i32,
    published_per_tag: &'a mut [i32],
}

/// Children first, so foreign keys hold at every step.
async fn delete_all(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    outbox_message::Entity::delete_many().exec(db).await?;
    comment::Entity::delete_many().exec(db).await?;
    post_tag::Entity::delete_many().exec(db).await?;
    post::Entity::delete_many().exec(db).await?;
    tag::Entity::delete_many().exec(db).await?;
    user::Entity::delete_many().exec(db).await?;
    Ok(())
}

/// PostgreSQL's identity columns keep their own counter, which explicit ids do not
/// move: point each one past the largest id, or the next `INSERT` without an id
/// would collide. SQLite continues after the largest rowid by itself.
async fn advance_id_sequences(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for table in ["users", "tags", "posts", "comments"] {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        ))
        .await?;
    }
    Ok(())
}

/// After a bulk load the planner's statistics describe empty tables, and on
/// PostgreSQL no page is marked all-visible yet, so index-only scans still visit the
/// table for every row (docs/benchmarks.md, "Seeding matters to the figures", has what
/// that cost a count). `VACUUM ANALYZE` / `ANALYZE` fix both, as autovacuum would later.
async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    let statement = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM ANALYZE users, tags, posts, post_tags, comments",
        _ => "ANALYZE",
    };
    db.execute_unprepared(statement).await?;
    Ok(())
}

/// The dataset's clock: everything happens before this instant, so the data does not
/// depend on the day it was generated.
fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default() // 2026-01-01T00:00:00Z
}

fn users(count: usize) -> Vec<user::ActiveModel> {
    (0..count)
        .map(|index| user::ActiveModel {
            id: Set(id(index)),
            name: Set(user_name(index)),
            email: Set(format!("user{}@example.com", index + 1)),
            created_at: Set(epoch() - TimeDelta::days(1200) + TimeDelta::hours(index as i64)),
        })
        .collect()
}

fn tags(count: usize) -> Vec<tag::ActiveModel> {
    (0..count)
        .map(|index| {
            let name = tag_name(index);
            tag::ActiveModel {
                id: Set(id(index)),
                slug: Set(slugify(&name)),
                name: Set(name),
                published_post_count: Set(0),
            }
        })
        .collect()
}

struct PostsBatch {
    posts: Vec<post::ActiveModel>,
    post_tags: Vec<post_tag::ActiveModel>,
    comments: Vec<comment::ActiveModel>,
}

fn posts_batch(
    writer: &mut Writer,
    size: DatasetSize,
    indexes: std::ops::Range<usize>,
    counts: &mut Counts,
) -> PostsBatch {
    let mut batch = PostsBatch {
        posts: Vec::with_capacity(indexes.len()),
        post_tags: Vec::with_capacity(indexes.len() * TAGS_PER_POST),
        comments: Vec::new(),
    };
    for index in indexes {
        let post_id = id(index);
        let (mut post, status, comments_from) = new_post(writer, size, post_id);

        let tag_count = TAGS_PER_POST.min(size.tags);
        let published_at = post.published_at.try_as_ref().copied().flatten();
        for tag_index in index::sample(writer.rng(), size.tags, tag_count) {
            // The post's values, which the database would copy (see `post_tag`): on
            // SQLite a link written without them is written twice, the copy after.
            batch.post_tags.push(post_tag::ActiveModel {
                post_id: Set(post_id),
                tag_id: Set(id(tag_index)),
                status: Set(status),
                published_at: Set(published_at),
            });
            if status == post::Status::Published {
                counts.published_per_tag[tag_index] += 1;
            }
        }

        let comment_count = writer.rng().random_range(0..=2 * size.comments_per_post);
        post.comment_count = Set(i32::try_from(comment_count).unwrap_or(i32::MAX));
        batch.posts.push(post);
        for _ in 0..comment_count {
            let after = TimeDelta::minutes(writer.rng().random_range(1..90 * 24 * 60));
            batch.comments.push(comment::ActiveModel {
                id: Set(*counts.next_comment_id),
                post_id: Set(post_id),
                author_id: Set(random_id(writer, size.users)),
                body: Set(writer.comment()),
                created_at: Set(comments_from + after),
            });
            *counts.next_comment_id += 1;
        }
    }
    batch
}

/// One post drawn from `writer`, its status, and when its comments may start: its
/// comment count is set once they are drawn.
fn new_post(
    writer: &mut Writer,
    size: DatasetSize,
    post_id: i32,
) -> (post::ActiveModel, post::Status, DateTime<Utc>) {
    let status = match writer.rng().random_range(0..100) {
        0..90 => post::Status::Published,
        90..95 => post::Status::Draft,
        _ => post::Status::Archived,
    };
    let written_at = epoch() - TimeDelta::seconds(writer.rng().random_range(0..95_000_000));
    let published_at = (status != post::Status::Draft).then(|| written_at + TimeDelta::hours(6));
    let title = writer.title();
    let post = post::ActiveModel {
        id: Set(post_id),
        author_id: Set(random_id(writer, size.users)),
        slug: Set(format!("{}-{post_id}", slugify(&title))),
        title: Set(title),
        excerpt: Set(writer.excerpt()),
        body: Set(writer.body(BODY_BYTES.0, BODY_BYTES.1)),
        status: Set(status),
        published_at: Set(published_at),
        view_count: Set(writer.rng().random_range(0..5_000)),
        comment_count: Set(0),
        created_at: Set(written_at),
        updated_at: Set(published_at.unwrap_or(written_at)),
    };
    (post, status, published_at.unwrap_or(written_at))
}

/// Row `index` (0-based) gets id `index + 1`.
fn id(index: usize) -> i32 {
    i32::try_from(index + 1).unwrap_or(i32::MAX)
}

fn random_id(writer: &mut Writer, count: usize) -> i32 {
    id(writer.rng().random_range(0..count.max(1)))
}
