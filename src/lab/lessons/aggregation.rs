//! Aggregation in the database: count in Rust over loaded rows, or `COUNT … GROUP BY`.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use super::{Backfire, Comparison, Facts, Lesson, Line, median_of, time};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::views::sidebar::naive_load::{self, NotHeld};
use crate::views::sidebar::{aggregated, naive};

pub static LESSON: Lesson = Lesson {
    slug: "aggregation",
    comparisons: &[&SIDEBAR],
    backfire: Some(&TWO_COUNTS_ONE_JOIN),
};

/// The sidebar's figures — the tag cloud, the five most-discussed posts — uncached and
/// not rendered. The naive side runs within the naive pages' memory budget, which it
/// shares with them: over it, it does not run, and says what it would have loaded.
static SIDEBAR: Comparison<()> = Comparison::new(
    "sidebar",
    |_, _| Box::pin(async { Ok(()) }),
    |bench, _, runs| {
        Box::pin(async move {
            let load = match naive_load::hold_share(&bench.naive_memory, &bench.db).await {
                Ok((_share, load)) => {
                    runs.time(|| naive::load(&bench.db)).await?;
                    load
                }
                Err(NotHeld::OverBudget(why)) => return Ok(Facts::not_run(why)),
                Err(NotHeld::Busy) => return Ok(Facts::not_run(BUDGET_BUSY.to_owned())),
                Err(NotHeld::Estimate(error)) => return Err(error.into()),
            };
            Ok(Facts::rows(load.rows() as usize))
        })
    },
    |bench, _, runs| {
        Box::pin(async move {
            let shown = runs.time(|| aggregated::load(&bench.db)).await?;
            Ok(Facts::rows(shown.tags.len() + shown.popular.len()))
        })
    },
)
.samples(10);

/// Why the naive side did not run when naive pages held the budget.
const BUDGET_BUSY: &str = "Naive pages held this server's memory for naive work \
    (NAIVE_MEMORY_BUDGET) for longer than the lab waits; reload in a moment.";

/// Two counts from one grouped JOIN — Django's `annotate(Count('comments'),
/// Count('tags'))`, Rails' `left_joins(:comments, :tags).group(:id)` — against a
/// grouped query per count, for the list's 20 newest posts.
static TWO_COUNTS_ONE_JOIN: Backfire = Backfire {
    tries: "counting comments and tags in one grouped JOIN",
    run: |bench| Box::pin(two_counts_one_join(bench)),
};

/// Post id → (comments, tags).
type Counts = HashMap<i32, (i64, i64)>;

async fn two_counts_one_join(bench: &Workbench) -> Result<Vec<Line>, AppError> {
    let db = &bench.db;
    let ids = newest_published(db).await?;
    let list = ids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let joins = format!(
        "FROM posts p LEFT JOIN comments c ON c.post_id = p.id \
         LEFT JOIN post_tags pt ON pt.post_id = p.id WHERE p.id IN ({list})"
    );
    let grouped = |distinct: &str| {
        format!(
            "SELECT p.id, COUNT({distinct}c.id), COUNT({distinct}pt.tag_id) {joins} GROUP BY p.id"
        )
    };
    let joined_rows = query(db, &format!("SELECT COUNT(*) {joins}"))
        .await?
        .first()
        .map_or(Ok(0), |row| row.try_get_by_index::<i64>(0))?;
    let (plain, distinct) = (grouped(""), grouped("DISTINCT "));
    let (joined, one_join) = median_of(|| counts(db, &plain)).await?;
    let (_, distinct) = median_of(|| counts(db, &distinct)).await?;
    let (truth, separate) = median_of(|| counted_apart(db, &ids, &list)).await?;
    let wrong = ids.iter().filter(|id| joined.get(id) != truth.get(id));
    let example = wrong.clone().find_map(|id| {
        let ((shown, _), (real, _)) = (joined.get(id)?, truth.get(id)?);
        (shown != real).then(|| format!(", e.g. {real} comments counted as {shown}"))
    });
    let thousands = |n: i64| catalog::report::thousands(n.unsigned_abs());
    Ok(vec![
        Line::new(
            "rows the JOIN makes before grouping",
            format!(
                "{}, from {} comment and tag rows",
                thousands(joined_rows),
                thousands(truth.values().map(|(comments, tags)| comments + tags).sum())
            ),
        ),
        Line::new(
            format!("posts whose counts come out wrong, of {}", ids.len()),
            format!("{}{}", wrong.count(), example.unwrap_or_default()),
        ),
        Line::new("one grouped JOIN, `COUNT` (wrong counts)", time(one_join)),
        Line::new(
            format!(
                "the same with `COUNT(DISTINCT …)`: right counts, still {} joined rows",
                thousands(joined_rows)
            ),
            time(distinct),
        ),
        Line::new(
            "one grouped query per count (two statements, right counts)",
            time(separate),
        ),
    ])
}

/// The list's 20 newest published posts.
async fn newest_published(db: &DatabaseConnection) -> Result<Vec<i32>, AppError> {
    Ok(post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .limit(20)
        .into_tuple()
        .all(db)
        .await?)
}

/// Each count from a grouped query of its own: the counts the page should show.
async fn counted_apart(
    db: &DatabaseConnection,
    ids: &[i32],
    list: &str,
) -> Result<Counts, AppError> {
    let per_post = |table: &str| {
        format!("SELECT post_id, COUNT(*) FROM {table} WHERE post_id IN ({list}) GROUP BY post_id")
    };
    let comments = count_per_post(db, &per_post("comments")).await?;
    let tags = count_per_post(db, &per_post("post_tags")).await?;
    let of = |counts: &HashMap<i32, i64>, id: &i32| counts.get(id).copied().unwrap_or(0);
    Ok(ids
        .iter()
        .map(|id| (*id, (of(&comments, id), of(&tags, id))))
        .collect())
}

/// `sql`'s rows — a post id and two counts each — as id → (first, second).
async fn counts(db: &DatabaseConnection, sql: &str) -> Result<Counts, AppError> {
    let mut counts = Counts::new();
    for row in query(db, sql).await? {
        let (id, first, second): (i32, i64, i64) = row.try_get_many_by_index()?;
        counts.insert(id, (first, second));
    }
    Ok(counts)
}

/// `sql`'s rows — a post id and a count each — as id → count.
async fn count_per_post(db: &DatabaseConnection, sql: &str) -> Result<HashMap<i32, i64>, AppError> {
    let mut counts = HashMap::new();
    for row in query(db, sql).await? {
        let (id, count): (i32, i64) = row.try_get_many_by_index()?;
        counts.insert(id, count);
    }
    Ok(counts)
}

async fn query(db: &DatabaseConnection, sql: &str) -> Result<Vec<sea_orm::QueryResult>, AppError> {
    let statement = Statement::from_string(db.get_database_backend(), sql.to_owned());
    Ok(db.query_all_raw(statement).await?)
}
