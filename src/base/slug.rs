//! `{slug}` in a path: a validated slug, extracted straight from the route; and
//! [`slugify`], which makes one from a title (the seeder and the import use it).

use std::fmt;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::base::error::AppError;

/// Slugs are at most this long (the column is `VARCHAR(200)`).
pub const MAX_SLUG_LEN: usize = 200;

/// Lowercase ASCII letters, digits and hyphens, 1 to 200 of them: what the seeder and
/// every form that makes slugs produce. Anything else cannot name a post or a tag, so
/// it is answered without asking the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_SLUG_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Slug(raw.to_owned()))
        } else {
            Err(Self::rule())
        }
    }

    fn rule() -> String {
        format!(
            "A slug is 1 to {MAX_SLUG_LEN} lowercase letters, digits and hyphens; \
             this address does not have one."
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `"Async Vec<u8> & friends"` → `"async-vec-u8-friends"`: lowercase letters, digits and
/// single hyphens, which is what slugs in URLs are made of.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path segment that is not valid UTF-8 once decoded is as malformed as any other.
impl<S: Send + Sync> FromRequestParts<S> for Slug {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::BadRequest(Slug::rule()))?;
        Slug::parse(&raw).map_err(AppError::BadRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_seeder_makes() {
        assert_eq!(
            Slug::parse("async-vec-u8-12").unwrap().as_str(),
            "async-vec-u8-12"
        );
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(
            slugify("Async Vec<u8> & \"friends\"!"),
            "async-vec-u8-friends"
        );
        assert_eq!(slugify("Q&A"), "q-a");
    }

    #[test]
    fn rejects_empty_long_uppercase_and_control_characters() {
        let too_long = "a".repeat(MAX_SLUG_LEN + 1);
        for bad in ["", "Hello", "a b", "a\0b", "../etc", "é", too_long.as_str()] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Slug::parse(&"a".repeat(MAX_SLUG_LEN)).is_ok());
    }
}
