//! The admin's title search (`LOWER(title) LIKE '%text%'`) cannot use a B-tree: a
//! pattern that starts with `%` has no prefix to seek to, so every title is read. On
//! PostgreSQL a trigram index can serve it — `pg_trgm` splits text into three-letter
//! pieces and the GIN index finds the titles that hold all of the pattern's pieces.
//!
//! Created only where it can be: on PostgreSQL, when the `pg_trgm` extension is
//! available and this role may create it (it is a trusted extension from PostgreSQL 13,
//! so a database's owner may). Elsewhere the search stays a scan, and works the same.
//! SQLite has no such index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const INDEX: &str = "idx_posts_title_trgm";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // Asked first, not tried: a failed statement would abort the migration's
        // transaction.
        let can_create = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm' \
                 AND (installed_version IS NOT NULL OR has_database_privilege(current_database(), 'CREATE'))",
            ))
            .await?
            .is_some();
        if !can_create {
            // The search still works, by scanning; the indexes lab shows which it does.
            return Ok(());
        }
        db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX IF NOT EXISTS {INDEX} ON posts USING gin (lower(title) gin_trgm_ops)"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {INDEX}"))
                .await?;
        }
        Ok(())
    }
}
