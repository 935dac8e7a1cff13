//! The indexes the pages' statements stand on, and dropping them where it cannot last:
//! inside a transaction that will be rolled back, so the lab and the benches can show
//! a statement without its index.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr};

/// The indexes that serve the pages' statements, each with what it serves.
pub const PAGE_INDEXES: [(&str, &str); 4] = [
    (
        "idx_comments_post_id_created_at",
        "a post's latest comments, and comment counts per post",
    ),
    (
        "idx_posts_status_published_at_id",
        "the list's newest published posts, in order",
    ),
    (
        migrations::m20261206_000005_tag_page_index::INDEX,
        "a tag's published posts, newest first",
    ),
    (
        migrations::m20261126_000003_title_trigram_index::INDEX,
        "the admin's title search (PostgreSQL, `pg_trgm`)",
    ),
];

/// Drops [`PAGE_INDEXES`] inside `txn`: they are back when it rolls back.
pub async fn drop_page_indexes(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        // DROP INDEX waits for every reader of the table, and every reader then waits
        // for it: give up after a second rather than queue the site behind the lab.
        txn.execute_unprepared("SET LOCAL lock_timeout = '1s'")
            .await?;
    }
    for (index, _) in PAGE_INDEXES {
        txn.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
            .await?;
    }
    Ok(())
}
