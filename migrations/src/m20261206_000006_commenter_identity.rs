//! A comment shows the name its writer typed. A commenter was a user found by email
//! alone: typing someone's address posted the comment under *their* stored name, with
//! no proof of owning it. A user is now a name and an address together — unique as a
//! pair — so the same address under another name is another commenter, shown by the
//! name typed; the address itself is never shown. The first user with an address is
//! that address's account (what an import names an author by).
//!
//! PostgreSQL swaps the address's unique constraint for the pair's. SQLite cannot drop
//! a column's UNIQUE, so the table is rebuilt the way SQLite documents ("Making Other
//! Kinds Of Table Schema Changes"): foreign keys off, copy to a new table, swap, check
//! the keys, keys back on — all on one connection, in one statement list. Foreign keys
//! off matters: with them on, dropping `users` deletes its rows first, and the
//! `ON DELETE CASCADE` keys would take every post and comment with them. SQLite ignores
//! `PRAGMA foreign_keys` inside a transaction, so the migration runs outside one, and the
//! list stops before the drop if the keys are still on (and before the commit if any
//! row's key is broken): a failed migration stops start-up, and the connection's open
//! transaction is rolled back when it closes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{pk_auto, string_len, timestamp_with_time_zone};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A commenter (or an author) is a name at an address.
const UNIQUE: &str = "users_email_name_key";

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

/// Fails the statement it is used in when its value is not 0: SQLite's statement list
/// has no `IF`, but a failed `CHECK` stops it.
const GUARD: &str =
    "CREATE TEMP TABLE commenter_identity_guard (must_be_zero INTEGER CHECK (must_be_zero = 0))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// Never inside a transaction: SQLite's `PRAGMA foreign_keys` must take effect.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

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
                    .index(
                        Index::create()
                            .name(UNIQUE)
                            .unique()
                            .col(Users::Email)
                            .col(Users::Name),
                    )
                    .to_string(SqliteQueryBuilder);
                db.execute_unprepared(&format!(
                    "PRAGMA foreign_keys = OFF;
                     {GUARD};
                     INSERT INTO commenter_identity_guard SELECT foreign_keys FROM pragma_foreign_keys;
                     BEGIN;
                     {rebuilt};
                     INSERT INTO users_rebuilt (id, name, email, created_at)
                         SELECT id, name, email, created_at FROM users;
                     DROP TABLE users;
                     ALTER TABLE users_rebuilt RENAME TO users;
                     INSERT INTO commenter_identity_guard SELECT count(*) FROM pragma_foreign_key_check;
                     COMMIT;
                     DROP TABLE commenter_identity_guard;
                     PRAGMA foreign_keys = ON;"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared("ALTER TABLE users DROP CONSTRAINT users_email_key")
                    .await?;
                db.execute_unprepared(&format!(
                    "ALTER TABLE users ADD CONSTRAINT {UNIQUE} UNIQUE (email, name)"
                ))
                .await?;
            }
        }
        Ok(())
    }
}
