//! Multi-row `INSERT`s in batches: the helper the seeder and the optimized import share.
//!
//! One `INSERT … VALUES (…), (…), …` per [`INSERT_BATCH_ROWS`] rows instead of one
//! statement — and one round trip — per row.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait};

/// Rows per `INSERT` statement. The widest row (a post) binds 11 values, so 1,000 rows
/// stay well under SQLite's 32,766 and PostgreSQL's 65,535 bind-parameter limits.
pub const INSERT_BATCH_ROWS: usize = 1000;

/// Inserts `models` with one multi-row `INSERT` per [`INSERT_BATCH_ROWS`].
pub async fn insert_batched<A>(db: &impl ConnectionTrait, models: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let batch: Vec<A> = models.by_ref().take(INSERT_BATCH_ROWS).collect();
        <A::Entity as EntityTrait>::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
