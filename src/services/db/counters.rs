//! Denormalized counters: `posts.comment_count` and `tags.published_post_count`, kept
//! in the same transaction as every write that changes what they count, so reading
//! them is as good as counting.
//!
//! Every write path calls one of these, inside its transaction: a comment
//! ([`comment_added`]), a post published or archived ([`published_changed`]), tag links
//! added ([`tag_links_added`], [`add_to_tags`]). Each adds to the counter — `SET n = n +
//! …` — rather than writing a fresh count: an increment is exact under concurrent
//! writers (each waits for the row's lock and adds to what the last one committed),
//! where a recount inside a transaction would miss what another commits meanwhile. The
//! bulk paths adjust every counter they touch in one statement.
//!
//! The cost is that every write path must remember to: [`recount`] (`perfblog
//! recount`) is the safety net, recomputing every counter in one statement each and
//! reporting how many had drifted.
//!
//! Ids are written into the SQL as integers (they are `i32`s from the database, never
//! text from a request); the lists are chunked so no statement grows without bound.

use std::fmt::Write;

use sea_orm::{ConnectionTrait, DbErr, Statement};

/// Ids per statement in the set-based adjustments.
const IDS_PER_STATEMENT: usize = 1_000;

/// Whether posts became published or stopped being published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Published,
    Unpublished,
}

async fn run(db: &impl ConnectionTrait, sql: String) -> Result<u64, DbErr> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    Ok(db.execute_raw(statement).await?.rows_affected())
}

fn id_list(ids: &[i32]) -> String {
    let mut list = String::with_capacity(ids.len() * 6);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        let _ = write!(list, "{id}");
    }
    list
}

/// A comment was added to `post_id`.
pub async fn comment_added(db: &impl ConnectionTrait, post_id: i32) -> Result<(), DbErr> {
    run(
        db,
        format!("UPDATE posts SET comment_count = comment_count + 1 WHERE id = {post_id}"),
    )
    .await?;
    Ok(())
}

/// `post_ids` were all published, or all stopped being published: their tags' counts
/// go up or down by how many of them each tag has — one statement per 1,000 posts,
/// `UPDATE tags … FROM (SELECT tag_id, COUNT(*) … GROUP BY tag_id)`: the posts' links
/// are read once (by the primary key's `post_id` prefix) and grouped, where a
/// correlated `COUNT` per tag read each tag's links again (measured in
/// `docs/measurement-log.md`, "Bulk writes on a second machine").
pub async fn published_changed(
    db: &impl ConnectionTrait,
    post_ids: &[i32],
    change: Change,
) -> Result<(), DbErr> {
    let sign = match change {
        Change::Published => '+',
        Change::Unpublished => '-',
    };
    for chunk in post_ids.chunks(IDS_PER_STATEMENT) {
        let ids = id_list(chunk);
        run(
            db,
            format!(
                "UPDATE tags SET published_post_count = published_post_count {sign} linked.n \
                 FROM (SELECT tag_id, COUNT(*) AS n FROM post_tags \
                       WHERE post_id IN ({ids}) GROUP BY tag_id) AS linked \
                 WHERE tags.id = linked.tag_id"
            ),
        )
        .await?;
    }
    Ok(())
}

/// `tag_id` was linked to `post_ids` (none of which had it): the tag's count goes up
/// by how many of them are published.
pub async fn tag_links_added(
    db: &impl ConnectionTrait,
    tag_id: i32,
    post_ids: &[i32],
) -> Result<(), DbErr> {
    for chunk in post_ids.chunks(IDS_PER_STATEMENT) {
        run(
            db,
            format!(
                "UPDATE tags SET published_post_count = published_post_count + \
                 (SELECT COUNT(*) FROM posts WHERE posts.status = 'published' \
                  AND posts.id IN ({})) WHERE id = {tag_id}",
                id_list(chunk)
            ),
        )
        .await?;
    }
    Ok(())
}

