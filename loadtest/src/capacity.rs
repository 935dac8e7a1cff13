//! The capacity model of `docs/scaling.md`, generated from what was measured: the load
//! runs' CPU time per request in each tier (`docs/load-test.json`) and the bench
//! report's write-path timings (`docs/benchmarks.json`). The page's prose explains the
//! arithmetic; every number in it comes from here.

use catalog::report::{Report, duration, speedup, thousands};
use clap::ValueEnum;

use crate::record::{Run, Setup};

pub const PAGE: &str = "docs/scaling.md";

/// The tiers a capacity run watches, by the names `--tier` gives them.
pub const APP: &str = "app";
pub const PRIMARY: &str = "postgres primary";
pub const STANDBY: &str = "postgres standby";
pub const REDIS: &str = "redis";
pub const LOAD_GENERATOR: &str = "load generator";

/// The largest single machine the model lets one PostgreSQL primary have: a common
/// large cloud instance. A setting of the model, not a measurement.
pub const LARGEST_PRIMARY_CORES: f64 = 64.0;

/// Today's traffic times these.
const MULTIPLES: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

/// The bench sizes of the offloaded-email pair: an SMTP server that answers after this
/// many milliseconds.
const SMTP_DELAY_MS: &str = "50";

/// The runs the model reads: the optimized pages on PostgreSQL with Redis (the compose
/// stack's stores), standard dataset, with the tiers watched.
fn capacity_run(runs: &[Run], setup: Setup) -> Option<&Run> {
    runs.iter().find(|run| {
        run.setup == setup
            && run.summary.pages == "optimized"
            && run.backend == "PostgreSQL + Redis"
            && run.dataset == "standard"
            && run.cpu_ms_per_request(APP).is_some()
    })
}

/// Every generated region of the page: (region, body).
pub fn regions(runs: &[Run], report: &Report) -> Vec<(&'static str, String)> {
    let missing = || {
        "Not measured yet: record the runs as [How it is measured](#how-it-is-measured) says.\n"
            .to_owned()
    };
    let Some(today) = capacity_run(runs, Setup::Cached) else {
        return ["scaling.tiers", "scaling.multiples", "scaling.limits"]
            .into_iter()
            .map(|name| (name, missing()))
            .collect();
    };
    vec![
        ("scaling.tiers", tiers_table(runs)),
        ("scaling.multiples", multiples_table(runs, today)),
        ("scaling.limits", limits_table(runs, today, report)),
    ]
}

/// CPU per request in each tier, per set-up.
fn tiers_table(runs: &[Run]) -> String {
    let mut table = format!(
        "| set-up | answered a second | {APP} | {PRIMARY} | {STANDBY} | {REDIS} | {LOAD_GENERATOR} |\n\
         |---|---|---|---|---|---|---|\n"
    );
    let mut measured = None;
    for &setup in Setup::value_variants() {
        let Some(run) = capacity_run(runs, setup) else {
            continue;
        };
        measured = Some(run);
        let cells: Vec<String> = [APP, PRIMARY, STANDBY, REDIS, LOAD_GENERATOR]
            .into_iter()
            .map(|tier| match run.cpu_ms_per_request(tier) {
                Some(ms) => format!("{ms:.3} ms · {} a core", per_core(ms)),
                None => "—".to_owned(),
            })
            .collect();
        table.push_str(&format!(
            "| {} | {} | {} |\n",
            run.setup.describe(),
            thousands(run.summary.all.per_second.round() as u64),
            cells.join(" | ")
        ));
    }
    if let Some(run) = measured {
        table.push_str(&format!(
            "\nCPU milliseconds each tier spent per answered request, and the requests a \
             second one of its cores would answer. {}, {} dataset, {} users for {} s a \
             set-up, optimized pages; {}, {}. Linux counts CPU time in clock ticks (a \
             hundredth of a second): the smallest figures rest on a few ticks, mostly work \
             a tier does every second whatever the load.\n",
            run.backend, run.dataset, run.summary.users, run.summary.seconds, run.machine, run.date
        ));
    }
    table
}

