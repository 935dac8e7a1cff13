//! A tag page asks for "this tag's published posts, newest first, 21 rows". The tag is
//! in `post_tags`, the status and the date in `posts`: no one index holds all three,
//! so the database either read every link of the tag and sorted all of its published
//! posts (SQLite) or walked the published posts newest first, asking each whether it
//! had the tag, until it had 21 (PostgreSQL) — a cost that grows with the data.
//!
//! Here each link carries a copy of its post's `status` and `published_at`, and the
//! index `(tag_id, status, published_at DESC, post_id DESC)` hands a tag's page over
//! in order: 21 index entries, 21 posts by primary key, no sort. It takes the place of
//! `(tag_id, post_id)`, whose every use ("this tag's links") it serves as well.
//!
//! The database keeps the copy, with triggers, so no write path has to remember it: a
//! link inserted or changed by anyone — the admin, the import, the seed, the lab, a
//! hand-typed statement — takes its post's values, and a post whose status or date
//! changes writes them to its links. An ORM's callbacks or signals would be skipped by
//! exactly the bulk statements the bulk-updates lesson recommends (`UPDATE … WHERE`,
//! `INSERT … SELECT`). The price: the rule is in the schema, not in code a reader of
//! the write paths sees, and every link written costs a lookup of its post. The
//! comment and published-post counters are kept by the app instead, in the write
//! paths, because seeing them there is their lesson (`src/services/db/counters.rs`,
//! docs/patterns/denormalized-counters.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const INDEX: &str = "idx_post_tags_tag_id_status_published_at_post_id";
/// The index this one replaces.
const REPLACED: &str = "idx_post_tags_tag_id_post_id";

/// PostgreSQL: a link takes its post's values before it is written, whatever the
/// statement set them to (a link whose post does not exist is left for the foreign
/// key to refuse); a post whose status or date changed writes them to its links.
const POSTGRES_TRIGGERS: [&str; 4] = [
    "CREATE FUNCTION post_tags_copy_post() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
         post_status posts.status%TYPE;
         post_published_at posts.published_at%TYPE;
     BEGIN
         SELECT posts.status, posts.published_at INTO post_status, post_published_at
         FROM posts WHERE posts.id = NEW.post_id;
         IF FOUND THEN
             NEW.status := post_status;
             NEW.published_at := post_published_at;
         END IF;
         RETURN NEW;
     END $$",
    "CREATE TRIGGER post_tags_copy_post BEFORE INSERT OR UPDATE ON post_tags
     FOR EACH ROW EXECUTE FUNCTION post_tags_copy_post()",
    "CREATE FUNCTION posts_copy_to_post_tags() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         UPDATE post_tags SET status = NEW.status, published_at = NEW.published_at
         WHERE post_id = NEW.id;
         RETURN NULL;
     END $$",
    "CREATE TRIGGER posts_copy_to_post_tags AFTER UPDATE OF status, published_at ON posts
     FOR EACH ROW
     WHEN (OLD.status IS DISTINCT FROM NEW.status
           OR OLD.published_at IS DISTINCT FROM NEW.published_at)
     EXECUTE FUNCTION posts_copy_to_post_tags()",
];

/// SQLite cannot change a row in a `BEFORE` trigger: a link written with values that
/// are not its post's (a writer that left them out) is corrected just after it is
/// inserted or updated, and the correction, found in step, changes nothing more. A
/// link whose post does not exist is left for the foreign key to refuse.
fn sqlite_triggers() -> [String; 3] {
    let copy_post = |name: &str, event: &str| {
        format!(
            "CREATE TRIGGER {name} AFTER {event} ON post_tags
             FOR EACH ROW WHEN NOT EXISTS (
                 SELECT 1 FROM posts WHERE posts.id = NEW.post_id
                 AND posts.status = NEW.status AND posts.published_at IS NEW.published_at)
             BEGIN
                 UPDATE post_tags SET
                     status = COALESCE((SELECT status FROM posts WHERE id = NEW.post_id), status),
                     published_at = (SELECT published_at FROM posts WHERE id = NEW.post_id)
                 WHERE post_id = NEW.post_id AND tag_id = NEW.tag_id;
             END"
        )
    };
    [
        copy_post("post_tags_copy_post", "INSERT"),
        copy_post("post_tags_copy_post_again", "UPDATE"),
        "CREATE TRIGGER posts_copy_to_post_tags AFTER UPDATE OF status, published_at ON posts
         FOR EACH ROW
         WHEN OLD.status IS NOT NEW.status OR OLD.published_at IS NOT NEW.published_at
         BEGIN
             UPDATE post_tags SET status = NEW.status, published_at = NEW.published_at
             WHERE post_id = NEW.id;
         END"
        .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let timestamp = match db.get_database_backend() {
            DbBackend::Postgres => "TIMESTAMPTZ",
            _ => "TEXT",
        };
        // 'draft' until the copy is made: a link is never listed by mistake.
        db.execute_unprepared(
            "ALTER TABLE post_tags ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'draft'",
        )
        .await?;
        db.execute_unprepared(&format!(
            "ALTER TABLE post_tags ADD COLUMN published_at {timestamp} NULL"
        ))
        .await?;
        let triggers = match db.get_database_backend() {
            DbBackend::Postgres => POSTGRES_TRIGGERS.map(str::to_owned).to_vec(),
            _ => sqlite_triggers().to_vec(),
        };
        for statement in &triggers {
            db.execute_unprepared(statement).await?;
        }
        // After the triggers: a post changed meanwhile is copied by them.
        db.execute_unprepared(
            "UPDATE post_tags SET status = posts.status, published_at = posts.published_at \
             FROM posts WHERE posts.id = post_tags.post_id",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON post_tags (tag_id, status, published_at DESC, post_id DESC)"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {REPLACED}"))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX {REPLACED} ON post_tags (tag_id, post_id)"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {INDEX}"))
            .await?;
        let drops: &[&str] = match db.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER posts_copy_to_post_tags ON posts",
                "DROP TRIGGER post_tags_copy_post ON post_tags",
                "DROP FUNCTION posts_copy_to_post_tags()",
                "DROP FUNCTION post_tags_copy_post()",
            ],
            _ => &[
                "DROP TRIGGER posts_copy_to_post_tags",
                "DROP TRIGGER post_tags_copy_post_again",
                "DROP TRIGGER post_tags_copy_post",
            ],
        };
        for statement in drops {
            db.execute_unprepared(statement).await?;
        }
        db.execute_unprepared("ALTER TABLE post_tags DROP COLUMN published_at")
            .await?;
        db.execute_unprepared("ALTER TABLE post_tags DROP COLUMN status")
            .await?;
        Ok(())
    }
}
