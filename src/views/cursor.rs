//! `?after=CURSOR`: where a keyset page starts — just after a post, named by its
//! `(published_at, id)`, the two columns the lists are ordered by.
//!
//! The cursor holds a position, not a row: it keeps working when its post is archived
//! or deleted. It is opaque to the reader (base64url) and checked (a version byte and
//! a checksum), so a cursor mangled in transit is a 400 before any query runs. It is
//! not a secret: a made-up cursor can only name a position, which `?page=` can too.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

/// The cursor format's version: a change of format makes old cursors 400s, not
/// misread positions.
const VERSION: u8 = 1;
/// Version, nanoseconds since the epoch, id, checksum.
const LENGTH: usize = 1 + 8 + 4 + 4;

/// Just after the post published at `published_at` with id `id`, in the lists' order
/// (newest first, ties by id, highest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub published_at: DateTime<Utc>,
    pub id: i32,
}

impl Cursor {
    /// The cursor after a post, or `None` for a post with no publication time.
    pub fn after(published_at: Option<DateTime<Utc>>, id: i32) -> Option<Cursor> {
        published_at.map(|published_at| Cursor { published_at, id })
    }

    /// Whether a cursor can name a post published at `at`: the cursor holds
    /// nanoseconds since the epoch in an `i64`, 1677-09-21 to 2262-04-11. A post
    /// outside that range could not be paged past (its cursor would name another
    /// instant), so the import refuses such dates ([`Cursor::RANGE`] says them).
    pub fn can_name(at: DateTime<Utc>) -> bool {
        at.timestamp_nanos_opt().is_some()
    }

    /// The whole days [`Cursor::can_name`] accepts, as messages say them.
    pub const RANGE: &str = "between 1677-09-22 and 2262-04-10";

    pub fn parse(raw: &str) -> Result<Cursor, String> {
        let invalid = || {
            format!(
                "`after` must be a cursor from an \"Older posts\" link; `{}` is not one. Start again from the first page.",
                super::echo::shorten(raw)
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let bytes: [u8; LENGTH] = bytes.try_into().map_err(|_| invalid())?;
        let (body, check) = bytes.split_at(LENGTH - 4);
        if body[0] != VERSION || check != checksum(body) {
            return Err(invalid());
        }
        let nanos = i64::from_be_bytes(body[1..9].try_into().map_err(|_| invalid())?);
        let id = i32::from_be_bytes(body[9..13].try_into().map_err(|_| invalid())?);
        Ok(Cursor {
            published_at: DateTime::from_timestamp_nanos(nanos),
            id,
        })
    }
}

fn checksum(body: &[u8]) -> [u8; 4] {
    let hash = xxhash_rust::xxh3::xxh3_64(body);
    let low = u32::try_from(hash & 0xffff_ffff).unwrap_or(0);
    low.to_be_bytes()
}

/// The cursor as it goes in a link.
impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.published_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mut bytes = Vec::with_capacity(LENGTH);
        bytes.push(VERSION);
        bytes.extend_from_slice(&nanos.to_be_bytes());
        bytes.extend_from_slice(&self.id.to_be_bytes());
        let check = checksum(&bytes);
        bytes.extend_from_slice(&check);
        f.write_str(&URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            published_at: DateTime::from_timestamp(1_735_000_000, 123_456_789).unwrap(),
            id: 4242,
        }
    }

    #[test]
    fn a_cursor_survives_the_trip_through_a_link() {
        let text = cursor().to_string();
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(Cursor::parse(&text), Ok(cursor()));
    }

    #[test]
    fn the_range_a_cursor_can_name_is_the_one_messages_say() {
        for day in ["1677-09-22", "2262-04-10"] {
            let at = format!("{day}T00:00:00Z").parse().unwrap();
            assert!(Cursor::can_name(at), "{day}");
            assert!(Cursor::RANGE.contains(day));
        }
        for day in ["1677-09-20", "2262-04-12", "9999-12-31", "0001-01-01"] {
            assert!(
                !Cursor::can_name(format!("{day}T00:00:00Z").parse().unwrap()),
                "{day}"
            );
        }
    }

    #[test]
    fn a_mangled_or_made_up_cursor_is_refused_with_a_message() {
        let text = cursor().to_string();
        let mut flipped = text.clone().into_bytes();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            flipped.as_str(),
            "",
            "abc",
            "!!!!",
            &text[1..],
            &"A".repeat(500),
        ] {
            let message = Cursor::parse(bad).unwrap_err();
            assert!(message.contains("Older posts"), "{bad}: {message}");
            assert!(message.len() < 250, "{message}");
        }
    }
}