/// Requests a second one core holds at `ms` of CPU each.
fn per_core(ms: f64) -> String {
    let requests = 1000.0 / ms.max(1e-6);
    // Three significant figures: the fourth is noise between runs.
    let step = 10f64.powi((requests.log10().floor() as i32 - 2).max(0));
    thousands(((requests / step).round() * step) as u64)
}

/// CPU cores `tier` needs for `requests` a second at `run`'s cost per request.
fn cores(run: Option<&Run>, tier: &str, requests: f64) -> Option<f64> {
    Some(requests * run?.cpu_ms_per_request(tier)? / 1000.0)
}

/// A way today's requests may be served: by the page cache as the load test's readers
/// hit it, or every page rendered (what misses cost). Measured alone on the primary and
/// with reads on a standby.
struct Mix<'a> {
    name: &'static str,
    alone: Option<&'a Run>,
    beside: Option<&'a Run>,
}

fn mixes(runs: &[Run]) -> [Mix<'_>; 2] {
    [
        Mix {
            name: "Pages from the page cache, as the load test's readers hit it",
            alone: capacity_run(runs, Setup::Cached),
            beside: capacity_run(runs, Setup::CachedStandby),
        },
        Mix {
            name: "Every page rendered: what the page cache's misses cost",
            alone: capacity_run(runs, Setup::Rendered),
            beside: capacity_run(runs, Setup::RenderedStandby),
        },
    ]
}

/// Cores each tier needs at each multiple of today's traffic, for each mix.
fn multiples_table(runs: &[Run], today: &Run) -> String {
    let rate = today.summary.all.per_second;
    let mut text = format!(
        "The baseline (1×) is not a site's traffic: it is the most this machine answered \
         with the defaults, the load test's readers never pausing — {} requests a second, \
         app, databases, cache and load generator sharing its cores. Its comments, {}, come \
         from the load test's timer, not from the readers' pace.\n",
        thousands(rate.round() as u64),
        comment_rate(today).map_or("none".to_owned(), |c| format!("{c:.2} a second")),
    );
    for mix in mixes(runs) {
        text.push_str(&format!(
            "\n{}:\n\n| traffic | requests a second | app cores | primary cores, no standby | \
             primary cores, with standbys | standby cores | Redis cores |\n\
             |---|---|---|---|---|---|---|\n",
            mix.name
        ));
        for multiple in MULTIPLES {
            let requests = rate * multiple;
            let cell = |run: Option<&Run>, tier: &str| {
                cores(run, tier, requests).map_or("—".to_owned(), |cores| format!("{cores:.1}"))
            };
            text.push_str(&format!(
                "| {}× | {} | {} | {} | {} | {} | {} |\n",
                thousands(multiple as u64),
                thousands(requests.round() as u64),
                cell(mix.alone, APP),
                cell(mix.alone, PRIMARY),
                cell(mix.beside, PRIMARY),
                cell(mix.beside, STANDBY),
                cell(mix.alone, REDIS),
            ));
        }
    }
    text
}

/// How many `request`s (`POST comment`, `GET post`: the load test's names) `run`
/// answered a second.
fn rate_of(run: &Run, request: &str) -> Option<f64> {
    let row = run
        .summary
        .requests
        .iter()
        .find(|row| row.name == request)?;
    Some(row.per_second)
}

/// Comments answered a second in `run`.
fn comment_rate(run: &Run) -> Option<f64> {
    rate_of(run, "POST comment")
}

/// One bench figure's optimized or naive time, PostgreSQL.
fn bench_ns(
    report: &Report,
    (pattern, measure, size): (&str, &str, &str),
    naive: bool,
) -> Option<f64> {
    let figure = report
        .of(pattern, measure)
        .find(|figure| figure.size == size && figure.backend == "PostgreSQL")?;
    Some(if naive {
        figure.naive_ns
    } else {
        figure.optimized_ns
    })
}

