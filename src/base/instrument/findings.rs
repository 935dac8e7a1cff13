//! What cost a request most: "measure first". A part of the page ([`super::component`])
//! or a single statement that took at least the slow threshold (`PERF_SLOW_MS`) of
//! database time comes first, costliest first; N+1 suspects follow, costliest first —
//! a 400 ms sidebar matters before twenty 0.3 ms lookups. Each finding names its fix
//! and the lab page that shows it. A slow statement is also inside its part's time:
//! it says which part, and takes the part's fix where the part has one of its own.

use std::time::Duration;

use super::detector::{Fix, ShapeCount, ascii, gist};
use super::{QueryLog, SlowRun, percent_of, shape};

/// One thing a request spent its time on, worth fixing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// The part's name, the statement's shape, or the suspect's count and shape.
    pub what: String,
    /// For a statement, the part it ran in.
    pub part: Option<&'static str>,
    /// Its database time in this request.
    pub cost: Duration,
    /// Its share of the request's database time, in percent.
    pub share: u32,
    pub fix: Fix,
    /// For an N+1 suspect, its short name in `X-N-Plus-One` terms: "20 x SELECT users".
    gist: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A named part of the page at or past the slow threshold.
    SlowPart,
    /// One run of one statement at or past the slow threshold.
    SlowStatement,
    /// A statement shape repeated at least the N+1 threshold of times.
    NPlusOne,
}

impl Finding {
    /// "slow part sidebar: 418.20 ms in the database, 99 % of this request's".
    pub fn describe(&self) -> String {
        let what = match self.kind {
            Kind::SlowPart => format!("slow part {}", self.what),
            Kind::SlowStatement => format!(
                "slow statement{} {}",
                self.part
                    .map(|part| format!(" in {part}"))
                    .unwrap_or_default(),
                shape::brief(&self.what, 120)
            ),
            Kind::NPlusOne => format!("N+1 {}", self.what),
        };
        format!(
            "{what}: {:.2} ms in the database, {} % of this request's",
            self.cost.as_secs_f64() * 1000.0,
            self.share
        )
    }

    /// An `X-Perf-Findings` value, ASCII and short: a slow finding with its fix and lab
    /// page; an N+1 suspect by its gist, its details being in `X-N-Plus-One`.
    pub fn header(&self) -> String {
        let line = match (&self.kind, &self.gist) {
            (Kind::NPlusOne, Some(gist)) => format!(
                "N+1 {gist}: {:.2} ms, {} %; see X-N-Plus-One",
                self.cost.as_secs_f64() * 1000.0,
                self.share
            ),
            _ => format!(
                "{}; fix: {}, /lab/{}",
                self.describe(),
                self.fix.name,
                self.fix.lab
            ),
        };
        ascii(&line)
    }

    /// A `Server-Timing` entry for a slow finding: `slow;dur=418.200;desc="part sidebar"`.
    pub fn server_timing(&self) -> String {
        let what = match self.kind {
            Kind::SlowPart => format!("part {}", self.what),
            _ => format!("statement {}", gist(&self.what)),
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

/// The findings of `log`'s request: slow parts and single statements (each at least
/// `slow` of database time), costliest first, then the N+1 `suspects`, costliest first.
pub fn of(log: &QueryLog, suspects: &[ShapeCount], slow: Duration) -> Vec<Finding> {
    let total = log.stats().db_time;
    let share = |cost: Duration| percent_of(cost, total);
    let all_parts = log.parts();
    // A part that consulted a cache is an optimized one: the naive fixes are not its.
    let cached = |name: &str| {
        all_parts
            .iter()
            .any(|part| part.name == name && part.stats.cache.is_some())
    };
    let parts = all_parts
        .iter()
        .filter(|part| part.stats.db_time >= slow)
        .map(|part| Finding {
            kind: Kind::SlowPart,
            what: part.name.to_owned(),
            part: None,
            cost: part.stats.db_time,
            share: share(part.stats.db_time),
            fix: Fix::for_part(part.name, part.stats.cache.is_some()),
            gist: None,
        });
    let statements = log.slow_runs().into_iter().map(|run: SlowRun| Finding {
        kind: Kind::SlowStatement,
        cost: run.elapsed,
        share: share(run.elapsed),
        fix: run.part.map_or(Fix::SLOW_STATEMENT, |part| {
            Fix::for_slow_statement_in(part, cached(part))
        }),
        what: run.shape,
        part: run.part,
        gist: None,
    });
    let mut findings: Vec<Finding> = parts.chain(statements).collect();
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.cost));
    let mut repeated: Vec<Finding> = suspects
        .iter()
        .map(|suspect| Finding {
            kind: Kind::NPlusOne,
            what: format!("{} x {}", suspect.count, shape::brief(&suspect.shape, 120)),
            part: None,
            cost: suspect.db_time,
            share: share(suspect.db_time),
            fix: suspect.fix(),
            gist: Some(format!("{} x {}", suspect.count, suspect.gist())),
        })
        .collect();
    repeated.sort_by_key(|finding| std::cmp::Reverse(finding.cost));
    findings.extend(repeated);
    findings
}
