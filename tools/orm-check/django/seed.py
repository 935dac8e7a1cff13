"""Schema (Django's syncdb of the models) and a small, deterministic dataset.

5 users, 10 tags, 50 posts (ids 1-40 published, 41-42 archived, 43-50 drafts),
two tags a post, 0-6 comments a published post, the counters filled.
Posts 20 and 21 share a published_at: the keyset gotcha needs two equal timestamps
at a page boundary (page 1 of 20, newest first, ends with post 21).
"""
from datetime import datetime, timedelta, timezone as tz

from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q

TABLES = ["email_outbox", "comments", "post_tags", "posts", "tags", "users"]
BASE = datetime(2026, 11, 1, 9, 0, tzinfo=tz.utc)
WORDS = ("cache latency index query pool stream counter batch cursor page "
         "render commit lock write read shard vacuum plan join sort").split()


def body_text(i, n=3000):
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n // 6)]
    return " ".join(words)[:n]


def create_schema():
    with connection.cursor() as c:
        for t in TABLES + ["django_migrations", "django_content_type"]:
            c.execute(f'DROP TABLE IF EXISTS "{t}"' + (" CASCADE" if connection.vendor == "postgresql" else ""))
        if connection.vendor == "postgresql":
            # What TrigramExtension() does in a migration.
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    call_command("migrate", run_syncdb=True, verbosity=0)


def reset():
    """Empty every table and restart the ids, so every step sees the same rows."""
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
        else:
            for t in TABLES:
                c.execute(f'DELETE FROM "{t}"')
            c.execute("DELETE FROM sqlite_sequence")


def seed():
    from blog.models import Comment, Post, PostTag, Tag, User

    reset()
    users = User.objects.bulk_create(
        User(id=i, name=f"Author {i}", email=f"author{i}@example.com", created_at=BASE)
        for i in range(1, 6))
    tags = Tag.objects.bulk_create(
        Tag(id=i, name=WORDS[i - 1].title(), slug=WORDS[i - 1]) for i in range(1, 11))
    posts = []
    for i in range(1, 51):
        status = "published" if i <= 40 else "archived" if i <= 42 else "draft"
        published = None
        if status != "draft":
            hour = i if i <= 40 else i - 45  # archived ones are older
            published = BASE + timedelta(hours=hour if i != 20 else 21)
        posts.append(Post(
            id=i, author_id=(i % 5) + 1, status=status, published_at=published,
            title=f"{WORDS[i % 20].title()} {WORDS[(i * 3) % 20]} notes #{i}",
            slug=f"post-{i}", excerpt=body_text(i, 200), body=body_text(i),
            created_at=BASE, view_count=i * 10))
    Post.objects.bulk_create(posts)
    PostTag.objects.bulk_create(
        PostTag(post_id=i, tag_id=t)
        for i in range(1, 51) for t in sorted({(i % 10) + 1, (i % 3) + 1}))
    comments = []
    for i in range(1, 41):
        for k in range(i % 7):
            comments.append(Comment(post_id=i, author_id=((i + k) % 5) + 1,
                                    body=f"Comment {k} on post {i}",
                                    created_at=BASE + timedelta(hours=i, minutes=k + 1)))
    Comment.objects.bulk_create(comments)
    recount()
    if connection.vendor == "postgresql":
        with connection.cursor() as c:  # the ids given explicitly: move the sequences on
            for t in ("users", "tags", "posts", "comments"):
                c.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))")
    return users, tags


def recount():
    from django.db.models import OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce
    from blog.models import Comment, Post, PostTag, Tag

    per_post = (Comment.objects.filter(post=OuterRef("pk")).order_by()
                .values("post").annotate(n=Count("*")).values("n"))
    Post.objects.update(comment_count=Coalesce(Subquery(per_post), Value(0)))
    per_tag = (PostTag.objects.filter(tag=OuterRef("pk"), post__status="published").order_by()
               .values("tag").annotate(n=Count("*")).values("n"))
    Tag.objects.update(published_post_count=Coalesce(Subquery(per_tag), Value(0)))
