//! An NDJSON import of any size, validated a batch at a time as it arrives and kept in
//! a temporary file until all of it has: then inserted from that file, a batch at a
//! time, in one transaction.
//!
//! Memory holds one batch and the import's slugs (to refuse a slug used twice), not
//! the body. The write transaction starts only once the whole body is in and valid:
//! on SQLite a transaction that writes holds the database's one write lock, which
//! every comment needs, and a slow upload would hold it for as long as it trickles
//! in. The file is deleted when it is dropped (it has no name from the start).

use std::io::SeekFrom;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use tokio::fs::File;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, AsyncWriteExt, BufReader, BufWriter};

use super::lines::Lines;
use super::rows::{NewPost, parse_line};
use super::validate::Seen;
use crate::base::error::AppError;

/// Every row of the import, valid, in a temporary file: one line per batch.
pub struct Spooled {
    file: BufReader<File>,
    /// Rows in the file.
    pub rows: u64,
}

/// Reads `lines` to their end, validating each batch against `db` and writing it to a
/// temporary file. The first problem stops it, naming its row in the whole import.
pub async fn receive(
    db: &impl ConnectionTrait,
    mut lines: Lines,
    now: DateTime<Utc>,
) -> Result<Spooled, AppError> {
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|error| anyhow::Error::from(error).context("creating the import's file"))?;
    let mut file = BufWriter::new(File::from_std(file));
    let mut seen = Seen::default();
    let mut rows = 0;
    while let Some(batch) = lines.next_batch().await? {
        let first_row = seen.rows();
        let parsed = batch
            .iter()
            .enumerate()
            .map(|(index, line)| parse_line(first_row + index, line))
            .collect::<Result<Vec<_>, _>>()?;
        let posts = seen.validate(db, parsed, now).await?;
        rows += posts.len() as u64;
        let mut line = serde_json::to_vec(&posts).map_err(anyhow::Error::from)?;
        line.push(b'\n');
        file.write_all(&line).await.map_err(written)?;
    }
    file.flush().await.map_err(written)?;
    let mut file = file.into_inner();
    file.seek(SeekFrom::Start(0)).await.map_err(written)?;
    Ok(Spooled {
        file: BufReader::new(file),
        rows,
    })
}

fn written(error: std::io::Error) -> AppError {
    anyhow::Error::from(error)
        .context("writing the import's file")
        .into()
}

impl Spooled {
    /// The next batch of valid rows, in the order they arrived; `None` after the last.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<NewPost>>, AppError> {
        let mut line = String::new();
        let read = self.file.read_line(&mut line).await.map_err(|error| {
            AppError::from(anyhow::Error::from(error).context("reading the import's file"))
        })?;
        if read == 0 {
            return Ok(None);
        }
        let posts = serde_json::from_str(&line).map_err(anyhow::Error::from)?;
        Ok(Some(posts))
    }
}
