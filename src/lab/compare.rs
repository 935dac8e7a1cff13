//! A comparison, defined once: **setup** builds what both sides get, **naive** and
//! **optimized** each run one side against it and say what they found, as a list of
//! [`Fact`]s. The lab runs it live, criterion measures it (`benches/lessons.rs`), and
//! tests call it — the same three functions each time.
//!
//! A side decides what is timed: it hands the timed part to [`Runs::time`], which runs
//! it as many times as whoever drives the comparison asks (up to five within a budget
//! for the lab, criterion's iteration count for a bench, once for a test). What a side
//! does around it — open a transaction, drop an index, race twenty views — is not timed.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sea_orm::Statement;
use tokio::time::Instant;

use super::backfire::Backfire;
use super::bound_values;
use super::workbench::Workbench;
use crate::base::error::AppError;
use crate::base::instrument;
use crate::services::db::statement_limit;

/// A side's or a setup's future.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

/// One measure of a pattern: the id its front matter gives it, and its three parts.
pub struct Comparison<I> {
    /// The measure's `id` in the pattern's front matter.
    pub measure: &'static str,
    /// What both sides get, built once per size and not timed. `None`: the size the
    /// comparison chooses itself (the lab passes the front matter's `live`).
    pub setup: for<'a> fn(&'a Workbench, Option<u64>) -> Fut<'a, I>,
    sides: Sides<I>,
    /// Samples criterion takes (at least 10): fewer for sides that take seconds.
    pub samples: usize,
    /// Whether it measures Redis, and runs only where there is one.
    pub needs_redis: bool,
    /// Whether it reads from a streaming standby, and shows its lesson only where the
    /// app has one (`DATABASE_REPLICA_URLS`); elsewhere every read is the primary's.
    pub needs_standby: bool,
    /// What the lab says when neither side found a row to work on — the data the
    /// lesson needs was used up on the site (the admin published every draft) — and
    /// how to get it back, in markdown.
    pub used_up: Option<&'static str>,
}

/// A side: runs against the setup's input, times its work with [`Runs`].
pub type SideFn<I> = for<'a> fn(&'a Workbench, &'a I, &'a mut Runs) -> Fut<'a, Facts>;

/// Both sides in one function, told which side it is.
pub type EitherFn<I> = for<'a> fn(&'a Workbench, &'a I, &'a mut Runs, Which) -> Fut<'a, Facts>;

enum Sides<I> {
    Two {
        naive: SideFn<I>,
        optimized: SideFn<I>,
    },
    Either(EitherFn<I>),
}

impl<I> Comparison<I> {
    pub const fn new(
        measure: &'static str,
        setup: for<'a> fn(&'a Workbench, Option<u64>) -> Fut<'a, I>,
        naive: SideFn<I>,
        optimized: SideFn<I>,
    ) -> Self {
        Self::with(measure, setup, Sides::Two { naive, optimized })
    }

    /// Both sides as one function that takes [`Which`]: for pairs whose sides do the
    /// same work around a different call, so that nothing else can drift apart.
    pub const fn either(
        measure: &'static str,
        setup: for<'a> fn(&'a Workbench, Option<u64>) -> Fut<'a, I>,
        side: EitherFn<I>,
    ) -> Self {
        Self::with(measure, setup, Sides::Either(side))
    }

    const fn with(
        measure: &'static str,
        setup: for<'a> fn(&'a Workbench, Option<u64>) -> Fut<'a, I>,
        sides: Sides<I>,
    ) -> Self {
        Self {
            measure,
            setup,
            sides,
            samples: 30,
            needs_redis: false,
            needs_standby: false,
            used_up: None,
        }
    }

    pub const fn samples(self, samples: usize) -> Self {
        Self { samples, ..self }
    }

    pub const fn used_up_when_empty(self, notice: &'static str) -> Self {
        Self {
            used_up: Some(notice),
            ..self
        }
    }

    pub const fn needing_a_standby(self) -> Self {
        Self {
            needs_standby: true,
            ..self
        }
    }

    pub const fn needing_redis(self) -> Self {
        Self {
            needs_redis: true,
            ..self
        }
    }
}

/// Which side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Naive,
    Optimized,
}

