//! The transactional outbox: an email to send is a row, written in the same
//! transaction as the change that causes it, and delivered later by a worker.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_auto(EmailOutbox::Id))
                    .col(string_len(EmailOutbox::Recipient, 400))
                    .col(string_len(EmailOutbox::Subject, 400))
                    .col(text(EmailOutbox::Body))
                    .col(string_len(EmailOutbox::Status, 16))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::LockedUntil))
                    .col(string_len_null(EmailOutbox::LockedBy, 100))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .to_owned(),
            )
            .await?;
        // Workers ask "pending and due, oldest first": this index answers it without
        // reading sent rows, however many accumulate.
        manager
            .create_index(
                Index::create()
                    .name("idx_email_outbox_status_next_attempt_at")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::Status)
                    .col(EmailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailOutbox::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LockedBy,
    LastError,
    CreatedAt,
    SentAt,
}
