//! Admin actions as they are usually first written: load the rows, change each one in
//! Rust, save each one.
//!
//! Cost: 1 + 2N statements for N rows — each row saved, then its tags' published-post
//! counters adjusted (`crate::services::db::counters`), in a transaction of its own (1 + N + 2 ×
//! added for tagging) — each a round trip, and a commit per row, which on PostgreSQL
//! means a WAL flush per row. If it fails halfway, half the rows are changed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, TransactionSession, TransactionTrait,
};

use super::{ArchiveCutoff, TitleSearch};
use crate::base::entities::{post, post_tag};
use crate::services::db;
use crate::services::db::counters::{self, Change};

#[tracing::instrument(level = "debug", skip_all)]
pub async fn publish_drafts(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let drafts = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Draft))
        .all(db)
        .await?;
    let mut changed = 0;
    for draft in drafts {
        let txn = db::begin_write(db).await?;
        publish(&txn, draft, now).await?;
        txn.commit().await?;
        changed += 1;
    }
    Ok(changed)
}

/// Saves `draft` as published and counts it in its tags' counters: two statements.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn publish(
    db: &impl ConnectionTrait,
    draft: post::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let id = draft.id;
    let mut post = draft.into_active_model();
    post.status = Set(post::Status::Published);
    post.published_at = Set(Some(now));
    post.updated_at = Set(now);
    post.update(db).await?;
    counters::published_changed(db, &[id], Change::Published).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn archive_published_before(
    db: &(impl ConnectionTrait + TransactionTrait),
    cutoff: ArchiveCutoff,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let old = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .filter(post::Column::PublishedAt.lt(cutoff.instant()))
        .all(db)
        .await?;
    let mut changed = 0;
    for published in old {
        let id = published.id;
        let mut post = published.into_active_model();
        post.status = Set(post::Status::Archived);
        post.updated_at = Set(now);
        let txn = db::begin_write(db).await?;
        post.update(&txn).await?;
        counters::published_changed(&txn, &[id], Change::Unpublished).await?;
        txn.commit().await?;
        changed += 1;
    }
    Ok(changed)
}

/// For each matching post: is it tagged already? If not, tag it (and count it).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn tag_matching(
    db: &(impl ConnectionTrait + TransactionTrait),
    tag_id: i32,
    search: &TitleSearch,
) -> Result<u64, DbErr> {
    let matching = post::Entity::find()
        .filter(search.condition())
        .all(db)
        .await?;
    let mut added = 0;
    for post in matching {
        let tagged = post_tag::Entity::find_by_id((post.id, tag_id))
            .one(db)
            .await?;
        if tagged.is_none() {
            let txn = db::begin_write(db).await?;
            post_tag::ActiveModel {
                post_id: Set(post.id),
                tag_id: Set(tag_id),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            counters::tag_links_added(&txn, tag_id, &[post.id]).await?;
            txn.commit().await?;
            added += 1;
        }
    }
    Ok(added)
}
