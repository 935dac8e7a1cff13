"""One function per pattern side, as a Django developer would write it.

Each function is registered with @step(slug, side, title). check.py re-seeds the
database before every step, runs it inside CaptureQueriesContext(connection) and prints
its source (exactly what ran), its result and every statement Django sent.

side: "naive", "optimized", "also" (a variant worth its SQL), "gotcha", "catch".
"""
import asyncio
import contextlib
import gzip
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as tz

from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import cache, caches
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.db import connection, connections, transaction
from django.db.models import BooleanField, Case, Count, F, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Lower
from django.db.models.signals import post_save
from django.template import Context, engines
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from blog.models import Comment, EmailOutbox, Post, PostTag, Tag, User

REGISTRY = {}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=tz.utc)


@dataclass
class Step:
    slug: str
    side: str
    title: str
    fn: object
    show: tuple = ()
    only: str | None = None  # "postgresql" / "sqlite": run on that backend only
    capture: bool = True  # False: the step measures on its own (threads, requests)
    driver: bool = False  # True: fn only drives the code in `show`, which is what to read


def step(slug, side, title, show=(), only=None, capture=True, driver=False):
    def deco(fn):
        REGISTRY.setdefault(slug, []).append(
            Step(slug, side, title, fn, show, only, capture, driver))
        return fn
    return deco


def published():
    return Post.objects.filter(status="published").order_by("-published_at", "-id")


LIST_COLUMNS = ("id", "title", "slug", "excerpt", "published_at", "author_id", "comment_count")


# ================================================================ eager-loading

NAIVE_LIST = engines["django"].from_string("""{% for post in posts %}
  {{ post.title }} by {{ post.author.name }}
  {% for tag in post.tags.all %}#{{ tag.name }} {% endfor %}
  {{ post.comments.count }} comments
{% endfor %}""")


@step("eager-loading", "naive", "a template's loop touching post.author.name, post.tags.all, "
      "post.comments.count", show=("NAIVE_LIST",))
def eager_naive():
    posts = Post.objects.filter(status="published").order_by("-published_at", "-id")[:20]
    return NAIVE_LIST.render({"posts": posts})


OPTIMIZED_LIST = engines["django"].from_string("""{% for post in posts %}
  {{ post.title }} by {{ post.author.name }}
  {% for tag in post.tags.all %}#{{ tag.name }} {% endfor %}
  {{ post.n_comments }} comments
{% endfor %}""")


@step("eager-loading", "optimized", "select_related('author'), prefetch_related('tags'), "
      "annotate(Count('comments'))", show=("OPTIMIZED_LIST",))
def eager_optimized():
    posts = (Post.objects.filter(status="published").order_by("-published_at", "-id")
             .select_related("author").prefetch_related("tags")
             .annotate(n_comments=Count("comments"))[:20])
    return OPTIMIZED_LIST.render({"posts": posts})


@step("eager-loading", "also", "perfblog's shape in Django: the page, then one IN (…) query "
      "each for authors and tags, and one GROUP BY for the counts")
def eager_perfblog_shape():
    posts = list(Post.objects.filter(status="published").order_by("-published_at", "-id")
                 .only(*LIST_COLUMNS).prefetch_related(
                     Prefetch("author", User.objects.only("name")),
                     Prefetch("tags", Tag.objects.only("name", "slug").order_by("name")))[:20])
    counts = dict(Comment.objects.filter(post__in=posts).order_by()
                  .values_list("post_id").annotate(n=Count("*")))
    return [(p.title, p.author.name, [t.slug for t in p.tags.all()], counts.get(p.pk, 0))
            for p in posts]


@step("eager-loading", "also", "prefetch_related('comments') keeps `post.comments.count` "
      "in the template free of queries, by loading every comment of the page")
def eager_prefetch_comments():
    posts = (Post.objects.filter(status="published").order_by("-published_at", "-id")
             .select_related("author").prefetch_related("tags", "comments")[:20])
    return NAIVE_LIST.render({"posts": posts})


@step("eager-loading", "naive", "the post page: its latest 50 comments, each comment's author "
      "looked up")
def post_page_comments_naive():
    post = Post.objects.get(slug="post-34")
    comments = post.comments.order_by("-created_at")[:50]
    return [(c.author.name, c.body) for c in comments]


@step("eager-loading", "optimized", "the post page: the comments' authors joined in")
def post_page_comments_optimized():
    post = Post.objects.get(slug="post-34")
    comments = post.comments.select_related("author").order_by("-created_at")[:50]
    return [(c.author.name, c.body) for c in comments]


@step("eager-loading", "catch", "django-zeal raises on the naive loop (zeal in INSTALLED_APPS)")
def eager_catch_zeal():
    from zeal import NPlusOneError, zeal_context

    try:
        with zeal_context():
            eager_naive()
    except NPlusOneError as error:
        return f"NPlusOneError: {error}"
    return "no error"


@step("eager-loading", "catch", "connection.queries with DEBUG=True (what the debug toolbar's "
      "SQL panel lists)", capture=False)
def eager_catch_connection_queries():
    from django.db import reset_queries
    from django.test.utils import override_settings

    with override_settings(DEBUG=True):
        reset_queries()
        eager_naive()
        shapes = Counter(q["sql"].split(" WHERE ")[0][:60] for q in connection.queries)
    return len(connection.queries), shapes.most_common(3)


# ================================================================ projection

@step("projection", "naive", "whole rows: every column, body included")
def projection_naive():
    posts = list(published()[:101])
    return sum(len(p.body) for p in posts), "characters of body loaded"


@step("projection", "optimized", "only() the seven columns the entry shows")
def projection_only():
    posts = list(published().only("id", "title", "slug", "excerpt", "published_at",
                                  "author_id", "comment_count")[:101])
    return len(posts), "model instances, body deferred"


@step("projection", "also", "values(): dicts of exactly those columns")
def projection_values():
    rows = list(published().values("id", "title", "slug", "excerpt", "published_at",
                                   "author_id", "comment_count")[:101])
    return rows[0].keys()


@step("projection", "also", "defer('body'): every column but the body")
def projection_defer():
    return len(list(published().defer("body")[:101]))


@step("projection", "gotcha", "touching a deferred field costs a query per object")
def projection_deferred_access():
    posts = published().only("id", "title", "slug")[:20]
    return sum(len(p.body) for p in posts)


@step("projection", "catch", "django-zeal on the deferred field")
def projection_catch_zeal():
    from zeal import NPlusOneError, zeal_context

    try:
        with zeal_context():
            projection_deferred_access()
    except NPlusOneError as error:
        return f"NPlusOneError: {error}"
    return "no error"


