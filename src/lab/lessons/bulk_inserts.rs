//! Bulk inserts: importing posts with one `INSERT` per row, or multi-row `INSERT`s.

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::lab::fixtures::{delete_imported, posts_to_import};
use crate::lab::workbench::Workbench;
use crate::services::seed::DatasetSize;
use crate::views::admin::import::{self, NewPost};

pub static LESSON: Lesson = Lesson {
    slug: "bulk-inserts",
    comparisons: &[&IMPORT],
    backfire: None,
};

/// `size` posts (100 unless asked) by the first user with the first two tags, validated
/// once — the same work for both sides — and where they go.
struct Import {
    db: DatabaseConnection,
    posts: Vec<NewPost>,
}

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
    let reset = || async move {
        match bench.keeps_writes() {
            true => delete_imported(&import.db).await,
            false => Ok(()),
        }
    };
    let insert = |()| {
        bench.write(&import.db, async move |db| match which {
            Which::Naive => {
                Ok(import::insert(db, Variant::Naive, &import.posts, Utc::now()).await?)
            }
            Which::Optimized => {
                Ok(import::insert(db, Variant::Optimized, &import.posts, Utc::now()).await?)
            }
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
    if bench.keeps_writes() {
        delete_imported(&db).await?;
    }
    let posts = posts_to_import(&db, size.unwrap_or(100)).await?;
    Ok(Import { db, posts })
}
