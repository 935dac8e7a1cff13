//! Indexes you can see: the statements pages run, with the indexes that serve them and
//! without, each with its plan.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement,
};

use super::measure::{Fetched, Measured, Outcome, Workbench, measure, newest_post, rolled_back};
use super::{Comparison, POST_LIST, POST_PAGE, Pattern, Side, TAG_PAGE};
use crate::db::explain::{Plan, explain};
use crate::entities::{post, tag};
use crate::error::AppError;
use crate::instrument::record_statements;
use crate::views::admin::TitleSearch;
use crate::views::pagination::{PageNumber, PageWindow};
use crate::views::slug::Slug;
use crate::views::{post_detail, post_list, tag_page};

/// What the lab's title search looks for: two words that follow each other in a few
/// titles of the standard dataset.
pub const TITLE_SEARCH: &str = "cache latency";

/// The indexes the naive side drops, each with what it serves.
pub const INDEXES: [(&str, &str); 4] = [
    (
        "idx_comments_post_id_created_at",
        "a post's latest comments, and comment counts per post",
    ),
    (
        "idx_posts_status_published_at_id",
        "the list's newest published posts, in order",
    ),
    ("idx_post_tags_tag_id_post_id", "a tag's posts"),
    (
        migrations::m20261126_000003_title_trigram_index::INDEX,
        "the admin's title search (PostgreSQL, `pg_trgm`)",
    ),
];

pub static PATTERN: Pattern = Pattern {
    slug: "indexes",
    title: "Indexes you can see",
    django: "`Meta.indexes` (`models.Index(fields=['status', '-published_at', '-id'])`), `db_index=True`, and `GinIndex(OpClass(Lower('title'), name='gin_trgm_ops'))` for the title search",
    rails: Some("`add_index` in a migration (`using: :gin, opclass: :gin_trgm_ops`)"),
    problem: "Without an index on what a query filters or sorts by, the database reads the whole table: a post's 50 latest comments mean reading every comment of every post, and the list's 20 newest posts mean sorting every published one.",
    setup: "Both sides run the statements the optimized post page, tag page and list page run (recorded from their loaders, with their values) and the admin's title search (`LOWER(title) LIKE '%cache latency%'`), each side in a transaction that is rolled back. The naive side's transaction first drops the four indexes that serve them — `DROP INDEX` is transactional on both backends; on PostgreSQL it also locks the three tables until the rollback, so pages wait for this page that long. Each side shows the plan of every statement whose plan differs: `EXPLAIN ANALYZE` on PostgreSQL (each step with the rows it produced and those it read and threw away, and the time), `EXPLAIN QUERY PLAN` on SQLite (the steps only: `SCAN` reads a whole table, `SEARCH` seeks an index).",
    why: "An index is a sorted copy of a few columns pointing at each row: `(post_id, created_at DESC)` lets the database seek to one post's comments and read them newest first, stopping after 50; `(status, published_at DESC, id DESC)` hands the list its 21 newest posts in order, with no sort. A title search for `'%…%'` cannot use a B-tree at all — there is no prefix to seek to — so on PostgreSQL a trigram GIN index (`pg_trgm`) serves it; SQLite has no such index and scans on both sides.",
    when_not: "Every index is paid on every write (the row and each of its indexes change) and in space; a small table reads faster whole, and the planner rightly ignores an index for a condition most rows meet.",
    shows_on: &[POST_PAGE, TAG_PAGE, POST_LIST],
    naive: Side {
        summary: "the four indexes dropped: whole tables read, then sorted",
        code: &[
            code!("src/catalog/indexes.rs", "drop_indexes"),
            code!("src/catalog/indexes.rs", "side"),
            code!("src/db/explain.rs", "explain"),
        ],
    },
    optimized: Side {
        summary: "the schema's indexes: seeks, and rows read in the order the page wants",
        code: &[
            code!("migrations/src/m20261125_000001_blog_tables.rs", "indexes"),
            code!(
                "migrations/src/m20261126_000003_title_trigram_index.rs",
                "up"
            ),
            code!("src/catalog/indexes.rs", "side"),
            code!("src/db/explain.rs", "explain"),
        ],
    },
    tests: &["tests/api/indexes.rs"],
    benches: &[
        Comparison {
            what: "indexes: the post page's statements",
            bench: "indexes",
            naive: "post-page-without",
            optimized: "post-page-with",
            headline: None,
        },
        Comparison {
            what: "indexes: the list page's statements",
            bench: "indexes",
            naive: "list-page-without",
            optimized: "list-page-with",
            headline: None,
        },
        Comparison {
            what: "indexes: the admin's title search, `LIKE '%…%'`",
            bench: "indexes",
            naive: "title-search-without",
            optimized: "title-search-with",
            headline: None,
        },
    ],
    experiment: |bench| Box::pin(run(bench)),
};

