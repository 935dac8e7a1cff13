//! Whole pages against their naive twins, through the router: every idea at once.

use super::Comparison;

pub static COMPARISONS: &[Comparison] = &[
    Comparison {
        what: "twin pages: list page, warm cache in process",
        bench: "twin_pages",
        naive: "list-naive",
        optimized: "list-optimized-memory",
        headline: None,
    },
    Comparison {
        what: "twin pages: list page, warm cache in Redis",
        bench: "twin_pages",
        naive: "list-naive",
        optimized: "list-optimized-redis",
        headline: None,
    },
];
