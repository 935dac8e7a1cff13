//! Counters kept beside the rows they count, so the sidebar reads them instead of
//! counting: `posts.comment_count` (every comment of the post) and
//! `tags.published_post_count` (published posts with the tag). The app keeps them in the
//! same transaction as every write that changes them; `perfblog recount` recomputes
//! them. Filled here from the rows already there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What `perfblog recount` also runs: every counter from a fresh `COUNT(*)`.
const BACKFILL: [&str; 2] = [
    "UPDATE posts SET comment_count = \
     (SELECT COUNT(*) FROM comments WHERE comments.post_id = posts.id)",
    "UPDATE tags SET published_post_count = \
     (SELECT COUNT(*) FROM post_tags JOIN posts ON posts.id = post_tags.post_id \
      WHERE post_tags.tag_id = tags.id AND posts.status = 'published')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE posts ADD COLUMN comment_count INTEGER NOT NULL DEFAULT 0",
        )
        .await?;
        db.execute_unprepared(
            "ALTER TABLE tags ADD COLUMN published_post_count INTEGER NOT NULL DEFAULT 0",
        )
        .await?;
        for statement in BACKFILL {
            db.execute_unprepared(statement).await?;
        }
        // "Most discussed": published posts by comment count, most first, ties by id —
        // the sidebar reads the first five entries and stops.
        db.execute_unprepared(
            "CREATE INDEX idx_posts_status_comment_count_id \
             ON posts (status, comment_count DESC, id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_posts_status_comment_count_id")
            .await?;
        db.execute_unprepared("ALTER TABLE tags DROP COLUMN published_post_count")
            .await?;
        db.execute_unprepared("ALTER TABLE posts DROP COLUMN comment_count")
            .await?;
        Ok(())
    }
}
