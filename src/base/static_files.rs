//! The static files, compiled into the binary, and the fingerprinted names pages link
//! them by (`/static/style.<hash>.css`): the name carries a hash of the content, so a
//! changed file has a new name and browsers may keep the old one forever
//! (`http::assets` serves them `immutable`).

use std::sync::OnceLock;

/// A file served under `/static/`, named by its content.
pub struct StaticFile {
    stem: &'static str,
    extension: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    name: OnceLock<String>,
    path: OnceLock<String>,
}

/// The stylesheet every page links.
pub static STYLESHEET: StaticFile = StaticFile::new(
    "style",
    "css",
    "text/css; charset=utf-8",
    include_bytes!("../../static/style.css"),
);

/// The icon every page links (and `/favicon.ico`, for clients that ask for it there).
pub static FAVICON: StaticFile = StaticFile::new(
    "favicon",
    "ico",
    "image/x-icon",
    include_bytes!("../../static/favicon.ico"),
);

/// Everything under `/static/`.
pub static FILES: [&StaticFile; 2] = [&STYLESHEET, &FAVICON];

impl StaticFile {
    const fn new(
        stem: &'static str,
        extension: &'static str,
        content_type: &'static str,
        bytes: &'static [u8],
    ) -> Self {
        StaticFile {
            stem,
            extension,
            content_type,
            bytes,
            name: OnceLock::new(),
            path: OnceLock::new(),
        }
    }

    /// `style.<hash>.css`: the hash is xxh3 of the content, in hex.
    pub fn file_name(&self) -> &str {
        self.name.get_or_init(|| {
            let hash = xxhash_rust::xxh3::xxh3_64(self.bytes);
            format!("{}.{hash:016x}.{}", self.stem, self.extension)
        })
    }

    /// Where pages link it from: `/static/` and its name.
    pub fn path(&self) -> &str {
        self.path
            .get_or_init(|| format!("/static/{}", self.file_name()))
    }

    /// The file called `name` under `/static/`, if there is one.
    pub fn named(name: &str) -> Option<&'static StaticFile> {
        FILES.iter().copied().find(|file| file.file_name() == name)
    }

    /// `style.css`: the name without the hash, as the file is written in `static/`.
    pub fn plain_name(&self) -> String {
        format!("{}.{}", self.stem, self.extension)
    }

    /// The file whose plain name is `name`, if there is one.
    pub fn named_plainly(name: &str) -> Option<&'static StaticFile> {
        FILES.iter().copied().find(|file| file.plain_name() == name)
    }
}
