//! Conditional GET: every HTML page carries an `ETag` computed from its content, and a
//! request whose `If-None-Match` names it gets `304 Not Modified` with no body.
//!
//! Parts of a page that change on every request without changing what it says — the
//! footer's query count and database time, the view counter — are marked in the
//! templates with `<!--volatile-->…<!--/volatile-->` and left out of the hash. A write
//! that changes what a page says (a comment: its count on the list, the comment on
//! the post page, the sidebar) changes its ETag.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use xxhash_rust::xxh3::Xxh3;

const VOLATILE_START: &str = "<!--volatile-->";
const VOLATILE_END: &str = "<!--/volatile-->";

/// Pages are rendered in memory already; nothing larger is hashed.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

pub async fn conditional_get(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
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
    let etag = etag_of(&bytes);
    parts
        .headers
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(ETAG, value);
    }
    if if_none_match.is_some_and(|candidates| etag_matches(&candidates, &etag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A weak validator (`W/"…"`): the same page compressed differently is still the same.
fn etag_of(page: &[u8]) -> String {
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
    format!("W/\"{:016x}\"", hasher.digest())
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
        let a = etag_of(
            b"<p>Post</p><!--volatile--><footer>3 queries, 1.2 ms</footer><!--/volatile-->",
        );
        let b = etag_of(
            b"<p>Post</p><!--volatile--><footer>3 queries, 0.9 ms</footer><!--/volatile-->",
        );
        let c = etag_of(
            b"<p>Post!</p><!--volatile--><footer>3 queries, 0.9 ms</footer><!--/volatile-->",
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("W/\""));
    }
}
