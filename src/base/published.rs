//! The bench report as this binary was built (`docs/benchmarks.json`): the figures the
//! lab shows beside its live runs, and that a refusal quotes for what it did not run.

use std::sync::LazyLock;

use catalog::report::Report;

static PUBLISHED: LazyLock<Report> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../docs/benchmarks.json")).unwrap_or_default()
});

pub fn published() -> &'static Report {
    &PUBLISHED
}