@step("projection", "gotcha", "only() without the author's fields, with select_related('author')")
def projection_only_select_related():
    try:
        return len(list(published().only("title").select_related("author")[:20]))
    except Exception as error:
        return f"{type(error).__name__}: {error}"


# ================================================================ aggregation

@step("aggregation", "naive", "len() in Python over everything, as the doc writes it")
def aggregation_naive():
    cloud = [(tag.name, len([p for p in tag.posts.all() if p.status == "published"]))
             for tag in Tag.objects.order_by("name")]
    counts = [(len(p.comments.all()), p.id, p.title)
              for p in Post.objects.filter(status="published")]
    popular = sorted(counts, key=lambda c: (-c[0], c[1]))[:5]
    return cloud, popular


@step("aggregation", "also", "perfblog's naive side in Django: load every published post, "
      "link and comment once, count in Python")
def aggregation_naive_loaded():
    posts = list(Post.objects.filter(status="published").prefetch_related("tags", "comments"))
    cloud = Counter(tag.name for p in posts for tag in p.tags.all())
    popular = sorted(posts, key=lambda p: (-len(p.comments.all()), p.id))[:5]
    return sorted(cloud.items()), [(p.title, len(p.comments.all())) for p in popular]


@step("aggregation", "optimized", "annotate(Count(…)): two GROUP BY queries")
def aggregation_optimized():
    cloud = Tag.objects.annotate(
        n=Count("posts", filter=Q(posts__status="published"))).order_by("name")
    popular = (Post.objects.filter(status="published").annotate(n=Count("comments"))
               .order_by("-n", "id")[:5])
    return [(t.name, t.n) for t in cloud], [(p.title, p.n) for p in popular]


@step("aggregation", "also", "values() before annotate(): GROUP BY only the columns shown")
def aggregation_values():
    cloud = (Tag.objects.filter(posts__status="published").values("name", "slug")
             .annotate(n=Count("*")).order_by("name"))
    popular = (Post.objects.filter(status="published").values("id", "title", "slug")
               .annotate(n=Count("comments")).order_by("-n", "id")[:5])
    return list(cloud), list(popular)


@step("aggregation", "gotcha", "two Count annotations multiply each other (post 34: 2 tags, "
      "6 comments)")
def aggregation_two_counts():
    qs = Post.objects.filter(pk=34)
    wrong = qs.annotate(n_tags=Count("tags"), n_comments=Count("comments"))
    right = qs.annotate(n_tags=Count("tags", distinct=True),
                        n_comments=Count("comments", distinct=True))
    return {"wrong": wrong.values_list("n_tags", "n_comments").get(),
            "distinct=True": right.values_list("n_tags", "n_comments").get()}


@step("aggregation", "also", "Subquery/OuterRef: each count in a correlated subquery — "
      "no GROUP BY in the page query, and two of them do not multiply")
def aggregation_subquery():
    def count_of(model, **link):
        return Coalesce(Subquery(model.objects.filter(**link).order_by().values(*link)
                                 .annotate(n=Count("*")).values("n")), 0)
    return list(Post.objects.filter(pk=34).annotate(
        n_tags=count_of(PostTag, post=OuterRef("pk")),
        n_comments=count_of(Comment, post=OuterRef("pk"))).values_list("n_tags", "n_comments"))


@step("aggregation", "also", "aggregate(): one figure for the whole table")
def aggregation_aggregate():
    return Comment.objects.filter(post__status="published").aggregate(n=Count("*"))


# ================================================================ keyset-pagination

@step("keyset-pagination", "naive", "Paginator: ?page=2")
def keyset_naive():
    paginator = Paginator(published().only(*LIST_COLUMNS), 20)
    page = paginator.page(2)
    return [p.id for p in page], page.has_next()


@step("keyset-pagination", "optimized", "the cursor (published_at, id) of page 1's last post, "
      "with the id tie-break")
def keyset_optimized():
    last = published().only("published_at", "id")[19]  # the cursor page 1 links to
    t, i = last.published_at, last.id
    page = list(published().only(*LIST_COLUMNS)
                .filter(Q(published_at__lt=t) | Q(published_at=t, id__lt=i))[:21])
    return [p.id for p in page[:20]], len(page) > 20


@step("keyset-pagination", "gotcha", "filter(published_at__lt=…) alone: posts 20 and 21 share a "
      "timestamp and page 1 ends with 21 — post 20 is never shown")
def keyset_without_tiebreak():
    last = published().only("published_at", "id")[19]
    page = list(published().only(*LIST_COLUMNS)
                .filter(published_at__lt=last.published_at)[:21])
    return {"page 1 ends with": last.id, "page 2": [p.id for p in page[:20]]}


@step("keyset-pagination", "also", "DRF's CursorPagination, ordering (-published_at, -id): "
      "pages 1 and 2")
def keyset_drf():
    from rest_framework.pagination import CursorPagination
    from rest_framework.request import Request

    class Cursor(CursorPagination):
        page_size, ordering = 20, ("-published_at", "-id")

    pager, rf = Cursor(), RequestFactory()
    page1 = pager.paginate_queryset(published(), Request(rf.get("/")))
    page2 = Cursor().paginate_queryset(published(), Request(rf.get(pager.get_next_link())))
    return [p.id for p in page1][-2:], [p.id for p in page2][:3], pager.get_next_link()


def keyset_plans():
    t, i = published().values_list("published_at", "id")[8899]  # page 445's last post
    page = published().only(*LIST_COLUMNS)
    return {
        "OFFSET (Paginator, page 446)": page[8900:8921],
        "Q(lt) | Q(eq, id lt)": page.filter(Q(published_at__lt=t) | Q(published_at=t, id__lt=i))[:21],
        "published_at__lte + the Q": page.filter(published_at__lte=t)
                                         .filter(Q(published_at__lt=t) | Q(id__lt=i))[:21],
        "DRF's shape: published_at__lt, OFFSET 1": page.filter(published_at__lt=t)[1:22],
        "row value, RawSQL": page.filter(RawSQL('("posts"."published_at", "posts"."id") < (%s, %s)',
                                                (t, i), output_field=BooleanField()))[:21],
    }


@step("keyset-pagination", "catch", "explain() at depth: 20,000 more posts, the page after "
      "page 445, five ways (in a transaction rolled back)", show=(keyset_plans,), capture=False,
      driver=True)
def keyset_explain():
    with transaction.atomic():
        CTX["volume"]()
        analyze = {"analyze": True} if connection.vendor == "postgresql" else {}
        plans = {name: qs.explain(**analyze) for name, qs in keyset_plans().items()}
        transaction.set_rollback(True)
    return plans


# ================================================================ exists

def busiest_tag():
    return Tag.objects.order_by("-published_post_count", "id").first()