impl Which {
    pub const BOTH: [Which; 2] = [Which::Naive, Which::Optimized];

    pub fn label(self) -> &'static str {
        match self {
            Which::Naive => "naive",
            Which::Optimized => "optimized",
        }
    }
}

/// A [`Comparison`] whatever its input: what the lab, the benches and the tests hold.
pub trait Compare: Send + Sync {
    fn measure(&self) -> &'static str;
    fn samples(&self) -> usize;
    fn needs_redis(&self) -> bool;
    fn needs_standby(&self) -> bool;
    fn used_up(&self) -> Option<&'static str>;
    fn setup<'a>(&'a self, bench: &'a Workbench, size: Option<u64>) -> Fut<'a, Input>;
    fn side<'a>(
        &'a self,
        which: Which,
        bench: &'a Workbench,
        input: &'a Input,
        runs: &'a mut Runs,
    ) -> Fut<'a, Facts>;
}

/// What a setup built, for either side.
pub struct Input(Box<dyn Any + Send + Sync>);

impl<I: Send + Sync + 'static> Compare for Comparison<I> {
    fn measure(&self) -> &'static str {
        self.measure
    }

    fn samples(&self) -> usize {
        self.samples
    }

    fn needs_redis(&self) -> bool {
        self.needs_redis
    }

    fn needs_standby(&self) -> bool {
        self.needs_standby
    }

    fn used_up(&self) -> Option<&'static str> {
        self.used_up
    }

    fn setup<'a>(&'a self, bench: &'a Workbench, size: Option<u64>) -> Fut<'a, Input> {
        Box::pin(async move {
            let input = (self.setup)(bench, size).await?;
            Ok(Input(Box::new(input)))
        })
    }

    fn side<'a>(
        &'a self,
        which: Which,
        bench: &'a Workbench,
        input: &'a Input,
        runs: &'a mut Runs,
    ) -> Fut<'a, Facts> {
        let Some(input) = input.0.downcast_ref::<I>() else {
            let mixed = anyhow::anyhow!("{}: an input of another comparison", self.measure);
            return Box::pin(async move { Err(AppError::Internal(mixed)) });
        };
        match (&self.sides, which) {
            (Sides::Two { naive, .. }, Which::Naive) => naive(bench, input, runs),
            (Sides::Two { optimized, .. }, Which::Optimized) => optimized(bench, input, runs),
            (Sides::Either(side), which) => side(bench, input, runs, which),
        }
    }
}

/// A pattern's comparisons, the first the one the lab runs live.
pub struct Lesson {
    pub slug: &'static str,
    pub comparisons: &'static [&'static dyn Compare],
    /// Where the pattern costs more than it saves, measured live on its lab page.
    pub backfire: Option<&'static Backfire>,
}

impl Lesson {
    /// The comparison of the measure `id`.
    pub fn comparison(&self, id: &str) -> Option<&'static dyn Compare> {
        self.comparisons.iter().copied().find(|c| c.measure() == id)
    }
}

/// What a side found besides its time, each with its label: the lab shows them under
/// the side and, where both sides have one, naive → optimized in the verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts(pub Vec<Fact>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// Rows that came back from the database (or were changed, for writes).
    Rows(u64),
    /// Bytes of column values that came back.
    BytesFetched(u64),
    /// The most bytes of output held in memory at once.
    BytesHeld(u64),
    /// Of `of` concurrent writes, how many the data kept.
    Kept { kept: u64, of: u64 },
    /// How the database ran the side's statements.
    Plan(String),
    /// A sequence played out live, step by step (a cache's miss → hit → write → miss).
    Steps(Vec<Step>),
    /// Where counted views wait to be written: "Redis" or "this process".
    TalliedIn(&'static str),
    /// Requests sent over the network (each a round trip), and the bytes of their heads
    /// (request line and headers, as HTTP/1.1 writes them).
    Sent { requests: u64, bytes: u64 },
    /// The time a request spent in each layer it passed through, outermost first: the
    /// layer's own part, the layers inside it not counted (a trimmed mean over requests).
    Layers(Vec<LayerTime>),
    /// Of `of` reads after the reader's own write, how many showed it, and how many
    /// the primary served (the rest a standby).
    AfterOwnWrite { seen: u64, primary: u64, of: u64 },
    /// The side did not run on this server, and why: its work would hold more memory
    /// than the server lets naive work hold (`NAIVE_MEMORY_BUDGET`).
    NotRun(String),
    /// The lab stopped the side when it had run this long (`LAB_SIDE_LIMIT_MS`): here,
    /// now, it took longer.
    Stopped(Duration),
}

