//! The export compresses itself — gzip at its fastest level, flushed after every batch —
//! rather than leave it to the compression layer. The layer would pick brotli for a
//! browser, and brotli's on-the-fly encoder holds far more state per response than a
//! gzip stream: a few exports at once through it multiplied the server's peak memory
//! (docs/measurement-log.md: "The export's compression: brotli from the layer, or its own
//! gzip", and "What gzip costs the streamed export").
//! Both variants compress the same way, so they still differ in one idea.

use std::io::{self, Write};

use axum::body::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::stream::{self, Stream, StreamExt};
use sea_orm::DbErr;

const LEVEL: Compression = Compression::fast();

/// A whole export, gzipped.
pub fn whole(export: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(export.len() / 3), LEVEL);
    encoder.write_all(export)?;
    encoder.finish()
}

/// A streamed export, gzipped one batch at a time: each batch is compressed and
/// flushed (a sync flush, so the client can unpack every line sent so far), and the
/// gzip trailer follows the last.
pub fn streamed(
    batches: impl Stream<Item = Result<Bytes, DbErr>> + Send + 'static,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let start = Some((Box::pin(batches), GzEncoder::new(Vec::new(), LEVEL)));
    stream::unfold(start, |state| async move {
        let (mut batches, mut encoder) = state?;
        match batches.next().await {
            Some(Ok(batch)) => {
                let compressed = compress(&mut encoder, &batch);
                let next = compressed.is_ok().then_some((batches, encoder));
                Some((compressed, next))
            }
            Some(Err(error)) => Some((Err(io::Error::other(error)), None)),
            None => Some((encoder.finish().map(Bytes::from), None)),
        }
    })
    .fuse()
}

/// `batch` compressed and flushed: what the encoder has written since the last call.
fn compress(encoder: &mut GzEncoder<Vec<u8>>, batch: &[u8]) -> io::Result<Bytes> {
    encoder.write_all(batch)?;
    encoder.flush()?;
    Ok(Bytes::from(std::mem::take(encoder.get_mut())))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use futures_util::TryStreamExt;

    use super::*;

    fn gunzip(bytes: &[u8]) -> String {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .expect("a whole gzip stream");
        text
    }

    #[tokio::test]
    async fn batches_gzipped_one_by_one_unpack_to_the_whole_export() {
        let batches = ["{\"a\":1}\n", "{\"b\":2}\n{\"c\":3}\n", ""];
        let stream = stream::iter(batches.map(|batch| Ok(Bytes::from_static(batch.as_bytes()))));
        let parts: Vec<Bytes> = streamed(stream).try_collect().await.expect("compresses");
        assert_eq!(
            parts.len(),
            batches.len() + 1,
            "a part per batch, then the trailer"
        );
        let joined: Vec<u8> = parts.concat();
        assert_eq!(gunzip(&joined), batches.concat());
        assert_eq!(
            gunzip(&whole(batches.concat().as_bytes()).expect("compresses")),
            batches.concat()
        );
    }
}