@step("exists", "naive", "count() > 0", show=(busiest_tag,))
def exists_count(tag=None):
    tag = tag or CTX["busiest_tag"]
    return Post.objects.filter(status="published", tags=tag).count() > 0


@step("exists", "naive", "if queryset: (or len(queryset)) loads every row to see if there is one")
def exists_truthiness(tag=None):
    tag = tag or CTX["busiest_tag"]
    if Post.objects.filter(status="published", tags=tag):
        return True
    return False


@step("exists", "optimized", ".exists()")
def exists_optimized(tag=None):
    tag = tag or CTX["busiest_tag"]
    return Post.objects.filter(status="published", tags=tag).exists()


@step("exists", "optimized", "the start-up check: is the database empty?")
def exists_startup():
    return User.objects.exists() or Post.objects.exists()


@step("exists", "gotcha", "once the rows are fetched, `if qs:` and even .exists() use them: "
      "no more SQL")
def exists_after_evaluation(tag=None):
    tag = tag or CTX["busiest_tag"]
    posts = Post.objects.filter(status="published", tags=tag)
    rows = list(posts)
    return bool(posts), posts.exists(), len(rows)


# ================================================================ streaming

@step("streaming", "naive", "HttpResponse of the whole file built from the queryset",
      show=("blog.views.export_buffered",))
def streaming_naive():
    response = Client().get("/export/buffered.ndjson")
    returned_with = len(CTX["capture"].captured_queries)
    return {"bytes": len(response.content), "statements when the view returned": returned_with}


@step("streaming", "optimized", "StreamingHttpResponse over iterator(chunk_size=…)",
      show=("blog.views.export_streamed",))
def streaming_optimized():
    response = Client().get("/export/streamed.ndjson")
    returned_with = len(CTX["capture"].captured_queries)  # statements before the body is read
    body = b"".join(response.streaming_content)
    return {"bytes": len(body), "statements when the view returned": returned_with}


@step("streaming", "gotcha", "PostgreSQL: iterator() reads through a server-side cursor "
      "(DECLARE … WITH HOLD, then a FETCH per chunk: only the DECLARE is captured)",
      only="postgresql")
def streaming_server_side_cursor():
    it = Post.objects.order_by("id").iterator(chunk_size=20)
    next(it)
    with connection.cursor() as c:
        c.execute("SELECT name, is_holdable, statement FROM pg_cursors")
        cursors = c.fetchall()
    list(it)
    return cursors


# ================================================================ bulk-updates

@step("bulk-updates", "naive", "load the drafts, save() each, bump its tags' counters")
def bulk_update_naive():
    for post in Post.objects.filter(status="draft"):
        post.status = "published"
        post.published_at = NOW
        post.save()
        Tag.objects.filter(posts=post).update(
            published_post_count=F("published_post_count") + 1)


@step("bulk-updates", "also", "the same loop inside transaction.atomic(): one commit, "
      "the same 1 + 2N statements", show=(bulk_update_naive,))
def bulk_update_naive_atomic():
    with transaction.atomic():
        bulk_update_naive()


@step("bulk-updates", "optimized", "QuerySet.update(), and the tags' counters in one UPDATE")
def bulk_update_optimized():
    with transaction.atomic():
        ids = list(Post.objects.select_for_update().filter(status="draft")
                   .values_list("id", flat=True))
        Post.objects.filter(id__in=ids).update(status="published", published_at=NOW,
                                               updated_at=NOW)
        links = (PostTag.objects.filter(tag=OuterRef("pk"), post_id__in=ids).order_by()
                 .values("tag").annotate(n=Count("*")).values("n"))
        Tag.objects.filter(posts__in=ids).update(
            published_post_count=F("published_post_count") + Subquery(links))
    return len(ids)


@step("bulk-updates", "also", "the one-liner the doc shows")
def bulk_update_one_liner():
    return Post.objects.filter(status="draft").update(status="published")


@contextlib.contextmanager
def post_save_calls():
    """The pks `post_save` fired for while inside; the receiver is gone afterwards, even
    when the step raised."""
    seen = []
    def receiver(sender, instance, **kwargs): seen.append(instance.pk)
    post_save.connect(receiver, sender=Post)
    try:
        yield seen
    finally:
        post_save.disconnect(receiver, sender=Post)


@step("bulk-updates", "gotcha", "update() skips save(), post_save and auto_now "
      "(updated_at = auto_now=True)", show=(post_save_calls,))
def bulk_update_skips_save():
    before = Post.objects.get(pk=43).updated_at
    with post_save_calls() as seen:
        Post.objects.filter(status="draft").update(status="published")
    after = Post.objects.get(pk=43).updated_at
    return {"post_save calls": len(seen), "updated_at changed": before != after}


@step("bulk-updates", "gotcha", "…where the save() loop fires post_save per row and sets "
      "updated_at")
def bulk_update_loop_signals():
    before = Post.objects.get(pk=43).updated_at
    with post_save_calls() as seen:
        for post in Post.objects.filter(status="draft"):
            post.status = "published"
            post.save(update_fields=["status", "updated_at"])
    return {"post_save calls": len(seen),
            "updated_at changed": Post.objects.get(pk=43).updated_at != before}


# ================================================================ bulk-inserts

def import_rows(n=100):
    return [{"title": f"Imported {k}", "slug": f"imported-{k}", "excerpt": "…", "body": "…",
             "author_id": k % 5 + 1, "tag_ids": [k % 10 + 1, (k + 3) % 10 + 1]}
            for k in range(n)]


@step("bulk-inserts", "naive", "create() per row, tags.add() per post, in one transaction",
      )
def bulk_insert_naive(rows=None):
    rows = rows or import_rows()
    with transaction.atomic():
        for row in rows:
            post = Post.objects.create(
                title=row["title"], slug=row["slug"], excerpt=row["excerpt"],
                body=row["body"], author_id=row["author_id"], status="published",
                published_at=NOW)
            post.tags.add(*row["tag_ids"])
            Tag.objects.filter(id__in=row["tag_ids"]).update(
                published_post_count=F("published_post_count") + 1)


@step("bulk-inserts", "optimized", "bulk_create(batch_size=1000) for posts and links, "
      "the counters in one UPDATE")
def bulk_insert_optimized(rows=None):
    rows = rows or import_rows()
    with transaction.atomic():
        posts = Post.objects.bulk_create([
            Post(title=r["title"], slug=r["slug"], excerpt=r["excerpt"], body=r["body"],
                 author_id=r["author_id"], status="published", published_at=NOW)
            for r in rows], batch_size=1000)
        PostTag.objects.bulk_create([PostTag(post=p, tag_id=t) for p, r in zip(posts, rows)
                                     for t in r["tag_ids"]], batch_size=1000)
        added = Counter(t for r in rows for t in r["tag_ids"])
        Tag.objects.filter(id__in=added).update(published_post_count=F("published_post_count")
            + Case(*[When(id=t, then=Value(n)) for t, n in added.items()]))
    return [p.pk for p in posts][:3], "…"