/// One layer's own part of a request's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerTime {
    /// As its span is labelled: `compression`, `crawler check`.
    pub layer: String,
    pub time: Duration,
}

impl Fact {
    /// What the fact is, as the page labels it.
    pub fn label(&self) -> &'static str {
        match self {
            Fact::Rows(_) => "rows",
            Fact::BytesFetched(_) => "bytes fetched",
            Fact::BytesHeld(_) => "bytes held at once",
            Fact::Kept { .. } => "concurrent views kept",
            Fact::Plan(_) => "how the database ran them",
            Fact::Steps(_) => "step by step",
            Fact::TalliedIn(_) => "views tallied in",
            Fact::Layers(_) => "time in each layer",
            Fact::Sent { .. } => "requests sent",
            Fact::AfterOwnWrite { .. } => "reads after the write",
            Fact::NotRun(_) => "not run",
            Fact::Stopped(_) => "stopped",
        }
    }
}

impl Facts {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn rows(n: usize) -> Self {
        Self(vec![Fact::Rows(n as u64)])
    }

    /// A side that did not run, and why.
    pub fn not_run(why: String) -> Self {
        Self(vec![Fact::NotRun(why)])
    }

    /// A side the lab stopped after `limit`.
    pub fn stopped(limit: Duration) -> Self {
        Self(vec![Fact::Stopped(limit)])
    }

    /// Why the side did not run, if it did not.
    pub fn why_not_run(&self) -> Option<&str> {
        self.0.iter().find_map(|fact| match fact {
            Fact::NotRun(why) => Some(why.as_str()),
            _ => None,
        })
    }

    /// How long the side had run when the lab stopped it, if it did.
    pub fn stopped_after(&self) -> Option<Duration> {
        self.0.iter().find_map(|fact| match fact {
            Fact::Stopped(after) => Some(*after),
            _ => None,
        })
    }

    /// Whether the side has no time to show: it did not run, or it was stopped.
    pub fn unfinished(&self) -> bool {
        self.why_not_run().is_some() || self.stopped_after().is_some()
    }

    pub fn and(mut self, fact: Fact) -> Self {
        self.0.push(fact);
        self
    }

    /// What the side found in `unit`, for the bench report; `None` for time, which
    /// criterion measures, or when the side found no such fact.
    pub fn in_unit(&self, unit: catalog::Unit) -> Option<catalog::report::Amount> {
        use catalog::report::Amount;
        self.0.iter().find_map(|fact| match (unit, fact) {
            (catalog::Unit::Kept, Fact::Kept { kept, of }) => Some(Amount {
                value: *kept,
                of: Some(*of),
            }),
            (catalog::Unit::Requests, Fact::Sent { requests, .. }) => Some(Amount {
                value: *requests,
                of: None,
            }),
            (catalog::Unit::Seen, Fact::AfterOwnWrite { seen, of, .. }) => Some(Amount {
                value: *seen,
                of: Some(*of),
            }),
            (catalog::Unit::PrimaryReads, Fact::AfterOwnWrite { primary, of, .. }) => {
                Some(Amount {
                    value: *primary,
                    of: Some(*of),
                })
            }
            (catalog::Unit::Memory, Fact::BytesHeld(held)) => Some(Amount {
                value: *held,
                of: None,
            }),
            _ => None,
        })
    }

    /// The fact labelled as `like` is, if the side found one.
    pub fn get(&self, like: &Fact) -> Option<&Fact> {
        self.0.iter().find(|fact| fact.label() == like.label())
    }
}

/// One step of a sequence played out live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    pub found: Found,
    /// The cache generation the step read under (or moved to, for a write).
    pub generation: Option<u64>,
    pub statements: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Read,
    ReadAgain,
    Write,
    ReadAfterWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    Hit,
    Miss,
    GenerationBumped,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ReadAgain => "read again",
            Action::Write => "a write",
            Action::ReadAfterWrite => "read after the write",
        }
    }
}

