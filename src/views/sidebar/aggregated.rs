//! The sidebar counted by the database: two `GROUP BY` queries that return exactly
//! the rows the sidebar shows.
//!
//! What changed from `naive.rs`: no post body and no comment leaves the database;
//! it reads its indexes and sends back fifty counts and five titles. Still, both
//! queries visit every published post and every comment, on every page view — which
//! is what `cached.rs` stops.

use sea_orm::sea_query::{Asterisk, Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};

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
    // SELECT tags.name, tags.slug, COUNT(*) FROM post_tags
    //   JOIN tags ON … JOIN posts ON … WHERE posts.status = 'published'
    //  GROUP BY tags.id, tags.name, tags.slug ORDER BY tags.name
    let tags: Vec<(String, String, i64)> = post_tag::Entity::find()
        .select_only()
        .columns([tag::Column::Name, tag::Column::Slug])
        .column_as(Expr::from(Func::count(Expr::col(Asterisk))), "posts")
        .join(JoinType::InnerJoin, post_tag::Relation::Tag.def())
        .join(JoinType::InnerJoin, post_tag::Relation::Post.def())
        .filter(post::Column::Status.eq(post::Status::Published))
        .group_by(tag::Column::Id)
        .group_by(tag::Column::Name)
        .group_by(tag::Column::Slug)
        .order_by_asc(tag::Column::Name)
        .into_tuple()
        .all(db)
        .await?;

    // SELECT posts.title, posts.slug, COUNT(*) AS comments FROM comments
    //   JOIN posts ON … WHERE posts.status = 'published'
    //  GROUP BY posts.id, posts.title, posts.slug
    //  ORDER BY comments DESC, posts.id LIMIT 5
    let popular: Vec<(String, String, i64)> = comment::Entity::find()
        .select_only()
        .columns([post::Column::Title, post::Column::Slug])
        .column_as(Expr::from(Func::count(Expr::col(Asterisk))), "comments")
        .join(JoinType::InnerJoin, comment::Relation::Post.def())
        .filter(post::Column::Status.eq(post::Status::Published))
        .group_by(post::Column::Id)
        .group_by(post::Column::Title)
        .group_by(post::Column::Slug)
        .order_by_desc(Expr::from(Func::count(Expr::col(Asterisk))))
        .order_by_asc(post::Column::Id)
        .limit(POPULAR_POSTS)
        .into_tuple()
        .all(db)
        .await?;

    Ok(Sidebar::from_counts(tags, popular))
}
