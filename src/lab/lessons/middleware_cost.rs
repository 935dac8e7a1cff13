//! Middleware cost: a request for the list's first page through the site's HTTP layers
//! and its crawler check — the check's expression compiled on every request, or once.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{ACCEPT, ACCEPT_ENCODING, USER_AGENT};
use axum::http::{Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::get;
use futures_util::future::try_join_all;
use tower_layer::Identity;

use super::{Comparison, Fact, Facts, Lesson, Runs, Which};
use crate::base::config::CacheSettings;
use crate::base::error::AppError;
use crate::base::instrument::trace::{self, SpanRun, Trace};
use crate::base::variant::Variant;
use crate::lab::compare::LayerTime;
use crate::lab::fixtures::{CHROME, answered, site_of_its_own};
use crate::lab::workbench::Workbench;
use crate::services::http::crawlers::{self, Recognizer};
use crate::services::http::{self, spanned::Spanned};
use crate::views::cached_page::PageRequest;
use crate::views::pagination::Position;
use crate::views::post_list;
use crate::views::site::Site;

pub static LESSON: Lesson = Lesson {
    slug: "middleware-cost",
    comparisons: &[&REQUESTS],
    backfire: None,
};

/// Requests timed one by one for the time in each layer (not the timed runs).
const TRACED_REQUESTS: usize = 25;

/// The two stacks, on a site of the lab's own whose page cache already holds the page,
/// and how many requests go at once.
pub struct Stacks {
    pub compiling_each_time: Router,
    pub compiled_once: Router,
    in_flight: usize,
}

static REQUESTS: Comparison<Stacks> = Comparison::either(
    "requests",
    |bench, size| Box::pin(stacks(bench, size)),
    |_, stacks, runs, which| Box::pin(requests(stacks, runs, which)),
);

/// Both stacks, each warmed by a first request (the page cached, the expression built
/// once for the stack that keeps it).
pub async fn stacks(bench: &Workbench, size: Option<u64>) -> Result<Stacks, AppError> {
    let site = site_of_its_own(&bench.db, &CacheSettings::Memory, true)?;
    let stacks = Stacks {
        compiling_each_time: stack(&site, crawlers::is_crawler_compiling_each_time),
        compiled_once: stack(&site, crawlers::is_crawler),
        in_flight: usize::try_from(size.unwrap_or(1)).unwrap_or(1).max(1),
    };
    for stack in [&stacks.compiling_each_time, &stacks.compiled_once] {
        respond(stack).await?;
    }
    Ok(stacks)
}

/// The site's HTTP layers ([`http::around`]) and its crawler check, built with
/// `recognize`, in front of the list's first page.
fn stack(site: &Site, recognize: Recognizer) -> Router {
    let page = Router::new()
        .route("/", get(first_page))
        // Routing, the extractors and the handler: the page itself.
        .route_layer(Spanned::new(THE_PAGE, Identity::new()))
        .with_state(site.clone())
        .layer(Spanned::new(
            "crawler check",
            from_fn_with_state(recognize, crawlers::tell_crawlers),
        ));
    http::around(page)
}

async fn first_page(site: State<Site>, request: PageRequest) -> Result<Response, AppError> {
    post_list::page(site, Variant::Optimized, Position::FIRST, request).await
}

/// The span around the route: what is left once the layers are through.
const THE_PAGE: &str = "the page itself";

/// One request through `stack`, as a browser sends it, read to its last byte: its
/// status, headers and body.
pub async fn respond(stack: &Router) -> Result<Response<axum::body::Bytes>, AppError> {
    let request = Request::get("/")
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .header(USER_AGENT, CHROME)
        .body(Body::empty())
        .map_err(|error| AppError::Internal(error.into()))?;
    let response = answered(stack, request).await?;
    match response.status() {
        StatusCode::OK => Ok(response),
        status => Err(AppError::Internal(anyhow::anyhow!(
            "the page answered {status}"
        ))),
    }
}

async fn requests(stacks: &Stacks, runs: &mut Runs, which: Which) -> Result<Facts, AppError> {
    let stack = match which {
        Which::Naive => &stacks.compiling_each_time,
        Which::Optimized => &stacks.compiled_once,
    };
    // A burst, all in flight in this task: the layers' work is on the CPU and does not
    // overlap, so each request waits for the work of those before it, as on one core.
    runs.time(|| try_join_all((0..stacks.in_flight).map(|_| respond(stack))))
        .await?;
    if !runs.is_live() {
        return Ok(Facts::none());
    }
    Ok(Facts::none().and(Fact::Layers(time_in_each_layer(stack).await?)))
}

/// [`TRACED_REQUESTS`] requests through `stack` one after another, each traced: each
/// layer's own part of a request, averaged (spans are timed to the microsecond; a mean
/// over requests sees what one request's rounding hides).
async fn time_in_each_layer(stack: &Router) -> Result<Vec<LayerTime>, AppError> {
    let mut timelines = Vec::with_capacity(TRACED_REQUESTS);
    for _ in 0..TRACED_REQUESTS {
        let trace = Trace::new();
        trace::tracing_into(trace.clone(), respond(stack)).await?;
        timelines.push(own_times(&trace.timeline().spans));
    }
    Ok(averaged(&timelines))
}

/// Each layer's own time in one request, outermost first, in microseconds: its span
/// less the span of the next layer inside it (the innermost, [`THE_PAGE`], keeps all
/// of its own).
pub fn own_times(spans: &[SpanRun]) -> Vec<(String, i64)> {
    // Spans close inside out: of two that opened in the same microsecond and lasted as
    // long, the one that closed later is the outer one.
    let mut layers: Vec<(usize, &SpanRun)> = spans
        .iter()
        .enumerate()
        .filter(|(_, span)| span.name == "layer")
        .collect();
    layers
        .sort_by_key(|(closed, span)| (span.start_us, Reverse(span.duration_us), Reverse(*closed)));
    let layers: Vec<&SpanRun> = layers.into_iter().map(|(_, span)| span).collect();
    let inside = layers
        .iter()
        .skip(1)
        .map(|span| span.duration_us)
        .chain([0]);
    layers
        .iter()
        .zip(inside)
        .map(|(span, inner)| (span.label.clone(), micros(span.duration_us) - micros(inner)))
        .collect()
}

fn micros(us: u64) -> i64 {
    i64::try_from(us).unwrap_or(i64::MAX)
}

/// Each layer's own time over the requests, in the first request's order: the mean of
/// the middle of them, the fastest and slowest fifth left out (one request that waited
/// for the allocator or the scheduler would pull a plain mean far off).
fn averaged(timelines: &[Vec<(String, i64)>]) -> Vec<LayerTime> {
    let mut runs: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for timeline in timelines {
        for (layer, us) in timeline {
            runs.entry(layer.as_str()).or_default().push(*us);
        }
    }
    let order = timelines.first().map(Vec::as_slice).unwrap_or_default();
    order
        .iter()
        .map(|(layer, _)| LayerTime {
            layer: layer.clone(),
            time: trimmed_mean(runs.remove(layer.as_str()).unwrap_or_default()),
        })
        .collect()
}

/// The mean of `micros` without its lowest and highest fifth.
fn trimmed_mean(mut micros: Vec<i64>) -> Duration {
    micros.sort_unstable();
    let cut = micros.len() / 5;
    let middle = &micros[cut..micros.len() - cut];
    let total: i64 = middle.iter().map(|us| (*us).max(0)).sum();
    let mean_us = total as f64 / middle.len().max(1) as f64;
    Duration::from_nanos((mean_us * 1_000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layers_own_time_leaves_out_the_layers_inside_it() {
        let spans = [
            SpanRun::at("layer", THE_PAGE, 12, 20),
            SpanRun::at("layer", "compression", 2, 40),
            SpanRun::at("layer", "timeout", 0, 50),
            SpanRun::at("handler", "post list", 13, 18),
            SpanRun::at("layer", "crawler check", 5, 30),
        ];
        let own = own_times(&spans);
        let expected = [
            ("timeout", 10),
            ("compression", 10),
            ("crawler check", 10),
            (THE_PAGE, 20),
        ];
        let own: Vec<(&str, i64)> = own.iter().map(|(l, us)| (l.as_str(), *us)).collect();
        assert_eq!(own, expected);
    }

    #[test]
    fn own_times_are_averaged_below_the_microsecond_without_the_outliers() {
        let timelines: Vec<Vec<(String, i64)>> = [(1, 20), (0, 21), (1, 2000), (0, 20), (1, 21)]
            .into_iter()
            .map(|(timeout, page)| vec![("timeout".to_owned(), timeout), ("page".to_owned(), page)])
            .collect();
        let averaged = averaged(&timelines);
        assert_eq!(averaged[0].layer, "timeout");
        assert_eq!(averaged[1].layer, "page");
        // Five runs: the fastest and the slowest left out, the middle three averaged.
        assert_eq!(averaged[0].time, Duration::from_nanos(666));
        assert_eq!(averaged[1].time, Duration::from_nanos(20_666));
    }

    #[test]
    fn of_two_layers_that_opened_and_closed_in_the_same_microsecond_the_later_closed_is_outer() {
        let spans = [
            SpanRun::at("layer", THE_PAGE, 3, 5),
            SpanRun::at("layer", "conditional GET", 2, 7),
            SpanRun::at("layer", "compression", 2, 7),
        ];
        let own: Vec<String> = own_times(&spans)
            .into_iter()
            .map(|(layer, _)| layer)
            .collect();
        assert_eq!(own, ["compression", "conditional GET", THE_PAGE]);
    }
}
