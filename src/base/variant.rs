//! Which loader produced a page, read from its path: `/naive/…` is the naive twin.

use std::convert::Infallible;
use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// Which loader produced a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Naive,
    Optimized,
}

impl Variant {
    /// `/naive/…` is the naive twin; every other path is optimized.
    pub fn of_path(path: &str) -> Self {
        if path == "/naive" || path.starts_with("/naive/") {
            Variant::Naive
        } else {
            Variant::Optimized
        }
    }
}

impl Variant {
    /// What this variant's paths start with: `""` or `"/naive"`.
    pub fn path_prefix(self) -> &'static str {
        match self {
            Variant::Naive => "/naive",
            Variant::Optimized => "",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Naive => "naive",
            Variant::Optimized => "optimized",
        })
    }
}

/// A handler's variant, from the path it answers.
impl<S: Send + Sync> FromRequestParts<S> for Variant {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Variant::of_path(parts.uri.path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_naive_are_the_naive_variant() {
        assert_eq!(Variant::of_path("/naive/"), Variant::Naive);
        assert_eq!(Variant::of_path("/naive/posts/x"), Variant::Naive);
        assert_eq!(Variant::of_path("/naive"), Variant::Naive);
        assert_eq!(Variant::of_path("/naiveté"), Variant::Optimized);
        assert_eq!(Variant::of_path("/posts/naive"), Variant::Optimized);
    }
}
