//! Where a list page starts: `?page=N` (a page number: `OFFSET`) or `?after=CURSOR`
//! (just after a post: keyset pagination, see `cursor`), validated straight from the
//! query string.

use std::fmt;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::cursor::Cursor;
use super::echo::shorten;
use crate::base::error::AppError;

/// Posts per list page.
pub const PAGE_SIZE: u64 = 20;

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

/// Where a page of a list starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// `?page=N`: skip the posts of the pages before (`OFFSET`).
    Page(PageNumber),
    /// `?after=CURSOR`: the posts older than the cursor's (keyset).
    After(Cursor),
}

impl Position {
    pub const FIRST: Position = Position::Page(PageNumber::FIRST);

    /// The page number, where the position is one.
    pub fn page_number(self) -> Option<PageNumber> {
        match self {
            Position::Page(number) => Some(number),
            Position::After(_) => None,
        }
    }
}

/// A cache key's part: `page-3`, `after-AQAAA…`.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Page(number) => write!(f, "page-{number}"),
            Position::After(cursor) => write!(f, "after-{cursor}"),
        }
    }
}

/// `?page=N` or `?after=CURSOR` (neither: the first page). Each at most once, and not
/// both.
impl<S: Send + Sync> FromRequestParts<S> for Position {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let afters: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == "after")
            .map(|(_, value)| value)
            .collect();
        let has_page = url::form_urlencoded::parse(query.as_bytes()).any(|(key, _)| key == "page");
        match afters.as_slice() {
            [] => Ok(Position::Page(
                PageNumber::from_request_parts(parts, state).await?,
            )),
            [_] if has_page => Err(AppError::BadRequest(
                "Give `page` or `after`, not both.".to_owned(),
            )),
            [raw] => Cursor::parse(raw)
                .map(Position::After)
                .map_err(AppError::BadRequest),
            _ => Err(AppError::BadRequest(
                "`after` appears more than once; give it once.".to_owned(),
            )),
        }
    }
}

/// Which slice of a list to load: a page number and how many entries a page holds.
/// Pages hold [`PAGE_SIZE`]; benchmarks vary the size to show how each loader scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageWindow {
    pub position: Position,
    pub size: u64,
}

impl PageWindow {
    pub fn new(number: PageNumber) -> Self {
        Self::at(Position::Page(number))
    }

    pub fn at(position: Position) -> Self {
        Self {
            position,
            size: PAGE_SIZE,
        }
    }

    /// Just after `cursor` (keyset).
    pub fn after(cursor: Cursor) -> Self {
        Self::at(Position::After(cursor))
    }

    /// Where a keyset page starts, if this is one.
    pub fn cursor(self) -> Option<Cursor> {
        match self.position {
            Position::After(cursor) => Some(cursor),
            Position::Page(_) => None,
        }
    }

    pub fn with_size(self, size: u64) -> Self {
        Self { size, ..self }
    }

    /// Rows to skip. Offset pagination makes the database walk past them: cheap on
    /// the first pages, linear in the depth (a keyset page skips nothing: 0).
    pub fn offset(self) -> u64 {
        match self.position {
            Position::Page(number) => u64::from(number.get() - 1) * self.size,
            Position::After(_) => 0,
        }
    }

    /// One row more than the page shows: if it comes back, there is an older page.
    /// That replaces a `COUNT(*)` over every published post per page view.
    pub fn rows_to_fetch(self) -> u64 {
        self.size + 1
    }

    /// Splits a fetch of [`rows_to_fetch`](Self::rows_to_fetch) rows into the page
    /// and whether another page follows.
    pub fn split<T>(self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        let has_next = rows.len() > size;
        rows.truncate(size);
        (rows, has_next)
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
        let third = PageWindow::new(PageNumber::parse("3").unwrap());
        assert_eq!(third.offset(), 2 * PAGE_SIZE);
        assert_eq!(PageWindow::new(PageNumber::FIRST).offset(), 0);
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
        assert_eq!(
            PageWindow::new(last).offset(),
            u64::from(u32::MAX - 1) * PAGE_SIZE
        );
        assert_eq!(last.next(), last);
    }

    #[test]
    fn a_window_fetches_one_extra_row_to_know_if_another_page_follows() {
        let window = PageWindow::new(PageNumber::FIRST).with_size(3);
        assert_eq!(window.rows_to_fetch(), 4);
        assert_eq!(window.split(vec![1, 2, 3, 4]), (vec![1, 2, 3], true));
        assert_eq!(window.split(vec![1, 2, 3]), (vec![1, 2, 3], false));
    }

    #[test]
    fn long_input_is_not_echoed_in_full() {
        let message = PageNumber::parse(&"9".repeat(2000)).unwrap_err();
        assert!(message.len() < 200, "{message}");
    }
}
