//! Runs kept in `docs/load-test.json` — one per set of pages, backend, dataset, server
//! set-up and number of users, the newest kept — and the tables of `docs/load-test.md`,
//! which are generated from it (between `<!-- load-test:start -->` and
//! `<!-- load-test:end -->`), as is the capacity model of `docs/scaling.md`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use catalog::report::Report;

use crate::capacity;
use crate::cpu::Spent;
use crate::summary::Summary;

pub const JSON: &str = "docs/load-test.json";
pub const PAGE: &str = "docs/load-test.md";
const REGION: &str = "load-test";
/// The bench report, whose write-path timings the capacity model uses.
const BENCH_REPORT: &str = "docs/benchmarks.json";

/// What the load test cannot see of the server: its database and its data.
#[derive(Clone, Debug)]
pub struct Label {
    pub backend: String,
    pub dataset: String,
}

impl Label {
    /// `postgres,standard`, `sqlite,10x`; `postgres+redis,standard` when the server's
    /// caches were in Redis (`REDIS_URL`) rather than in process.
    pub fn parse(text: &str) -> Result<Label, String> {
        let (backend, dataset) = text
            .split_once(',')
            .ok_or("expected BACKEND,DATASET: postgres,standard or sqlite,10x")?;
        let (database, redis) = match backend.split_once('+') {
            Some((database, "redis")) => (database, true),
            Some((_, other)) => return Err(format!("{other}: the only cache to name is redis")),
            None => (backend, false),
        };
        let database = match database {
            "postgres" | "postgresql" => "PostgreSQL",
            "sqlite" => "SQLite",
            other => return Err(format!("{other}: the backend is postgres or sqlite")),
        };
        Ok(Label {
            backend: if redis {
                format!("{database} + Redis")
            } else {
                database.to_owned()
            },
            dataset: dataset.to_owned(),
        })
    }
}

/// How the server was started, which the load test cannot see either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Setup {
    /// The defaults: the page cache on, every read from the primary.
    #[default]
    Cached,
    /// `PAGE_CACHE=off`: every page rendered, every read from the primary.
    Rendered,
    /// The page cache on, reads from a standby (`DATABASE_REPLICA_URLS`).
    CachedStandby,
    /// `PAGE_CACHE=off` and reads from a standby.
    RenderedStandby,
}

impl Setup {
    pub fn describe(self) -> &'static str {
        match self {
            Setup::Cached => "page cache on, primary only",
            Setup::Rendered => "every page rendered, primary only",
            Setup::CachedStandby => "page cache on, reads from a standby",
            Setup::RenderedStandby => "every page rendered, reads from a standby",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    pub date: String,
    pub machine: String,
    pub backend: String,
    pub dataset: String,
    /// Runs recorded before set-ups were named ran the defaults.
    #[serde(default)]
    pub setup: Setup,
    pub summary: Summary,
    /// What each tier's processes spent in CPU time during the run (none where the run
    /// was recorded without `--tier`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu: Vec<Spent>,
}

impl Run {
    fn same_setup(&self, other: &Run) -> bool {
        (
            &self.summary.pages,
            &self.backend,
            &self.dataset,
            self.setup,
            self.summary.users,
        ) == (
            &other.summary.pages,
            &other.backend,
            &other.dataset,
            other.setup,
            other.summary.users,
        )
    }

    /// CPU milliseconds per answered request that `tier` spent, if it was watched.
    pub fn cpu_ms_per_request(&self, tier: &str) -> Option<f64> {
        let spent = self.cpu.iter().find(|spent| spent.tier == tier)?;
        Some(spent.cores() / self.summary.all.per_second.max(f64::EPSILON) * 1000.0)
    }

    fn markdown(&self) -> String {
        format!(
            "**{} pages** — {}, {} dataset, {}, {} users for {} s; {}, {}.\n\n{}{}",
            self.summary.pages,
            self.backend,
            self.dataset,
            self.setup.describe(),
            self.summary.users,
            self.summary.seconds,
            self.machine,
            self.date,
            self.summary.table(),
            self.cpu_markdown(),
        )
    }

