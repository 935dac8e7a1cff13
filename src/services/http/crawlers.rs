//! Which requests come from crawlers: search engines, link previews, archivers and AI
//! scrapers fetch pages as a reader does, and a post page counts its views — a
//! crawler's visit is no reader's. A layer in front of every page reads the
//! `User-Agent` and tells the handlers who is asking ([`Visitor`]).
//!
//! The check is a regular expression, and it has a cost a reader of the middleware
//! does not see: building the expression's automaton is far more work than running
//! it. The lab's middleware-cost lesson measures the layer built both ways.

use std::convert::Infallible;
use std::sync::LazyLock;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use regex::Regex;

/// The crawlers that announce themselves, by the words of their `User-Agent`: a word
/// ending in `bot` (Googlebot, bingbot, GPTBot, ClaudeBot), `crawl` and `spider`, the
/// link previewers and fetchers that use none of them, and the default agents of HTTP
/// libraries. Words that readers' browsers carry too are left out (DuckDuckGo's, the
/// Baidu and Yandex apps', WhatsApp's in-app browser: its previewer's agent starts with
/// `WhatsApp/`). A list is a guess both ways: a crawler that pretends to be a browser
/// passes, and a phone sold as CUBOT is taken for a crawler.
pub const CRAWLERS: &str = "(?i)bot\\b|crawl|spider|slurp|archiver|facebookexternalhit|\
     facebookcatalog|embedly|quora link preview|outbrain|vkshare|w3c_validator|^whatsapp/|\
     bingpreview|microsoftpreview|skypeuripreview|googleother|mediapartners-google|\
     google-inspectiontool|feedfetcher|yandex\\.com/bots|ahrefs|semrush|mj12|bytespider|\
     chatgpt-user|perplexity|yeti/|mastodon/|cardyb|iframely|headlesschrome|lighthouse|\
     python-requests|python-httpx|python-urllib|aiohttp|go-http-client|curl/|wget/|\
     libwww-perl|httpclient|okhttp|axios/|node-fetch|^java/|scrapy";

/// Who is asking for a page, as the crawler layer told it; a request the layer did not
/// see (a handler called directly) is a reader's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Visitor {
    #[default]
    Reader,
    Crawler,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<Visitor>()
            .copied()
            .unwrap_or_default())
    }
}

/// Recognizes a crawler's `User-Agent`.
pub type Recognizer = fn(&str) -> bool;

/// **Naive.** Builds the expression from its text on every call, as code that calls
/// `Regex::new` where it matches does. What it costs: parsing the pattern and compiling
/// its automaton — work whose answer never changes — on every request, before the
/// match that takes a fraction of it; in a layer, every page pays it.
pub fn is_crawler_compiling_each_time(user_agent: &str) -> bool {
    Regex::new(CRAWLERS).is_ok_and(|crawlers| crawlers.is_match(user_agent))
}

/// **Optimized.** What changed: the expression is compiled once, on the first request,
/// and kept for the process's life; a request only runs it.
pub fn is_crawler(user_agent: &str) -> bool {
    // A constant that compiles (a unit test says so): nothing a request sends can fail it.
    static COMPILED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(CRAWLERS).expect("CRAWLERS is a valid expression"));
    COMPILED.is_match(user_agent)
}

/// Middleware: tells the handlers whether a crawler is asking, as `recognize` decides
/// ([`is_crawler`] on the site; the lab's naive stack gives it the other one).
pub async fn tell_crawlers(
    State(recognize): State<Recognizer>,
    mut request: Request,
    next: Next,
) -> Response {
    let crawler = request
        .headers()
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(recognize);
    let visitor = if crawler {
        Visitor::Crawler
    } else {
        Visitor::Reader
    };
    request.extensions_mut().insert(visitor);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
                          Gecko) Chrome/131.0.0.0 Safari/537.36";
    const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 \
                           Firefox/133.0";
    const SAFARI_ON_AN_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
         AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    const DUCKDUCKGO_ON_ANDROID: &str = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 \
         (KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile DuckDuckGo/5 Safari/537.36";
    const WHATSAPP_IN_APP: &str = "Mozilla/5.0 (Linux; Android 10; SM-A205F \
         Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 \
         Chrome/91.0.4472.120 Mobile Safari/537.36 WhatsApp/2.21.9.15 A";
    const CRAWLER_AGENTS: [&str; 9] = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; \
         +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; \
         +https://openai.com/gptbot)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "curl/8.5.0",
        "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)",
        "WhatsApp/2.23.20.0 A",
        "Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)",
    ];

    /// What the layer tells a handler for a request with `user_agent` (or none).
    async fn told(user_agent: Option<&[u8]>) -> Visitor {
        use axum::Router;
        use axum::body::Body;
        use axum::http::{HeaderValue, Request};
        use axum::routing::get;
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/",
                get(|visitor: Visitor| async move { format!("{visitor:?}") }),
            )
            .layer(axum::middleware::from_fn_with_state(
                is_crawler as Recognizer,
                tell_crawlers,
            ));
        let mut request = Request::new(Body::empty());
        if let Some(agent) = user_agent {
            let value = HeaderValue::from_bytes(agent).expect("a header value");
            request.headers_mut().insert(USER_AGENT, value);
        }
        let response = app.oneshot(request).await.expect("answered");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a body");
        match &body[..] {
            b"Crawler" => Visitor::Crawler,
            _ => Visitor::Reader,
        }
    }

    #[tokio::test]
    async fn the_layer_tells_a_crawler_and_takes_a_missing_or_unreadable_agent_for_a_reader() {
        assert_eq!(
            told(Some(CRAWLER_AGENTS[0].as_bytes())).await,
            Visitor::Crawler
        );
        assert_eq!(told(Some(CHROME.as_bytes())).await, Visitor::Reader);
        assert_eq!(told(None).await, Visitor::Reader);
        assert_eq!(told(Some(b"Googlebot \xff\xfe")).await, Visitor::Reader);
    }

    #[test]
    fn the_pattern_compiles_and_its_lines_are_joined_without_their_indent() {
        assert!(Regex::new(CRAWLERS).is_ok());
        assert!(
            !CRAWLERS.contains('\n') && !CRAWLERS.contains("  "),
            "{CRAWLERS}"
        );
    }

    #[test]
    fn crawlers_that_announce_themselves_are_recognized_both_ways() {
        for agent in CRAWLER_AGENTS {
            assert!(is_crawler(agent), "{agent}");
            assert!(is_crawler_compiling_each_time(agent), "{agent}");
        }
    }

    #[test]
    fn browsers_are_readers_both_ways() {
        for agent in [
            CHROME,
            FIREFOX,
            SAFARI_ON_AN_IPHONE,
            DUCKDUCKGO_ON_ANDROID,
            WHATSAPP_IN_APP,
            "",
        ] {
            assert!(!is_crawler(agent), "{agent}");
            assert!(!is_crawler_compiling_each_time(agent), "{agent}");
        }
    }
}
