//! What comparisons run against: the database and where their writes go, the data
//! several of them start from (the newest post, the busiest tag), and for the benches
//! Redis and databases of their own.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};
use tokio::sync::Mutex;

use crate::base::config::DatabaseUrl;
use crate::base::entities::{post, tag};
use crate::base::error::AppError;
use crate::base::instrument::record_statements;
use crate::base::slug::Slug;
use crate::services::db::standbys::Reads;
use crate::services::memory_budget::MemoryBudget;
use crate::services::seed::{self, DatasetSize, Existing};
use crate::views::admin::TitleSearch;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::{post_detail, post_list, tag_page};

pub struct Workbench {
    /// The pool every side runs on, unless its setup asked for a database of its own.
    pub db: DatabaseConnection,
    /// Where `db` points, for the sides that open connections of their own.
    pub database_url: DatabaseUrl,
    /// Redis, for the comparisons that use it: the app's when it has one (the lab's
    /// write-behind tally), `BENCH_REDIS_URL` for the benches; `None`: the benches skip
    /// the comparisons that measure Redis.
    pub redis_url: Option<String>,
    /// Where reads may go: the app's standbys (`DATABASE_REPLICA_URLS`), the benches'
    /// (`BENCH_REPLICA_URL`), or none (every read from `db`).
    pub reads: Reads,
    /// What the naive side of the sidebar may hold: the app's naive budget, shared with
    /// the naive pages, in the lab; unbounded for the benches and tests that measure it.
    pub naive_memory: MemoryBudget,
    /// The longest the lab lets a side run before it stops it (`LAB_SIDE_LIMIT_MS`), the
    /// limit the database also stops `db`'s statements at; `None` for the benches and
    /// tests, which let every side finish.
    pub side_limit: Option<Duration>,
    writes: Writes,
    scratch: Mutex<HashMap<&'static str, DatabaseConnection>>,
}

/// Where a side's writes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writes {
    /// Into a transaction rolled back afterwards: the lab and the tests change no data.
    RolledBack,
    /// Into the database, on databases of their own: the benches, which measure the
    /// commits too.
    Kept,
}

impl Workbench {
    /// The lab's: writes are rolled back, and a setup that asks for a database of its
    /// own gets the live one.
    pub fn new(db: DatabaseConnection, database_url: DatabaseUrl) -> Self {
        Self {
            reads: Reads::primary_only(db.clone().into()),
            db,
            database_url,
            redis_url: None,
            naive_memory: MemoryBudget::unbounded(),
            side_limit: None,
            writes: Writes::RolledBack,
            scratch: Mutex::default(),
        }
    }

    /// With Redis at `url`, for the comparisons that use it.
    pub fn with_redis(self, url: Option<String>) -> Self {
        Self {
            redis_url: url,
            ..self
        }
    }

    /// Reading as `reads` says, for the comparisons that read from standbys.
    pub fn with_reads(self, reads: Reads) -> Self {
        Self { reads, ..self }
    }

    /// With the naive sidebar's loads bounded by `budget`.
    pub fn with_naive_memory(self, budget: MemoryBudget) -> Self {
        Self {
            naive_memory: budget,
            ..self
        }
    }

    /// With each side stopped after `limit`: the lab's, whose `db` the database stops
    /// at the same limit.
    pub fn with_side_limit(self, limit: Duration) -> Self {
        Self {
            side_limit: Some(limit),
            ..self
        }
    }

    /// The benches': writes are kept, on databases made for the purpose.
    pub fn for_benches(db: DatabaseConnection, url: DatabaseUrl, redis: Option<String>) -> Self {
        Self {
            writes: Writes::Kept,
            ..Self::new(db, url).with_redis(redis)
        }
    }

    /// Whether writes stay: a side that writes must then put back what the next run
    /// needs (its reset, not timed).
    pub fn keeps_writes(&self) -> bool {
        self.writes == Writes::Kept
    }

    /// Runs `work` where this workbench's writes go: in a transaction rolled back
    /// afterwards, or straight to `db`. Code that opens transactions of its own opens
    /// savepoints in the first case, real transactions in the second.
    pub async fn write<T>(
        &self,
        db: &DatabaseConnection,
        work: impl AsyncFnOnce(&DatabaseExecutor<'_>) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        match self.writes {
            Writes::RolledBack => {
                rolled_back(db, async |txn| work(&DatabaseExecutor::from(txn)).await).await
            }
            Writes::Kept => work(&DatabaseExecutor::from(db)).await,
        }
    }

    /// A database holding `size`'s dataset for the comparison `name` alone: made fresh
    /// once per process for the benches; the live database for the lab, whose writes
    /// are rolled back.
    pub async fn database_of_its_own(
        &self,
        name: &'static str,
        size: DatasetSize,
    ) -> Result<DatabaseConnection, AppError> {
        if self.writes == Writes::RolledBack {
            return Ok(self.db.clone());
        }
        self.committing_database(name, size).await
    }

    /// A database holding `size`'s dataset for the comparison `name` alone, made fresh
    /// once per process, in the lab too: for a comparison whose lesson is the commit
    /// itself, which a rolled-back transaction would turn into a savepoint. Its writes
    /// stay, so each run puts back what the next needs.
    pub async fn committing_database(
        &self,
        name: &'static str,
        size: DatasetSize,
    ) -> Result<DatabaseConnection, AppError> {
        let mut made = self.scratch.lock().await;
        if let Some(db) = made.get(name) {
            return Ok(db.clone());
        }
        let url = crate::services::db::scratch::database(&self.database_url, name).await?;
        crate::services::db::migrate(&url).await?;
        let db = crate::services::db::connect(&url).await?;
        seed::seed(
            &db,
            size,
            Existing::Replace,
            &indicatif::ProgressBar::hidden(),
        )
        .await
        .with_context(|| format!("seeding the database of {name}"))?;
        made.insert(name, db.clone());
        Ok(db)
    }

