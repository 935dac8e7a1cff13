//! Static files with fingerprinted names: `/static/style.<hash>.css` (see
//! `stylesheet`), cached by browsers and proxies for a year without asking again
//! (`immutable`). The file is compiled into the binary: the app runs from any
//! directory and from a bare container image.
//!
//! It is compressed once, on first use, at the highest settings (brotli 11, gzip 9):
//! a request picks an encoding and copies bytes; the compression layer passes
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
use crate::base::stylesheet;
use crate::services::cache::precompressed::Encoding;
use crate::services::http::conditional::etag_matches;

pub fn routes() -> Router {
    Router::new().route("/static/{file}", get(serve))
}

/// The stylesheet in each encoding, made once.
struct Encoded {
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
}

static ENCODED: LazyLock<Encoded> = LazyLock::new(|| Encoded {
    brotli: brotli_of(stylesheet::CSS.as_bytes()),
    gzip: gzip_of(stylesheet::CSS.as_bytes()),
});

/// Compresses the stylesheet now rather than on the first request for it.
pub fn precompress() {
    LazyLock::force(&ENCODED);
}

async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file != stylesheet::file_name() {
        return AppError::NotFound("There is no such file.".to_owned()).into_response();
    }
    let accepted = headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let (encoding, body) = match Encoding::negotiate(accepted) {
        Encoding::Brotli if ENCODED.brotli.is_some() => (Encoding::Brotli, ENCODED.brotli.clone()),
        Encoding::Brotli | Encoding::Gzip if ENCODED.gzip.is_some() => {
            (Encoding::Gzip, ENCODED.gzip.clone())
        }
        _ => (Encoding::Identity, None),
    };
    let body = body.unwrap_or_else(|| Bytes::from_static(stylesheet::CSS.as_bytes()));
    // The name is the content's hash, so it is the validator too.
    let etag = format!(
        "W/\"{}-{}\"",
        stylesheet::file_name(),
        encoding.etag_suffix()
    );
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .is_some_and(|candidates| etag_matches(candidates, &etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        );
        if let Some(coding) = encoding.content_encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    response
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
