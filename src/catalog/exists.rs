//! Exists vs count: answer "is there any …?" by counting every match, or by asking for
//! one.

use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder, QuerySelect};

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, Pattern, Place, Side};
use crate::db::exists::{by_counting, by_finding_one, published_tagged};
use crate::entities::tag;
use crate::error::AppError;

/// Start-up: `perfblog serve` seeds an empty database, `perfblog seed` refuses to seed
/// over data — both ask whether there are any users or posts first.
pub const START_UP: Place = Place {
    view: "start-up: is the database empty?",
    path: "perfblog serve, perfblog seed",
    folder: "src/seed",
};

pub static PATTERN: Pattern = Pattern {
    slug: "exists",
    title: "Exists vs count",
    django: "`.exists()` instead of `.count() > 0` or `if queryset:`",
    rails: Some("`exists?` instead of `count > 0`"),
    problem: "`COUNT(*) > 0` answers a yes-or-no question by counting every match: the busier the table or the tag, the longer the answer takes, though the first match settled it.",
    setup: "Both sides ask whether the busiest tag (the one on the most published posts) has any published post — the same join and filters. The naive side counts them and compares with zero in Rust; the optimized side asks `SELECT EXISTS (SELECT 1 … LIMIT 1)`.",
    why: "`EXISTS` with `LIMIT 1` lets the database stop at the first match, and tells PostgreSQL's planner to choose the plan that finds one row soonest: one index entry and one post visited instead of every one of the tag's posts. The answer does not grow with the data.",
    when_not: "When you need the number anyway (the pager's total, the outbox depth on `/metrics`), count once and use it. And mind what \"exists\" sends: SeaORM 2.0's `exists()` runs `SELECT 1 FROM …` without a limit, and sqlx's PostgreSQL driver reads all the rows a statement produces even when asked for one — on the busiest tag it is no faster than counting there (the bench's `busiest-tag-seaorm-exists`).",
    shows_on: &[START_UP],
    naive: Side {
        summary: "`SELECT COUNT(*) FROM (…)`, then `> 0` in Rust",
        code: &[
            code!("src/db/exists.rs", "by_counting"),
            code!("src/db/exists.rs", "published_tagged"),
        ],
    },
    optimized: Side {
        summary: "`SELECT EXISTS (SELECT 1 FROM … LIMIT 1)`",
        code: &[
            code!("src/db/exists.rs", "by_finding_one"),
            code!("src/db/exists.rs", "published_tagged"),
            code!("src/seed/mod.rs", "has_data"),
        ],
    },
    tests: &["tests/api/exists.rs"],
    benches: &[
        Comparison {
            what: "exists: does the busiest tag have a published post",
            bench: "exists",
            naive: "busiest-tag-count",
            optimized: "busiest-tag-exists",
            headline: None,
        },
        Comparison {
            what: "exists: are there any posts (the start-up check)",
            bench: "exists",
            naive: "any-post-count",
            optimized: "any-post-exists",
            headline: None,
        },
    ],
    experiment: |bench| Box::pin(run(bench)),
};

/// The tag on the most published posts (read from its counter).
pub async fn busiest_tag(db: &DatabaseConnection) -> Result<i32, AppError> {
    tag::Entity::find()
        .select_only()
        .column(tag::Column::Id)
        .order_by_desc(tag::Column::PublishedPostCount)
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("The lab needs a tag; seed the database.".to_owned()))
}

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let tag_id = busiest_tag(db).await?;
    Ok(Outcome {
        naive: measure(|| async {
            let any = by_counting(db, published_tagged(tag_id)).await?;
            Ok(Fetched::rows(usize::from(any)))
        })
        .await?,
        optimized: measure(|| async {
            let any = by_finding_one(db, published_tagged(tag_id)).await?;
            Ok(Fetched::rows(usize::from(any)))
        })
        .await?,
    })
}