    /// The id and slug of the newest published post: what the comparisons that act on
    /// one post act on.
    pub async fn newest_post(&self) -> Result<(i32, Slug), AppError> {
        newest_post(&self.db).await
    }

    /// The slug of the published post with the most comments: 50 shown on its page.
    pub async fn most_commented_post(&self) -> Result<Slug, AppError> {
        let slug: Option<String> = post::Entity::find()
            .select_only()
            .column(post::Column::Slug)
            .filter(post::Column::Status.eq(post::Status::Published))
            .order_by_desc(post::Column::CommentCount)
            .order_by_asc(post::Column::Id)
            .into_tuple()
            .one(&self.db)
            .await?;
        let slug = slug.ok_or_else(|| seed_first("a published post"))?;
        Slug::parse(&slug).map_err(AppError::Unprocessable)
    }

    /// The id and slug of the tag on the most published posts (read from its counter).
    pub async fn busiest_tag(&self) -> Result<(i32, Slug), AppError> {
        busiest_tag(&self.db).await
    }
}

/// A statement a page runs, and the page.
pub struct PageStatement {
    pub page: &'static str,
    pub statement: Statement,
}

/// What the lab's title search looks for: two words that follow each other in a few
/// titles of the standard dataset.
pub const TITLE_SEARCH: &str = "cache latency";

impl Workbench {
    /// Every statement the optimized post page (the newest post), tag page (the busiest
    /// tag) and list page run for their content, recorded from their loaders with their
    /// values, then the admin's title search.
    pub async fn page_statements(&self) -> Result<Vec<PageStatement>, AppError> {
        let db = &self.db;
        let ((_, post), (_, tag)) = (self.newest_post().await?, self.busiest_tag().await?);
        let first = PageWindow::new(PageNumber::FIRST);
        let mut all = Vec::new();
        let mut keep = |page, statements: Vec<Statement>| {
            all.extend(
                statements
                    .into_iter()
                    .map(|statement| PageStatement { page, statement }),
            );
        };
        let (loaded, _, run) = record_statements(post_detail::optimized::load(db, &post)).await;
        loaded?;
        keep("post page", run);
        let (loaded, _, run) =
            record_statements(tag_page::optimized::load_page(db, &tag, first)).await;
        loaded?;
        keep("tag page", run);
        let (loaded, _, run) = record_statements(post_list::optimized::load_page(db, first)).await;
        loaded?;
        keep("post list", run);
        keep(
            "title search",
            vec![title_search(db.get_database_backend())?],
        );
        Ok(all)
    }
}

/// `SELECT id FROM posts WHERE LOWER(title) LIKE '%cache latency%'`: the posts the
/// admin's "tag posts whose title matches" finds.
pub fn title_search(backend: DbBackend) -> Result<Statement, AppError> {
    let search = TitleSearch::parse(TITLE_SEARCH).map_err(AppError::BadRequest)?;
    Ok(post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(search.condition())
        .build(backend))
}

/// The id and slug of the newest published post in `db`.
pub async fn newest_post(db: &DatabaseConnection) -> Result<(i32, Slug), AppError> {
    let newest = post::Entity::find()
        .select_only()
        .columns([post::Column::Id, post::Column::Slug])
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt);
    id_and_slug(db, newest, "a published post").await
}

/// The id and slug of the tag on the most published posts in `db` (read from its
/// counter).
pub async fn busiest_tag(db: &DatabaseConnection) -> Result<(i32, Slug), AppError> {
    let busiest = tag::Entity::find()
        .select_only()
        .columns([tag::Column::Id, tag::Column::Slug])
        .order_by_desc(tag::Column::PublishedPostCount)
        .order_by_asc(tag::Column::Id);
    id_and_slug(db, busiest, "a tag").await
}

/// The first `(id, slug)` that `query` selects, or what to seed when there is none.
async fn id_and_slug<E: EntityTrait>(
    db: &DatabaseConnection,
    query: Select<E>,
    what: &str,
) -> Result<(i32, Slug), AppError> {
    let found: Option<(i32, String)> = query.into_tuple().one(db).await?;
    let (id, slug) = found.ok_or_else(|| seed_first(what))?;
    Ok((id, Slug::parse(&slug).map_err(AppError::Unprocessable)?))
}

fn seed_first(what: &str) -> AppError {
    AppError::NotFound(format!("The lab needs {what}; seed the database."))
}

/// Runs `work` in a transaction and rolls it back, whatever `work` did — also when
/// `work` fails, and when the request is dropped midway (dropping an open transaction
/// rolls it back).
pub async fn rolled_back<T>(
    db: &DatabaseConnection,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let txn = crate::services::db::begin_write(db).await?;
    let done = work(&txn).await;
    let rollback = txn.rollback().await;
    // The work's error first: SQLite rolls a transaction back itself when the lab's
    // limit stops a write in it, and the ROLLBACK after finds none to end.
    let done = done?;
    rollback?;
    Ok(done)
}
