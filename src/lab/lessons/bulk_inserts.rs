//! Bulk inserts: importing posts with one `INSERT` per row, or multi-row `INSERT`s.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::entities::{post, tag, user};
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::seed::DatasetSize;
use crate::views::admin::import::{self, ImportRow, ImportStatus, NewPost, naive, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "bulk-inserts",
    comparisons: &[&IMPORT],
};

/// `size` posts (100 unless asked) by the first user with the first two tags, validated
/// once — the same work for both sides — and where they go.
struct Import {
    db: DatabaseConnection,
    posts: Vec<NewPost>,
}

/// What imported posts' slugs start with: a bench deletes them before each run.
const SLUG_PREFIX: &str = "imported-";

static IMPORT: Comparison<Import> = Comparison::either(
    "import",
    |bench, size| Box::pin(import(bench, size)),
    |bench, input, runs, which| Box::pin(insert(bench, input, runs, which)),
)
.samples(10);

/// Inserts the posts with `which` side's `insert`, timing each run.
async fn insert(
    bench: &Workbench,
    import: &Import,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let reset = || delete_imported(bench, &import.db);
    let insert = |()| {
        bench.write(&import.db, async move |db| match which {
            Which::Naive => Ok(naive::insert(db, &import.posts, Utc::now()).await?),
            Which::Optimized => Ok(optimized::insert(db, &import.posts, Utc::now()).await?),
        })
    };
    Ok(Facts::rows(runs.time_with(reset, insert).await? as usize))
}

async fn import(bench: &Workbench, size: Option<u64>) -> Result<Import, AppError> {
    let no_posts = DatasetSize {
        posts: 0,
        ..DatasetSize::STANDARD
    };
    let db = bench.database_of_its_own("bulk_inserts", no_posts).await?;
    delete_imported(bench, &db).await?;
    let email: Option<String> = user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .one(&db)
        .await?;
    let email = email.ok_or_else(|| AppError::NotFound("Seed the database first.".to_owned()))?;
    let tags: Vec<String> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Slug)
        .order_by_asc(tag::Column::Id)
        .limit(2)
        .into_tuple()
        .all(&db)
        .await?;
    let rows = (0..size.unwrap_or(100)).map(|i| ImportRow {
        title: format!("Imported post {i}"),
        slug: Some(format!("{SLUG_PREFIX}{i}")),
        excerpt: None,
        body: "A paragraph of imported text. ".repeat(100),
        author_email: email.clone(),
        tags: tags.clone(),
        status: ImportStatus::Published,
        published_at: None,
    });
    let posts = import::validate(&db, rows.collect(), Utc::now()).await?;
    Ok(Import { db, posts })
}

/// For a bench, whose writes stay: the last run's posts deleted, and on PostgreSQL
/// vacuumed as autovacuum would between bursts (dead index entries of the same slugs
/// would otherwise pile up and slow every later run).
async fn delete_imported(bench: &Workbench, db: &DatabaseConnection) -> Result<(), AppError> {
    if !bench.keeps_writes() {
        return Ok(());
    }
    post::Entity::delete_many()
        .filter(post::Column::Slug.starts_with(SLUG_PREFIX))
        .exec(db)
        .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM posts, post_tags").await?;
    }
    Ok(())
}