/// Drops the indexes in [`INDEXES`] inside `txn`: they are back when it rolls back.
pub async fn drop_indexes(txn: &DatabaseTransaction) -> Result<(), AppError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        // DROP INDEX waits for every reader of the table, and every reader then waits
        // for it: give up after a second rather than queue the site behind the lab.
        txn.execute_unprepared("SET LOCAL lock_timeout = '1s'")
            .await?;
    }
    for (index, _) in INDEXES {
        txn.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
            .await?;
    }
    Ok(())
}

/// A statement a page runs, and the page.
pub struct PageStatement {
    pub page: &'static str,
    pub statement: Statement,
}

/// Every statement the optimized post page, tag page (the first tag) and list page run
/// for their content, recorded from their loaders, then the admin's title search.
pub async fn page_statements(db: &DatabaseConnection) -> Result<Vec<PageStatement>, AppError> {
    let (post_slug, tag_slug) = samples(db).await?;
    let first = PageWindow::new(PageNumber::FIRST);
    let mut all = Vec::new();
    let mut keep = |page, statements: Vec<Statement>| {
        all.extend(
            statements
                .into_iter()
                .map(|statement| PageStatement { page, statement }),
        );
    };
    let (loaded, _, run) = record_statements(post_detail::optimized::load(db, &post_slug)).await;
    loaded?;
    keep("post page", run);
    let (loaded, _, run) =
        record_statements(tag_page::optimized::load_page(db, &tag_slug, first)).await;
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

/// The newest published post's slug, and the first tag's.
async fn samples(db: &DatabaseConnection) -> Result<(Slug, Slug), AppError> {
    let (_, post_slug) = newest_post(db).await?;
    let tag_slug: String = tag::Entity::find()
        .select_only()
        .column(tag::Column::Slug)
        .order_by_asc(tag::Column::Id)
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("The lab needs a tag; seed the database.".to_owned()))?;
    let parse = |slug: &str| Slug::parse(slug).map_err(AppError::BadRequest);
    Ok((parse(&post_slug)?, parse(&tag_slug)?))
}

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let statements = page_statements(&bench.db).await?;
    let (mut naive, naive_plans) = rolled_back(&bench.db, async |txn| {
        drop_indexes(txn).await?;
        side(txn, &statements).await
    })
    .await?;
    let (mut optimized, optimized_plans) =
        rolled_back(&bench.db, async |txn| side(txn, &statements).await).await?;
    let changed: Vec<usize> = (0..statements.len())
        .filter(|&i| steps(&naive_plans[i]) != steps(&optimized_plans[i]))
        .collect();
    let shown = |plans: &[Plan]| {
        let text: Vec<String> = changed
            .iter()
            .map(|&i| format!("-- {}\n{}", statements[i].page, plans[i].text()))
            .collect();
        if text.is_empty() {
            "No plan differs.".to_owned()
        } else {
            text.join("\n\n")
        }
    };
    naive.plan = Some(shown(&naive_plans));
    optimized.plan = Some(shown(&optimized_plans));
    Ok(Outcome { naive, optimized })
}

/// Runs every statement (the measured part), then asks for each one's plan.
async fn side(
    txn: &DatabaseTransaction,
    statements: &[PageStatement],
) -> Result<(Measured, Vec<Plan>), AppError> {
    let measured = measure(|| async {
        let mut rows = 0;
        for page_statement in statements {
            rows += txn
                .query_all_raw(page_statement.statement.clone())
                .await?
                .len();
        }
        Ok(Fetched::rows(rows))
    })
    .await?;
    let mut plans = Vec::with_capacity(statements.len());
    for page_statement in statements {
        plans.push(explain(txn, &page_statement.statement).await?);
    }
    Ok((measured, plans))
}

/// A plan's steps without its timings, which differ on every run.
fn steps(plan: &Plan) -> Vec<&str> {
    plan.lines
        .iter()
        .map(String::as_str)
        .filter(|line| !line.starts_with("Planning") && !line.starts_with("Execution"))
        .collect()
}
