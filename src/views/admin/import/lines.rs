//! An NDJSON body read as it arrives, a batch of lines at a time: memory holds one
//! batch and the line being received, whatever the body's size.

use axum::body::{Body, BodyDataStream, Bytes};
use bytes::BytesMut;
use futures_util::StreamExt;

use crate::base::error::AppError;
use crate::services::db::bulk_insert::INSERT_BATCH_ROWS;

/// A batch is cut at this many bytes of lines too: a thousand rows of the longest body
/// the import takes would be hundreds of megabytes.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The longest line taken: a post of the longest body the import takes
/// (`MAX_BODY_CHARS`, up to 4 bytes each) and its other fields fit.
const MAX_LINE_BYTES: usize = 1024 * 1024;

pub struct Lines {
    body: BodyDataStream,
    /// Received and not yet handed out: at most one unfinished line, once the
    /// complete lines before it are taken.
    pending: BytesMut,
    /// How much of `pending` holds no newline.
    scanned: usize,
    received: u64,
    max_bytes: u64,
    ended: bool,
}

impl Lines {
    /// `body`, refused with a 413 once more than `max_bytes` have arrived.
    pub fn new(body: Body, max_bytes: u64) -> Lines {
        Lines {
            body: body.into_data_stream(),
            pending: BytesMut::new(),
            scanned: 0,
            received: 0,
            max_bytes,
            ended: false,
        }
    }

    /// The next non-blank lines, at most [`INSERT_BATCH_ROWS`] of them or
    /// [`BATCH_BYTES`]; `None` once the body has ended.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Bytes>>, AppError> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        loop {
            while let Some(line) = self.complete_line() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                bytes += line.len();
                batch.push(line);
                if batch.len() == INSERT_BATCH_ROWS || bytes >= BATCH_BYTES {
                    return Ok(Some(batch));
                }
            }
            if self.ended {
                let last = self.pending.split().freeze();
                self.scanned = 0;
                if !last.iter().all(u8::is_ascii_whitespace) {
                    batch.push(last);
                }
                return Ok((!batch.is_empty()).then_some(batch));
            }
            if self.pending.len() > MAX_LINE_BYTES {
                return Err(AppError::PayloadTooLarge(format!(
                    "A line of the import is longer than {} MB: one post a line, as the export writes them.",
                    MAX_LINE_BYTES / (1024 * 1024)
                )));
            }
            self.receive().await?;
        }
    }

    /// The first complete line of `pending`, its newline left off.
    fn complete_line(&mut self) -> Option<Bytes> {
        let newline = self.pending[self.scanned..]
            .iter()
            .position(|byte| *byte == b'\n');
        let Some(at) = newline else {
            self.scanned = self.pending.len();
            return None;
        };
        let end = self.scanned + at;
        let mut line = self.pending.split_to(end + 1);
        line.truncate(end);
        self.scanned = 0;
        Some(line.freeze())
    }

    /// The body's next chunk into `pending`, or its end.
    async fn receive(&mut self) -> Result<(), AppError> {
        match self.body.next().await {
            None => self.ended = true,
            Some(Err(_)) => {
                return Err(AppError::BadRequest(
                    "The request body could not be read.".to_owned(),
                ));
            }
            Some(Ok(chunk)) => {
                self.received += chunk.len() as u64;
                if self.received > self.max_bytes {
                    return Err(too_large(self.max_bytes));
                }
                self.pending.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }
}

/// The 413 for an import above the configured maximum.
pub fn too_large(max_bytes: u64) -> AppError {
    AppError::PayloadTooLarge(format!(
        "The import is larger than {} MB (IMPORT_MAX_MB); split it into several imports.",
        max_bytes / 1_000_000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: &[&'static str]) -> Body {
        let stream = futures_util::stream::iter(
            chunks
                .iter()
                .map(|chunk| Ok::<_, std::io::Error>(Bytes::from_static(chunk.as_bytes())))
                .collect::<Vec<_>>(),
        );
        Body::from_stream(stream)
    }

    async fn all(mut lines: Lines) -> Result<Vec<Vec<String>>, AppError> {
        let mut batches = Vec::new();
        while let Some(batch) = lines.next_batch().await? {
            let text = batch
                .iter()
                .map(|line| String::from_utf8_lossy(line).into_owned());
            batches.push(text.collect());
        }
        Ok(batches)
    }

    #[tokio::test]
    async fn lines_split_across_chunks_come_out_whole_and_blank_ones_are_skipped() {
        let body = chunked(&["{\"a\"", ":1}\n\n  \n{\"b\":2}\r", "\n{\"c\"", ":3}"]);
        let batches = all(Lines::new(body, 1_000)).await.unwrap();
        assert_eq!(batches, [["{\"a\":1}", "{\"b\":2}\r", "{\"c\":3}"]]);
    }

    #[tokio::test]
    async fn a_batch_ends_at_a_thousand_lines() {
        let text: &'static str = "{}\n".repeat(2_500).leak();
        let batches = all(Lines::new(chunked(&[text]), 1_000_000)).await.unwrap();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1_000, 1_000, 500]);
    }

    #[tokio::test]
    async fn a_line_longer_than_a_post_can_be_is_a_413_before_it_is_all_held() {
        let long: &'static str = "x".repeat(MAX_LINE_BYTES + 1).leak();
        let body = chunked(&["{}\n", long, "\n{}\n"]);
        let error = all(Lines::new(body, u64::MAX)).await.unwrap_err();
        assert!(
            error.public_message().contains("longer than 1 MB"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_body_past_the_maximum_is_a_413_naming_the_setting() {
        let error = all(Lines::new(chunked(&["{}\n{}\n", "{}\n{}\n"]), 7))
            .await
            .unwrap_err();
        assert!(
            error.public_message().contains("IMPORT_MAX_MB"),
            "{error:?}"
        );
    }
}
