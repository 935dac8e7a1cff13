//! Compiled templates: the sidebar's template parsed once by a runtime engine and run
//! on every render, or compiled into the binary by askama.

use super::template_caching::{Rung, sidebar, time_rung};
use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::views::sidebar::runtime_template::render_parsed_once;
use crate::views::sidebar::{Sidebar, render as render_compiled};

pub static LESSON: Lesson = Lesson {
    slug: "compiled-templates",
    comparisons: &[&SIDEBAR],
    backfire: None,
};

/// The same sidebar as the template-caching lesson renders, from the same data.
static SIDEBAR: Comparison<Sidebar> = Comparison::either(
    "sidebar",
    |bench, _| Box::pin(sidebar(bench)),
    |_, sidebar, runs, which| Box::pin(render(sidebar, runs, which)),
);

async fn render(sidebar: &Sidebar, runs: &mut Runs, which: Which) -> Result<Facts, AppError> {
    let rung: Rung = match which {
        Which::Naive => render_parsed_once,
        Which::Optimized => render_compiled,
    };
    time_rung(sidebar, runs, rung).await
}
