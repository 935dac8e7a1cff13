//! perfblog's schema, as code: the same migrations run on SQLite and PostgreSQL.
//!
//! Entities (in the app crate) describe rows; these files describe tables and
//! indexes. Every index here exists because a page filters, joins or sorts by it;
//! the comment on each says which.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_blog_tables;
mod m20261125_000002_email_outbox;
pub mod m20261126_000003_title_trigram_index;
mod m20261127_000004_denormalized_counters;
pub mod m20261206_000005_tag_page_index;
mod m20261206_000006_commenter_identity;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_blog_tables::Migration),
            Box::new(m20261125_000002_email_outbox::Migration),
            Box::new(m20261126_000003_title_trigram_index::Migration),
            Box::new(m20261127_000004_denormalized_counters::Migration),
            Box::new(m20261206_000005_tag_page_index::Migration),
            Box::new(m20261206_000006_commenter_identity::Migration),
        ]
    }
}
