//! A comment shows the name its writer typed. A commenter was a user found by email
//! alone: typing someone's address posted the comment under *their* stored name, with
//! no proof of owning it. A user is now a name and an address together — unique as a
//! pair — so the same address under another name is another commenter, shown by the
//! name typed; the address itself is never shown. The first user with an address is
//! that address's account (what an import names an author by).
//!
//! PostgreSQL drops the address's own unique constraint. SQLite cannot drop a column's
//! UNIQUE, so the table is rebuilt the way SQLite documents ("Making Other Kinds Of
//! Table Schema Changes"): foreign keys off, copy to a new table, swap, keys back on,
//! all on one connection in one statement list.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{pk_auto, string_len, timestamp_with_time_zone};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A commenter (or an author) is a name at an address.
const INDEX: &str = "idx_users_email_name";

/// The columns, as the first migration made them (without the address's UNIQUE).
#[derive(DeriveIden)]
enum Users {
    Id,
    Name,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UsersRebuilt {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                let rebuilt = Table::create()
                    .table(UsersRebuilt::Table)
                    .col(pk_auto(Users::Id))
                    .col(string_len(Users::Name, 100))
                    .col(string_len(Users::Email, 254))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_string(SqliteQueryBuilder);
                db.execute_unprepared(&format!(
                    "PRAGMA foreign_keys = OFF;
                     BEGIN;
                     {rebuilt};
                     INSERT INTO users_rebuilt (id, name, email, created_at)
                         SELECT id, name, email, created_at FROM users;
                     DROP TABLE users;
                     ALTER TABLE users_rebuilt RENAME TO users;
                     CREATE UNIQUE INDEX {INDEX} ON users (email, name);
                     COMMIT;
                     PRAGMA foreign_keys = ON;"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared("ALTER TABLE users DROP CONSTRAINT users_email_key")
                    .await?;
                db.execute_unprepared(&format!(
                    "CREATE UNIQUE INDEX {INDEX} ON users (email, name)"
                ))
                .await?;
            }
        }
        Ok(())
    }
}
