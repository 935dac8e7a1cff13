//! The standbys' watcher: every [`CHECK_EVERY`] it asks the primary where its log ends
//! and each standby how far it has replayed, and decides which standbys reads may use.
//!
//! Lag is measured in time, from the positions: the primary's recent ends are kept
//! with when they were seen, and a standby is as far behind as the oldest of them it
//! has not replayed yet. (`now() - pg_last_xact_replay_timestamp()` would be simpler,
//! and wrong on a quiet primary: it grows while there is nothing to replay.)

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Lsn, Reads, Standby, primary_position, replayed_position};

/// How often the watcher asks each standby how far it has replayed.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);

/// A server that has not answered in this long is down, for this look.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

impl Reads {
    /// Looks at the standbys every [`CHECK_EVERY`] until `stop` says so. Returns at
    /// once when there are none.
    pub async fn watch(self, mut stop: watch::Receiver<bool>) {
        if !self.has_standbys() {
            return;
        }
        let mut ends = PrimaryEnds::keeping(self.max_lag + 2 * CHECK_EVERY);
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.look(&mut ends).await,
                _ = stop.changed() => return,
            }
        }
    }

    /// One look: the primary's end, then each standby.
    pub async fn look(&self, ends: &mut PrimaryEnds) {
        if let Ok(Ok(end)) =
            tokio::time::timeout(CHECK_TIMEOUT, primary_position(&self.primary)).await
        {
            ends.saw(Instant::now(), end);
        }
        for standby in self.standbys.iter() {
            self.look_at(standby, ends).await;
        }
    }

    async fn look_at(&self, standby: &Standby, ends: &PrimaryEnds) {
        let answer = tokio::time::timeout(CHECK_TIMEOUT, replayed_position(&standby.db)).await;
        let Ok(mut look) = standby.look.lock() else {
            return;
        };
        let was_healthy = look.healthy;
        match answer {
            Ok(Ok(replayed)) => {
                look.answered = true;
                look.replayed = look.replayed.max(replayed);
                look.lag = ends.lag_of(look.replayed, Instant::now());
                look.healthy = look.lag <= self.max_lag;
            }
            Ok(Err(_)) | Err(_) => {
                look.answered = false;
                look.healthy = false;
            }
        }
        match (was_healthy, look.healthy) {
            (true, false) if look.answered => tracing::warn!(
                standby = %standby.name,
                lag_ms = look.lag.as_millis(),
                "a standby lags more than DATABASE_REPLICA_MAX_LAG: its reads go to the primary"
            ),
            (true, false) => tracing::warn!(
                standby = %standby.name,
                "a standby does not answer: its reads go to the primary"
            ),
            (false, true) => tracing::info!(standby = %standby.name, "a standby serves reads"),
            _ => {}
        }
    }
}

/// The primary's recent log ends, each with when it was seen.
pub struct PrimaryEnds {
    seen: VecDeque<(Instant, Lsn)>,
    keep: Duration,
}

impl PrimaryEnds {
    /// Keeps the ends seen in the last `keep` (and always the latest).
    pub fn keeping(keep: Duration) -> Self {
        Self {
            seen: VecDeque::new(),
            keep,
        }
    }

    pub fn saw(&mut self, at: Instant, end: Lsn) {
        self.seen.push_back((at, end));
        while self.seen.len() > 1
            && self
                .seen
                .front()
                .is_some_and(|(seen, _)| at.duration_since(*seen) > self.keep)
        {
            self.seen.pop_front();
        }
    }

    /// How far behind a server that has replayed up to `replayed` is at `now`: since
    /// the oldest end it lacks was seen (zero when it has the latest; at least the
    /// kept window when it lacks them all).
    pub fn lag_of(&self, replayed: Lsn, now: Instant) -> Duration {
        self.seen
            .iter()
            .find(|(_, end)| *end > replayed)
            .map_or(Duration::ZERO, |(seen, _)| now.duration_since(*seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_lags_since_the_oldest_primary_end_it_has_not_replayed() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut ends = PrimaryEnds::keeping(Duration::from_secs(10));
        ends.saw(at(0), Lsn(100));
        ends.saw(at(500), Lsn(200));
        ends.saw(at(1000), Lsn(300));

        assert_eq!(ends.lag_of(Lsn(300), at(1200)), Duration::ZERO);
        assert_eq!(ends.lag_of(Lsn(250), at(1200)), Duration::from_millis(200));
        assert_eq!(ends.lag_of(Lsn(150), at(1200)), Duration::from_millis(700));
        assert_eq!(ends.lag_of(Lsn(50), at(1200)), Duration::from_millis(1200));
    }

    #[test]
    fn old_ends_are_forgotten_but_the_latest_is_kept() {
        let start = Instant::now();
        let mut ends = PrimaryEnds::keeping(Duration::from_secs(1));
        ends.saw(start, Lsn(100));
        let later = start + Duration::from_secs(5);
        ends.saw(later, Lsn(100));
        assert_eq!(ends.seen.len(), 1);
        assert_eq!(
            ends.lag_of(Lsn(50), later + Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
