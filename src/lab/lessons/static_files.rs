//! Fingerprinted static files: a returning visitor opens ten pages; each links the
//! stylesheet, named plainly and revalidated, or fingerprinted and kept.
//! What the visitor's browser sends is decided by an HTTP cache that follows the RFC
//! (http-cache-semantics, as a browser's private cache); the browser test checks the
//! same count against a real Chromium.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, HOST, REFERER, USER_AGENT};
use axum::http::{Request, Response};
use http_cache_semantics::{AfterResponse, BeforeRequest, CacheOptions, CachePolicy};

use super::{Comparison, Fact, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::base::static_files::{STYLESHEET, StaticFile};
use crate::lab::fixtures::{CHROME, answered};
use crate::lab::static_visit::{Names, PAGES};
use crate::lab::workbench::Workbench;
use crate::services::http::{self, assets};

pub static LESSON: Lesson = Lesson {
    slug: "static-files",
    comparisons: &[&VISIT],
    backfire: None,
};

/// What every page links besides itself and needs before it is drawn (the icon is
/// fetched by a store of the browser's own, after the page).
const LINKED: [&StaticFile; 1] = [&STYLESHEET];

static VISIT: Comparison<Visit> = Comparison::either(
    "pages",
    |bench, _| Box::pin(visit(bench)),
    |_, visit, runs, which| Box::pin(ten_pages(visit, runs, which)),
);

/// The server's static files behind its HTTP layers, and a browser cache for each way
/// of naming them, filled by a first visit: the visitor is returning.
pub struct Visit {
    server: Router,
    plain: BrowserCache,
    fingerprinted: BrowserCache,
}

async fn visit(_: &Workbench) -> Result<Visit, AppError> {
    let server = http::around(assets::routes());
    let mut plain = BrowserCache::default();
    let mut fingerprinted = BrowserCache::default();
    for (cache, names) in [
        (&mut plain, Names::Plain),
        (&mut fingerprinted, Names::Fingerprinted),
    ] {
        cache.open_page(&server, names).await?;
        cache.sent = Traffic::default();
    }
    Ok(Visit {
        server,
        plain,
        fingerprinted,
    })
}

async fn ten_pages(visit: &Visit, runs: &mut Runs, which: Which) -> Result<Facts, AppError> {
    let (names, primed) = match which {
        Which::Naive => (Names::Plain, &visit.plain),
        Which::Optimized => (Names::Fingerprinted, &visit.fingerprinted),
    };
    let copy = || async { Ok(primed.clone()) };
    let walk = |mut cache: BrowserCache| async move {
        for _ in 0..PAGES {
            cache.open_page(&visit.server, names).await?;
        }
        Ok::<_, AppError>(cache.sent)
    };
    let sent = runs.time_with(copy, walk).await?;
    Ok(Facts::none().and(Fact::Sent {
        requests: sent.requests,
        bytes: sent.bytes,
    }))
}

/// What a browser sent over the network: each request a round trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub requests: u64,
    /// The bytes of the requests' heads, written as HTTP/1.1 would (HTTP/2 compresses
    /// headers it has sent before down to a few bytes each).
    pub bytes: u64,
}

/// A browser's private HTTP cache: each URL's policy (its body is not needed: only
/// whether the browser must ask).
#[derive(Clone, Default)]
pub struct BrowserCache {
    kept: HashMap<String, CachePolicy>,
    pub sent: Traffic,
}

impl BrowserCache {
    /// What a browser fetches for one page: the files it links, from the cache where
    /// the cache may answer, over the network where it may not.
    pub async fn open_page(&mut self, server: &Router, names: Names) -> Result<(), AppError> {
        for file in LINKED {
            self.fetch(server, &names.path_of(file)).await?;
        }
        Ok(())
    }

    async fn fetch(&mut self, server: &Router, path: &str) -> Result<(), AppError> {
        let request = browser_request(path)?;
        let now = SystemTime::now();
        let ask = match self.kept.get(path) {
            None => Some(request),
            Some(policy) => match policy.before_request(&request, now) {
                BeforeRequest::Fresh(_) => None,
                // With the revalidation headers (`If-None-Match`) added.
                BeforeRequest::Stale { request, .. } => Some(Request::from_parts(request, ())),
            },
        };
        let Some(asked) = ask else { return Ok(()) };
        self.sent.requests += 1;
        self.sent.bytes += head_bytes(&asked);
        let response = send(server, &asked).await?;
        let policy = match self.kept.get(path) {
            Some(kept) => match kept.after_response(&asked, &response, SystemTime::now()) {
                AfterResponse::NotModified(policy, _) | AfterResponse::Modified(policy, _) => {
                    policy
                }
            },
            None => CachePolicy::new_options(&asked, &response, now, browser()),
        };
        self.kept.insert(path.to_owned(), policy);
        Ok(())
    }
}

/// A browser's cache is its user's alone.
fn browser() -> CacheOptions {
    CacheOptions {
        shared: false,
        ..CacheOptions::default()
    }
}

/// What Chrome sends for a stylesheet (its client hints and cookies left out).
fn browser_request(path: &str) -> Result<Request<()>, AppError> {
    Request::get(path)
        .header(HOST, "perfblog.example")
        .header(USER_AGENT, CHROME)
        .header(ACCEPT, "text/css,*/*;q=0.1")
        .header("sec-fetch-site", "same-origin")
        .header("sec-fetch-mode", "no-cors")
        .header("sec-fetch-dest", "style")
        .header(REFERER, "https://perfblog.example/")
        .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .header(ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(())
        .map_err(|error| AppError::Internal(error.into()))
}

/// The request line and headers as HTTP/1.1 writes them.
fn head_bytes(request: &Request<()>) -> u64 {
    let line = format!("GET {} HTTP/1.1\r\n", request.uri()).len();
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    (line + headers + 2) as u64
}

/// `request` through `server`, its body read.
async fn send(server: &Router, request: &Request<()>) -> Result<Response<Bytes>, AppError> {
    let mut sent = Request::new(Body::empty());
    *sent.uri_mut() = request.uri().clone();
    *sent.headers_mut() = request.headers().clone();
    answered(server, sent).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn returning_visitor(names: Names) -> Traffic {
        let server = http::around(assets::routes());
        let mut cache = BrowserCache::default();
        cache.open_page(&server, names).await.expect("a first page");
        assert_eq!(
            cache.sent.requests, 1,
            "the first visit fetches the stylesheet"
        );
        cache.sent = Traffic::default();
        for _ in 0..PAGES {
            cache.open_page(&server, names).await.expect("a page");
        }
        cache.sent
    }

    #[tokio::test]
    async fn a_returning_visitor_asks_again_for_plainly_named_files_on_every_page() {
        let sent = returning_visitor(Names::Plain).await;
        assert_eq!(sent.requests, u64::from(PAGES));
        assert!(sent.bytes > sent.requests * 100, "{sent:?}");
    }

    #[tokio::test]
    async fn a_returning_visitor_asks_nothing_for_fingerprinted_files() {
        assert_eq!(
            returning_visitor(Names::Fingerprinted).await,
            Traffic::default()
        );
    }
}
