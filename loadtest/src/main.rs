//! A load test anyone can run against a running perfblog: simulated visitors browse
//! the optimized pages, then the naive twins — the list, a post, one of its tags, the
//! next page of the list, and now and then a comment — sending what a browser sends,
//! and the run reports requests per second and the 50th, 95th and 99th percentiles.
//!
//! ```text
//! cargo run --release -p loadtest -- --host http://127.0.0.1:3000 --users 16 --run-time 30s
//! ```
//!
//! Built on goose, the Rust load-testing framework inspired by Locust: each simulated
//! user is a task that runs the browsing scenario in a loop, and goose keeps every
//! request's time. Coordinated-omission mitigation is on: see `docs/load-test.md`.

mod browse;
mod capacity;
mod cpu;
mod record;
mod summary;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use goose::config::GooseConfiguration;
use goose::metrics::GooseCoordinatedOmissionMitigation;
use goose::prelude::*;

use crate::browse::Pages;
use crate::summary::Summary;

#[derive(Parser, Debug)]
#[command(
    about = "Browse perfblog's optimized and naive pages under load, and report \
                   requests per second and p50/p95/p99."
)]
struct Args {
    /// The perfblog to load: its address.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    host: String,
    /// Simulated visitors browsing at once, each as fast as the server answers.
    #[arg(long, default_value_t = 16)]
    users: usize,
    /// How long each set of pages is loaded, after every user has started: `30s`, `2m`.
    #[arg(long, default_value = "30s")]
    run_time: String,
    /// Which pages to browse: the optimized ones, their naive twins, or both in turn.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    pages: Which,
    /// Write the run into `docs/load-test.json` and regenerate `docs/load-test.md`:
    /// name the server's backend and dataset, which the load test cannot see.
    #[arg(long, value_name = "BACKEND,DATASET", value_parser = record::Label::parse)]
    record: Option<record::Label>,
    /// How the server was started, for `--record`: the page cache on or off, reads from
    /// the primary or a standby.
    #[arg(long, value_enum, default_value_t = record::Setup::Cached)]
    setup: record::Setup,
    /// A process to measure the CPU time of, with everything it started, for the
    /// capacity model of `docs/scaling.md`: `--tier app=PID --tier "postgres primary=PID"`
    /// (repeat it; the load generator is always measured).
    #[arg(long, value_name = "NAME=PID", value_parser = cpu::Tier::parse)]
    tier: Vec<cpu::Tier>,
    /// Load nothing: regenerate `docs/load-test.md` and `docs/scaling.md` from the kept
    /// runs and the bench report.
    #[arg(long)]
    render_only: bool,
    /// The repository's root, where `docs/` is.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Which {
    Optimized,
    Naive,
    Both,
}

impl Which {
    fn pages(self) -> &'static [Pages] {
        match self {
            Which::Optimized => &[Pages::Optimized],
            Which::Naive => &[Pages::Naive],
            Which::Both => &[Pages::Optimized, Pages::Naive],
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.render_only {
        for (path, text) in record::pages(&args.root, &record::kept(&args.root)?)? {
            std::fs::write(args.root.join(path), text)?;
            println!("Rewrote {path}");
        }
        return Ok(());
    }
    let mut tiers = args.tier.clone();
    tiers.push(cpu::Tier {
        name: capacity::LOAD_GENERATOR.to_owned(),
        pid: std::process::id(),
    });
    let mut measured = Vec::new();
    for &pages in args.pages.pages() {
        println!(
            "\n== {} pages: {} users for {}",
            pages.name(),
            args.users,
            args.run_time
        );
        let before = cpu::sample(&tiers)?;
        let metrics = attack(&args, pages).await?;
        let spent = cpu::spent(&tiers, &before, &cpu::sample(&tiers)?);
        let summary = Summary::of(pages, args.users, &args.run_time, &metrics);
        println!("{}", summary.table());
        for tier in &spent {
            println!("{}: {:.2} cores busy", tier.tier, tier.cores());
        }
        measured.push((summary, spent));
    }
    if let Some(label) = &args.record {
        let written = record::write(&args.root, label, args.setup, measured)?;
        println!("\nRecorded in {}", written.display());
    }
    Ok(())
}

/// One run of the browsing scenario on `pages`, with goose's own report on the console.
async fn attack(args: &Args, pages: Pages) -> anyhow::Result<GooseMetrics> {
    let configuration = GooseConfiguration::parse_args_default(&[] as &[&str])
        .map_err(|error| anyhow::anyhow!("goose's default configuration: {error}"))?;
    let [read, write] = browse::scenarios(pages)?;
    let metrics = GooseAttack::initialize_with_config(configuration)?
        .register_scenario(read)
        .register_scenario(write)
        .set_default(GooseDefault::Host, args.host.as_str())?
        .set_default(GooseDefault::Users, args.users)?
        // Every user starts within a second: the run time is the load, not a ramp.
        .set_default(GooseDefault::IncreaseRate, args.users.to_string().as_str())?
        .set_default(GooseDefault::RunTime, run_time_seconds(&args.run_time)?)?
        .set_default(
            GooseDefault::CoordinatedOmissionMitigation,
            GooseCoordinatedOmissionMitigation::Average,
        )?
        // goose would also serve a controller on port 5116.
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        // Not a line for every request slower than the visitor's average.
        .set_default(GooseDefault::Quiet, 1)?
        .execute()
        .await?;
    Ok(metrics)
}

/// `30s`, `2m`, `1h` or a number of seconds.
fn run_time_seconds(text: &str) -> anyhow::Result<usize> {
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let number: usize = number
        .parse()
        .map_err(|_| anyhow::anyhow!("--run-time {text}: expected a number then s, m or h"))?;
    match unit {
        "s" => Ok(number),
        "m" => Ok(number * 60),
        "h" => Ok(number * 3600),
        _ => anyhow::bail!("--run-time {text}: expected a number then s, m or h"),
    }
}

#[cfg(test)]
mod tests {
    use super::run_time_seconds;

    #[test]
    fn run_times_are_read_in_seconds_minutes_or_hours() {
        assert_eq!(run_time_seconds("30s").ok(), Some(30));
        assert_eq!(run_time_seconds("2m").ok(), Some(120));
        assert_eq!(run_time_seconds("45").ok(), Some(45));
        assert!(run_time_seconds("soon").is_err());
        assert!(run_time_seconds("3d").is_err());
    }
}
