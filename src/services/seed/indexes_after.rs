//! Loading into an empty database, the secondary indexes are built after the rows
//! rather than kept up to date row by row — what PostgreSQL's manual advises for a
//! bulk load ("Populating a Database": remove indexes, load, create them again).
//!
//! Kept up to date, every row inserts one entry into each index of its table, at a
//! place that is random for most of them (a comment's author, a tag's link): each
//! insert finds its page, often not in the cache. Built afterwards, an index is made
//! in one pass over its table — a B-tree from one sort of the keys, written page after
//! page.
//!
//! Only the indexes that back no constraint are set aside (those of primary keys and
//! unique constraints stay, and the rows are checked as they arrive), and only inside
//! the seed's
//! transaction: a failed seed rolls the drops back with everything else. On
//! PostgreSQL `DROP INDEX` locks its table until the commit, which is why the seed
//! sets indexes aside only when the database held no data: `serve` seeds before it
//! answers; a server already running on the empty database waits for the commit.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// The indexes set aside: each one's name and the statement that creates it.
pub struct SetAside {
    indexes: Vec<(String, String)>,
}

impl SetAside {
    /// Drops every index of `tables` that backs no constraint, inside `txn`,
    /// remembering how to create it again.
    pub async fn drop(txn: &impl ConnectionTrait, tables: &[&str]) -> Result<SetAside, DbErr> {
        let backend = txn.get_database_backend();
        let names = tables
            .iter()
            .map(|table| format!("'{table}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = match backend {
            DbBackend::Postgres => format!(
                "SELECT indexname AS name, indexdef AS definition FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN ({names}) \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint \
                     WHERE conindid = format('%I.%I', schemaname, indexname)::regclass)"
            ),
            // Indexes SQLite made for a constraint have no `sql`.
            _ => format!(
                "SELECT name, sql AS definition FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name IN ({names}) AND sql IS NOT NULL"
            ),
        };
        let mut indexes = Vec::new();
        for row in txn
            .query_all_raw(Statement::from_string(backend, sql))
            .await?
        {
            indexes.push((row.try_get("", "name")?, row.try_get("", "definition")?));
        }
        for (name, _) in &indexes {
            txn.execute_unprepared(&format!("DROP INDEX \"{name}\""))
                .await?;
        }
        Ok(SetAside { indexes })
    }

    /// Creates the indexes again, each from the rows now in its table.
    pub async fn rebuild(self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        for (_, definition) in &self.indexes {
            txn.execute_unprepared(definition).await?;
        }
        Ok(())
    }
}