/// A single-node limit: what one holds, and what today's traffic asks of it.
struct Limit {
    /// The mix it belongs to ([`mixes`]' index), or `None` for both.
    mix: Option<usize>,
    what: &'static str,
    holds: Option<f64>,
    asks: Option<f64>,
    unit: &'static str,
}

impl Limit {
    /// The multiple of today's traffic at which the limit is met.
    fn multiple(&self) -> Option<f64> {
        Some(self.holds? / self.asks?.max(f64::EPSILON))
    }
}

/// Each single-node limit, what today asks of it, and the multiple of today's traffic
/// at which it is reached; then the limits in the order they are reached.
fn limits_table(runs: &[Run], today: &Run, report: &Report) -> String {
    let writes = WritePath::of(report);
    let limits = limits(runs, today, &writes);
    let mut table =
        String::from("| limit | one holds | the baseline asks | reached at |\n|---|---|---|---|\n");
    for limit in &limits {
        match (limit.holds, limit.asks, limit.multiple()) {
            (Some(holds), Some(asks), Some(multiple)) => table.push_str(&format!(
                "| {} | {} {unit} | {} {unit} | {} |\n",
                limit.what,
                amount(holds),
                amount(asks),
                reached_at(multiple),
                unit = limit.unit,
            )),
            _ => table.push_str(&format!("| {} | — | — | not measured |\n", limit.what)),
        }
    }
    for (index, mix) in ["pages from the page cache", "every page rendered"]
        .into_iter()
        .enumerate()
    {
        table.push_str(&format!(
            "\nIn the order they are reached, {mix}: {}.\n",
            order(&limits, index)
        ));
    }
    table.push_str(&naive_views(today, &writes));
    table.push_str(&limits_note(&writes));
    table
}

/// The bench report's write-path timings (PostgreSQL), in nanoseconds.
struct WritePath {
    /// A comment's transaction, with its outbox row.
    comment: Option<f64>,
    /// One SMTP conversation with a server that answers after [`SMTP_DELAY_MS`]: the
    /// naive comment (which holds it) less the optimized one (which does not).
    smtp: Option<f64>,
    /// One view's `UPDATE … + 1`, committed.
    view: Option<f64>,
}

impl WritePath {
    fn of(report: &Report) -> WritePath {
        let email =
            |size: &str, naive: bool| bench_ns(report, ("offloaded-email", "comment", size), naive);
        WritePath {
            comment: email("0", false),
            smtp: email(SMTP_DELAY_MS, true)
                .zip(email(SMTP_DELAY_MS, false))
                .map(|(naive, optimized)| naive - optimized),
            view: bench_ns(report, ("write-behind-counter", "views", "1"), true),
        }
    }
}

