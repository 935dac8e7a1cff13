//! Users, posts, tags, post_tags and comments.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [users(), posts(), tags(), post_tags(), comments()] {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Comments::Table.into_iden(),
            PostTags::Table.into_iden(),
            Tags::Table.into_iden(),
            Posts::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn users() -> TableCreateStatement {
    Table::create()
        .table(Users::Table)
        .col(pk_auto(Users::Id))
        .col(string_len(Users::Name, 100))
        .col(string_len_uniq(Users::Email, 254))
        .col(timestamp_with_time_zone(Users::CreatedAt))
        .to_owned()
}

fn posts() -> TableCreateStatement {
    Table::create()
        .table(Posts::Table)
        .col(pk_auto(Posts::Id))
        .col(integer(Posts::AuthorId))
        .col(string_len(Posts::Title, 200))
        .col(string_len_uniq(Posts::Slug, 200))
        .col(text(Posts::Excerpt))
        .col(text(Posts::Body))
        .col(string_len(Posts::Status, 16))
        .col(timestamp_with_time_zone_null(Posts::PublishedAt))
        .col(integer(Posts::ViewCount).default(0))
        .col(timestamp_with_time_zone(Posts::CreatedAt))
        .col(timestamp_with_time_zone(Posts::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_posts_author")
                .from(Posts::Table, Posts::AuthorId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn tags() -> TableCreateStatement {
    Table::create()
        .table(Tags::Table)
        .col(pk_auto(Tags::Id))
        .col(string_len_uniq(Tags::Name, 50))
        .col(string_len_uniq(Tags::Slug, 50))
        .to_owned()
}

fn post_tags() -> TableCreateStatement {
    Table::create()
        .table(PostTags::Table)
        .col(integer(PostTags::PostId))
        .col(integer(PostTags::TagId))
        // (post_id, tag_id) doubles as the index for "tags of these posts".
        .primary_key(Index::create().col(PostTags::PostId).col(PostTags::TagId))
        .foreign_key(
            ForeignKey::create()
                .name("fk_post_tags_post")
                .from(PostTags::Table, PostTags::PostId)
                .to(Posts::Table, Posts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_post_tags_tag")
                .from(PostTags::Table, PostTags::TagId)
                .to(Tags::Table, Tags::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn comments() -> TableCreateStatement {
    Table::create()
        .table(Comments::Table)
        .col(pk_auto(Comments::Id))
        .col(integer(Comments::PostId))
        .col(integer(Comments::AuthorId))
        .col(text(Comments::Body))
        .col(timestamp_with_time_zone(Comments::CreatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_comments_post")
                .from(Comments::Table, Comments::PostId)
                .to(Posts::Table, Posts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_comments_author")
                .from(Comments::Table, Comments::AuthorId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn indexes() -> [IndexCreateStatement; 5] {
    [
        // Every list page asks for "published, newest first, 21 rows": with this index
        // the database walks it in order and stops after 21 rows instead of sorting
        // them all.
        Index::create()
            .name("idx_posts_status_published_at_id")
            .table(Posts::Table)
            .col(Posts::Status)
            .col((Posts::PublishedAt, IndexOrder::Desc))
            .col((Posts::Id, IndexOrder::Desc))
            .to_owned(),
        // Foreign keys are not indexed automatically (PostgreSQL, SQLite): the author's
        // posts.
        Index::create()
            .name("idx_posts_author_id")
            .table(Posts::Table)
            .col(Posts::AuthorId)
            .to_owned(),
        // The other direction of post_tags, "posts with this tag", for the tag page and
        // the tag cloud.
        Index::create()
            .name("idx_post_tags_tag_id_post_id")
            .table(PostTags::Table)
            .col(PostTags::TagId)
            .col(PostTags::PostId)
            .to_owned(),
        // "Latest 50 comments of a post" and "comments per post" both seek on post_id;
        // created_at in the key serves the ordering without a sort.
        Index::create()
            .name("idx_comments_post_id_created_at")
            .table(Comments::Table)
            .col(Comments::PostId)
            .col((Comments::CreatedAt, IndexOrder::Desc))
            .to_owned(),
        Index::create()
            .name("idx_comments_author_id")
            .table(Comments::Table)
            .col(Comments::AuthorId)
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
    AuthorId,
    Title,
    Slug,
    Excerpt,
    Body,
    Status,
    PublishedAt,
    ViewCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    Name,
    Slug,
}

#[derive(DeriveIden)]
enum PostTags {
    Table,
    PostId,
    TagId,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    PostId,
    AuthorId,
    Body,
    CreatedAt,
}
