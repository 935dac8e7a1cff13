//! SeaORM entities: one file per table, relations declared on the model.
//!
//! They mirror `migrations/`; the migrations are the source of truth for the schema.

pub mod comment;
pub mod outbox_message;
pub mod post;
pub mod post_tag;
pub mod tag;
pub mod user;
