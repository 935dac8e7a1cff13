//! `?page=N`: a validated page number, extracted straight from the query string.

use std::fmt;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::AppError;

/// Posts per list page.
pub const PAGE_SIZE: u64 = 20;

/// List queries fetch one row more than a page shows: if it comes back, there is an
/// older page. That replaces a `COUNT(*)` over every published post per page view.
pub const ROWS_TO_FETCH: u64 = PAGE_SIZE + 1;

/// Splits a fetch of [`ROWS_TO_FETCH`] rows into the page and whether another follows.
pub fn split_extra_row<T>(mut rows: Vec<T>) -> (Vec<T>, bool) {
    let has_next = rows.len() as u64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    (rows, has_next)
}

/// A 1-based page number. Constructed only by [`PageNumber::parse`], so a handler that
/// holds one never has to think about 0, negatives or overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageNumber(NonZeroU32);

impl PageNumber {
    pub const FIRST: PageNumber = PageNumber(NonZeroU32::MIN);

    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<NonZeroU32>()
            .map(PageNumber)
            .map_err(|_| {
                format!(
                    "`page` must be a whole number from 1 to {}; `{}` is not.",
                    u32::MAX,
                    shorten(raw)
                )
            })
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// Rows to skip before this page. Offset pagination makes the database walk past
    /// them, which is fine for the first pages people read.
    pub fn offset(self) -> u64 {
        u64::from(self.get() - 1) * PAGE_SIZE
    }

    /// The newer page, if this is not the first.
    pub fn previous(self) -> Option<PageNumber> {
        NonZeroU32::new(self.get() - 1).map(PageNumber)
    }

    /// The older page (saturating at the largest page number).
    pub fn next(self) -> PageNumber {
        PageNumber(self.0.saturating_add(1))
    }
}

impl fmt::Display for PageNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Echoing input back helps; echoing 2,000 characters of it does not.
fn shorten(raw: &str) -> String {
    const MAX_ECHO: usize = 40;
    if raw.chars().count() <= MAX_ECHO {
        raw.to_owned()
    } else {
        let head: String = raw.chars().take(MAX_ECHO).collect();
        format!("{head}…")
    }
}

/// A missing `?page=` is the first page; anything else must parse.
impl<S: Send + Sync> FromRequestParts<S> for PageNumber {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let pages: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == "page")
            .map(|(_, value)| value)
            .collect();
        match pages.as_slice() {
            [] => Ok(PageNumber::FIRST),
            [raw] => PageNumber::parse(raw).map_err(AppError::BadRequest),
            _ => Err(AppError::BadRequest(
                "`page` appears more than once; give it once.".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_start_at_one() {
        assert_eq!(PageNumber::parse("1").unwrap(), PageNumber::FIRST);
        assert_eq!(PageNumber::parse("3").unwrap().offset(), 2 * PAGE_SIZE);
        assert_eq!(PageNumber::FIRST.offset(), 0);
        assert_eq!(PageNumber::FIRST.previous(), None);
        assert_eq!(PageNumber::FIRST.next().previous(), Some(PageNumber::FIRST));
    }

    #[test]
    fn rejects_zero_negatives_words_and_overflow() {
        for bad in ["0", "-1", "abc", "", "1.5", "99999999999999999999"] {
            let message = PageNumber::parse(bad).unwrap_err();
            assert!(message.contains("whole number"), "{bad}: {message}");
        }
    }

    #[test]
    fn the_largest_page_has_no_overflowing_offset_or_successor() {
        let last = PageNumber::parse(&u32::MAX.to_string()).unwrap();
        assert_eq!(last.offset(), u64::from(u32::MAX - 1) * PAGE_SIZE);
        assert_eq!(last.next(), last);
    }

    #[test]
    fn long_input_is_not_echoed_in_full() {
        let message = PageNumber::parse(&"9".repeat(2000)).unwrap_err();
        assert!(message.len() < 200, "{message}");
    }
}
