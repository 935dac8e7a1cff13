//! "Is there any …?", asked two ways: count every match and compare with zero, or ask
//! the database for one match and stop there.
//!
//! The app asks it before seeding (`perfblog serve` seeds an empty database,
//! `perfblog seed` refuses to seed over data); the lab asks it of the busiest tag's
//! published posts, where the difference shows.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait, RelationTrait, Select,
};

use crate::base::entities::{post, post_tag};

/// Naive: `SELECT COUNT(*) FROM (…)`, then `> 0` in Rust.
///
/// Cost: the database finds and counts every matching row to answer a yes-or-no
/// question — for a tag on 800 posts, 800 index entries and 800 post rows
/// visited, when the first one settled it. The answer is the same; the work grows
/// with the data.
pub async fn by_counting<E, C>(db: &C, query: Select<E>) -> Result<bool, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    Ok(query.count(db).await? > 0)
}

/// Optimized: `SELECT EXISTS (SELECT 1 FROM … LIMIT 1)`.
///
/// What changed from [`by_counting`]: the database stops at the first match. The
/// `LIMIT 1` is written out because it matters twice: it tells PostgreSQL's planner
/// to pick the plan that finds one row soonest, and it keeps a plain `SELECT 1 FROM …`
/// from producing every match. (SeaORM's own `exists()` sends `SELECT 1 FROM …`
/// without a limit, and sqlx's PostgreSQL driver reads a statement's every row even
/// when asked for one: as slow as counting, the `exists` bench shows.)
pub async fn by_finding_one<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: Select<E>,
) -> Result<bool, DbErr> {
    let mut one = query.into_query();
    one.clear_selects();
    one.expr(Expr::cust("1"));
    one.clear_order_by();
    one.reset_offset();
    one.limit(1);
    let exists = Query::select()
        .expr_as(Expr::exists(one), "found")
        .to_owned();
    let row = db.query_one(&exists).await?;
    row.map_or(Ok(false), |row| row.try_get("", "found"))
}

/// The published posts tagged `tag_id`: the lab's question. "Published" is asked of
/// the link's copy of its post's status (see `post_tag`), so the tag page's index
/// holds the answer's links together: the first one found is a match. Asked of
/// `posts.status`, the database walks the tag's links in that index's order —
/// archived and drafts first — visiting a post for each until one is published.
pub fn published_tagged(tag_id: i32) -> Select<post::Entity> {
    post::Entity::find()
        .join(JoinType::InnerJoin, post_tag::Relation::Post.def().rev())
        .filter(post_tag::Column::TagId.eq(tag_id))
        .filter(post_tag::Column::Status.eq(post::Status::Published))
}
