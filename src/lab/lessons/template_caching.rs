//! Template caching: a runtime engine that parses the sidebar's template on every
//! render, or parses it once and keeps it.

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::views::sidebar::runtime_template::{render_parsed_once, render_parsing_each_time};
use crate::views::sidebar::{Fragment, Sidebar, denormalized};

pub static LESSON: Lesson = Lesson {
    slug: "template-caching",
    comparisons: &[&SIDEBAR],
    backfire: None,
};

/// The sidebar rendered from the same loaded data by both sides: only the rendering is
/// timed.
static SIDEBAR: Comparison<Sidebar> = Comparison::either(
    "sidebar",
    |bench, _| Box::pin(sidebar(bench)),
    |_, sidebar, runs, which| Box::pin(render(sidebar, runs, which)),
);

/// The site's sidebar, read from its counters: the data every rung renders.
pub async fn sidebar(bench: &Workbench) -> Result<Sidebar, AppError> {
    Ok(denormalized::load(&bench.db).await?)
}

async fn render(sidebar: &Sidebar, runs: &mut Runs, which: Which) -> Result<Facts, AppError> {
    let rung: Rung = match which {
        Which::Naive => render_parsing_each_time,
        Which::Optimized => render_parsed_once,
    };
    time_rung(sidebar, runs, rung).await
}

/// A way to render the sidebar: one rung of the templates' ladder.
pub type Rung = fn(&Sidebar, &str) -> Result<Fragment, AppError>;

/// Times `rung` rendering `sidebar` for a page at the root: what both template lessons
/// time, each side with its rung.
pub async fn time_rung(sidebar: &Sidebar, runs: &mut Runs, rung: Rung) -> Result<Facts, AppError> {
    runs.time(|| async { rung(sidebar, "./") }).await?;
    Ok(Facts::none())
}
