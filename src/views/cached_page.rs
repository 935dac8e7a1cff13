//! A cached page on its way out: the holes filled for this request, the encoding the
//! client accepts, and the headers that go with it.
//!
//! Everything here is per request and cheap: the view count and the footer are a few
//! hundred bytes, the page's compressed segments are copied, not compressed again.

use askama::Template;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::base::error::AppError;
use crate::base::instrument::trace::OpenSpan;
use crate::base::variant::Variant;
use crate::services::cache::page::{CachedPage, Hole, Rendered, Served};
use crate::services::cache::precompressed::Encoding;
use crate::services::db::standbys::{Lsn, Reader, Server};
use crate::services::http::EncodingChosen;
use crate::services::http::conditional::etag_matches;
use crate::views::footer::Footer;
use crate::views::footer::PageNote;
use crate::views::site::Site;
use crate::views::written;

/// What a cached page's response depends on besides the page: the address (for the
/// footer's twin link), the encodings accepted, and the validator the client holds.
pub struct PageRequest {
    pub uri: Uri,
    pub accept_encoding: Option<String>,
    pub if_none_match: Option<HeaderValue>,
    /// Where the primary's log ended after the reader's last write, if it wrote lately
    /// (its cookie): a standby must have replayed that far to render its page.
    pub written: Option<Lsn>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        Ok(PageRequest {
            uri: parts.uri.clone(),
            accept_encoding: header_text(headers, &ACCEPT_ENCODING),
            if_none_match: headers.get(IF_NONE_MATCH).cloned(),
            written: written::written(headers),
        })
    }
}

fn header_text(headers: &HeaderMap, name: &axum::http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// A list or tag page through the page cache: `build(true, reader)` renders it with
/// holes, once per key until a write; `build(false, reader)` renders it whole, for the
/// naive twin or with `PAGE_CACHE=off`. `reader` is where it reads ([`reader_for`]).
pub async fn serve<T, F, Fut>(
    site: &Site,
    variant: Variant,
    key: &str,
    request: &PageRequest,
    build: F,
) -> Result<Response, AppError>
where
    T: Template + IntoResponse,
    F: Fn(bool, Reader) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    if !uses_page_cache(site, variant) {
        let page = rendered(site, variant, request, |reader| build(false, reader)).await?;
        let html = render_traced(&page)?;
        return Ok(axum::response::Html(html).into_response());
    }
    let (page, served) = site
        .pages
        .get_or_render(key, || async {
            let page = rendered(site, variant, request, |reader| build(true, reader)).await?;
            let html = render_traced(&page)?;
            Ok(Rendered {
                html,
                subject: None,
            })
        })
        .await?;
    respond(&page, served, request, variant, None)
}

/// Whether `variant`'s pages go through the page cache: the optimized ones, unless
/// `PAGE_CACHE=off`.
pub fn uses_page_cache(site: &Site, variant: Variant) -> bool {
    variant == Variant::Optimized && site.pages.is_enabled()
}

/// Where a page in `variant` reads from. The naive twin reads the primary: it is the
/// app with no router. An optimized page the page cache keeps is served to every
/// reader, so it reads only what is as current as the primary ([`Reads::current`]);
/// one rendered for this request alone needs only the reader's own writes
/// ([`Reads::after`]).
///
/// [`Reads::current`]: crate::services::db::standbys::Reads::current
/// [`Reads::after`]: crate::services::db::standbys::Reads::after
pub async fn reader_for(
    site: &Site,
    variant: Variant,
    request: &PageRequest,
) -> Result<Reader, AppError> {
    Ok(match variant {
        Variant::Naive => site.reads.primary(),
        Variant::Optimized if uses_page_cache(site, variant) => site.reads.current().await?,
        Variant::Optimized => site.reads.after(request.written).await,
    })
}

/// `render` reading from the server [`reader_for`] picks, counted in `/metrics`. A
/// standby that fails the render is set aside and the primary renders it again: a
/// standby going away costs its reads, not the page.
pub async fn rendered<T, F, Fut>(
    site: &Site,
    variant: Variant,
    request: &PageRequest,
    render: F,
) -> Result<T, AppError>
where
    F: Fn(Reader) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let reader = reader_for(site, variant, request).await?;
    site.reads.count_page(reader.server());
    if reader.server() == Server::Primary {
        return render(reader).await;
    }
    match render(reader.clone()).await {
        Err(AppError::Internal(_) | AppError::DatabaseUnavailable(_)) => {
            site.reads.set_aside(&reader);
            site.reads.count_page(Server::Primary);
            render(site.reads.primary()).await
        }
        rendered => rendered,
    }
}

