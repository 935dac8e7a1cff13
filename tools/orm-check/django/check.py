"""Runs every pattern side against a real database and prints the SQL Django sent.

    python check.py                      # SQLite (/tmp/perfblog-orm-check.sqlite)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orm_check python check.py
    python check.py --only eager-loading,exists --json out.json

For each pattern and side: the code that ran (its source), what it returned, and every
statement from CaptureQueriesContext(connection) with their count. The database is
re-seeded before every step, so every step starts from the same rows.
"""
import argparse
import contextlib
import importlib
import inspect
import json
import os
import re
import sys
import textwrap
import time
import traceback

import conf

conf.setup()

import django  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import patterns  # noqa: E402
import seed  # noqa: E402

ORDER = ["eager-loading", "projection", "aggregation", "keyset-pagination", "exists",
         "streaming", "bulk-updates", "bulk-inserts", "atomic-counters",
         "write-behind-counter", "offloaded-email", "denormalized-counters",
         "template-caching", "compiled-templates", "fragment-caching", "per-view-caching", "indexes", "connection-pooling",
         "concurrent-reads", "middleware-cost", "static-files"]


def source_of(obj):
    if isinstance(obj, str):  # a module-level name, or a dotted path
        module, _, name = obj.rpartition(".")
        value = getattr(importlib.import_module(module) if module else patterns, name)
        if hasattr(value, "func"):  # a django-tasks Task
            return textwrap.dedent(inspect.getsource(value.func))
        if hasattr(value, "template"):  # a compiled template
            return f'{name} = """{value.template.source}"""'
        if isinstance(value, str):
            return f'{name} = """{value}"""'
        obj = value
    lines = textwrap.dedent(inspect.getsource(obj)).splitlines()
    while lines and not lines[0].startswith(("def ", "async def ", "class ")):
        lines.pop(0)  # the @step(…) decorator: registration, not the code
    return "\n".join(lines)


def volume():
    """For the indexes pattern: enough rows that PostgreSQL's planner prefers an index."""
    from datetime import timedelta

    from blog.models import Comment, Post, PostTag

    words = seed.WORDS
    posts = [Post(id=100 + k, author_id=k % 5 + 1, slug=f"v-{k}", excerpt="", body="x" * 200,
                  title=("Cache latency " if k % 250 == 0 else "") +
                        f"{words[k % 20]} {words[(k * 7) % 20]} {k}",
                  status="published" if k % 10 else "draft",
                  published_at=seed.BASE - timedelta(minutes=k), created_at=seed.BASE)
             for k in range(20000)]
    Post.objects.bulk_create(posts, batch_size=2000)
    PostTag.objects.bulk_create([PostTag(post_id=100 + k, tag_id=t) for k in range(20000)
                                 for t in {k % 10 + 1, k % 3 + 1}], batch_size=5000)
    Comment.objects.bulk_create([Comment(post_id=100 + (k * 37) % 20000, author_id=k % 5 + 1,
                                         body="c", created_at=seed.BASE)
                                 for k in range(100000)], batch_size=5000)
    with connection.cursor() as c:
        c.execute("ANALYZE")


def skip(step):
    if step.only == "redis":
        return not os.environ.get("REDIS_URL")
    return step.only is not None and step.only != connection.vendor


def run_step(step, out):
    marks = []
    record = {"side": step.side, "title": step.title, "code": source_of(step.fn),
              "show": [source_of(s) for s in step.show], "capture": step.capture,
              "driver": step.fn.__name__ if step.driver else None}
    with CaptureQueriesContext(connection) as ctx:
        patterns.CTX.update(capture=ctx, mark=lambda what: marks.append(
            (len(ctx.captured_queries), what)))
        started = time.perf_counter()
        try:
            result = step.fn()
        except Exception as error:  # a step that fails is a finding: print it, go on
            result = f"RAISED {type(error).__name__}: {error}"
            traceback.print_exc()
        record["ms"] = round((time.perf_counter() - started) * 1000, 1)
    record["result"] = result if isinstance(result, (str, int, float, bool, type(None))) \
        else repr(result)
    record["queries"] = [q["sql"] for q in ctx.captured_queries]
    record["marks"] = marks
    out.append(record)
    return record


def print_step(slug, record, full):
    print(f"\n--- {slug} · {record['side']}: {record['title']}")
    print(textwrap.indent(record["code"], "    "))
    for extra in record["show"]:
        print(textwrap.indent(extra, "    "))
    result = re.sub(r"\s+", " ", str(record["result"])).strip()
    print(f"  => {result[:800]}{' …' if len(result) > 800 else ''}")
    queries = record["queries"]
    if not record["capture"]:  # threads or requests: the step reports on its own
        print(f"  ({record['ms']} ms; its statements are listed in its code, not captured here)")
        return
    print(f"  {len(queries)} statements ({record['ms']} ms):")
    marks = dict(record["marks"])
    shown = queries if full or len(queries) <= 40 else queries[:30]
    for n, sql in enumerate(shown):
        if n in marks:
            print(f"    -- {marks[n]}")
        print(f"    {n + 1:>3}. {sql[:2000]}")
    if len(marks) and max(marks) >= len(queries):
        print(f"    -- {marks[max(marks)]}")
    if len(shown) < len(queries):
        print(f"    … {len(queries) - len(shown)} more (--full prints them)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated pattern slugs")
    parser.add_argument("--json", help="write every step's record to this file")
    parser.add_argument("--full", action="store_true", help="print every statement")
    args = parser.parse_args()
    slugs = args.only.split(",") if args.only else ORDER

    seed.create_schema()
    with connection.cursor() as c:
        c.execute("SELECT version()" if connection.vendor == "postgresql"
                  else "SELECT sqlite_version()")
        db_version = c.fetchone()[0]
    print(f"Django {django.get_version()} on {connection.vendor} ({db_version})")
    report = {"django": django.get_version(), "vendor": connection.vendor,
              "db_version": db_version, "patterns": {}}
    for slug in slugs:
        steps = patterns.REGISTRY[slug]
        print(f"\n{'=' * 88}\n{slug}\n{'=' * 88}")
        records = report["patterns"].setdefault(slug, [])
        if slug == "indexes":
            seed.seed()
            volume()
        for step in steps:
            if skip(step):
                print(f"\n--- {slug} · {step.side}: {step.title}\n  (skipped on this run)")
                continue
            if slug != "indexes":
                seed.seed()
            cache.clear()
            patterns.CTX["busiest_tag"] = patterns.busiest_tag()
            patterns.CTX["volume"] = volume
            print_step(slug, run_step(step, records), args.full)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
