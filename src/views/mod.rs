//! The pages. Each view is a folder: `mod.rs` holds the page model, its template and
//! its handler; `naive.rs` and `optimized.rs` load that same page model, so the
//! template cannot tell them apart and the HTML is byte-identical above the footer,
//! the pager's links aside (a page number on the naive twin, a cursor on the
//! optimized lists). The handler picks the loader by the page's
//! [`Variant`](crate::base::variant::Variant), in one `match`.
//!
//! What every page shares is in [`site`] and [`footer`]; the router that puts the
//! pages together is the app's (`src/app/routes.rs`).

pub mod admin;
pub mod batch;
pub mod cached_page;
pub mod comments;
pub mod cursor;
pub mod echo;
pub mod footer;
pub mod form;
pub mod naive_gate;
pub mod pagination;
pub mod post_detail;
pub mod post_list;
pub mod sidebar;
pub mod site;
pub mod sitemap;
pub mod tag_page;
pub mod written;
