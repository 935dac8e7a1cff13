//! The form a page is stored in Redis: one blob holding every encoding's segments, so
//! one `GET` brings a whole page to another instance.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{CachedPage, Hole, RenderCost, Subject};
use crate::services::cache::precompressed::Segments;

/// The blob a page is stored as in Redis: a version byte, the fixed fields, the
/// holes, then each encoding's segments, each with its length.
const FORMAT: u8 = 2;

/// A subject's `counted_at_render` when it is `None`.
const NOT_COUNTED: i64 = i64::MIN;

pub(super) fn encode(page: &CachedPage) -> Vec<u8> {
    let segments = &page.segments;
    let mut out = BytesMut::with_capacity(page.weight() as usize);
    out.put_u8(FORMAT);
    for value in [
        page.generation,
        page.rendered_at_ms,
        page.fresh_until_ms,
        page.cost.db_micros,
        page.etag,
    ] {
        out.put_u64_le(value);
    }
    out.put_u32_le(page.cost.statements);
    let subject = page.subject.unwrap_or(Subject {
        post_id: 0,
        views_at_render: 0,
        counted_at_render: None,
    });
    out.put_u8(u8::from(page.subject.is_some()));
    out.put_i32_le(subject.post_id);
    out.put_i32_le(subject.views_at_render);
    out.put_i64_le(subject.counted_at_render.unwrap_or(NOT_COUNTED));
    out.put_u8(u8::try_from(page.holes.len()).unwrap_or(u8::MAX));
    for hole in &page.holes {
        out.put_u8(hole.code());
    }
    for encoding in [&segments.identity, &segments.gzip, &segments.brotli] {
        for segment in encoding {
            out.put_u32_le(u32::try_from(segment.len()).unwrap_or(u32::MAX));
            out.put_slice(segment);
        }
    }
    out.to_vec()
}

/// The page in `blob`, or `None` if it is not one (another version, truncated). The
/// segments are slices of `blob`, not copies.
pub(super) fn decode(mut blob: Bytes) -> Option<CachedPage> {
    if blob.try_get_u8().ok()? != FORMAT {
        return None;
    }
    let mut fixed = [0u64; 5];
    for value in &mut fixed {
        *value = blob.try_get_u64_le().ok()?;
    }
    let [generation, rendered_at_ms, fresh_until_ms, db_micros, etag] = fixed;
    let statements = blob.try_get_u32_le().ok()?;
    let has_subject = blob.try_get_u8().ok()? == 1;
    let subject = Subject {
        post_id: blob.try_get_i32_le().ok()?,
        views_at_render: blob.try_get_i32_le().ok()?,
        counted_at_render: Some(blob.try_get_i64_le().ok()?).filter(|&n| n != NOT_COUNTED),
    };
    let hole_count = blob.try_get_u8().ok()?;
    let holes = (0..hole_count)
        .map(|_| Hole::from_code(blob.try_get_u8().ok()?))
        .collect::<Option<Vec<_>>>()?;
    let mut take_segments = || {
        (0..=holes.len())
            .map(|_| {
                let length = usize::try_from(blob.try_get_u32_le().ok()?).ok()?;
                (blob.remaining() >= length).then(|| blob.split_to(length))
            })
            .collect::<Option<Vec<_>>>()
    };
    let segments = Segments {
        identity: take_segments()?,
        gzip: take_segments()?,
        brotli: take_segments()?,
    };
    Some(CachedPage {
        generation,
        rendered_at_ms,
        fresh_until_ms,
        cost: RenderCost {
            statements,
            db_micros,
        },
        subject: has_subject.then_some(subject),
        holes,
        segments,
        etag,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::rendered;
    use super::*;

    #[test]
    fn a_page_survives_the_trip_through_its_stored_form() {
        let page = CachedPage::build(
            rendered(),
            9,
            RenderCost {
                statements: 4,
                db_micros: 1234,
            },
            Duration::from_secs(60),
        )
        .expect("builds");
        let bytes = Bytes::from(encode(&page));
        assert_eq!(decode(bytes.clone()), Some(page));
        assert_eq!(decode(bytes.slice(..bytes.len() - 1)), None, "truncated");
        assert_eq!(
            decode(Bytes::from_static(b"\x01junk")),
            None,
            "another format"
        );
    }
}
