//! The pages. Each view is a folder: `mod.rs` holds the page model, its template and
//! its routes; `optimized.rs` (and, where the pattern has one, `naive.rs`) load that
//! same page model, so the template cannot tell them apart.

pub mod pagination;
pub mod post_list;

use std::fmt;

use axum::Router;

use crate::instrument::{self, QueryStats};
use crate::state::AppState;

/// All pages, optimized at the plain paths and naive under `/naive`.
pub fn routes() -> Router<AppState> {
    Router::new().merge(post_list::routes())
}

/// Which loader produced a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Naive,
    Optimized,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Naive => "naive",
            Variant::Optimized => "optimized",
        })
    }
}

/// The figures a page shows at its foot: the same ones the `X-Query-Count` and
/// `Server-Timing` headers carry. Captured just before rendering, after every query
/// the page needs has run.
#[derive(Clone, Copy, Debug)]
pub struct Footer {
    pub variant: Variant,
    pub stats: QueryStats,
}

impl Footer {
    pub fn capture(variant: Variant) -> Self {
        Self {
            variant,
            stats: instrument::current(),
        }
    }

    pub fn db_ms(&self) -> String {
        format!("{:.2}", self.stats.db_millis())
    }
}
