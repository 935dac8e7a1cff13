//! Bulk inserts: one `INSERT` per row, or multi-row `INSERT`s.

use chrono::Utc;
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};

use super::measure::{Fetched, Outcome, Workbench, measure, rolled_back};
use super::{Comparison, Pattern, Place, Side};
use crate::entities::{tag, user};
use crate::error::AppError;
use crate::views::import::{self, ImportRow, ImportStatus, naive, optimized};

/// Posts the lab imports on each side.
const POSTS: usize = 100;

pub static PATTERN: Pattern = Pattern {
    slug: "bulk-inserts",
    title: "Bulk inserts",
    django: "`bulk_create(posts, batch_size=1000)` instead of `create()` per row",
    rails: Some("`insert_all`"),
    problem: "Importing posts with one INSERT per post and one per tag sends a statement — a round trip — per row.",
    setup: "Both sides insert the same 100 validated posts (two tags each) inside a transaction the lab rolls back; each side's own transaction becomes a savepoint in it.",
    why: "A multi-row INSERT … VALUES (…), (…), … carries a thousand rows per statement: the round trips go, and nothing comes back but the ids.",
    when_not: "For a handful of rows, or when each row's insert depends on the one before (its generated id used by the next), batching saves little or cannot apply.",
    shows_on: &[Place {
        view: "import",
        path: "/admin/import",
        folder: "src/views/import",
    }],
    naive: Side {
        summary: "one `INSERT … RETURNING` per post and per tag",
        code: &[
            code!("src/views/import/naive.rs", "insert"),
            code!("src/counters.rs", "add_to_tags"),
        ],
    },
    optimized: Side {
        summary: "multi-row `INSERT`s of 1,000 rows (also how `perfblog seed` writes)",
        code: &[
            code!("src/views/import/optimized.rs", "insert"),
            code!("src/bulk_insert.rs", "insert_batched"),
            code!("src/counters.rs", "add_to_tags"),
        ],
    },
    tests: &["tests/api/import.rs"],
    benches: &[Comparison {
        what: "bulk insert: import (posts)",
        bench: "bulk_insert",
        naive: "import-naive",
        optimized: "import-optimized",
        headline: Some("1000"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let now = Utc::now();
    let posts = import::validate(db, rows(bench).await?, now).await?;
    let posts = &posts;
    Ok(Outcome {
        naive: measure(|| async {
            let inserted =
                rolled_back(db, async |txn| Ok(naive::insert(txn, posts, now).await?)).await?;
            Ok(Fetched::rows(inserted as usize))
        })
        .await?,
        optimized: measure(|| async {
            let inserted =
                rolled_back(
                    db,
                    async |txn| Ok(optimized::insert(txn, posts, now).await?),
                )
                .await?;
            Ok(Fetched::rows(inserted as usize))
        })
        .await?,
    })
}

/// [`POSTS`] rows by the first user, with the first two tags.
async fn rows(bench: &Workbench) -> Result<Vec<ImportRow>, AppError> {
    let needs_data =
        || AppError::NotFound("The lab needs users and tags; seed the database.".to_owned());
    let email: String = user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .one(&bench.db)
        .await?
        .ok_or_else(needs_data)?;
    let tags: Vec<String> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Slug)
        .order_by_asc(tag::Column::Id)
        .limit(2)
        .into_tuple()
        .all(&bench.db)
        .await?;
    Ok((0..POSTS)
        .map(|i| ImportRow {
            title: format!("Lab import {i}"),
            slug: Some(format!("lab-import-{i}")),
            excerpt: None,
            body: "A paragraph the lab imports and rolls back. ".repeat(60),
            author_email: email.clone(),
            tags: tags.clone(),
            status: ImportStatus::Published,
            published_at: None,
        })
        .collect())
}
