//! Read replicas: a router that sends every read to a standby, or one that pins a
//! reader to the primary for a while after it wrote. Both are rungs of one ladder —
//! the reader's journey after posting a comment — whose last rung, reading by WAL
//! position, is the next lesson (`read_your_writes.rs`).

use std::time::Duration;

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tokio::time::Instant;

use super::{Comparison, Fact, Facts, Lesson, Runs, Which};
use crate::base::entities::comment;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::db::scratch::ScratchPost;
use crate::services::db::standbys::{self, Lsn, Reader, Reads, Server};

pub static LESSON: Lesson = Lesson {
    slug: "read-replicas",
    comparisons: &[&OWN_COMMENT],
    backfire: None,
};

/// Reads the reader makes after its comment, and how far apart: the page it is sent
/// back to, then the pages it opens over the next half second — all inside the pin, and
/// short enough that a side stays well within the lab's limit (`LAB_SIDE_LIMIT_MS`).
pub const READS_AFTER: u64 = 10;
pub const READ_EVERY: Duration = Duration::from_millis(50);

/// The plain router against the pinning router.
static OWN_COMMENT: Comparison<()> = Comparison::either(
    "own-comment",
    |_, _| Box::pin(async { Ok(()) }),
    |bench, _, runs, which| {
        let rung = match which {
            Which::Naive => Rung::RoundRobin,
            Which::Optimized => Rung::Pinned,
        };
        Box::pin(side(bench, runs, rung))
    },
)
.samples(10)
.needing_a_standby();

/// How a router picks the server for a read after the reader's write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rung {
    /// Any healthy standby ([`Reads::round_robin`]).
    RoundRobin,
    /// The primary for two seconds after the write ([`Reads::pinned`]).
    Pinned,
    /// A standby that has replayed the write's log position ([`Reads::after`]).
    WalPosition,
}

impl Rung {
    async fn reader(self, reads: &Reads, written: &Written) -> Reader {
        match self {
            Rung::RoundRobin => reads.round_robin(),
            Rung::Pinned => reads.pinned(Some(written.at.into_std())),
            Rung::WalPosition => reads.after(written.position).await,
        }
    }
}

/// A write as the reader's browser remembers it: when it was answered, and where the
/// primary's log ended after it (the app's `perfblog_written` cookie).
pub struct Written {
    at: Instant,
    position: Option<Lsn>,
}

/// One side: the write and the read right after it, timed (what the redirect after a
/// comment costs); in the lab, then the reader's whole journey on a post of its own.
pub async fn side(bench: &Workbench, runs: &mut Runs, rung: Rung) -> Result<Facts, AppError> {
    let post = ScratchPost::create(&bench.db).await?;
    let timed = runs
        .time(|| async {
            let written = comment_on(bench, &post).await?;
            let reader = rung.reader(&bench.reads, &written).await;
            comments_on(&reader, &post).await
        })
        .await;
    post.remove().await?;
    timed?;
    if !runs.is_live() {
        return Ok(Facts::none());
    }
    let post = ScratchPost::create(&bench.db).await?;
    let journey = journey(bench, &post, rung).await;
    post.remove().await?;
    Ok(Facts::none().and(journey?))
}

/// The reader comments on `post`, then reads the post's comments [`READS_AFTER`]
/// times, [`READ_EVERY`] apart, each from the server `rung` picks: how many reads
/// showed the comment, and how many the primary served.
async fn journey(bench: &Workbench, post: &ScratchPost, rung: Rung) -> Result<Fact, AppError> {
    let written = comment_on(bench, post).await?;
    let (mut seen, mut primary) = (0, 0);
    for read in 0..READS_AFTER {
        tokio::time::sleep_until(written.at + READ_EVERY * read as u32).await;
        let reader = rung.reader(&bench.reads, &written).await;
        if comments_on(&reader, post).await? > 0 {
            seen += 1;
        }
        if reader.server() == Server::Primary {
            primary += 1;
        }
    }
    Ok(Fact::AfterOwnWrite {
        seen,
        primary,
        of: READS_AFTER,
    })
}

/// A comment on `post`, committed on the primary, and where the primary's log ended
/// after it: one statement more, as the app's write asks it for the cookie (on both
/// sides, so the pair differs only in how the read is routed).
async fn comment_on(bench: &Workbench, post: &ScratchPost) -> Result<Written, AppError> {
    comment::Entity::insert(comment::ActiveModel {
        post_id: Set(post.id),
        author_id: Set(post.author_id),
        body: Set("Did my comment land?".to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(&bench.db)
    .await?;
    let position = match bench.reads.has_standbys() {
        true => Some(standbys::primary_position(&bench.db).await?),
        false => None,
    };
    Ok(Written {
        at: Instant::now(),
        position,
    })
}

/// The comments on `post`, as the server `reader` picked has them.
async fn comments_on(reader: &Reader, post: &ScratchPost) -> Result<u64, AppError> {
    Ok(comment::Entity::find()
        .filter(comment::Column::PostId.eq(post.id))
        .count(reader.db())
        .await?)
}
