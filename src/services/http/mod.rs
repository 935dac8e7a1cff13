//! The HTTP layer every response passes through: compression, conditional GET,
//! fingerprinted static files, security headers, a request timeout, and the rate
//! limit on comments.

pub mod assets;
pub mod conditional;
pub mod crawlers;
pub mod rate_limit;
pub mod serve;
pub mod shared_rate;
pub mod spanned;
pub mod timeout;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::base::error::AppError;
use spanned::Spanned;

/// Bodies smaller than this go out as they are: compressing them costs more CPU than
/// the bytes it saves (a 404 page, a redirect).
const COMPRESS_ABOVE_BYTES: u64 = 1024;

/// A request still running after this is answered `503` and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The import (and its naive twin) reads, validates and writes a body of up to
/// `IMPORT_MAX_MB`: the export of the whole blog takes longer than
/// [`REQUEST_TIMEOUT`] to send, check and insert, so it has a limit of its own.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// Pages run no scripts and load nothing from elsewhere; the policy says so, so an
/// injected `<script>` would not run even if escaping ever failed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; object-src 'none'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Marks a response whose representation was chosen before the compression layer — by
/// its handler (a precompressed body, or identity for a client that takes none of the
/// precompressed encodings), or by conditional GET (a rendered page in zstd) — and
/// named in its ETag: the compression layer sends it as it is, so the ETag names what
/// is sent (compressing it on the fly would send two bodies under one strong ETag).
#[derive(Clone, Copy, Debug)]
pub struct EncodingChosen;

/// Compresses only responses no handler marked [`EncodingChosen`].
#[derive(Clone, Copy, Debug)]
struct NotChosen;

impl Predicate for NotChosen {
    fn should_compress<B: axum::body::HttpBody>(&self, response: &axum::http::Response<B>) -> bool {
        response.extensions().get::<EncodingChosen>().is_none()
    }
}

/// Wraps `router` in the layers every response passes through, innermost first:
/// conditional GET sees the uncompressed page, compression then encodes what is sent.
pub fn around(router: Router) -> Router {
    let security_headers: [(&'static str, &'static str); 4] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
    ];
    let mut router = router
        .layer(Spanned::new(
            "conditional GET",
            axum::middleware::from_fn(conditional::conditional_get),
        ))
        .layer(Spanned::new(
            "compression",
            CompressionLayer::new().compress_when(
                SizeAbove::new(COMPRESS_ABOVE_BYTES)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::GRPC)
                    .and(NotChosen),
            ),
        ));
    // One span for the four: the last one added is outside the other three.
    let last = security_headers.len() - 1;
    for (i, (name, value)) in security_headers.into_iter().enumerate() {
        let header = SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        router = match i == last {
            true => router.layer(Spanned::new("security headers", header)),
            false => router.layer(header),
        };
    }
    router
        .layer(Spanned::new(
            "timeout",
            axum::middleware::from_fn_with_state(
                timeout::Limits {
                    default: REQUEST_TIMEOUT,
                    import: IMPORT_TIMEOUT,
                },
                timeout::limit,
            ),
        ))
        .layer(Spanned::new(
            "one Host header",
            axum::middleware::from_fn(one_host),
        ))
}

/// Middleware: a request with more than one `Host` header is a 400, as RFC 9112 (3.2)
/// says — hyper passes it on, and a proxy and the app could each read a different one.
async fn one_host(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, AppError> {
    let hosts = request
        .headers()
        .get_all(axum::http::header::HOST)
        .iter()
        .count();
    if hosts > 1 {
        return Err(AppError::BadRequest(format!(
            "A request names its host once; this one has {hosts} Host headers."
        )));
    }
    Ok(next.run(request).await)
}
