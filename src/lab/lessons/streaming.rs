//! Streaming a large result: build the whole export, then send it; or send each batch
//! as it is read.

use futures_util::TryStreamExt;

use super::{Comparison, Fact, Facts, Lesson};
use crate::base::error::AppError;
use crate::views::admin::export::{naive, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "streaming",
    comparisons: &[&EXPORT, &FIRST_BYTE],
    backfire: None,
};

/// The export of the first `size` posts by id (all of them unless asked), to its last
/// byte; what a side held at once is what memory it needs.
static EXPORT: Comparison<Option<u64>> = Comparison::new(
    "export",
    |_, size| Box::pin(async move { Ok(size) }),
    |bench, posts, runs| {
        Box::pin(async move {
            // Both sides count their lines as they go, so the count costs each the same.
            let (lines, held) = runs
                .time(|| async {
                    let file = naive::export(&bench.db, *posts).await?;
                    Ok::<_, AppError>((lines_in(&file), file.len() as u64))
                })
                .await?;
            Ok(Facts(vec![Fact::Rows(lines), Fact::BytesHeld(held)]))
        })
    },
    |bench, posts, runs| {
        Box::pin(async move {
            let (lines, held) = runs
                .time(|| async {
                    let (mut lines, mut held) = (0, 0);
                    let mut batches = std::pin::pin!(optimized::export(bench.db.clone(), *posts));
                    while let Some(batch) = batches.try_next().await? {
                        lines += lines_in(&batch);
                        held = held.max(batch.len() as u64);
                    }
                    Ok::<_, AppError>((lines, held))
                })
                .await?;
            Ok(Facts(vec![Fact::Rows(lines), Fact::BytesHeld(held)]))
        })
    },
)
.samples(10);

/// The same export until its first byte is ready to send: the naive side has nothing
/// to send until it has built everything; the streamed one sends its first batch.
static FIRST_BYTE: Comparison<Option<u64>> = Comparison::new(
    "first-byte",
    |_, size| Box::pin(async move { Ok(size) }),
    |bench, posts, runs| {
        Box::pin(async move {
            let file = runs.time(|| naive::export(&bench.db, *posts)).await?;
            Ok(Facts(vec![Fact::BytesHeld(file.len() as u64)]))
        })
    },
    |bench, posts, runs| {
        Box::pin(async move {
            let first = runs
                .time(|| async {
                    let mut batches = std::pin::pin!(optimized::export(bench.db.clone(), *posts));
                    batches.try_next().await.map(Option::unwrap_or_default)
                })
                .await?;
            Ok(Facts(vec![Fact::BytesHeld(first.len() as u64)]))
        })
    },
)
.samples(10);

/// Lines in an export: one post each.
fn lines_in(export: &[u8]) -> u64 {
    export.iter().filter(|&&byte| byte == b'\n').count() as u64
}
