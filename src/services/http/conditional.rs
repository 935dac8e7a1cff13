//! Conditional GET: every HTML page carries an `ETag` computed from its content, and a
//! request whose `If-None-Match` names it gets `304 Not Modified` with no body.
//!
//! Parts of a page that change on every request without changing what it says — the
//! footer's query count and database time, the view counter — are marked in the
//! templates with `<!--volatile-->…<!--/volatile-->` and left out of the hash. A write
//! that changes what a page says (a comment: its count on the list, the comment on
//! the post page, the sidebar) changes its ETag.
//!
//! The page is encoded after its ETag is made, as the client's `Accept-Encoding`
//! asks — in zstd here, in one call, for a client that ranks it first (every browser
//! that sends it: see `zstd_on_the_fly`), else by the compression layer around this
//! one: each ETag names that header too (hashed), so identity, gzip, brotli and zstd
//! never share one, and every answer — a `304` included — says it varies with it.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use xxhash_rust::xxh3::Xxh3;

use crate::services::cache::precompressed::{Encoding, zstd_on_the_fly};

const VOLATILE_START: &str = "<!--volatile-->";
const VOLATILE_END: &str = "<!--/volatile-->";

/// Pages are rendered in memory already; nothing larger is hashed.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

pub async fn conditional_get(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    // Every line of it, as the compression layer reads them all.
    let accept_encoding: Vec<HeaderValue> = request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .cloned()
        .collect();
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    // A cached page arrives with its own ETag and, maybe, already compressed; a page
    // marked `no-store` (the request history's) is kept by no cache, validator or not.
    let no_store = response
        .headers()
        .get(CACHE_CONTROL)
        .is_some_and(|value| value == "no-store");
    if response.status() != StatusCode::OK
        || !is_html
        || no_store
        || response.headers().contains_key(ETAG)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = etag_of(&bytes, representation(&bytes, &accept_encoding));
    parts
        .headers
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let varies = parts.headers.get_all(VARY).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|value| value.to_ascii_lowercase().contains("accept-encoding"))
    });
    if !varies {
        parts
            .headers
            .append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(ETAG, value);
    }
    if if_none_match.is_some_and(|candidates| etag_matches(&candidates, &etag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    let body = in_zstd_if_preferred(&mut parts, bytes, &accept_encoding);
    Response::from_parts(parts, Body::from(body))
}

/// `page` in zstd, marked as the handler's choice so the compression layer leaves it,
/// when the client ranks zstd first and the page is large enough to compress; else
/// `page` as it is, for the layer to encode.
fn in_zstd_if_preferred(
    parts: &mut axum::http::response::Parts,
    page: Bytes,
    accept_encoding: &[HeaderValue],
) -> Bytes {
    let header = accept_encoding
        .iter()
        .filter_map(|line| line.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if (page.len() as u64) < super::COMPRESS_ABOVE_BYTES || !Encoding::prefers_zstd(&header) {
        return page;
    }
    match zstd_on_the_fly(&page) {
        Ok(compressed) => {
            parts
                .headers
                .insert(CONTENT_ENCODING, HeaderValue::from_static("zstd"));
            parts.extensions.insert(super::EncodingChosen);
            compressed
        }
        Err(error) => {
            tracing::warn!(%error, "zstd failed; the compression layer encodes the page");
            page
        }
    }
}

/// Which representation of `page` the compression layer will send: `identity` for a
/// page too small to compress or a client that names no coding, else one per
/// `Accept-Encoding` value (the layer's choice follows from it alone).
fn representation(page: &[u8], accept_encoding: &[HeaderValue]) -> String {
    if accept_encoding.is_empty() || (page.len() as u64) < super::COMPRESS_ABOVE_BYTES {
        return "identity".to_owned();
    }
    let normalized: Vec<u8> = accept_encoding
        .iter()
        .flat_map(|line| line.as_bytes().iter().chain(b","))
        .filter(|byte| !byte.is_ascii_whitespace())
        .map(u8::to_ascii_lowercase)
        .collect();
    format!("ae{:016x}", xxhash_rust::xxh3::xxh3_64(&normalized))
}

/// A weak validator (`W/"…-representation"`): the page's content, the volatile parts
/// left out, and its representation.
fn etag_of(page: &[u8], representation: String) -> String {
    let mut hasher = Xxh3::new();
    match std::str::from_utf8(page) {
        Ok(mut rest) => {
            while let Some(start) = rest.find(VOLATILE_START) {
                hasher.update(&rest.as_bytes()[..start]);
                let after = &rest[start..];
                rest = after
                    .find(VOLATILE_END)
                    .map_or("", |end| &after[end + VOLATILE_END.len()..]);
            }
            hasher.update(rest.as_bytes());
        }
        Err(_) => hasher.update(page),
    }
    format!("W/\"{:016x}-{representation}\"", hasher.digest())
}

/// `If-None-Match: W/"a", "b"` or `*` against `etag`, compared weakly as RFC 9110
/// says for GET.
pub fn etag_matches(candidates: &HeaderValue, etag: &str) -> bool {
    let Ok(candidates) = candidates.to_str() else {
        return false;
    };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    candidates
        .split(',')
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let etag = "W/\"00ff-br\"";
        for header in ["W/\"00ff-br\"", "\"00ff-br\"", "\"x\", W/\"00ff-br\"", "*"] {
            assert!(
                etag_matches(&HeaderValue::from_static(header), etag),
                "{header}"
            );
        }
        assert!(!etag_matches(
            &HeaderValue::from_static("W/\"00ff-gz\""),
            etag
        ));
    }

    #[test]
    fn volatile_parts_do_not_change_the_etag() {
        let etag = |page: &[u8]| etag_of(page, "identity".to_owned());
        let a =
            etag(b"<p>Post</p><!--volatile--><footer>3 queries, 1.2 ms</footer><!--/volatile-->");
        let b =
            etag(b"<p>Post</p><!--volatile--><footer>3 queries, 0.9 ms</footer><!--/volatile-->");
        let c =
            etag(b"<p>Post!</p><!--volatile--><footer>3 queries, 0.9 ms</footer><!--/volatile-->");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("W/\""));
    }

    #[test]
    fn each_accept_encoding_gets_its_own_etag_unless_the_page_is_too_small_to_compress() {
        let page = vec![b'x'; 4096];
        let with = |header: &'static str| {
            etag_of(
                &page,
                representation(&page, &[HeaderValue::from_static(header)]),
            )
        };
        assert_ne!(with("gzip"), with("br"));
        assert_ne!(with("gzip, deflate, br, zstd"), with("identity"));
        assert_eq!(with("gzip, br"), with("GZIP,BR"));
        let small = b"<p>a 404 page</p>";
        assert_eq!(
            representation(small, &[HeaderValue::from_static("br")]),
            representation(small, &[])
        );
        let lines = |lines: &[&'static str]| {
            let lines: Vec<HeaderValue> =
                lines.iter().map(|l| HeaderValue::from_static(l)).collect();
            representation(&page, &lines)
        };
        assert_ne!(
            lines(&["gzip", "br"]),
            lines(&["gzip"]),
            "every line counts"
        );
    }
}
