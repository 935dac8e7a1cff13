//! What cost a request most, in cost order: "measure first". A part of the page
//! ([`super::component`]) or one statement that took at least the slow threshold
//! (`PERF_SLOW_MS`) of database time comes first; N+1 suspects follow, however many
//! statements they repeat — a 400 ms sidebar matters before twenty 0.3 ms lookups.
//! Each finding names its fix and the lab page that shows it.

use std::time::Duration;

use super::detector::{Fix, ShapeCount, ascii};
use super::{Component, QueryLog, shape};

/// One thing a request spent its time on, worth fixing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// The part's name or the statement's shape.
    pub what: String,
    /// Its database time in this request.
    pub cost: Duration,
    /// Its share of the request's database time, in percent.
    pub share: u32,
    pub fix: Fix,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A named part of the page at or past the slow threshold.
    SlowPart,
    /// One statement at or past the slow threshold.
    SlowStatement,
    /// A statement shape repeated at least the N+1 threshold of times.
    NPlusOne,
}

impl Finding {
    /// "slow part sidebar: 418.20 ms, 99 % of the database time".
    pub fn describe(&self) -> String {
        let what = match self.kind {
            Kind::SlowPart => format!("slow part {}", self.what),
            Kind::SlowStatement => format!("slow statement {}", shape::brief(&self.what, 120)),
            Kind::NPlusOne => format!("N+1 {}", self.what),
        };
        format!(
            "{what}: {:.2} ms, {} % of the database time",
            self.cost.as_secs_f64() * 1000.0,
            self.share
        )
    }

    /// An `X-Perf-Findings` value, ASCII: the finding, then its fix and lab page.
    pub fn header(&self) -> String {
        ascii(&format!(
            "{}; fix: {}, /lab/{}",
            self.describe(),
            self.fix.name,
            self.fix.lab
        ))
    }

    /// A `Server-Timing` entry for a slow finding: `slow;dur=418.200;desc="part sidebar"`.
    pub fn server_timing(&self) -> String {
        let what = match self.kind {
            Kind::SlowPart => format!("part {}", self.what),
            _ => "statement".to_owned(),
        };
        format!(
            "slow;dur={:.3};desc=\"{}\"",
            self.cost.as_secs_f64() * 1000.0,
            ascii(&what)
        )
    }

    pub fn is_slow(&self) -> bool {
        self.kind != Kind::NPlusOne
    }
}

/// The findings of `log`'s request: slow parts and statements (at least `slow` of
/// database time), costliest first, then the N+1 `suspects`, costliest first.
pub fn of(log: &QueryLog, suspects: &[ShapeCount], slow: Duration) -> Vec<Finding> {
    let total = log.stats().db_time;
    let share = |cost: Duration| {
        let share = 100.0 * cost.as_secs_f64() / total.as_secs_f64().max(f64::MIN_POSITIVE);
        share.round().clamp(0.0, 100.0) as u32
    };
    let parts = log
        .parts()
        .into_iter()
        .filter(|part| part.stats.db_time >= slow)
        .map(|part: Component| Finding {
            kind: Kind::SlowPart,
            what: part.name.to_owned(),
            cost: part.stats.db_time,
            share: share(part.stats.db_time),
            fix: Fix::for_part(part.name),
        });
    let statements = log
        .shapes()
        .into_iter()
        .filter(|tally| tally.count > 0 && tally.db_time / tally.count >= slow)
        .map(|tally| Finding {
            kind: Kind::SlowStatement,
            cost: tally.db_time / tally.count,
            share: share(tally.db_time / tally.count),
            what: tally.shape,
            fix: Fix::SLOW_STATEMENT,
        });
    let mut slow_ones: Vec<Finding> = parts.chain(statements).collect();
    slow_ones.sort_by_key(|finding| std::cmp::Reverse(finding.cost));
    let mut repeated: Vec<Finding> = suspects
        .iter()
        .map(|suspect| Finding {
            kind: Kind::NPlusOne,
            what: format!("{} x {}", suspect.count, shape::brief(&suspect.shape, 120)),
            cost: suspect.db_time,
            share: share(suspect.db_time),
            fix: suspect.fix(),
        })
        .collect();
    repeated.sort_by_key(|finding| std::cmp::Reverse(finding.cost));
    slow_ones.extend(repeated);
    slow_ones
}
