"""perfblog's tables as Django models: same table and column names
(migrations/src/*.rs), so the SQL Django sends reads like perfblog's.

Foreign keys get `db_index=False` where perfblog indexes them under a name of its own
(or inside a wider index); Django would otherwise add one index per foreign key.
"""
from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


class User(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=254, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "users"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    slug = models.CharField(max_length=50, unique=True)
    # m20261127_000004_denormalized_counters
    published_post_count = models.IntegerField(default=0)

    class Meta:
        db_table = "tags"


def post_indexes():
    indexes = [
        models.Index(fields=["status", "-published_at", "-id"],
                     name="idx_posts_status_published_at_id"),
        models.Index(fields=["author"], name="idx_posts_author_id"),
        models.Index(fields=["status", "-comment_count", "id"],
                     name="idx_posts_status_comment_count_id"),
    ]
    if POSTGRES:  # m20261126_000003: needs pg_trgm; SQLite has no such index
        from django.contrib.postgres.indexes import GinIndex, OpClass
        indexes.append(GinIndex(OpClass(Lower("title"), name="gin_trgm_ops"),
                                name="idx_posts_title_trgm"))
    return indexes


class Post(models.Model):
    author = models.ForeignKey(User, models.CASCADE, related_name="posts",
                               db_column="author_id", db_index=False)
    title = models.CharField(max_length=200)
    slug = models.CharField(max_length=200, unique=True)
    excerpt = models.TextField()
    body = models.TextField()
    status = models.CharField(max_length=16)  # draft | published | archived
    published_at = models.DateTimeField(null=True)
    view_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    comment_count = models.IntegerField(default=0)  # denormalized counter
    tags = models.ManyToManyField(Tag, through="PostTag", related_name="posts")

    class Meta:
        db_table = "posts"
        indexes = post_indexes()


class PostTag(models.Model):
    # Django 5.2: a composite primary key, as perfblog's PRIMARY KEY (post_id, tag_id).
    pk = models.CompositePrimaryKey("post_id", "tag_id")
    post = models.ForeignKey(Post, models.CASCADE, db_index=False)
    tag = models.ForeignKey(Tag, models.CASCADE, db_index=False)

    class Meta:
        db_table = "post_tags"
        indexes = [models.Index(fields=["tag", "post"], name="idx_post_tags_tag_id_post_id")]


class Comment(models.Model):
    post = models.ForeignKey(Post, models.CASCADE, related_name="comments", db_index=False)
    author = models.ForeignKey(User, models.CASCADE, related_name="comments", db_index=False)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "comments"
        indexes = [
            models.Index(fields=["post", "-created_at"], name="idx_comments_post_id_created_at"),
            models.Index(fields=["author"], name="idx_comments_author_id"),
        ]


class EmailOutbox(models.Model):
    recipient = models.CharField(max_length=400)
    subject = models.CharField(max_length=400)
    body = models.TextField()
    status = models.CharField(max_length=16, default="pending")
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True)
    locked_by = models.CharField(max_length=100, null=True)
    last_error = models.TextField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "email_outbox"
        indexes = [models.Index(fields=["status", "next_attempt_at"],
                                name="idx_email_outbox_status_next_attempt_at")]
