//! A rate limit on comment POSTs, per client address: a burst, then a steady rate.
//! Past it, `429 Too Many Requests` with `Retry-After`. (governor's keyed GCRA
//! limiter: one small entry per address, no background work of its own.)
//!
//! Two things make it safe in public:
//! - **Whose address.** Behind `trusted_proxies` reverse proxies the peer is always a
//!   proxy, so the client is read from `X-Forwarded-For` — counted *from the right*.
//!   Each proxy appends the address it saw, so the last `trusted_proxies` entries were
//!   written by proxies we run; everything to their left was written by the client
//!   and says whatever it likes. Keying on the first entry would let one client post
//!   as a new address every time.
//! - **How many addresses.** Each address costs an entry until its window passes.
//!   [`CommentLimiter::trim`] drops the entries whose window has passed (run every
//!   [`TRIM_EVERY`] by [`CommentLimiter::run_trims`]), and the map never grows past
//!   its cap: when a new address would exceed it, the stale entries go at once, and if
//!   every entry is still live the map is emptied — a client with that many addresses
//!   was never going to be stopped by a per-address limit anyway.
//!
//! With `REDIS_URL` set, the limit is kept in Redis ([`SharedQuota`]), so replicas
//! share it; while Redis is down, each process falls back to its own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::watch;

use super::shared_rate::SharedQuota;
use crate::base::config::{CacheSettings, CommentRate};
use crate::base::error::AppError;

/// How often stale addresses are dropped.
pub const TRIM_EVERY: Duration = Duration::from_secs(60);

type Keyed<C> =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiter, on the real clock (`C` is a fake one in tests).
pub struct CommentLimiter<C: Clock = DefaultClock> {
    /// Replaced by an empty one when full of live addresses (governor cannot clear one).
    limiter: RwLock<Keyed<C>>,
    quota: Quota,
    clock: C,
    trusted_proxies: usize,
    max_addresses: usize,
    /// The replicas' shared limit, with `REDIS_URL`.
    shared: Option<SharedQuota>,
}

impl CommentLimiter {
    /// The limit `rate`, shared through Redis when `cache` is there.
    pub fn new(rate: CommentRate, cache: &CacheSettings) -> anyhow::Result<Arc<Self>> {
        let mut limiter = Self::with_clock(rate, DefaultClock::default());
        if let CacheSettings::Redis { url, namespace } = cache {
            limiter.shared = Some(SharedQuota::new(&rate, url, namespace)?);
        }
        Ok(Arc::new(limiter))
    }

    /// `Ok`, or how long until this address may post again: as the replicas' shared
    /// limit says, or this process's own when there is none or Redis is down.
    pub async fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if let Some(shared) = &self.shared
            && let Some(verdict) = shared.check(client).await
        {
            return verdict;
        }
        self.check_here(client)
    }

    /// Drops stale addresses every [`TRIM_EVERY`] until `stop` turns true.
    pub async fn run_trims(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(TRIM_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() {
            tokio::select! {
                _ = every.tick() => self.trim(),
                _ = stop.changed() => {}
            }
        }
    }
}

impl<C: Clock + Clone> CommentLimiter<C> {
    pub fn with_clock(rate: CommentRate, clock: C) -> Self {
        let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
        Self {
            limiter: RwLock::new(Self::empty(quota, &clock)),
            quota,
            clock,
            trusted_proxies: rate.trusted_proxies,
            max_addresses: rate.max_addresses,
            shared: None,
        }
    }