@step("bulk-inserts", "gotcha", "bulk_create() skips save() and post_save; the pks come back "
      "(RETURNING) on both backends")
def bulk_insert_signals():
    with post_save_calls() as seen:
        posts = Post.objects.bulk_create([Post(title=f"t{k}", slug=f"s{k}", excerpt="",
                                               body="", author_id=1, status="draft")
                                          for k in range(3)])
    return {"post_save calls": len(seen), "pks": [p.pk for p in posts]}


# ================================================================ atomic-counters

@step("atomic-counters", "naive", "post.view_count += 1; post.save()")
def counter_naive():
    post = Post.objects.get(slug="post-40")
    post.view_count += 1
    post.save()
    return post.view_count


@step("atomic-counters", "also", "save(update_fields=['view_count']): one column written, "
      "still read-add-write")
def counter_naive_update_fields():
    post = Post.objects.get(slug="post-40")
    post.view_count += 1
    post.save(update_fields=["view_count"])
    return post.view_count


@step("atomic-counters", "optimized", "update(view_count=F('view_count') + 1), then read it")
def counter_optimized():
    Post.objects.filter(slug="post-40").update(view_count=F("view_count") + 1)
    return Post.objects.values_list("view_count", flat=True).get(slug="post-40")


@step("atomic-counters", "also", "F() on the instance: save(update_fields=…) then "
      "refresh_from_db()")
def counter_f_instance():
    post = Post.objects.get(slug="post-40")
    post.view_count = F("view_count") + 1
    post.save(update_fields=["view_count"])
    post.refresh_from_db(fields=["view_count"])
    return post.view_count


def race(count_view, views=20):
    """`views` threads, each its own connection, all reading before any writes back."""
    barrier = threading.Barrier(views)
    Post.objects.filter(pk=50).update(view_count=0)

    def one():
        try:
            barrier.wait()
            count_view(50)
        finally:
            connection.close()
    threads = [threading.Thread(target=one) for _ in range(views)]
    for t in threads: t.start()
    for t in threads: t.join()
    return Post.objects.values_list("view_count", flat=True).get(pk=50)


def naive_view(pk):
    post = Post.objects.get(pk=pk)
    time.sleep(0.001)  # the rest of the request
    post.view_count += 1
    post.save(update_fields=["view_count"])


def atomic_view(pk):
    Post.objects.filter(pk=pk).update(view_count=F("view_count") + 1)


@step("atomic-counters", "gotcha", "20 concurrent views, one thread and connection each",
      show=(naive_view, atomic_view), capture=False, driver=True)
def counter_race():
    return {"read-add-write kept": race(naive_view), "F() kept": race(atomic_view),
            "of": 20}


# ================================================================ write-behind-counter

@step("write-behind-counter", "naive", "the atomic counter: an UPDATE (a write and a commit) "
      "per view — 5 views")
def write_behind_naive():
    for _ in range(5):
        Post.objects.filter(pk=40).update(view_count=F("view_count") + 1)
    return Post.objects.values_list("view_count", flat=True).get(pk=40)


_tally, _tally_lock = Counter(), threading.Lock()


def count_view(pk):  # per request: no SQL
    with _tally_lock:
        _tally[pk] += 1


def shown_count(pk):  # what the page shows: the stored count plus the pending views
    return Post.objects.values_list("view_count", flat=True).get(pk=pk) + _tally[pk]


def flush_views():  # a thread, a management command or a Celery beat task, every second
    global _tally
    with _tally_lock:
        batch, _tally = _tally, Counter()
    if batch:
        Post.objects.filter(pk__in=batch).update(view_count=F("view_count") + Case(
            *[When(pk=pk, then=Value(n)) for pk, n in batch.items()], default=Value(0)))


@step("write-behind-counter", "optimized", "no Django built-in: an in-process tally, "
      "flushed in one UPDATE — 5 views of post 40, 3 of post 39, then one flush",
      show=(count_view, shown_count, flush_views), driver=True)
def write_behind_optimized():
    for pk in [40] * 5 + [39] * 3:
        count_view(pk)
    shown = shown_count(40)
    flush_views()
    return {"shown before the flush": shown,
            "stored after": Post.objects.values_list("view_count", flat=True).get(pk=40)}


def redis_count_view(r, pk):
    r.hincrby("post_views", pk, 1)  # HINCRBY: atomic, shared by every worker


def redis_flush(r):
    if not r.exists("post_views"):
        return
    r.rename("post_views", "post_views:flushing")  # new views go to a fresh hash
    batch = {int(k): int(v) for k, v in r.hgetall("post_views:flushing").items()}
    Post.objects.filter(pk__in=batch).update(view_count=F("view_count") + Case(
        *[When(pk=pk, then=Value(n)) for pk, n in batch.items()], default=Value(0)))
    r.delete("post_views:flushing")


@step("write-behind-counter", "also", "the tally in Redis (redis-py's HINCRBY, shared by "
      "workers): 5 views, one flush", show=(redis_count_view, redis_flush), only="redis",
      driver=True)
def write_behind_redis():
    import os

    import redis

    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    r.delete("post_views", "post_views:flushing")
    for _ in range(5):
        redis_count_view(r, 40)
    redis_flush(r)
    return Post.objects.values_list("view_count", flat=True).get(pk=40)


# ================================================================ offloaded-email

@step("offloaded-email", "naive", "send_mail() in the view, after the comment is saved "
      "(the mail server takes 50 ms)")
def email_naive():
    started = time.perf_counter()
    post = Post.objects.select_related("author").get(slug="post-40")
    comment = Comment.objects.create(post=post, author_id=2, body="Nice post")
    send_mail(f"New comment on {post.title}", comment.body, "blog@example.com",
              [post.author.email])
    return f"answered after {(time.perf_counter() - started) * 1000:.0f} ms"


@step("offloaded-email", "optimized", "perfblog's outbox: the comment and its email row in one "
      "transaction; a worker sends")
def email_outbox():
    started = time.perf_counter()
    post = Post.objects.select_related("author").get(slug="post-40")
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author_id=2, body="Nice post")
        EmailOutbox.objects.create(recipient=post.author.email, body=comment.body,
                                   subject=f"New comment on {post.title}")
    return f"answered after {(time.perf_counter() - started) * 1000:.0f} ms"


