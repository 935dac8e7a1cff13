//! The stylesheet, compiled into the binary, and the fingerprinted name pages link it
//! by (`/static/style.<hash>.css`). A changed stylesheet has a new name, so browsers
//! may keep the old one forever (`http::assets` serves it `immutable`).

use std::sync::LazyLock;

/// The stylesheet's text.
pub const CSS: &str = include_str!("../../static/style.css");

static FILE_NAME: LazyLock<String> = LazyLock::new(|| {
    format!(
        "style.{:016x}.css",
        xxhash_rust::xxh3::xxh3_64(CSS.as_bytes())
    )
});

static PATH: LazyLock<String> = LazyLock::new(|| format!("/static/{}", *FILE_NAME));

/// `style.<hash>.css`: the only file under `/static/`.
pub fn file_name() -> &'static str {
    &FILE_NAME
}

/// Where pages link the stylesheet from.
pub fn path() -> &'static str {
    &PATH
}
