//! The comment limit every replica shares: the same GCRA as the per-process limiter,
//! its state (each address's theoretical arrival time) in Redis, checked and advanced
//! in one atomic step — a Lua script, on Redis's own clock, so replicas whose clocks
//! differ still agree. A limit kept per process gives a client as many bursts as there
//! are replicas behind the load balancer.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::base::config::CommentRate;
use crate::services::redis_connection::lazy_redis;

/// GCRA: an address may send when now ≥ its arrival time minus the burst's tolerance;
/// each request moves the arrival time on by one emission interval. Returns 0 when
/// allowed, else the milliseconds to wait. The key expires once it would allow a full
/// burst again.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local after = tat + emission
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', after - now)
return 0
";

pub struct SharedQuota {
    manager: ConnectionManager,
    script: redis::Script,
    prefix: String,
    emission_ms: u64,
    tolerance_ms: u64,
    /// Whether the last check found Redis down: the fall-back is warned about once
    /// per outage.
    down: AtomicBool,
}

impl SharedQuota {
    /// `rate` in the Redis at `url`, under `namespace`.
    pub fn new(rate: &CommentRate, url: &str, namespace: &str) -> anyhow::Result<Self> {
        let emission_ms = (60_000 / u64::from(rate.per_minute.get())).max(1);
        Ok(Self {
            manager: lazy_redis(url, Duration::from_millis(250), "the comment limit")?,
            script: redis::Script::new(GCRA),
            prefix: format!("{namespace}:comment-rate:"),
            emission_ms,
            tolerance_ms: emission_ms * u64::from(rate.burst.get() - 1),
            down: AtomicBool::new(false),
        })
    }

    /// `Some(Ok)` when `client` may post, `Some(Err(wait))` when not yet; `None` when
    /// Redis could not be asked (warned once per outage): the caller decides alone.
    pub async fn check(&self, client: IpAddr) -> Option<Result<(), Duration>> {
        let asked: redis::RedisResult<u64> = self
            .script
            .key(format!("{}{client}", self.prefix))
            .arg(self.emission_ms)
            .arg(self.tolerance_ms)
            .invoke_async(&mut self.manager.clone())
            .await;
        match asked {
            Ok(wait_ms) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is back: the comment limit is shared again");
                }
                Some(match wait_ms {
                    0 => Ok(()),
                    wait => Err(Duration::from_millis(wait)),
                })
            }
            Err(error) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        "Redis is unreachable: each process limits comments on its own until it is back"
                    );
                }
                None
            }
        }
    }
}
