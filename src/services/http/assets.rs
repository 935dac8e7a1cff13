//! Static files with fingerprinted names: `/static/style.<hash>.css` (see
//! `static_files`), cached by browsers and proxies for a year without asking again
//! (`immutable`). The files are compiled into the binary: the app runs from any
//! directory and from a bare container image.
//!
//! Each file also answers to its plain name (`/static/style.css`), revalidated on every
//! use: what a site without fingerprints serves, for the static-files lesson (and for
//! anyone who types the name).
//!
//! Two names cannot carry a hash, because clients ask for them by name:
//! `/favicon.ico` (the same icon pages link under its hashed name) and `/robots.txt`
//! (`views::sitemap`). Those are cached for a day and then revalidated: the client asks
//! again with the ETag and gets an empty 304 while the file is unchanged.
//!
//! Each file is compressed once, on first use, at the highest settings (brotli 11,
//! gzip 9): a request picks an encoding and copies bytes; the compression layer passes
//! responses that already have a `Content-Encoding` through untouched.

use std::io::Write;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

use crate::base::error::AppError;
use crate::base::static_files::{FAVICON, FILES, StaticFile};
use crate::services::cache::precompressed::Encoding;
use crate::services::http::EncodingChosen;
use crate::services::http::conditional::etag_matches;

/// A fingerprinted name never changes its content: a year, and no revalidation.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// A fixed name may: a day, then a revalidation.
pub const A_DAY_THEN_REVALIDATE: &str = "public, max-age=86400";
/// A fixed name a changed file must show under at once: asked again on every use.
const REVALIDATE_EVERY_TIME: &str = "no-cache";

pub fn routes() -> Router {
    Router::new()
        .route("/static/{file}", get(static_file))
        .route("/favicon.ico", get(favicon))
}

/// A file in each encoding, made once.
struct Encoded {
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
}

/// Every file's encodings, in the order of `FILES`.
static ENCODED: LazyLock<Vec<Encoded>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|file| Encoded {
            brotli: brotli_of(file.bytes),
            gzip: gzip_of(file.bytes),
        })
        .collect()
});

/// Compresses the files now rather than on the first request for each.
pub fn precompress() {
    LazyLock::force(&ENCODED);
}

/// `/static/{file}`: a file by its fingerprinted name, or by its plain one.
async fn static_file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if let Some(file) = StaticFile::named(&name) {
        return fingerprinted(file, &headers);
    }
    match StaticFile::named_plainly(&name) {
        Some(file) => plainly_named(file, &headers),
        None => AppError::NotFound("There is no such file.".to_owned()).into_response(),
    }
}

/// **Naive.** The file under its own name (`/static/style.css`), as a site links it when
/// nothing renames its files. What it costs: the name stays when the file changes, so a
/// browser may not keep it unasked — it is served `no-cache`, and every page a returning
/// visitor opens asks for it again: a round trip for a `304` with no body, and a
/// stylesheet holds the page's first paint until it is answered.
pub fn plainly_named(file: &'static StaticFile, headers: &HeaderMap) -> Response {
    serve(file, headers, REVALIDATE_EVERY_TIME)
}

/// **Optimized.** What changed: the name carries the content's hash
/// (`/static/style.<hash>.css`), so a changed file is a new name, and this one can be
/// kept for a year and never asked for again (`immutable`): a returning visitor's
/// browser sends nothing for it.
pub fn fingerprinted(file: &'static StaticFile, headers: &HeaderMap) -> Response {
    serve(file, headers, FOREVER)
}

async fn favicon(headers: HeaderMap) -> Response {
    serve(&FAVICON, &headers, A_DAY_THEN_REVALIDATE)
}

/// `file` in the encoding the client prefers.
fn serve(file: &'static StaticFile, headers: &HeaderMap, cache_control: &'static str) -> Response {
    let encoded = FILES
        .iter()
        .zip(ENCODED.iter())
        .find(|(listed, _)| std::ptr::eq(**listed, file))
        .map(|(_, encoded)| encoded);
    let accepted = headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let (encoding, body) = match (Encoding::negotiate(accepted), encoded) {
        (
            Encoding::Brotli,
            Some(Encoded {
                brotli: Some(b), ..
            }),
        ) => (Encoding::Brotli, b.clone()),
        (Encoding::Brotli | Encoding::Gzip, Some(Encoded { gzip: Some(g), .. })) => {
            (Encoding::Gzip, g.clone())
        }
        _ => (Encoding::Identity, Bytes::from_static(file.bytes)),
    };
    let served = Served {
        content_type: file.content_type,
        // The name is the content's hash, so it is the validator too.
        validator: file.file_name(),
        cache_control,
    };
    served.respond(body, encoding, headers)
}

/// How a file compiled in (or made from settings, as `/robots.txt` is) goes out.
pub struct Served<'a> {
    pub content_type: &'static str,
    /// What names this content: a hash of it. The ETag is this and the encoding.
    pub validator: &'a str,
    pub cache_control: &'static str,
}

impl Served<'_> {
    /// `body`, already in `encoding`, or an empty 304 when the request's
    /// `If-None-Match` names this representation's ETag.
    pub fn respond(&self, body: Bytes, encoding: Encoding, request: &HeaderMap) -> Response {
        let etag = format!("\"{}-{}\"", self.validator, encoding.etag_suffix());
        let mut response = if request
            .get(IF_NONE_MATCH)
            .is_some_and(|candidates| etag_matches(candidates, &etag))
        {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
            if let Some(coding) = encoding.content_encoding() {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
            }
            response
        };
        response.extensions_mut().insert(EncodingChosen);
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(ETAG, etag);
        }
        response
    }
}

/// Brotli at quality 11: slow, and paid once. `None` if compressing failed (it does
/// not, on bytes in memory): the file then goes out in another encoding.
fn brotli_of(text: &[u8]) -> Option<Bytes> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &text[..], &mut out, &params).ok()?;
    Some(Bytes::from(out))
}

fn gzip_of(text: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(text).ok()?;
    encoder.finish().ok().map(Bytes::from)
}