@step("offloaded-email", "also", "the outbox's worker: claim due rows, send, mark sent")
def email_outbox_worker():
    EmailOutbox.objects.create(recipient="author1@example.com", subject="s", body="b",
                               next_attempt_at=NOW)
    with transaction.atomic():
        due = list(EmailOutbox.objects.select_for_update(skip_locked=True)
                   .filter(status="pending", next_attempt_at__lte=NOW)
                   .order_by("next_attempt_at")[:10])
        for message in due:
            send_mail(message.subject, message.body, "blog@example.com", [message.recipient])
            message.status, message.sent_at = "sent", NOW
            message.save(update_fields=["status", "sent_at"])
    return len(due)


try:
    from django_tasks import default_task_backend, task
except ImportError:  # pragma: no cover
    task = None


if task:
    @task()
    def notify_author(comment_id):
        comment = Comment.objects.select_related("post__author").get(pk=comment_id)
        send_mail("New comment", comment.body, "blog@example.com",
                  [comment.post.author.email])


@step("offloaded-email", "also", "a task queued on commit (django-tasks, the backport of "
      "Django 6.0's tasks; Celery's .delay() the same way)", show=("notify_author",))
def email_on_commit():
    started = time.perf_counter()
    post = Post.objects.get(slug="post-40")
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author_id=2, body="Nice post")
        transaction.on_commit(lambda: (CTX["mark"]("enqueued"), notify_author.enqueue(comment.pk)))
    return f"answered after {(time.perf_counter() - started) * 1000:.0f} ms"


# ================================================================ denormalized-counters

@step("denormalized-counters", "naive", "the two GROUP BYs on every read "
      "(aggregation's optimized side)")
def denorm_naive():
    return aggregation_optimized()


@step("denormalized-counters", "optimized", "read the counters")
def denorm_read():
    cloud = Tag.objects.order_by("name").values_list("name", "slug", "published_post_count")
    popular = (Post.objects.filter(status="published").order_by("-comment_count", "id")
               .values_list("title", "slug", "comment_count")[:5])
    return list(cloud), list(popular)


@step("denormalized-counters", "optimized", "the write that keeps one: a comment adds 1 "
      "in the same transaction")
def denorm_write():
    with transaction.atomic():
        Comment.objects.create(post_id=34, author_id=1, body="Me too")
        Post.objects.filter(pk=34).update(comment_count=F("comment_count") + 1)
    return Post.objects.values_list("comment_count", flat=True).get(pk=34)


def bump_comment_count(sender, instance, created, **kwargs):
    if created:
        Post.objects.filter(pk=instance.post_id).update(comment_count=F("comment_count") + 1)


@step("denormalized-counters", "gotcha", "kept by a post_save signal instead: bulk_create() "
      "bypasses it and the counter drifts", show=(bump_comment_count,))
def denorm_signal_drift():
    post_save.connect(bump_comment_count, sender=Comment)
    Comment.objects.create(post_id=34, author_id=1, body="one")
    Comment.objects.bulk_create([Comment(post_id=34, author_id=1, body="two"),
                                 Comment(post_id=34, author_id=1, body="three")])
    post_save.disconnect(bump_comment_count, sender=Comment)
    return {"counter": Post.objects.get(pk=34).comment_count,
            "comments": Comment.objects.filter(post_id=34).count()}


@step("denormalized-counters", "also", "perfblog recount in Django: one UPDATE, only the rows "
      "that drifted")
def denorm_recount():
    Post.objects.filter(pk=34).update(comment_count=99)  # a drift to find
    fresh = Coalesce(Subquery(Comment.objects.filter(post=OuterRef("pk")).order_by()
                              .values("post").annotate(n=Count("*")).values("n")), 0)
    drifted = (Post.objects.annotate(fresh=fresh).exclude(comment_count=F("fresh"))
               .update(comment_count=fresh))
    return {"rows drifted": drifted}


# ================================================================ template-caching

# perfblog's own sidebar template: the same file askama compiles reads as Django's
# template language too (and as Jinja2's, below).
TEMPLATES_DIR = str(__import__("pathlib").Path(__file__).resolve().parents[3] / "templates")


def sidebar_data():  # the sidebar as perfblog's template reads it: plain values
    tags = [{"name": t.name, "slug": t.slug, "posts": t.published_post_count}
            for t in Tag.objects.filter(published_post_count__gt=0).order_by("name")]
    popular = [{"title": p.title, "slug": p.slug, "comments": p.comment_count}
               for p in Post.objects.filter(status="published")
                                    .order_by("-comment_count", "id")[:5]]
    return {"root": "./", "sidebar": {"tags": tags, "popular": popular}}


@contextlib.contextmanager
def counting_parses():
    """How many times Django's template language parsed a template's text."""
    from django.template.base import Template
    original, parses = Template.compile_nodelist, []

    def counted(self):
        parses.append(self.name)
        return original(self)
    Template.compile_nodelist = counted
    try:
        yield parses
    finally:
        Template.compile_nodelist = original


def render_three_times(engine):
    data = sidebar_data()
    with counting_parses() as parses:
        html = [engine.get_template("sidebar.html").render(Context(data)) for _ in range(3)]
    return {"renders": len(html), "parses": len(parses), "same bytes": len(set(html)) == 1}


@step("template-caching", "naive", "the filesystem loader alone: three renders of "
      "templates/sidebar.html", show=(render_three_times,), driver=True)
def template_uncached():
    from django.template import Engine
    return render_three_times(Engine(
        dirs=[TEMPLATES_DIR], loaders=["django.template.loaders.filesystem.Loader"]))


@step("template-caching", "optimized", "the cached loader (Django's default when the "
      "loaders are not set): the same three renders")
def template_cached():
    from django.template import Engine
    return render_three_times(Engine(dirs=[TEMPLATES_DIR], loaders=[
        ("django.template.loaders.cached.Loader",
         ["django.template.loaders.filesystem.Loader"])]))


# ================================================================ compiled-templates

@step("compiled-templates", "naive", "Django's template language, cached: parsed once, "
      "its node tree walked on every render")
def template_tree():
    from django.template import Engine
    engine = Engine(dirs=[TEMPLATES_DIR], loaders=[
        ("django.template.loaders.cached.Loader",
         ["django.template.loaders.filesystem.Loader"])])
    template = engine.get_template("sidebar.html")
    nodes = sum(1 for _ in template.nodelist.get_nodes_by_type(object))
    return {"nodes in the parsed tree": nodes,
            "bytes": len(template.render(Context(sidebar_data())))}


@step("compiled-templates", "optimized", "Django's Jinja2 backend: the template compiled to "
      "Python code once, that code run on every render")
def template_jinja2():
    from django.template.backends.jinja2 import Jinja2
    backend = Jinja2({"DIRS": [TEMPLATES_DIR], "APP_DIRS": False, "NAME": "jinja2",
                      "OPTIONS": {}})
    template = backend.get_template("sidebar.html")
    code = backend.env.compile(backend.env.loader.get_source(backend.env, "sidebar.html")[0],
                               raw=True)
    return {"lines of generated Python": code.count("\n"),
            "bytes": len(template.render(sidebar_data()))}