/// `template` rendered, in a `template` span named after it: its row in the
/// request's waterfall.
pub fn render_traced<T: Template>(template: &T) -> Result<String, AppError> {
    let name = std::any::type_name::<T>();
    let label = name.rsplit("::").next().unwrap_or(name);
    let _timed = OpenSpan::open("template", label);
    template.render().map_err(render_failed)
}

pub fn render_failed(error: askama::Error) -> AppError {
    AppError::Internal(anyhow::Error::new(error).context("a template failed to render"))
}

/// The footer's figures alone, for the footer hole.
#[derive(Template)]
#[template(path = "footer.html")]
struct FooterFigures<'a> {
    footer: &'a Footer,
}

/// The response for `page`, served as `served`, in the encoding the client prefers:
/// a `304` if it holds this representation already, else the page with this request's
/// holes filled — `views` for the view count (post pages), and the footer.
pub fn respond(
    page: &CachedPage,
    served: Served,
    request: &PageRequest,
    variant: Variant,
    views: Option<String>,
) -> Result<Response, AppError> {
    let (encoding, etag) = representation(page, request);
    let mut response = if is_revalidated(page, request) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let footer = footer_figures(page, served, request, variant)?;
        let views = views.unwrap_or_default();
        let holes: Vec<&[u8]> = page
            .holes
            .iter()
            .map(|hole| match hole {
                Hole::Views => views.as_bytes(),
                Hole::Footer => footer.as_bytes(),
            })
            .collect();
        html(page.segments.assemble(encoding, &holes)?, encoding)
    };
    describe(response.headers_mut(), page, served, &etag);
    response.extensions_mut().insert(EncodingChosen);
    Ok(response)
}

/// The encoding `request` gets `page` in, and that representation's ETag.
fn representation(page: &CachedPage, request: &PageRequest) -> (Encoding, String) {
    let encoding = Encoding::negotiate(request.accept_encoding.as_deref());
    let etag = format!("W/\"{:016x}-{}\"", page.etag, encoding.etag_suffix());
    (encoding, etag)
}

/// Whether `request` already holds `page` (its `If-None-Match` names the ETag of the
/// representation it would get): the answer is a `304`, and the page is not read.
pub fn is_revalidated(page: &CachedPage, request: &PageRequest) -> bool {
    let (_, etag) = representation(page, request);
    request
        .if_none_match
        .as_ref()
        .is_some_and(|candidates| etag_matches(candidates, &etag))
}

/// The footer's figures for this request, captured now — after every statement it
/// ran, the view counter's included — with how the page cache served the page.
fn footer_figures(
    page: &CachedPage,
    served: Served,
    request: &PageRequest,
    variant: Variant,
) -> Result<String, AppError> {
    let mut footer = Footer::capture(variant, &request.uri);
    footer.page = Some(PageNote {
        served,
        age: page.age(),
        cost: page.cost,
    });
    FooterFigures { footer: &footer }
        .render()
        .map_err(render_failed)
}

/// An HTML body already in `encoding`.
fn html(body: axum::body::Bytes, encoding: Encoding) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Some(coding) = encoding.content_encoding() {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// What every answer from the page cache says, `304` or not: it varies by encoding,
/// must be revalidated, its validator, and how it was served.
fn describe(headers: &mut HeaderMap, page: &CachedPage, served: Served, etag: &str) {
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    insert_text(headers, ETAG, etag);
    insert_text(headers, "cache-status", &cache_status(page, served));
    headers.append(
        "server-timing",
        HeaderValue::from_static(match served {
            Served::Hit => "page;desc=\"hit\"",
            Served::Miss => "page;desc=\"miss\"",
            Served::Stale => "page;desc=\"stale\"",
        }),
    );
}

/// `Cache-Status` (RFC 9211): `perfblog; hit; ttl=240`, `perfblog; fwd=miss; stored`,
/// or, for a stale page, `perfblog; hit; ttl=-60; detail=stale-if-error`.
fn cache_status(page: &CachedPage, served: Served) -> String {
    match served {
        Served::Hit => format!("perfblog; hit; ttl={}", page.ttl_left_secs()),
        Served::Miss => "perfblog; fwd=miss; stored".to_owned(),
        Served::Stale => format!(
            "perfblog; hit; ttl={}; detail=stale-if-error",
            page.ttl_left_secs().min(-1)
        ),
    }
}

fn insert_text<K: axum::http::header::IntoHeaderName>(
    headers: &mut HeaderMap,
    name: K,
    text: &str,
) {
    if let Ok(value) = HeaderValue::from_str(text) {
        headers.insert(name, value);
    }
}
