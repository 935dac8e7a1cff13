//! What every handler shares. Cloned per request, so everything in it is a handle.

use sea_orm::DatabaseConnection;

use crate::config::AdminToken;

#[derive(Clone)]
pub struct AppState {
    /// A connection pool; every statement through it is counted (see `instrument`).
    pub db: DatabaseConnection,
    /// What the admin routes ask for.
    pub admin_token: AdminToken,
}
