//! The app's connections to Redis (the cache, the request history, the comment limit):
//! each made on first use and remade after a failure, each command bounded.

use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A connection to Redis at `url` for `what` (named in the error), made on first use
/// and remade after a failure, each command given `response_timeout`: Redis down costs
/// a request that long at most.
pub fn lazy_redis(
    url: &str,
    response_timeout: Duration,
    what: &str,
) -> anyhow::Result<ConnectionManager> {
    let client =
        redis::Client::open(url).with_context(|| format!("REDIS_URL `{url}` cannot be used"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(250)))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(1);
    ConnectionManager::new_lazy_with_config(client, config)
        .with_context(|| format!("could not set up {what}'s Redis connection"))
}