/// The limits of mix `index` and of both, by the multiple they are reached at.
fn order(limits: &[Limit], index: usize) -> String {
    let mut order: Vec<(&Limit, f64)> = limits
        .iter()
        .filter(|limit| limit.mix.is_none_or(|mix| mix == index))
        .filter_map(|limit| Some((limit, limit.multiple()?)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let order: Vec<String> = order
        .iter()
        .map(|(limit, multiple)| format!("{} ({})", limit.what, reached_at(*multiple)))
        .collect();
    order.join("; ")
}

fn limits(runs: &[Run], today: &Run, writes: &WritePath) -> Vec<Limit> {
    let rate = today.summary.all.per_second;
    let [cached, rendered] = mixes(runs);
    let per_second = |ns: Option<f64>| ns.map(|ns| 1e9 / ns);
    let one_core = |mix, what, run, tier| Limit {
        mix: Some(mix),
        what,
        holds: Some(1.0),
        asks: cores(run, tier, rate),
        unit: "cores",
    };
    let largest = |mix, what, run, tier| Limit {
        mix: Some(mix),
        what,
        holds: Some(LARGEST_PRIMARY_CORES),
        asks: cores(run, tier, rate),
        unit: "cores",
    };
    vec![
        one_core(0, "Redis, pages from the page cache", cached.alone, REDIS),
        one_core(1, "Redis, every page rendered", rendered.alone, REDIS),
        largest(
            0,
            "the primary, pages from the page cache",
            cached.alone,
            PRIMARY,
        ),
        largest(
            1,
            "the primary, every page rendered",
            rendered.alone,
            PRIMARY,
        ),
        largest(
            1,
            "the primary, every page rendered from standbys",
            rendered.beside,
            PRIMARY,
        ),
        Limit {
            mix: None,
            what: "comments, all on one post",
            holds: per_second(writes.comment),
            asks: comment_rate(today),
            unit: "a second",
        },
        Limit {
            mix: None,
            what: "one outbox worker",
            holds: per_second(writes.smtp),
            asks: comment_rate(today),
            unit: "emails a second",
        },
    ]
}

/// The limit write-behind removed: every view one committed `UPDATE` on its post's row.
fn naive_views(today: &Run, writes: &WritePath) -> String {
    let (Some(view), Some(views)) = (writes.view, rate_of(today, "GET post")) else {
        return String::new();
    };
    let holds = 1e9 / view;
    format!(
        "\nWithout write-behind, every view would be one committed `UPDATE` on its post's \
         row: {} a second on one post, where the baseline's post pages ask {} a second — reached \
         at {} if they were all one post's.\n",
        amount(holds),
        amount(views),
        reached_at(holds / views),
    )
}

/// The bench timings the limits rest on.
fn limits_note(writes: &WritePath) -> String {
    let time = |ns: Option<f64>| ns.map_or("—".to_owned(), duration);
    format!(
        "\nFrom the bench report (PostgreSQL, one connection to a local server): a \
         comment's transaction with its outbox row takes {} — it holds its post's row from \
         the counter's `UPDATE` to its `COMMIT`, which this bounds from above; an SMTP \
         conversation with a server made to answer after {SMTP_DELAY_MS} ms (an assumed \
         provider, not a measured one), {}; one view's `UPDATE … + 1`, {}. Two settings \
         of the model, not measurements: the primary's largest machine has {} cores, and \
         a core is one vCPU as Linux counts it.\n",
        time(writes.comment),
        time(writes.smtp),
        time(writes.view),
        LARGEST_PRIMARY_CORES,
    )
}

/// `0.42`, `18`, `2,270`: an amount at a readable precision.
fn amount(x: f64) -> String {
    if x >= 100.0 {
        thousands(x.round() as u64)
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// `already reached`, `12.3×`, `2,270×`: the multiple of today's traffic where a limit is met.
fn reached_at(multiple: f64) -> String {
    if multiple < 1.0 {
        "already reached".to_owned()
    } else {
        speedup(multiple)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mix_orders_its_own_limits_and_those_of_both_by_when_they_are_reached() {
        let limit = |mix, what, holds, asks| Limit {
            mix,
            what,
            holds: Some(holds),
            asks: Some(asks),
            unit: "cores",
        };
        let limits = [
            limit(Some(0), "cached", 1.0, 0.1),
            limit(Some(1), "rendered", 1.0, 0.5),
            limit(None, "both", 10.0, 2.0),
            Limit {
                asks: None,
                ..limit(None, "unmeasured", 1.0, 1.0)
            },
        ];
        assert_eq!(order(&limits, 0), "both (5.0×); cached (10.0×)");
        assert_eq!(order(&limits, 1), "rendered (2.0×); both (5.0×)");
    }

    #[test]
    fn a_limit_is_reached_at_the_multiple_where_demand_meets_it() {
        assert_eq!(reached_at(0.5), "already reached");
        assert_eq!(reached_at(12.34), "12.3×");
        assert_eq!(reached_at(2270.4), "2,270×");
        assert_eq!(amount(0.04213), "0.042");
        assert_eq!(amount(18.04), "18.0");
        assert_eq!(amount(2270.4), "2,270");
        assert_eq!(per_core(0.25), "4,000");
        assert_eq!(per_core(0.110), "9,090");
        assert_eq!(per_core(0.002), "500,000");
        assert_eq!(per_core(8.0), "125");
    }
}