    fn empty(quota: Quota, clock: &C) -> Keyed<C> {
        RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone())
    }

    fn limiter(&self) -> RwLockReadGuard<'_, Keyed<C>> {
        self.limiter.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Ok`, or how long until this address may post again, by this process's count.
    pub fn check_here(&self, client: IpAddr) -> Result<(), Duration> {
        if self.tracked_addresses() >= self.max_addresses {
            self.make_room();
        }
        self.limiter()
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets the addresses whose window has passed: they would be allowed their
    /// full burst again anyway, so nothing about them is worth keeping.
    pub fn trim(&self) {
        let limiter = self.limiter();
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }

    /// How many addresses the limiter holds an entry for.
    pub fn tracked_addresses(&self) -> usize {
        self.limiter().len()
    }

    fn make_room(&self) {
        self.trim();
        let live = self.tracked_addresses();
        if live >= self.max_addresses {
            tracing::warn!(
                addresses = live,
                "comment rate limiter full of live addresses; forgetting them all"
            );
            *self.limiter.write().unwrap_or_else(PoisonError::into_inner) =
                Self::empty(self.quota, &self.clock);
        }
    }

    /// The client's address: the peer's, or behind `trusted_proxies` proxies the
    /// `X-Forwarded-For` entry that many places from the right (all the header's lines,
    /// in order, as one list). A header shorter than that, or an entry that is not an
    /// address, means the request did not come through the proxies as configured: the
    /// peer's address is used.
    pub fn client(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> IpAddr {
        let forwarded = (self.trusted_proxies > 0)
            .then(|| {
                let entries: Vec<&str> = headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .flat_map(|value| value.split(','))
                    .collect();
                let index = entries.len().checked_sub(self.trusted_proxies)?;
                entries[index].trim().parse().ok()
            })
            .flatten();
        forwarded
            .or(peer)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Middleware: a 429 for an address over its rate, before the handler runs.
pub async fn limit_comments(
    State(limiter): State<Arc<CommentLimiter>>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let client = limiter.client(request.headers(), peer);
    if let Err(wait) = limiter.check(client).await {
        return Err(AppError::TooManyRequests {
            retry_after: wait.max(Duration::from_secs(1)),
        });
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use axum::http::HeaderValue;
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn rate(trusted_proxies: usize, max_addresses: usize) -> CommentRate {
        CommentRate {
            per_minute: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            trusted_proxies,
            max_addresses,
        }
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
            );
        }
        headers
    }

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(172, 18, 0, 5));

    #[test]
    fn behind_one_proxy_the_client_written_first_address_does_not_change_the_key() {
        let limiter = CommentLimiter::with_clock(rate(1, 1000), FakeRelativeClock::default());
        for i in 0..12 {
            let headers = forwarded(&[&format!("198.51.100.{i}, 203.0.113.7")]);
            assert_eq!(
                limiter.client(&headers, Some(PEER)),
                "203.0.113.7".parse::<IpAddr>().unwrap_or(PEER)
            );
        }
    }

    #[test]
    fn the_header_is_counted_from_the_right_across_all_its_lines() {
        let two = CommentLimiter::with_clock(rate(2, 1000), FakeRelativeClock::default());
        let headers = forwarded(&["1.1.1.1, 2.2.2.2", "3.3.3.3"]);
        assert_eq!(
            two.client(&headers, Some(PEER)),
            "2.2.2.2".parse::<IpAddr>().unwrap_or(PEER)
        );
    }

    #[test]
    fn without_trusted_proxies_or_a_usable_header_the_peer_is_the_client() {
        let none = CommentLimiter::with_clock(rate(0, 1000), FakeRelativeClock::default());
        assert_eq!(none.client(&forwarded(&["9.9.9.9"]), Some(PEER)), PEER);
        let two = CommentLimiter::with_clock(rate(2, 1000), FakeRelativeClock::default());
        assert_eq!(two.client(&forwarded(&["9.9.9.9"]), Some(PEER)), PEER);
        assert_eq!(two.client(&forwarded(&["junk, 9.9.9.9"]), Some(PEER)), PEER);
        assert_eq!(two.client(&HeaderMap::new(), Some(PEER)), PEER);
    }

    #[test]
    fn a_hundred_thousand_addresses_leave_no_entries_once_their_window_has_passed() {
        let clock = FakeRelativeClock::default();
        let limiter = CommentLimiter::with_clock(rate(0, 1_000_000), clock.clone());
        for n in 0..100_000 {
            assert!(limiter.check_here(address(n)).is_ok());
        }
        assert_eq!(limiter.tracked_addresses(), 100_000);

        // One comment each: its window is one emission interval (6 s at 10 a minute),
        // and governor keeps an entry one interval more before it calls it stale.
        clock.advance(Duration::from_secs(13));
        limiter.trim();
        assert_eq!(limiter.tracked_addresses(), 0);
    }

    #[test]
    fn the_map_never_holds_more_than_its_cap() {
        let clock = FakeRelativeClock::default();
        let limiter = CommentLimiter::with_clock(rate(0, 10_000), clock.clone());
        for n in 0..100_000 {
            let _ = limiter.check_here(address(n));
            assert!(limiter.tracked_addresses() <= 10_000);
        }
    }

    #[test]
    fn trimming_keeps_the_addresses_still_inside_their_window() {
        let clock = FakeRelativeClock::default();
        let limiter = CommentLimiter::with_clock(rate(0, 1000), clock.clone());
        for _ in 0..5 {
            assert!(limiter.check_here(address(1)).is_ok());
        }
        assert!(limiter.check_here(address(2)).is_ok());
        // Address 2's window (one comment) has passed; address 1's (a burst of five,
        // 30 s) has not.
        clock.advance(Duration::from_secs(13));
        limiter.trim();
        assert_eq!(limiter.tracked_addresses(), 1, "the busy address is kept");
    }
}
