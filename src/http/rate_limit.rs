//! A rate limit on comment POSTs, per client address: a burst, then a steady rate.
//! Past it, `429 Too Many Requests` with `Retry-After`. (governor's keyed GCRA
//! limiter: no background task, one atomic per address.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::CommentRate;
use crate::error::AppError;

pub struct CommentLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
}

impl CommentLimiter {
    pub fn new(rate: CommentRate) -> Arc<Self> {
        let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
        Arc::new(Self {
            limiter: RateLimiter::keyed(quota),
            trust_forwarded_for: rate.trust_forwarded_for,
        })
    }

    fn client(&self, request: &Request) -> IpAddr {
        let forwarded = self
            .trust_forwarded_for
            .then(|| request.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .and_then(|first| first.trim().parse().ok());
        forwarded
            .or_else(|| {
                request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|info| info.0.ip())
            })
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Middleware: a 429 for an address over its rate, before the handler runs.
pub async fn limit_comments(
    State(limiter): State<Arc<CommentLimiter>>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let client = limiter.client(&request);
    if let Err(not_until) = limiter.limiter.check_key(&client) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        return Err(AppError::TooManyRequests {
            retry_after: wait.max(Duration::from_secs(1)),
        });
    }
    Ok(next.run(request).await)
}
