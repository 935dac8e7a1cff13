//! Streaming a large result: build the whole export, then send it; or send each batch
//! as it is read.

use futures_util::TryStreamExt;

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, Pattern, Place, Side};
use crate::error::AppError;
use crate::views::export::{naive, optimized};

/// Posts the lab exports per run: enough for ten batches, few enough for a quick page.
pub const LAB_POSTS: u64 = 1_000;

/// The admin's export, whose two sides this pattern compares.
pub const EXPORT: Place = Place {
    view: "export",
    path: "/admin/export.ndjson",
    folder: "src/views/export",
};

pub static PATTERN: Pattern = Pattern {
    slug: "streaming",
    title: "Streaming a large result",
    django: "`StreamingHttpResponse` over `QuerySet.iterator(chunk_size=100)` instead of building the whole response",
    rails: Some("`find_each` with a streamed body (`ActionController::Live`)"),
    problem: "An export of every post built in memory before it is sent holds every row and the whole ~55 MB file at once — per request, so eight exports hold eight copies — and the client waits for the last post before it sees the first.",
    setup: "Both sides export the first 1,000 posts by id, every column, with each post's author email and tag slugs, to the same bytes. The naive side is the export as it is first written: it also asks for each post's author and tags one at a time (the N + 1 the eager-loading pattern removes), so its statement count and time carry both costs; its memory is this pattern's.",
    why: "Batches of 100 posts found by keyset (`WHERE id > last ORDER BY id LIMIT 100`), each written to the response as soon as it is read: the server holds one batch, not the result, so memory is flat in the export's size, the first bytes leave after one batch, and the next batch is read only when the client has taken the last one — a slow client slows the export instead of filling memory; one that leaves stops it.",
    when_not: "When the result is small (a page of 20 gains nothing), or when the whole result must be checked before the first byte goes out: once a streamed response has started, an error midway can only cut it short (the client sees a truncated transfer, not a status code).",
    shows_on: &[EXPORT],
    naive: Side {
        summary: "every post loaded, then each one's author and tags, the whole file built, then sent",
        code: &[code!("src/views/export/naive.rs", "export")],
    },
    optimized: Side {
        summary: "100 posts per keyset batch, three statements each, written to the body as it is read",
        code: &[
            code!("src/views/export/optimized.rs", "export"),
            code!("src/views/export/optimized.rs", "batch"),
            code!("src/views/batch.rs", "author_emails_of"),
            code!("src/views/batch.rs", "tags_of"),
        ],
    },
    tests: &["tests/api/export.rs", "tests/api/sitemap.rs"],
    benches: &[Comparison {
        what: "streaming: export of N posts, to the last byte",
        bench: "streaming",
        naive: "buffered",
        optimized: "streamed",
        headline: Some("10000"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    Ok(Outcome {
        naive: measure(|| async {
            let file = naive::export(db, Some(LAB_POSTS)).await?;
            let held = file.len() as u64;
            Ok(Fetched {
                rows: Some(lines_in(&file)),
                bytes: None,
                held: Some(held),
                ..Fetched::default()
            })
        })
        .await?,
        optimized: measure(|| async {
            let mut lines = 0;
            let mut held = 0;
            let mut batches = std::pin::pin!(optimized::export(db.clone(), Some(LAB_POSTS)));
            while let Some(batch) = batches.try_next().await? {
                lines += lines_in(&batch);
                held = held.max(batch.len() as u64);
            }
            Ok(Fetched {
                rows: Some(lines),
                bytes: None,
                held: Some(held),
                ..Fetched::default()
            })
        })
        .await?,
    })
}

/// Lines in an export: one post each.
fn lines_in(export: &[u8]) -> u64 {
    export.iter().filter(|&&byte| byte == b'\n').count() as u64
}
