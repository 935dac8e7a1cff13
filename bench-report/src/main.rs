//! `cargo run -p bench-report -- --readme README.md`: criterion's results (after
//! `cargo bench`) as perfblog's bench report. The comparisons it looks for come from
//! perfblog's catalog; it writes `docs/benchmarks.json` (the figures, which the lab
//! compiles in), the figure table of `docs/benchmarks.md` (between its markers, the
//! page's prose kept) and `docs/speedups.svg`, and with `--readme` rewrites the
//! README's generated pattern table.

mod chart;
#[cfg(test)]
mod links;
mod readme;
mod report;
mod results;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use perfblog::catalog::figures::Report;

#[derive(Debug, Parser)]
#[command(
    name = "bench-report",
    about = "Summarise criterion's results as perfblog's bench report."
)]
struct Args {
    /// Where criterion wrote its results.
    #[arg(long, default_value = "target/criterion", value_name = "DIR")]
    criterion: PathBuf,
    /// Where to write benchmarks.json, benchmarks.md (its figure table) and speedups.svg.
    #[arg(long, default_value = "docs", value_name = "DIR")]
    out: PathBuf,
    /// Also rewrite the generated pattern table of this README.
    #[arg(long, value_name = "FILE")]
    readme: Option<PathBuf>,
    /// Keep the figures of `OUT/benchmarks.json` and only rewrite the tables: the
    /// README's patterns and `OUT/benchmarks.md`'s figures (after a change to the
    /// catalog; needs no criterion results).
    #[arg(long, requires = "readme")]
    tables_only: bool,
    /// Keep the figures of `OUT/benchmarks.json` that these criterion results do not
    /// hold (after running one bench rather than all).
    #[arg(long, conflicts_with = "tables_only")]
    merge: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let json = args.out.join("benchmarks.json");
    let report = if args.tables_only {
        let report = previous(&json)?;
        write_figures_page(&report, &args.out)?;
        report
    } else {
        let mut report = report::from_criterion(&args.criterion)?;
        if args.merge {
            report = report::merged(previous(&json)?, report);
        }
        write(&report, &args.out)?;
        println!("Wrote {}, benchmarks.md and speedups.svg.", json.display());
        report
    };
    if let Some(path) = &args.readme {
        readme::update(path, &report)?;
        println!("Rewrote the pattern table in {}.", path.display());
    }
    Ok(())
}

/// The report `benchmarks.json` holds.
fn previous(json: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(json)
        .with_context(|| format!("could not read {}", json.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a report", json.display()))
}

/// Writes `benchmarks.json`, `benchmarks.md` and `speedups.svg` into `out`.
fn write(report: &Report, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("could not create {}", out.display()))?;
    let json = serde_json::to_string_pretty(report)? + "\n";
    for (name, text) in [
        ("benchmarks.json", json),
        ("speedups.svg", chart::svg(report)),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    write_figures_page(report, out)
}

/// Rewrites the figure table of `out/benchmarks.md`, keeping the prose around it.
fn write_figures_page(report: &Report, out: &Path) -> anyhow::Result<()> {
    let path = out.join("benchmarks.md");
    let previous = std::fs::read_to_string(&path).ok();
    let text = readme::figures_page(previous.as_deref(), report);
    std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))
}