impl Found {
    pub fn label(self) -> &'static str {
        match self {
            Found::Hit => "hit",
            Found::Miss => "miss",
            Found::GenerationBumped => "generation bumped",
        }
    }

    /// How the page colours the step: `hit`, `miss` or `write`.
    pub fn kind(self) -> &'static str {
        match self {
            Found::Hit => "hit",
            Found::Miss => "miss",
            Found::GenerationBumped => "write",
        }
    }
}

/// How many times a side's timed part runs, and what each run took.
pub struct Runs {
    plan: Plan,
    times: Vec<Duration>,
    /// The first run's statement count and statements, when the plan records them.
    first: Option<(instrument::QueryStats, Vec<Statement>)>,
}

enum Plan {
    /// The lab: up to [`MOST_RUNS`], none that would take the side past
    /// [`SIDE_BUDGET`]; the first run's SQL recorded.
    Live,
    /// Criterion's iteration count.
    Iterations(u64),
}

/// The most runs of a side in the lab; the page shows their median, fastest and slowest.
pub const MOST_RUNS: usize = 5;

/// No further run that would take a side past this (judged by its last run; the first
/// run always happens): a side costs at most its first run or this budget.
pub const SIDE_BUDGET: Duration = Duration::from_millis(300);

impl Runs {
    /// As the lab runs a side.
    pub fn live() -> Self {
        Self {
            plan: Plan::Live,
            times: Vec::with_capacity(MOST_RUNS),
            first: None,
        }
    }

    /// As criterion asks: `iterations` runs, their total time what it reads.
    pub fn iterations(iterations: u64) -> Self {
        Self {
            plan: Plan::Iterations(iterations.max(1)),
            times: Vec::new(),
            first: None,
        }
    }

    /// Whether this is the lab's live run, where a side may also play out what it
    /// shows besides its time (a race, a cache's life); benches skip that.
    pub fn is_live(&self) -> bool {
        matches!(self.plan, Plan::Live)
    }

    /// Runs `run` as many times as the plan says, timing each, and returns what the
    /// first run returned.
    pub async fn time<T, E, F, Fut>(&mut self, mut run: F) -> Result<T, AppError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        AppError: From<E>,
    {
        self.time_with(|| async { Ok::<_, AppError>(()) }, |()| run())
            .await
    }

    /// [`time`](Self::time), with `prepare` before every run, not timed: what the run
    /// consumes (a copy of its input), or the rows a write must find again.
    pub async fn time_with<T, E, P, Prepare, Prepared, F, Fut>(
        &mut self,
        mut prepare: Prepare,
        mut run: F,
    ) -> Result<T, AppError>
    where
        Prepare: FnMut() -> Prepared,
        Prepared: Future<Output = Result<P, AppError>>,
        F: FnMut(P) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        AppError: From<E>,
    {
        let began = Instant::now();
        let mut first = None;
        while self.another(began) {
            let prepared = prepare().await?;
            let started = Instant::now();
            let output = if self.is_live() && first.is_none() {
                let (output, stats, sent) = instrument::record_statements(run(prepared)).await;
                self.first = Some((stats, sent));
                output
            } else {
                run(prepared).await
            };
            self.times.push(started.elapsed());
            let output = output?;
            if first.is_none() {
                first = Some(output);
            }
        }
        first.ok_or_else(|| AppError::Internal(anyhow::anyhow!("a side ran no run")))
    }

    fn another(&self, began: Instant) -> bool {
        match self.plan {
            Plan::Iterations(n) => (self.times.len() as u64) < n,
            Plan::Live => {
                self.times.len() < MOST_RUNS
                    && self
                        .times
                        .last()
                        .is_none_or(|last| began.elapsed() + *last <= SIDE_BUDGET)
            }
        }
    }

    /// Every run's time, in the order they ran.
    pub fn times(&self) -> &[Duration] {
        &self.times
    }

    /// What criterion reads: the time of every run together.
    pub fn total(&self) -> Duration {
        self.times.iter().sum()
    }

    /// The first run's statement count and statements, in the lab.
    pub fn recorded(
        self,
    ) -> (
        Vec<Duration>,
        Option<(instrument::QueryStats, Vec<Statement>)>,
    ) {
        (self.times, self.first)
    }
}