/// Adds `n` to each tag's count, for `(tag_id, n)` pairs, in one statement (a `CASE`
/// over the tags): how an import, which knows what it inserted, keeps them.
pub async fn add_to_tags(db: &impl ConnectionTrait, per_tag: &[(i32, u64)]) -> Result<(), DbErr> {
    if per_tag.is_empty() {
        return Ok(());
    }
    let mut cases = String::new();
    for (tag_id, n) in per_tag {
        let _ = write!(cases, " WHEN {tag_id} THEN {n}");
    }
    let ids: Vec<i32> = per_tag.iter().map(|(tag_id, _)| *tag_id).collect();
    run(
        db,
        format!(
            "UPDATE tags SET published_post_count = published_post_count + \
             CASE id{cases} ELSE 0 END WHERE id IN ({})",
            id_list(&ids)
        ),
    )
    .await?;
    Ok(())
}

/// Rows whose counter differed from a fresh count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    pub posts: u64,
    pub tags: u64,
}

const FRESH_COMMENT_COUNT: &str =
    "(SELECT COUNT(*) FROM comments WHERE comments.post_id = posts.id)";
const FRESH_PUBLISHED_POST_COUNT: &str = "(SELECT COUNT(*) FROM post_tags \
     JOIN posts ON posts.id = post_tags.post_id \
     WHERE post_tags.tag_id = tags.id AND posts.status = 'published')";

/// Recomputes every counter, one statement per counter, changing only the rows that
/// had drifted, and says how many those were.
pub async fn recount(db: &impl ConnectionTrait) -> Result<Drift, DbErr> {
    let posts = run(
        db,
        format!(
            "UPDATE posts SET comment_count = {FRESH_COMMENT_COUNT} \
             WHERE comment_count <> {FRESH_COMMENT_COUNT}"
        ),
    )
    .await?;
    let tags = run(
        db,
        format!(
            "UPDATE tags SET published_post_count = {FRESH_PUBLISHED_POST_COUNT} \
             WHERE published_post_count <> {FRESH_PUBLISHED_POST_COUNT}"
        ),
    )
    .await?;
    Ok(Drift { posts, tags })
}

/// Sets each tag's published posts from `counts` (the tag with id `i + 1` has
/// `counts[i]`), for a writer that counted them as it wrote the rows — the seeder — a
/// thousand tags a statement (`CASE id WHEN …`).
pub async fn set_published_post_counts(
    db: &impl ConnectionTrait,
    counts: &[i32],
) -> Result<(), DbErr> {
    for (chunk, counts) in counts.chunks(IDS_PER_STATEMENT).enumerate() {
        let first = chunk * IDS_PER_STATEMENT + 1;
        let mut cases = String::with_capacity(counts.len() * 16);
        for (offset, count) in counts.iter().enumerate() {
            let _ = write!(cases, " WHEN {} THEN {count}", first + offset);
        }
        run(
            db,
            format!(
                "UPDATE tags SET published_post_count = CASE id{cases} ELSE published_post_count END \
                 WHERE id BETWEEN {first} AND {}",
                first + counts.len() - 1
            ),
        )
        .await?;
    }
    Ok(())
}

/// How many rows' counters differ from a fresh count, changing nothing.
pub async fn drift(db: &impl ConnectionTrait) -> Result<Drift, DbErr> {
    let count = async |sql: String| -> Result<u64, DbErr> {
        let statement = Statement::from_string(db.get_database_backend(), sql);
        let row = db.query_one_raw(statement).await?;
        let n: i64 = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(Drift {
        posts: count(format!(
            "SELECT COUNT(*) FROM posts WHERE comment_count <> {FRESH_COMMENT_COUNT}"
        ))
        .await?,
        tags: count(format!(
            "SELECT COUNT(*) FROM tags WHERE published_post_count <> {FRESH_PUBLISHED_POST_COUNT}"
        ))
        .await?,
    })
}