    /// `CPU per request: app 0.21 ms (0.9 cores busy), …`, or nothing.
    fn cpu_markdown(&self) -> String {
        if self.cpu.is_empty() {
            return String::new();
        }
        let tiers: Vec<String> = self
            .cpu
            .iter()
            .filter_map(|spent| {
                let ms = self.cpu_ms_per_request(&spent.tier)?;
                Some(format!(
                    "{} {ms:.3} ms ({:.2} cores busy)",
                    spent.tier,
                    spent.cores()
                ))
            })
            .collect();
        format!("\nCPU per request: {}.\n", tiers.join(", "))
    }
}

/// Adds `summaries` to the JSON (replacing earlier runs of the same set-up) and
/// regenerates the page's tables from it; returns the page's path.
pub fn write(
    root: &Path,
    label: &Label,
    setup: Setup,
    measured: Vec<(Summary, Vec<Spent>)>,
) -> anyhow::Result<PathBuf> {
    let json = root.join(JSON);
    let mut runs = kept(root)?;
    for (summary, cpu) in measured {
        let run = Run {
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            machine: catalog::report::machine(),
            backend: label.backend.clone(),
            dataset: label.dataset.clone(),
            setup,
            summary,
            cpu,
        };
        runs.retain(|kept| !kept.same_setup(&run));
        runs.push(run);
    }
    let pages = pages(root, &runs)?;
    // All files or none: every page is generated before the JSON is written.
    std::fs::write(&json, serde_json::to_string_pretty(&runs)? + "\n")
        .with_context(|| format!("writing {JSON}"))?;
    for (path, text) in &pages {
        std::fs::write(root.join(path), text).with_context(|| format!("writing {path}"))?;
    }
    Ok(root.join(PAGE))
}

/// The runs kept in `docs/load-test.json`.
pub fn kept(root: &Path) -> anyhow::Result<Vec<Run>> {
    match std::fs::read_to_string(root.join(JSON)) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {JSON}")),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error).with_context(|| format!("reading {JSON}")),
    }
}

/// The pages generated from `runs` (and, for the capacity model, the bench report), as
/// (path under `root`, text).
pub fn pages(root: &Path, runs: &[Run]) -> anyhow::Result<Vec<(&'static str, String)>> {
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))
    };
    let tables: Vec<String> = runs.iter().map(Run::markdown).collect();
    let load_test = catalog::figures::replace_region(&read(PAGE)?, REGION, &tables.join("\n"))
        .with_context(|| format!("{PAGE} has no {REGION} region"))?;
    let report: Report = serde_json::from_str(&read(BENCH_REPORT)?)
        .with_context(|| format!("{BENCH_REPORT} is not a bench report"))?;
    let mut scaling = read(capacity::PAGE)?;
    for (region, body) in capacity::regions(runs, &report) {
        scaling = catalog::figures::replace_region(&scaling, region, &body)
            .with_context(|| format!("{} has no {region} region", capacity::PAGE))?;
    }
    Ok(vec![(PAGE, load_test), (capacity::PAGE, scaling)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edit the runs or the bench report and the pages must be regenerated: the figures
    /// in them are never typed.
    #[test]
    fn the_load_test_and_scaling_pages_hold_what_the_kept_runs_say() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let runs = kept(&root).expect("the kept runs");
        for (path, generated) in pages(&root, &runs).expect("the pages") {
            let on_disk = std::fs::read_to_string(root.join(path)).expect("the page");
            assert!(
                on_disk == generated,
                "{path} is not what the runs say: `cargo run -p loadtest -- --render-only`"
            );
        }
    }

    #[test]
    fn a_label_names_a_backend_the_app_runs_on_and_a_dataset() {
        let label = Label::parse("postgres,10x").expect("a label");
        assert_eq!(
            (label.backend.as_str(), label.dataset.as_str()),
            ("PostgreSQL", "10x")
        );
        let label = Label::parse("postgres+redis,standard").expect("a label");
        assert_eq!(label.backend, "PostgreSQL + Redis");
        assert!(
            Label::parse("postgres+memcached,standard").is_err_and(|why| why.contains("redis"))
        );
        assert!(Label::parse("postgres").is_err_and(|why| why.contains("BACKEND,DATASET")));
        assert!(Label::parse("mysql,standard").is_err_and(|why| why.contains("mysql")));
    }
}