/// One side, measured live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    pub statements: u32,
    /// Every run's time, fastest first (none when the side did not run).
    pub times: Vec<Duration>,
    /// Distinct SQL statements with how often each ran, in first-run order.
    pub sql: Vec<Sent>,
    pub facts: Facts,
}

impl Measured {
    pub fn median(&self) -> Duration {
        self.times
            .get(self.times.len() / 2)
            .copied()
            .unwrap_or_default()
    }

    pub fn fastest(&self) -> Duration {
        self.times.first().copied().unwrap_or_default()
    }

    pub fn slowest(&self) -> Duration {
        self.times.last().copied().unwrap_or_default()
    }

    pub fn runs(&self) -> usize {
        self.times.len()
    }
}

/// Both sides of a comparison, measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub naive: Measured,
    pub optimized: Measured,
}

/// Sets `comparison` up at `size` and runs each side as the lab does: a side still
/// running at the workbench's limit is stopped, and says so.
pub async fn live(
    comparison: &dyn Compare,
    bench: &Workbench,
    size: Option<u64>,
) -> Result<Outcome, AppError> {
    let input = match comparison.setup(bench, size).await {
        Ok(input) => input,
        Err(error) if stopped_by_the_database(&error) => {
            return Err(AppError::NotOffered(format!(
                "Setting this comparison up took longer here than the lab lets one part \
                 of a page run on this server (LAB_SIDE_LIMIT_MS, {}), and the database \
                 cancelled it. The figures the benches measured on the standard dataset \
                 are in docs/benchmarks.md.",
                super::page::limit(limit_of(bench))
            )));
        }
        Err(error) => return Err(error),
    };
    let naive = measured(comparison, Which::Naive, bench, &input).await?;
    let optimized = measured(comparison, Which::Optimized, bench, &input).await?;
    Ok(Outcome { naive, optimized })
}

fn limit_of(bench: &Workbench) -> Duration {
    bench.side_limit.unwrap_or(Duration::MAX)
}

/// Runs `work` within the workbench's limit: `None` when it was stopped — by the clock
/// here, or by the database, which stops the lab's statements at the same limit.
pub async fn within_limit<T>(
    bench: &Workbench,
    work: impl Future<Output = Result<T, AppError>>,
) -> Result<Option<T>, AppError> {
    let Some(limit) = bench.side_limit else {
        return work.await.map(Some);
    };
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(done)) => Ok(Some(done)),
        Ok(Err(error)) if stopped_by_the_database(&error) => Ok(None),
        Ok(Err(error)) => Err(error),
        Err(_elapsed) => Ok(None),
    }
}

/// Whether `error` is the database stopping a statement at the lab's limit.
pub fn stopped_by_the_database(error: &AppError) -> bool {
    let AppError::Internal(error) = error else {
        return false;
    };
    error.chain().any(|cause| {
        cause
            .downcast_ref::<sea_orm::DbErr>()
            .is_some_and(statement_limit::stopped)
    })
}

async fn measured(
    comparison: &dyn Compare,
    which: Which,
    bench: &Workbench,
    input: &Input,
) -> Result<Measured, AppError> {
    let mut runs = Runs::live();
    let side = comparison.side(which, bench, input, &mut runs);
    let Some(facts) = within_limit(bench, side).await? else {
        return Ok(Measured {
            statements: 0,
            times: Vec::new(),
            sql: Vec::new(),
            facts: Facts::stopped(limit_of(bench)),
        });
    };
    let (mut times, first) = runs.recorded();
    times.sort();
    let (stats, sql) = first.unwrap_or_default();
    Ok(Measured {
        statements: stats.statements,
        times,
        sql: grouped(sql),
        facts,
    })
}

/// Statements of one SQL text: how often it ran, and the values of its first run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub count: usize,
    pub sql: String,
    /// The first run's values as SQL literals, emails redacted ([`bound_values`]).
    pub values: String,
}

