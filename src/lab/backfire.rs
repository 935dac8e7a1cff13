//! When a pattern backfires, shown live: a few measured lines under "When it would not"
//! — the huge `IN (…)` list, the JOIN that multiplies rows, the cache whose hit ratio is
//! too low to pay, the index every write pays for. The pattern's prose says why; these
//! lines are this server's figures, measured on the page's visit.

use std::future::Future;
use std::time::Duration;

use super::compare::{Fut, Runs};
use super::workbench::Workbench;
use crate::base::error::AppError;

/// A case where the pattern costs more than it saves, measured live.
pub struct Backfire {
    /// What the lines try, in markdown: "one `IN (…)` for every id".
    pub tries: &'static str,
    pub run: for<'a> fn(&'a Workbench) -> Fut<'a, Vec<Line>>,
}

/// One measured line: what was done, and what it cost or came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub what: String,
    pub came_to: String,
}

impl Line {
    pub fn new(what: impl Into<String>, came_to: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            came_to: came_to.into(),
        }
    }
}

/// Runs made of each timed step: the median of three, so one slow run does not make
/// the line.
const RUNS: u64 = 3;

/// Runs `work` [`RUNS`] times, timed as a lesson's sides are ([`Runs`]); its first
/// output and the median time.
pub async fn median_of<T, F, Fut2>(work: F) -> Result<(T, Duration), AppError>
where
    F: FnMut() -> Fut2,
    Fut2: Future<Output = Result<T, AppError>>,
{
    let mut runs = Runs::iterations(RUNS);
    let output = runs.time(work).await?;
    let mut times = runs.times().to_vec();
    times.sort();
    Ok((output, times[times.len() / 2]))
}

/// "420.0 µs", "12.34 ms": as the rest of the page writes times.
pub fn time(duration: Duration) -> String {
    catalog::report::duration(duration.as_secs_f64() * 1e9)
}

/// A database's refusal, as a line can show it: its first line, at most 160
/// characters (a statement's text would follow on the next lines).
pub fn refusal(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default();
    match first.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &first[..at]),
        None => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_first_line_only() {
        assert_eq!(refusal(&"too many\nSELECT …"), "too many");
        assert_eq!(refusal(&"x".repeat(200)).chars().count(), 161);
    }
}