# ================================================================ fragment-caching

SIDEBAR_BODY = """
{% for tag in tags %}{{ tag.name }} ({{ tag.published_post_count }}) {% endfor %}
{% for post in popular %}{{ post.title }} ({{ post.comment_count }}) {% endfor %}
"""
SIDEBAR_UNCACHED = engines["django"].from_string(SIDEBAR_BODY)
SIDEBAR = engines["django"].from_string(
    "{% load cache %}{% cache 300 sidebar %}" + SIDEBAR_BODY + "{% endcache %}")


def sidebar_context():  # lazy querysets: nothing runs until the template reads them
    return {"tags": Tag.objects.order_by("name"),
            "popular": Post.objects.filter(status="published")
                                   .order_by("-comment_count", "id")[:5]}


@step("fragment-caching", "naive", "the sidebar read and rendered on every request: "
      "two requests", show=("SIDEBAR_BODY", sidebar_context))
def fragment_naive():
    return [len(SIDEBAR_UNCACHED.render(sidebar_context())) for _ in range(2)]


def add_comment_to(pk):
    with transaction.atomic():
        Comment.objects.create(post_id=pk, author_id=1, body="new")
        Post.objects.filter(pk=pk).update(comment_count=F("comment_count") + 1)


@step("fragment-caching", "optimized", "{% cache 300 sidebar %}: a miss, a hit, a write "
      "(a comment on post 34), a hit — stale", show=("SIDEBAR",))
def fragment_cache_tag():
    cache.clear()
    first = SIDEBAR.render(sidebar_context())
    hit = SIDEBAR.render(sidebar_context())
    add_comment_to(34)
    after_write = SIDEBAR.render(sidebar_context())
    return {"hit == first": hit == first, "after the write == first (stale)": after_write == first}


SIDEBAR_GEN = engines["django"].from_string(
    "{% load cache %}{% cache 300 sidebar generation %}" + SIDEBAR_BODY + "{% endcache %}")


def render_sidebar():
    generation = cache.get_or_set("sidebar:generation", 1, timeout=None)
    return SIDEBAR_GEN.render({**sidebar_context(), "generation": generation})


def comment_and_bump(pk):  # every write that changes the sidebar bumps the generation
    add_comment_to(pk)
    transaction.on_commit(lambda: cache.incr("sidebar:generation"))


@step("fragment-caching", "optimized", "a generation in the key: a write bumps it, "
      "the next render misses", show=("SIDEBAR_GEN", render_sidebar, comment_and_bump),
      driver=True)
def fragment_generation():
    cache.clear()
    first = render_sidebar()
    hit = render_sidebar()
    comment_and_bump(34)
    after_write = render_sidebar()
    return {"hit == first": hit == first, "after the write == first": after_write == first}


@step("fragment-caching", "also", "cache.get_or_set('sidebar', render, 300) in Python")
def fragment_get_or_set():
    cache.clear()
    render = lambda: engines["django"].from_string(  # noqa: E731
        "{% for t in tags %}{{ t.name }}{% endfor %}{% for p in popular %}{{ p.title }}{% endfor %}"
    ).render(sidebar_context())
    return [len(cache.get_or_set("sidebar", render, 300)) for _ in range(2)]


@step("fragment-caching", "also", "deleting the fragment by key: make_template_fragment_key()")
def fragment_delete_key():
    from django.core.cache.utils import make_template_fragment_key

    cache.clear()
    SIDEBAR.render(sidebar_context())
    add_comment_to(34)
    cache.delete(make_template_fragment_key("sidebar"))
    return "fresh" if "(7)" in SIDEBAR.render(sidebar_context()) else "stale"


ENTRIES = engines["django"].from_string(
    "{% load cache %}{% for post in posts %}"
    "{% cache 300 entry post.pk post.updated_at %}{{ post.title }} {% endcache %}{% endfor %}")


@step("fragment-caching", "also", "per-object keys (the Rails way): {% cache 300 entry post.pk "
      "post.updated_at %} — save() moves updated_at, update() does not", show=("ENTRIES",))
def fragment_per_object():
    cache.clear()
    posts = lambda: Post.objects.filter(pk__in=[39, 40]).order_by("pk")  # noqa: E731
    ENTRIES.render({"posts": posts()})
    post = Post.objects.get(pk=40)
    post.title = "Retitled by save()"
    post.save()  # auto_now: updated_at moves, so the entry's key changes
    Post.objects.filter(pk=39).update(title="Retitled by update()")  # updated_at stays
    html = ENTRIES.render({"posts": posts()})
    return {"save() shows": "by save()" in html, "update() shows": "by update()" in html}


@step("fragment-caching", "gotcha", "a view that evaluates its querysets before rendering "
      "pays the SQL on every hit")
def fragment_evaluated_early():
    cache.clear()
    for _ in range(2):
        context = {"tags": list(Tag.objects.order_by("name")),
                   "popular": list(Post.objects.filter(status="published")
                                   .order_by("-comment_count", "id")[:5])}
        SIDEBAR.render(context)


# ================================================================ per-view-caching

@step("per-view-caching", "naive", "the list view, rendered on every request: two requests",
      show=("blog.views.post_list",))
def page_naive():
    client = Client()
    return [client.get("/", HTTP_ACCEPT_ENCODING="gzip").status_code for _ in range(2)]


@step("per-view-caching", "optimized", "cache_page(300)(post_list): a miss, a hit, a write, "
      "a hit — stale", show=("blog.views.cached_post_list",))
def page_cached():
    cache.clear()
    client, unzip = Client(), lambda r: gzip.decompress(r.content)  # noqa: E731
    first = client.get("/cached/", HTTP_ACCEPT_ENCODING="gzip")
    hit = client.get("/cached/", HTTP_ACCEPT_ENCODING="gzip")
    Post.objects.filter(pk=40).update(title="Retitled")
    after = client.get("/cached/", HTTP_ACCEPT_ENCODING="gzip")
    return {"hit gzipped": hit.get("Content-Encoding"), "page after the write == first page":
            unzip(after) == unzip(first), "Cache-Control": hit.get("Cache-Control")}


@step("per-view-caching", "gotcha", "the post page counts its view inside the view: "
      "cache_page serves three requests, counts one", show=("blog.views.post_detail",))
def page_cached_counter():
    cache.clear()
    client = Client()
    for _ in range(3):
        client.get("/cached/posts/post-40/")
    return Post.objects.values_list("view_count", flat=True).get(slug="post-40") - 400


