//! The standbys' watcher: every [`CHECK_EVERY`] it asks the primary where its log ends
//! and each standby how far it has replayed, and decides which standbys reads may use.
//!
//! Lag is measured in time, from the positions: the primary's recent ends are kept
//! with when they were seen. A standby that has replayed an end seen at `t` has
//! everything the primary had at `t`: it is at most `now - t` behind, and reads may
//! use it while that bound is within `DATABASE_REPLICA_MAX_LAG`. One that has not
//! replayed any end kept (just started, or far behind) cannot be shown to be, and
//! serves nothing. What `/healthz` reports is the other bound: since the oldest end it
//! lacks was seen. (`now() - pg_last_xact_replay_timestamp()` would be simpler, and
//! wrong on a quiet primary: it grows while there is nothing to replay.)

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Lsn, Reads, Standby, primary_position, replayed_position};

/// How often the watcher asks each standby how far it has replayed.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);

/// A server that has not answered in this long is down, for this look; a standby asked
/// on a request's way is set aside until the next look finds it well.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

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
        // Timed before the question: the end it answers was there at least since then.
        let asked = Instant::now();
        if let Ok(Ok(end)) =
            tokio::time::timeout(CHECK_TIMEOUT, primary_position(&self.watching)).await
        {
            ends.saw(asked, end);
        }
        for standby in self.standbys.iter() {
            self.look_at(standby, ends).await;
        }
    }

    async fn look_at(&self, standby: &Standby, ends: &PrimaryEnds) {
        let answer = tokio::time::timeout(CHECK_TIMEOUT, replayed_position(&standby.db)).await;
        let was_healthy = standby.is_healthy();
        let now = Instant::now();
        standby.update(|look| match answer {
            Ok(Ok(replayed)) => {
                look.answered = true;
                look.replayed = replayed;
                look.lag = ends.lag_at_least(replayed, now);
                look.healthy = ends
                    .lag_at_most(replayed, now)
                    .is_some_and(|lag| lag <= self.max_lag);
            }
            Ok(Err(_)) | Err(_) => {
                look.answered = false;
                look.healthy = false;
            }
        });
        let look = standby.look();
        match (was_healthy, look.healthy) {
            (true, false) if look.answered => tracing::warn!(
                standby = %standby.name,
                lag_ms = look.lag.as_millis(),
                "a standby is further behind than DATABASE_REPLICA_MAX_LAG: its reads go to the primary"
            ),
            (true, false) => tracing::warn!(
                standby = %standby.name,
                "a standby does not answer as a standby: its reads go to the primary"
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

    /// At least how far behind a server that has replayed up to `replayed` is at
    /// `now`: since the oldest end it lacks was seen (zero when it has the latest).
    pub fn lag_at_least(&self, replayed: Lsn, now: Instant) -> Duration {
        self.seen
            .iter()
            .find(|(_, end)| *end > replayed)
            .map_or(Duration::ZERO, |(seen, _)| now.duration_since(*seen))
    }

    /// At most how far behind it is: since the latest end it has was seen. `None` when
    /// it has none of the ends kept: nothing shows how far behind it is.
    pub fn lag_at_most(&self, replayed: Lsn, now: Instant) -> Option<Duration> {
        self.seen
            .iter()
            .rev()
            .find(|(_, end)| *end <= replayed)
            .map(|(seen, _)| now.duration_since(*seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_is_behind_between_the_latest_end_it_has_and_the_oldest_it_lacks() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut ends = PrimaryEnds::keeping(Duration::from_secs(10));
        ends.saw(at(0), Lsn(100));
        ends.saw(at(500), Lsn(200));
        ends.saw(at(1000), Lsn(300));
        let now = at(1200);
        let ms = Duration::from_millis;

        assert_eq!(ends.lag_at_least(Lsn(300), now), Duration::ZERO);
        assert_eq!(ends.lag_at_most(Lsn(300), now), Some(ms(200)));
        assert_eq!(ends.lag_at_least(Lsn(250), now), ms(200));
        assert_eq!(ends.lag_at_most(Lsn(250), now), Some(ms(700)));
        assert_eq!(ends.lag_at_least(Lsn(50), now), ms(1200));
        assert_eq!(
            ends.lag_at_most(Lsn(50), now),
            None,
            "behind every end kept"
        );
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
            ends.lag_at_most(Lsn(100), later + Duration::from_secs(1)),
            Some(Duration::from_secs(1)),
            "a primary not heard from since counts as lag"
        );
    }
}
