use sea_orm::entity::prelude::*;

/// An email waiting in (or delivered from) the transactional outbox.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `Name <address>`, as the `To:` header will read.
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: Status,
    /// Delivery attempts so far; a claim counts as one.
    pub attempts: i32,
    /// Not to be tried before this instant (the backoff after a failure).
    pub next_attempt_at: DateTimeUtc,
    /// A worker's claim: until then, no other worker takes the row.
    pub locked_until: Option<DateTimeUtc>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Status {
    /// To be sent (again).
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Failed more times than the worker retries; kept with its last error.
    #[sea_orm(string_value = "dead")]
    Dead,
}

impl ActiveModelBehavior for ActiveModel {}