@step("per-view-caching", "gotcha", "what the cache holds: the response before GZipMiddleware; "
      "every hit is compressed again")
def page_cached_uncompressed():
    from django.utils.cache import get_cache_key

    cache.clear()
    Client().get("/cached/", HTTP_ACCEPT_ENCODING="gzip")
    key = get_cache_key(RequestFactory().get("/cached/"))
    stored = cache.get(key)
    return {"stored Content-Encoding": stored.get("Content-Encoding"),
            "stored bytes": len(stored.content)}


@step("per-view-caching", "also", "invalidating one page: get_cache_key(request) and "
      "cache.delete()")
def page_cache_delete():
    from django.utils.cache import get_cache_key

    cache.clear()
    client = Client()
    client.get("/cached/")
    Post.objects.filter(pk=40).update(title="Retitled")
    cache.delete(get_cache_key(RequestFactory().get("/cached/")))
    return b"Retitled" in client.get("/cached/").content


# ================================================================ indexes

def explain(qs, **options):
    return qs.explain(**options)


def index_queries():
    tag = Tag.objects.get(slug="cache")
    return {
        "list page": published().only(*LIST_COLUMNS)[:21],
        "tag page": published().filter(tags=tag).only(*LIST_COLUMNS)[:21],
        "post page's comments": Comment.objects.filter(post_id=34)
                                       .select_related("author").order_by("-created_at")[:50],
        "title search (icontains)": Post.objects.filter(title__icontains="cache latency")
                                        .only("id", "title"),
        "title search (Lower)": Post.objects.alias(t=Lower("title"))
                                    .filter(t__contains="cache latency").only("id", "title"),
    }


DROPPED = ["idx_posts_status_published_at_id", "idx_post_tags_tag_id_post_id",
           "idx_comments_post_id_created_at", "idx_posts_title_trgm"]


@step("indexes", "naive", "the four indexes dropped (DROP INDEX in a transaction that is "
      "rolled back): explain() again")
def indexes_without():
    connection.close()  # a fresh connection: sqlite3's statement cache kept the old plans
    with transaction.atomic():
        with connection.cursor() as c:
            for name in DROPPED:
                c.execute(f'DROP INDEX IF EXISTS "{name}"')
        plans = {name: explain(qs) for name, qs in index_queries().items()}
        transaction.set_rollback(True)
    return plans


@step("indexes", "optimized", "Meta.indexes as declared: explain() of each page's query "
      "(at 20,000 posts, 100,000 comments)", show=(index_queries,))
def indexes_with():
    return {name: explain(qs) for name, qs in index_queries().items()}


@step("indexes", "gotcha", "can the GIN index on LOWER(title) serve the search at all? "
      "SET enable_seqscan = off, then explain() both forms", only="postgresql")
def indexes_trigram_usable():
    with transaction.atomic():
        with connection.cursor() as c:
            c.execute("SET LOCAL enable_seqscan = off")
        queries = index_queries()
        return {name: explain(queries[name]) for name in
                ("title search (icontains)", "title search (Lower)")}


@step("indexes", "catch", "explain(analyze=True) on PostgreSQL: the rows each step read",
      only="postgresql", capture=False)
def indexes_analyze():
    return explain(index_queries()["post page's comments"], analyze=True)


@step("indexes", "also", "the indexes Django created for posts (syncdb of Meta.indexes and "
      "the fields)", capture=False)
def indexes_created():
    with connection.cursor() as c:
        constraints = connection.introspection.get_constraints(c, "posts")
    return sorted((name, info["columns"], info.get("orders"), info["type"])
                  for name, info in constraints.items() if info["index"])


# ================================================================ connection-pooling