/// Identical statements counted together, the way a debug toolbar shows them.
fn grouped(statements: Vec<Statement>) -> Vec<Sent> {
    let mut groups: Vec<Sent> = Vec::new();
    for statement in statements {
        match groups.iter_mut().find(|seen| seen.sql == statement.sql) {
            Some(seen) => seen.count += 1,
            None => groups.push(Sent {
                count: 1,
                values: statement
                    .values
                    .as_ref()
                    .map(|values| bound_values::shown(&values.0))
                    .unwrap_or_default(),
                sql: statement.sql,
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, Value};

    async fn runs_of_a_side_taking(cost: Duration) -> usize {
        let mut runs = Runs::live();
        runs.time(|| async move {
            tokio::time::sleep(cost).await;
            Ok::<_, AppError>(())
        })
        .await
        .unwrap_or_else(|_| unreachable!("the side cannot fail"));
        runs.times().len()
    }

    #[tokio::test(start_paused = true)]
    async fn a_cheap_side_runs_five_times_and_an_expensive_one_once() {
        assert_eq!(runs_of_a_side_taking(Duration::from_millis(1)).await, 5);
        assert_eq!(runs_of_a_side_taking(Duration::from_millis(100)).await, 3);
        assert_eq!(runs_of_a_side_taking(Duration::from_millis(265)).await, 1);
        assert_eq!(runs_of_a_side_taking(Duration::from_millis(1500)).await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_side_spends_more_than_its_first_run_or_its_budget() {
        for cost in [1, 10, 50, 100, 150, 299, 300, 301, 1000, 9000] {
            let cost = Duration::from_millis(cost);
            let runs = runs_of_a_side_taking(cost).await;
            let spent = cost * u32::try_from(runs).unwrap_or(u32::MAX);
            assert!(
                spent <= cost.max(SIDE_BUDGET),
                "{cost:?} a run: {runs} runs"
            );
        }
    }

    /// A naive side that would take a minute, an optimized one that takes nothing.
    static SLOW_NAIVE: Comparison<()> = Comparison::new(
        "slow",
        |_, _| Box::pin(async { Ok(()) }),
        |_, (), runs| {
            Box::pin(async move {
                runs.time(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok::<_, AppError>(())
                })
                .await?;
                Ok(Facts::rows(1))
            })
        },
        |_, (), runs| {
            Box::pin(async move {
                runs.time(|| async { Ok::<_, AppError>(()) }).await?;
                Ok(Facts::rows(1))
            })
        },
    );

    #[tokio::test(start_paused = true)]
    async fn a_side_still_running_at_the_labs_limit_is_stopped_and_the_other_side_still_runs() {
        let url = crate::base::config::DatabaseUrl::parse("sqlite::memory:");
        let limit = Duration::from_millis(800);
        let bench = Workbench::new(
            sea_orm::DatabaseConnection::default(),
            url.unwrap_or_else(|_| unreachable!("a URL")),
        )
        .with_side_limit(limit);
        let outcome = live(&SLOW_NAIVE, &bench, None)
            .await
            .unwrap_or_else(|_| unreachable!("a stop is not an error"));
        assert_eq!(outcome.naive.facts, Facts::stopped(limit));
        assert_eq!(outcome.naive.runs(), 0);
        assert_eq!(outcome.optimized.runs(), MOST_RUNS);
    }

    #[tokio::test]
    async fn criterion_gets_the_runs_it_asks_for_and_preparing_is_not_timed() {
        let mut runs = Runs::iterations(7);
        let mut resets = 0;
        runs.time_with(
            || {
                resets += 1;
                async { Ok(()) }
            },
            |()| async { Ok::<_, AppError>(()) },
        )
        .await
        .unwrap_or_else(|_| unreachable!("the side cannot fail"));
        assert_eq!((runs.times().len(), resets), (7, 7));
    }

    #[test]
    fn identical_statements_are_grouped_in_first_seen_order_with_their_first_values() {
        let sent = |sql: &str, id: i32| {
            Statement::from_sql_and_values(DbBackend::Sqlite, sql, [Value::Int(Some(id))])
        };
        let groups = grouped(vec![sent("A", 1), sent("B", 2), sent("A", 3), sent("A", 4)]);
        let seen: Vec<_> = groups
            .iter()
            .map(|g| (g.count, g.sql.as_str(), g.values.as_str()))
            .collect();
        assert_eq!(seen, vec![(3, "A", "1"), (1, "B", "2")]);
    }
}
