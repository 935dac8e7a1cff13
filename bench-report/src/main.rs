//! `cargo run -p bench-report`: criterion's results (after `cargo bench`) as perfblog's
//! bench report. The measures it looks for come from the catalog (`docs/patterns/`);
//! it writes `docs/benchmarks.json` and `docs/speedups.svg`, then every generated part
//! of the README and the docs ([`pages`]): the tables between their markers, and each
//! figure's region (`<!-- fig.…:start -->`). Nothing here knows the server.

mod chart;
#[cfg(test)]
mod links;
mod pages;
mod report;
mod results;

use std::path::{Path, PathBuf};

use anyhow::Context;
use catalog::Catalog;
use catalog::report::Report;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "bench-report",
    about = "Summarise criterion's results as perfblog's bench report, and write its figures into the README and the docs."
)]
struct Args {
    /// Where criterion wrote its results.
    #[arg(long, default_value = "target/criterion", value_name = "DIR")]
    criterion: PathBuf,
    /// The repository: its README.md and docs/ are rewritten.
    #[arg(long, default_value = ".", value_name = "DIR")]
    root: PathBuf,
    /// Keep the figures of docs/benchmarks.json and only rewrite the tables and
    /// figures' regions (after a change to docs/patterns/; needs no criterion results).
    #[arg(long)]
    tables_only: bool,
    /// Keep the figures of docs/benchmarks.json that these criterion results do not
    /// hold (after running one bench rather than all).
    #[arg(long, conflicts_with = "tables_only")]
    merge: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Read from disk now, not compiled in: this writes into those files.
    let catalog = Catalog::read(&args.root.join("docs/patterns")).map_err(anyhow::Error::msg)?;
    let json = args.root.join("docs/benchmarks.json");
    let report = if args.tables_only {
        previous(&json)?
    } else {
        let mut report = report::from_criterion(&args.criterion, &catalog)?;
        if args.merge {
            report = report::merged(previous(&json)?, report, &catalog);
        }
        write_report(&report, &args.root.join("docs"), &catalog)?;
        println!("Wrote {} and speedups.svg.", json.display());
        report
    };
    let rewritten = pages::write_all(&args.root, &report, &catalog)?;
    println!("Rewrote the generated parts of {rewritten} pages.");
    Ok(())
}

/// The report `benchmarks.json` holds.
fn previous(json: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(json)
        .with_context(|| format!("could not read {}", json.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a report", json.display()))
}

/// Writes `benchmarks.json` and `speedups.svg` into `out`.
fn write_report(report: &Report, out: &Path, catalog: &Catalog) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("could not create {}", out.display()))?;
    let json = serde_json::to_string_pretty(report)? + "\n";
    for (name, text) in [
        ("benchmarks.json", json),
        ("speedups.svg", chart::svg(report, catalog)),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}

/// The repository's patterns, for the tests.
#[cfg(test)]
fn tests_catalog() -> Catalog {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/patterns");
    Catalog::read(&dir).unwrap_or_else(|problem| panic!("{problem}"))
}
