//! The sidebar counted by the database: two `GROUP BY` queries that return exactly
//! the rows the sidebar shows.
//!
//! What changed from `naive.rs`: no post body and no comment leaves the database;
//! it counts from its indexes and sends back fifty counts and five titles. Still, both
//! queries visit every published post and every comment, on every page view — which
//! is what `cached.rs` stops.

use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, Func, IntoIden, Order, Query, SelectStatement,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType};

use super::{Fragment, POPULAR_POSTS, Sidebar, render};
use crate::base::entities::{comment, post, post_tag, tag};
use crate::base::error::AppError;

/// The sidebar counted by the database and rendered, on every call: what a page does
/// without the fragment cache, and what the cache runs on a miss.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn fragment(db: &impl ConnectionTrait, root: &str) -> Result<Fragment, AppError> {
    render(&load(db).await?, root)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(db: &impl ConnectionTrait) -> Result<Sidebar, DbErr> {
    // Each count groups the link rows by their key first, and only then joins the
    // few rows it shows: joining first would read a post row (body included) for each
    // comment before grouping them.
    Ok(Sidebar::from_counts(
        named_counts(db, &tag_cloud()).await?,
        named_counts(db, &most_discussed()).await?,
    ))
}

/// Every tag on a published post, with how many published posts it is on.
fn tag_cloud() -> SelectStatement {
    // SELECT tags.name, tags.slug, counted.n FROM tags
    //   JOIN (SELECT tag_id, COUNT(*) AS n FROM post_tags
    //          WHERE post_id IN (SELECT id FROM posts WHERE status = 'published')
    //          GROUP BY tag_id) AS counted ON counted.tag_id = tags.id
    //  ORDER BY tags.name
    let per_tag = published_per(
        post_tag::Entity,
        post_tag::Column::TagId,
        post_tag::Column::PostId,
    );
    let tags = (
        tag::Entity,
        tag::Column::Name,
        tag::Column::Slug,
        tag::Column::Id,
    );
    named(tags, per_tag, post_tag::Column::TagId)
        .order_by((tag::Entity, tag::Column::Name), Order::Asc)
        .to_owned()
}

/// The [`POPULAR_POSTS`] published posts with the most comments, ties by id.
fn most_discussed() -> SelectStatement {
    // SELECT posts.title, posts.slug, counted.n FROM posts
    //   JOIN (SELECT post_id, COUNT(*) AS n FROM comments
    //          WHERE post_id IN (SELECT id FROM posts WHERE status = 'published')
    //          GROUP BY post_id ORDER BY n DESC, post_id LIMIT 5) AS counted
    //     ON counted.post_id = posts.id
    //  ORDER BY counted.n DESC, posts.id
    let per_post = published_per(
        comment::Entity,
        comment::Column::PostId,
        comment::Column::PostId,
    )
    .order_by(COUNTED, Order::Desc)
    .order_by(comment::Column::PostId, Order::Asc)
    .limit(POPULAR_POSTS)
    .to_owned();
    let posts = (
        post::Entity,
        post::Column::Title,
        post::Column::Slug,
        post::Column::Id,
    );
    named(posts, per_post, comment::Column::PostId)
        .order_by((GROUPED, COUNTED), Order::Desc)
        .order_by((post::Entity, post::Column::Id), Order::Asc)
        .to_owned()
}

/// `SELECT {name}, {slug}, counted.n FROM {table} JOIN ({counted}) AS counted ON
/// counted.{key} = {table}.{id}`: the counts, with what the sidebar shows of each row.
fn named<E, C, K>(
    (table, name, slug, id): (E, C, C, C),
    counted: SelectStatement,
    key: K,
) -> SelectStatement
where
    E: EntityTrait,
    C: ColumnTrait,
    K: IntoIden,
{
    Query::select()
        .columns([(table, name), (table, slug)])
        .column((GROUPED, COUNTED))
        .from(table)
        .join_subquery(
            JoinType::InnerJoin,
            counted,
            GROUPED,
            Expr::col((GROUPED, key)).equals((table, id)),
        )
        .to_owned()
}

/// The alias of a grouped subquery, and of the count it makes.
const GROUPED: &str = "counted";
const COUNTED: &str = "n";

/// `SELECT {key}, COUNT(*) AS n FROM {links} WHERE {post} IN (published ids) GROUP BY
/// {key}`: the rows of `links` that belong to published posts, counted per `key`.
fn published_per<E, C>(links: E, key: C, post: C) -> SelectStatement
where
    E: EntityTrait,
    C: ColumnTrait,
{
    Query::select()
        .column(key)
        .expr_as(Func::count(Expr::col(Asterisk)), COUNTED)
        .from(links)
        .and_where(post.in_subquery(published_ids()))
        .group_by_col(key)
        .to_owned()
}

/// `SELECT id FROM posts WHERE status = 'published'`: read from the index on status.
fn published_ids() -> SelectStatement {
    Query::select()
        .column(post::Column::Id)
        .from(post::Entity)
        .and_where(post::Column::Status.eq(post::Status::Published))
        .to_owned()
}

/// Rows of a name, a slug and a count.
async fn named_counts(
    db: &impl ConnectionTrait,
    query: &SelectStatement,
) -> Result<Vec<(String, String, i64)>, DbErr> {
    db.query_all(query)
        .await?
        .iter()
        .map(|row| row.try_get_many_by_index())
        .collect()
}
