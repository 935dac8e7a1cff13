use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag_id: i32,
    /// The post's `status` and `published_at`, copied by the database (triggers in the
    /// migration that adds them) so a tag's published posts are read newest first
    /// from one index. A writer may leave them out: the copy is made for it. On SQLite
    /// the copy is made just after the row is written, so the row an `INSERT …
    /// RETURNING` hands back still has what was written: read it again if you need
    /// the copy.
    pub status: super::post::Status,
    pub published_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "post_id", to = "id")]
    pub post: BelongsTo<super::post::Entity>,
    #[sea_orm(belongs_to, from = "tag_id", to = "id")]
    pub tag: BelongsTo<super::tag::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
