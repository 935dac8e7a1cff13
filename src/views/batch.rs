//! Batch loaders: what a page shows about *several* posts, fetched in one query per
//! kind of thing — the eager-loading side of every view. Each takes the ids the page
//! has and answers with a map; an id that has nothing (a post without comments) is
//! simply absent.

use std::collections::HashMap;

use sea_orm::sea_query::{Asterisk, Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};

use crate::base::entities::{comment, post_tag, tag, user};
use crate::views::site::TagLink;

/// `SELECT id, name FROM users WHERE id IN (…)`: the authors' names, by user id.
pub async fn authors_of(
    db: &impl ConnectionTrait,
    user_ids: &[i32],
) -> Result<HashMap<i32, String>, DbErr> {
    let rows: Vec<(i32, String)> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Name])
        .filter(user::Column::Id.is_in(user_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// `SELECT id, email FROM users WHERE id IN (…)`: the authors' emails, by user id (what
/// the export names an author by).
pub async fn author_emails_of(
    db: &impl ConnectionTrait,
    user_ids: &[i32],
) -> Result<HashMap<i32, String>, DbErr> {
    let rows: Vec<(i32, String)> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Email])
        .filter(user::Column::Id.is_in(user_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The tags of all `post_ids` in one query, each post's tags sorted by name.
pub async fn tags_of(
    db: &impl ConnectionTrait,
    post_ids: &[i32],
) -> Result<HashMap<i32, Vec<TagLink>>, DbErr> {
    let rows: Vec<(i32, String, String)> = post_tag::Entity::find()
        .select_only()
        .column(post_tag::Column::PostId)
        .column(tag::Column::Name)
        .column(tag::Column::Slug)
        .join(JoinType::InnerJoin, post_tag::Relation::Tag.def())
        .filter(post_tag::Column::PostId.is_in(post_ids.iter().copied()))
        .order_by_asc(tag::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_post: HashMap<i32, Vec<TagLink>> = HashMap::new();
    for (post_id, name, slug) in rows {
        by_post
            .entry(post_id)
            .or_default()
            .push(TagLink { name, slug });
    }
    Ok(by_post)
}

/// `SELECT post_id, COUNT(*) … WHERE post_id IN (…) GROUP BY post_id`: one query, an
/// index range scan per post. Counting before a page's `LIMIT` instead would group
/// every published post's comments to keep twenty of the counts.
pub async fn comment_counts_of(
    db: &impl ConnectionTrait,
    post_ids: &[i32],
) -> Result<HashMap<i32, u64>, DbErr> {
    let rows: Vec<(i32, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::PostId)
        // COUNT(*), not COUNT(id): the (post_id, created_at) index answers it alone
        // (an index-only scan), where COUNT(id) must visit every comment's row.
        .column_as(
            Expr::from(Func::count(Expr::col(Asterisk))),
            "comment_count",
        )
        .filter(comment::Column::PostId.is_in(post_ids.iter().copied()))
        .group_by(comment::Column::PostId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(post_id, count)| (post_id, u64::try_from(count).unwrap_or(0)))
        .collect())
}
