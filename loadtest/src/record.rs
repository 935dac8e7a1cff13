//! Runs kept in `docs/load-test.json` — one per set of pages, backend, dataset and
//! number of users, the newest kept — and the tables of `docs/load-test.md`, which are
//! generated from it (between `<!-- load-test:start -->` and `<!-- load-test:end -->`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::summary::Summary;

pub const JSON: &str = "docs/load-test.json";
pub const PAGE: &str = "docs/load-test.md";
const REGION: &str = "load-test";

/// What the load test cannot see of the server: its database and its data.
#[derive(Clone, Debug)]
pub struct Label {
    pub backend: String,
    pub dataset: String,
}

impl Label {
    /// `postgres,standard`, `sqlite,10x`.
    pub fn parse(text: &str) -> Result<Label, String> {
        let (backend, dataset) = text
            .split_once(',')
            .ok_or("expected BACKEND,DATASET: postgres,standard or sqlite,10x")?;
        let backend = match backend {
            "postgres" | "postgresql" => "PostgreSQL",
            "sqlite" => "SQLite",
            other => return Err(format!("{other}: the backend is postgres or sqlite")),
        };
        Ok(Label {
            backend: backend.to_owned(),
            dataset: dataset.to_owned(),
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    pub date: String,
    pub machine: String,
    pub backend: String,
    pub dataset: String,
    pub summary: Summary,
}

impl Run {
    fn same_setup(&self, other: &Run) -> bool {
        (
            &self.summary.pages,
            &self.backend,
            &self.dataset,
            self.summary.users,
        ) == (
            &other.summary.pages,
            &other.backend,
            &other.dataset,
            other.summary.users,
        )
    }

    fn markdown(&self) -> String {
        format!(
            "**{} pages** — {}, {} dataset, {} users for {} s; {}, {}.\n\n{}",
            self.summary.pages,
            self.backend,
            self.dataset,
            self.summary.users,
            self.summary.seconds,
            self.machine,
            self.date,
            self.summary.table()
        )
    }
}

/// Adds `summaries` to the JSON (replacing earlier runs of the same set-up) and
/// regenerates the page's tables from it; returns the page's path.
pub fn write(root: &Path, label: &Label, summaries: Vec<Summary>) -> anyhow::Result<PathBuf> {
    let json = root.join(JSON);
    let mut runs: Vec<Run> = match std::fs::read_to_string(&json) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {JSON}"))?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error).with_context(|| format!("reading {JSON}")),
    };
    for summary in summaries {
        let run = Run {
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            machine: catalog::report::machine(),
            backend: label.backend.clone(),
            dataset: label.dataset.clone(),
            summary,
        };
        runs.retain(|kept| !kept.same_setup(&run));
        runs.push(run);
    }
    let page = root.join(PAGE);
    let text = std::fs::read_to_string(&page).with_context(|| format!("reading {PAGE}"))?;
    let tables: Vec<String> = runs.iter().map(Run::markdown).collect();
    let text = catalog::figures::replace_region(&text, REGION, &tables.join("\n"))
        .with_context(|| format!("{PAGE} has no {REGION} region"))?;
    // Both files or neither: the page is checked before the JSON is written.
    std::fs::write(&json, serde_json::to_string_pretty(&runs)? + "\n")
        .with_context(|| format!("writing {JSON}"))?;
    std::fs::write(&page, text).with_context(|| format!("writing {PAGE}"))?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::Label;

    #[test]
    fn a_label_names_a_backend_the_app_runs_on_and_a_dataset() {
        let label = Label::parse("postgres,10x").expect("a label");
        assert_eq!(
            (label.backend.as_str(), label.dataset.as_str()),
            ("PostgreSQL", "10x")
        );
        assert!(Label::parse("postgres").is_err_and(|why| why.contains("BACKEND,DATASET")));
        assert!(Label::parse("mysql,standard").is_err_and(|why| why.contains("mysql")));
    }
}