def requests_through(alias, n=100):
    """n requests through Django's WSGI handler: request_started / request_finished
    run close_old_connections, as under gunicorn."""
    from django.core.handlers.wsgi import WSGIHandler

    handler, opened, times = WSGIHandler(), [], []
    from django.db.backends.signals import connection_created
    on_open = lambda sender, connection, **kw: opened.append(connection.alias)  # noqa: E731
    connection_created.connect(on_open)
    backends = set()
    for _ in range(n):
        environ = RequestFactory()._base_environ(PATH_INFO=f"/pool/{alias}/")
        started = time.perf_counter()
        response = handler(environ, lambda status, headers: None)
        backends.add(b"".join(response))
        response.close()  # sends request_finished
        times.append(time.perf_counter() - started)
    connection_created.disconnect(on_open)
    times.sort()
    db = connections[alias].settings_dict
    return {"settings": {k: db[k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS")
                         if db.get(k) or k == "CONN_MAX_AGE"}, "requests": n, "connections opened": opened.count(alias),
            "distinct backends": len(backends) if connection.vendor == "postgresql" else "n/a",
            "median ms": round(times[n // 2] * 1000, 2)}


@step("connection-pooling", "naive", "CONN_MAX_AGE = 0 (Django's default): a connection per "
      "request", show=("blog.views.pooled_page",), capture=False, driver=True)
def pooling_naive():
    return requests_through("default")


@step("connection-pooling", "optimized", "CONN_MAX_AGE = 600, CONN_HEALTH_CHECKS = True: "
      "persistent connections", capture=False, driver=True)
def pooling_persistent():
    return requests_through("persistent")


@step("connection-pooling", "optimized", "OPTIONS = {'pool': {…}} (Django 5.1+, psycopg_pool; "
      "PostgreSQL only)", only="postgresql", capture=False, driver=True)
def pooling_pool():
    return requests_through("pooled")


# ================================================================ concurrent-reads

LATENCY = 0.05  # a simulated 50 ms round trip per statement


class Timeline:
    def __init__(self):
        self.t0, self.rows, self.lock = time.perf_counter(), [], threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        time.sleep(LATENCY)
        try:
            return execute(sql, params, many, context)
        finally:
            with self.lock:
                self.rows.append((threading.current_thread().name,
                                  round((start - self.t0) * 1000),
                                  round((time.perf_counter() - self.t0) * 1000), sql[:48]))


def with_timeline(fn):
    """Runs fn with every statement on every connection delayed and timed."""
    from django.db.backends.signals import connection_created

    timeline = Timeline()
    hook = lambda sender, connection, **kw: connection.execute_wrappers.append(timeline)  # noqa
    connection_created.connect(hook)
    connection.execute_wrappers.append(timeline)
    started = time.perf_counter()
    try:
        fn()
    finally:
        connection.execute_wrappers.remove(timeline)
        connection_created.disconnect(hook)
    return {"total ms": round((time.perf_counter() - started) * 1000),
            "statements (thread, start, end)": [r[:3] for r in timeline.rows]}


def post_page_sync(slug="post-34"):
    post = Post.objects.select_related("author").get(slug=slug)
    tags = list(post.tags.order_by("name"))
    comments = list(post.comments.select_related("author").order_by("-created_at")[:50])
    return post, tags, comments


@step("concurrent-reads", "naive", "a sync view: three reads, one after another",
      show=(post_page_sync,))
def concurrent_naive():
    return with_timeline(post_page_sync)


async def alist(qs):
    return [row async for row in qs]


async def post_page_gather(slug="post-34"):
    post = await Post.objects.select_related("author").aget(slug=slug)
    tags, comments = await asyncio.gather(
        alist(post.tags.order_by("name")),
        alist(post.comments.select_related("author").order_by("-created_at")[:50]))
    return post, tags, comments


@step("concurrent-reads", "also", "async view: asyncio.gather() over the async ORM — "
      "still one thread, one query at a time", show=(alist, post_page_gather))
def concurrent_gather():
    return with_timeline(async_to_sync(post_page_gather))


async def post_page_threads(slug="post-34"):
    post = await Post.objects.select_related("author").aget(slug=slug)
    in_thread = sync_to_async(list, thread_sensitive=False)
    tags, comments = await asyncio.gather(
        in_thread(post.tags.order_by("name")),
        in_thread(post.comments.select_related("author").order_by("-created_at")[:50]))
    return post, tags, comments


@step("concurrent-reads", "optimized", "sync_to_async(…, thread_sensitive=False): the two reads "
      "overlap, each on a connection of its own", show=(post_page_threads,))
def concurrent_threads():
    before, captured = open_connections(), len(CTX["capture"].captured_queries)
    result = with_timeline(async_to_sync(post_page_threads))
    result["captured on this thread's connection"] = (
        len(CTX["capture"].captured_queries) - captured)
    result["connections to the database before, after"] = (before, open_connections())
    return result


def open_connections():
    if connection.vendor != "postgresql":
        return "n/a"
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return c.fetchone()[0]


# ================================================================ middleware-cost

def crawler_pattern():
    """perfblog's crawler pattern, read from its one definition in the Rust source."""
    import pathlib
    import re as _re
    source = (pathlib.Path(__file__).resolve().parents[3]
              / "src/services/http/crawlers.rs").read_text()
    text = _re.search(r'pub const CRAWLERS: &str = "(.*?)";', source, _re.S).group(1)
    text = _re.sub(r"\\\n\s*", "", text)  # Rust's line continuations
    return text.replace("\\\\", "\\").removeprefix("(?i)")


CRAWLERS = crawler_pattern()
CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


class CompilingCrawlerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        agent = request.META.get("HTTP_USER_AGENT", "")
        request.is_crawler = re.compile(CRAWLERS, re.I).search(agent) is not None
        return self.get_response(request)


CRAWLER = re.compile(CRAWLERS, re.I)


class CrawlerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        agent = request.META.get("HTTP_USER_AGENT", "")
        request.is_crawler = CRAWLER.search(agent) is not None
        return self.get_response(request)


@contextlib.contextmanager
def counting_compiles():
    """The patterns `re` compiled (its cache answered the rest)."""
    from re import _compiler
    original, compiles = _compiler.compile, []

    def counted(pattern, flags=0):
        compiles.append(pattern)
        return original(pattern, flags)
    _compiler.compile = counted
    try:
        yield compiles
    finally:
        _compiler.compile = original


def three_requests(middleware_class):
    from django.http import HttpResponse
    middleware = middleware_class(lambda request: HttpResponse("page"))
    agents = (CHROME, "Mozilla/5.0 (compatible; Googlebot/2.1)", CHROME)
    requests = [RequestFactory().get("/", HTTP_USER_AGENT=agent) for agent in agents]
    re.purge()  # as a fresh process starts
    with counting_compiles() as compiles:
        for request in requests:
            middleware(request)
    return {"requests": len(requests),
            "crawlers": sum(request.is_crawler for request in requests),
            "crawler pattern compiled": compiles.count(CRAWLERS)}


@step("middleware-cost", "naive", "re.compile in the middleware's __call__: three requests",
      show=(CompilingCrawlerMiddleware, three_requests), capture=False, driver=True)
def middleware_compiling():
    return three_requests(CompilingCrawlerMiddleware)


@step("middleware-cost", "optimized", "the pattern compiled at import: the same three requests",
      show=(CrawlerMiddleware,), capture=False)
def middleware_compiled():
    return three_requests(CrawlerMiddleware)


# ================================================================ static-files

STATIC_DIR = str(__import__("pathlib").Path(__file__).resolve().parents[3] / "static")


def collect(storage_class):
    """What `collectstatic` does with perfblog's static/ into a fresh STATIC_ROOT: save
    each file, then let the storage post-process them (the manifest storage renames)."""
    import tempfile
    from django.core.files.storage import FileSystemStorage
    source, root = FileSystemStorage(location=STATIC_DIR), tempfile.mkdtemp()
    storage = storage_class(location=root, base_url="/static/")
    found = {}
    for name in ("style.css", "favicon.ico"):
        with source.open(name) as f:
            storage.save(name, f)
        found[name] = (source, name)
    if hasattr(storage, "post_process"):
        list(storage.post_process(found))
    return root, storage


def whitenoise_headers(storage_class):
    """`{% static %}`'s links (the storage's `url()`, as the tag asks it with
    django.contrib.staticfiles installed), and what WhiteNoise's middleware answers."""
    from django.http import HttpResponse
    from django.test import override_settings
    from whitenoise.middleware import WhiteNoiseMiddleware
    root, storage = collect(storage_class)
    backend = f"{storage_class.__module__}.{storage_class.__qualname__}"
    with override_settings(STATIC_ROOT=root, STATIC_URL="/static/", STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": backend}}):
        from django.contrib.staticfiles.storage import staticfiles_storage
        staticfiles_storage._setup()
        middleware = WhiteNoiseMiddleware(lambda request: HttpResponse("page"))
        answers = {}
        for name in ("style.css", "favicon.ico"):
            url = staticfiles_storage.url(name)
            response = middleware(RequestFactory().get(url))
            answers[url] = response.headers.get("Cache-Control")
        return answers


@step("static-files", "naive", "the default storage: {% static %} links the plain name, "
      "WhiteNoise serves it", show=(collect, whitenoise_headers), capture=False, driver=True)
def static_plain():
    from django.contrib.staticfiles.storage import StaticFilesStorage
    return whitenoise_headers(StaticFilesStorage)


@step("static-files", "optimized", "ManifestStaticFilesStorage: {% static %} links the "
      "hashed name, WhiteNoise serves it", capture=False)
def static_manifest():
    from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
    return whitenoise_headers(ManifestStaticFilesStorage)


# Filled by check.py before each step.
CTX = {}
