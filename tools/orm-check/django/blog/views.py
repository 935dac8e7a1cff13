"""Views for the steps that need a request: per-view caching, streaming, pooling."""
import json

from django.db import connections
from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.template import engines
from django.views.decorators.cache import cache_page

from blog.models import Post

LIST_PAGE = engines["django"].from_string(
    "{% for post in posts %}<h2>{{ post.title }}</h2><p>{{ post.excerpt }}</p>"
    "<small>{{ post.author.name }} · {{ post.comment_count }} comments</small>{% endfor %}"
)
POST_PAGE = engines["django"].from_string(
    "<h1>{{ post.title }}</h1>{{ post.body }}<p>{{ post.view_count }} views</p>"
)


def post_list(request):
    posts = (Post.objects.filter(status="published").order_by("-published_at", "-id")
             .select_related("author")[:20])
    return HttpResponse(LIST_PAGE.render({"posts": posts}))


def post_detail(request, slug):
    Post.objects.filter(slug=slug).update(view_count=F("view_count") + 1)
    post = Post.objects.get(slug=slug)
    return HttpResponse(POST_PAGE.render({"post": post}))


cached_post_list = cache_page(300)(post_list)
cached_post_detail = cache_page(300)(post_detail)


# -- streaming ---------------------------------------------------------------------

def export_line(post):
    return json.dumps({
        "title": post.title, "slug": post.slug, "body": post.body, "status": post.status,
        "published_at": post.published_at.isoformat() if post.published_at else None,
        "author": post.author.email, "tags": [t.slug for t in post.tags.all()],
    }) + "\n"


def export_buffered(request):
    posts = Post.objects.select_related("author").prefetch_related("tags").order_by("id")
    body = "".join(export_line(post) for post in posts)
    return HttpResponse(body, content_type="application/x-ndjson")


def export_streamed(request):
    posts = (Post.objects.select_related("author").prefetch_related("tags")
             .order_by("id").iterator(chunk_size=20))
    return StreamingHttpResponse((export_line(post) for post in posts),
                                 content_type="application/x-ndjson")


# -- connection pooling --------------------------------------------------------------

def pooled_page(request, alias):
    """The post page's three reads, on the connection alias named in the URL."""
    db = connections[alias]
    who = "sqlite"
    if db.vendor == "postgresql":  # which backend process served this request
        with db.cursor() as c:
            c.execute("SELECT pg_backend_pid()")
            who = c.fetchone()[0]
    post = Post.objects.using(alias).select_related("author").get(slug="post-40")
    list(post.tags.using(alias).all())
    list(post.comments.using(alias).select_related("author").order_by("-created_at")[:50])
    return HttpResponse(str(who))
