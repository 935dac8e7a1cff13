"""Per-pattern prose for render.py: what the run showed, the gotchas, how to catch it, and
how it compares with the `## In Django and Rails` section of docs/patterns/<slug>.md.
Every figure here is from the captures in raw/ (check.py, run_tests.py, catch.py)."""

CATCH_COMMON = """- **`assertNumQueries`** in a test pins the count: `run_tests.py` has
  `test_optimized_list_runs_two_queries` (passes) and `test_naive_list_runs_two_queries`
  (fails on purpose, on both backends: `AssertionError: 61 != 2 : 61 queries executed, 2
  expected`, followed by the 61 statements).
- **django-zeal** (`zeal` in `INSTALLED_APPS`, `zeal_context()` in tests or its middleware):
  raised `NPlusOneError: N+1 detected on blog.Post.author at …patterns.py:72 in eager_naive`
  at the second author lookup. **nplusone** 1.0.0 (2018, still works on Django 5.2):
  `NPlusOneError: Potential n+1 query detected on \\`Post.author\\``; nothing on the
  optimized list. Both stop at the first relation they catch (the author), so fixing it
  and running again shows the next (the tags).
- **django-debug-toolbar** 8.0's SQL panel (read from its store by `catch.py`): the naive
  list as a view showed 61 queries, 60 of them in "similar" groups of 20.
- **`connection.queries`** with `DEBUG = True` (or `CaptureQueriesContext`): 61 entries;
  grouping them by text before `WHERE` gives 20 × users, 20 × tags, 20 × `COUNT(*)`.
"""

NOTES = {
    "eager-loading": {
        "title": "Eager loading",
        "summary": """
The doc's naive side is exactly what ran: a template loop over 20 posts touching
`post.author.name`, `post.tags.all` and `post.comments.count` sent **1 + 3 × 20 = 61**
statements on both databases. `select_related('author')` + `prefetch_related('tags')` +
`annotate(n_comments=Count('comments'))` sent **2**: the page query (author JOINed, comments
LEFT JOINed and grouped) and one `IN (…)` for the tags. The post page's 6 comments with
their authors: 1 + 1 + 6 = 8 statements, 2 with `select_related('author')`.
""",
        "postgres": """
- The same statement counts. The annotated page query groups differently: SQLite lists
  every selected column in `GROUP BY` (all twelve `posts` columns, `body` included, and
  the four `users` columns); PostgreSQL groups by `"posts"."id", "users"."id"` only
  (Django knows it may group by primary keys there).
- Django 5.2 writes a prefetch of a **foreign key** (`Prefetch("author", …)` or
  `prefetch_related("author")`) as `WHERE ("users"."id") IN ((1), (5), …)` on
  PostgreSQL and as `WHERE ("users"."id" = 1 OR "users"."id" = 5 OR …)` on SQLite (an
  OR per distinct id); the many-to-many prefetch of tags stays a plain `IN (…)` on both.
""",
        "gotchas": """
- `annotate(Count('comments'))` is not a separate query: it turns the page query into a
  `LEFT OUTER JOIN comments … GROUP BY`, which on SQLite groups by every column the page
  selects (the body too). perfblog keeps its page query as is and counts in a query of
  its own (`… WHERE post_id IN (…) GROUP BY post_id`); the Django form of that ran as the
  "perfblog's shape" step above: 4 statements.
- Two `Count` annotations on one queryset multiply each other — see
  [aggregation](aggregation.md): post 34 came back with 12 tags and 12 comments for 2 and 6.
- `prefetch_related('comments')` makes `{{ post.comments.count }}` free of queries (3
  statements) by loading every comment of the page: fine for 20 posts with a handful each,
  not for a busy post.
- An N+1 inside a template is invisible in the view's code: the naive view is two lines.
""",
        "catch": CATCH_COMMON,
        "docs": """
Matches. "a template's loop … three queries per post" — 61 for 20 posts, as ran. "The
N+1 fix is `select_related('author')` (one JOIN …) and `prefetch_related('tags')` (one
`IN (…)` query per relation …), with the comment counts by `annotate(Count('comments'))`"
— 2 statements as ran; what the doc does not say is that the `annotate` moves a JOIN and
a `GROUP BY` into the page query (above).
""",
    },
    "projection": {
        "title": "Column projection",
        "summary": """
One statement on each side, on both databases; what changes is the column list. The whole
rows carried 120,000 characters of `body` for 40 posts (`LIMIT 101`, 40 published). `only()`
selected the seven columns perfblog's list selects (plus nothing: `id` was asked for),
`values()` the same seven as dicts, `defer('body')` eleven. Touching `body` on the
`only()` instances cost **one more query per post: 21 statements for 20**.
""",
        "gotchas": """
- A deferred field is loaded on first touch, one `SELECT "posts"."id", "posts"."body" …
  WHERE "posts"."id" = … LIMIT 21` per instance: the N+1 of projection (21 statements for
  20 posts, as ran). A template that starts showing `post.body` after someone added
  `only()` does this silently.
- `only()` always selects the primary key, and `only('author_id')`/`only('author')` keep
  the foreign key column; `select_related('author')` with `only()` must name the
  author's fields too (`only('title', 'author__name')`): `only('title')` with
  `select_related('author')` raised `FieldError: Field Post.author cannot be both
  deferred and traversed using select_related at the same time.` (the last step above).
- `values()` returns dicts: no model methods, no `get_absolute_url()`; on both its
  `ORDER BY` is written by position (`ORDER BY 5 DESC, 1 DESC`).
""",
        "catch": """
- `assertNumQueries` around a page that touches a deferred field fails the same way as an
  N+1 (21 statements, above).
- django-zeal also flags deferred-field loads: it raised `N+1 detected on blog.Post.body`
  on the gotcha's loop (the catch step above).
- The column list itself shows in `connection.queries` / the debug toolbar's SQL panel:
  look for `"posts"."body"` in a list page's query.
""",
        "docs": """
Matches. "`only(…)` (or `defer('body')`) selects the named ones and still gives model
instances, and `values()` / `values_list()` give dicts or tuples of exactly those
columns. Touching a deferred field later costs a query per object — an N+1 of its own."
— all as ran (21 statements for 20 posts).
""",
    },
    "aggregation": {
        "title": "Aggregation in the database",
        "summary": """
The doc's naive Django (`len([p for p in tag.posts.all() if p.status == 'published'])`
per tag, `len(p.comments.all())` per post) ran as **52 statements**: 1 + 10 tags + 1 + 40
posts — an N+1 on top of counting in Python, each tag query loading whole posts, bodies
included. perfblog's own naive side loads everything once and counts in Rust; its Django
twin (`prefetch_related('tags', 'comments')`, then `len()`) is **3 statements**. The
optimized side is **2** `GROUP BY` queries and returned the same cloud and top five.
""",
        "postgres": """
- The same statements, except `GROUP BY`: SQLite lists every selected column (for the
  five most-discussed posts, all twelve `posts` columns, `body` included); PostgreSQL
  groups by `"tags"."id"` / `"posts"."id"` only. With `values(…)` first, SQLite groups
  `BY 1, 2, 3` and PostgreSQL `BY 1` — no body either way.
- `Count('posts', filter=Q(…))` is `COUNT(…) FILTER (WHERE …)` on both (SQLite ≥ 3.30).
""",
        "gotchas": """
- **Two `Count`s multiply.** `annotate(n_tags=Count('tags'), n_comments=Count('comments'))`
  joins both relations in one query: post 34 (2 tags, 6 comments) came back as **(12,
  12)**. `Count(…, distinct=True)` gave (2, 6) — by deduplicating 12 joined rows, which
  costs on big posts; two correlated `Subquery(…)` counts (the `Subquery/OuterRef` step)
  also gave (2, 6) without the join.
- `annotate(Count(…))` on a model queryset selects and groups every column: on SQLite the
  top-five query groups by `body`. `values('id', 'title', 'slug').annotate(…)` (or
  `only()`) keeps the grouping to what the sidebar shows.
- The doc's tag form is a `LEFT OUTER JOIN`: tags with no published post come back with 0
  (perfblog's inner join leaves them out); its top-five form
  `Post.objects.annotate(n=Count('comments')).order_by('-n')[:5]` has no
  `filter(status='published')` and no tie-break, so drafts and archived posts compete and
  ties come back in any order — the code that ran adds both.
""",
        "catch": """
- `assertNumQueries(2)` on the sidebar; the naive version here sends 52.
- django-zeal / nplusone flag the per-tag `tag.posts.all()` and per-post
  `p.comments.all()` loops as N+1s; neither notices the prefetch-everything version (3
  statements, every row loaded) — that one shows as time and memory, so time it, or look
  at the rows each statement returns in the debug toolbar.
- For the multiplied counts, no tool warns: test the numbers against a post whose counts
  you know (as the gotcha step does), or read the query for two `LEFT OUTER JOIN`s under
  one `GROUP BY`.
""",
        "docs": """
The optimized forms run as written and send a `GROUP BY` each ("a `GROUP BY` in the
database instead of `len()` in Python" — yes). The naive form the doc gives is not the
shape of perfblog's naive side: "for each tag, `len([p for p in tag.posts.all() if p.status
== 'published'])`, and the comments of every post counted the same way" ran as 52
statements (an N+1), where perfblog's naive side "load[s] every published post, link and
comment; count[s] in Rust" — in Django, `prefetch_related` and `len()`, 3 statements. The
doc's `Post.objects.annotate(n=Count('comments')).order_by('-n')[:5]` lacks the
`status='published'` filter and the id tie-break the sidebar has.
""",
    },
    "keyset-pagination": {
        "title": "Keyset pagination",
        "summary": """
`Paginator(qs, 20).page(2)` sent **2** statements: a `SELECT COUNT(*)` and the page with
`LIMIT 20 OFFSET 20`. The cursor by hand — `filter(Q(published_at__lt=t) |
Q(published_at=t, id__lt=i))[:21]` — sent the page without `OFFSET` and returned the same
20 posts (the runner also reads the cursor's post, a stand-in for decoding `?after=`).
`filter(published_at__lt=t)` alone **lost post 20**, which shares its timestamp with post
21, the last of page 1. At depth, the doc's Q form is not a seek: see the `explain()` step.
""",
        "postgres": """
- The SQL text is the same. The plans at depth (20,000 more posts, the page after page
  445) are not: PostgreSQL's `EXPLAIN ANALYZE` of the doc's Q form shows `Index Cond:
  (status = 'published')` and `Filter: (published_at < … OR (id < … AND published_at =
  …))` with **Rows Removed by Filter: 8900** — it walks the index from the newest post, as
  `OFFSET` does (its `Execution Time` is in the plans above, of the order of
  `OFFSET`'s). Adding `published_at__lte=t` puts `published_at <= …` into the `Index
  Cond` (rows removed: 1); a row value `("posts"."published_at", "posts"."id") < (…, …)`
  through `RawSQL` is an `Index Cond` of its own (none removed). SQLite's `EXPLAIN QUERY PLAN` says the same: the Q form `SEARCH
  posts USING INDEX … (status=?)`, the other two `(status=? AND published_at<?)`.
- DRF's `CursorPagination` with `ordering = ('-published_at', '-id')` keys its cursor on
  the first field only: page 2 was `WHERE "posts"."published_at" < '2026-11-02 07:00:00'
  … LIMIT 21 OFFSET 1` on both — the timestamp of post 22, then an `OFFSET` over the
  posts sharing it — and it showed posts 20, 19, 18: right, and a seek on the index.
""",
        "gotchas": """
- **`filter(published_at__lt=t)` without the id tie-break skips posts.** Posts 20 and 21
  share `2026-11-02 06:00`; page 1 ends with 21; page 2 by `published_at__lt` starts at
  19. The cursor must carry `(published_at, id)` and the filter must compare both.
- **The correct Q form still walks.** `Q(published_at__lt=t) | Q(published_at=t,
  id__lt=i)` is an `OR` the planners cannot seek on (above); add the redundant
  `published_at__lte=t` (`filter(published_at__lte=t).filter(Q(published_at__lt=t) |
  Q(id__lt=i))`) or write the row value. Django 5.2 has no public row-value lookup (its
  tuple lookups are internal, for composite primary keys).
- **`Paginator` counts.** Every page view sends `SELECT COUNT(*) FROM posts WHERE
  status = 'published'` before the page — a cost perfblog's list does not pay. A
  `ListView` with `paginate_by` does the same.
- DRF's cursor is opaque and position-based; it handles ties with an `OFFSET` inside the
  tie, which grows only with the number of posts sharing one timestamp.
""",
        "catch": """
- `QuerySet.explain()` (`analyze=True` on PostgreSQL) on the page at depth: look for
  `Rows Removed by Filter` in the thousands, or an `Index Cond` without the cursor's
  column; on SQLite, `SEARCH … (status=?)` without `published_at<?`. The plans are in
  the step above.
- A test that walks every page by cursor and compares the ids with one `order_by()` over
  everything catches the skipped tie (two posts with one timestamp in the fixture).
- The debug toolbar lists `Paginator`'s `COUNT(*)` beside the page query.
""",
        "docs": """
Contradicted in part. The doc says: "Cursor pagination — Django REST framework's
`CursorPagination`, or by hand
`filter(Q(published_at__lt=t) | Q(published_at=t, id__lt=i)).order_by('-published_at', '-id')[:20]`
— replaces `Paginator` and its `OFFSET`." The hand-written form drops the `OFFSET` keyword
and returns the right posts, but on both databases it does **not** seek to the cursor:
PostgreSQL removed 8,900 rows by filter at depth 445, like `OFFSET` (see above); it needs
`published_at__lte=t` beside it, or a row value. The front matter's
`django: "DRF's CursorPagination, or filter(published_at__lt=…)"` names the form that
skips posts sharing a timestamp (demonstrated: post 20 lost). "Django's `Paginator` …
becomes `LIMIT 20 OFFSET (N - 1) × 20`" — yes, after a `COUNT(*)` the doc does not
mention. (The front matter also has no `rails:` line, unlike the other sixteen.)
""",
    },
    "exists": {
        "title": "Exists vs count",
        "summary": """
One statement each, on both databases. `count() > 0` sent `SELECT COUNT(*) AS "__count"
FROM posts INNER JOIN post_tags …`; `if queryset:` sent the whole `SELECT` of every
column, every matching row, no limit; `.exists()` sent `SELECT 1 AS "a" FROM … LIMIT 1`.
The start-up check `User.objects.exists() or Post.objects.exists()` stopped after one
`SELECT 1 AS "a" FROM "users" LIMIT 1`.
""",
        "gotchas": """
- `if queryset:` and `len(queryset)` fetch and build every row to answer yes or no.
- Once a queryset has been evaluated, both `if qs:` and `qs.exists()` answer from the
  rows already fetched: the gotcha step sent **one** statement for `list(qs)`, `bool(qs)`
  and `qs.exists()` together. So `exists()` after the loop costs nothing; `exists()`
  *before* a loop over the same queryset costs one more query than `if qs:` would.
- `.exists()` is `LIMIT 1` with `SELECT 1`: on PostgreSQL it lets the planner choose a
  plan that finds one row soonest, which perfblog's doc describes; the SQL here confirms
  the `LIMIT 1` (perfblog notes SeaORM 2.0's `exists()` lacks it — Django's has it).
""",
        "catch": """
- In the SQL log (debug toolbar, `connection.queries`), a `SELECT COUNT(*)` whose result
  is only compared with 0, or a full `SELECT` whose rows are never used.
- `assertNumQueries` does not tell `COUNT(*)` from `SELECT 1 … LIMIT 1` (one statement
  each); assert on the text: `self.assertIn('LIMIT 1', ctx.captured_queries[0]['sql'])`
  inside `CaptureQueriesContext`.
""",
        "docs": """
Matches. "`count()` sends a `COUNT(*)`, and `if queryset:` loads every row to see whether
there is one, where `exists()` sends `SELECT 1 … LIMIT 1`. (Once the rows are needed
anyway, `if queryset:` is right: it fetches them once.)" — all as ran; `exists()` on the
fetched queryset sends nothing either.
""",
    },
    "streaming": {
        "title": "Streaming a large result",
        "summary": """
Both exports wrote the same 159,533 bytes for 50 posts. The buffered view sent **2**
statements (posts with authors JOINed; every post's tags in one `IN (…)`), all before it
returned. The streamed view (`StreamingHttpResponse` over
`iterator(chunk_size=20)` — 20 here so that 50 posts make three chunks; perfblog uses
100) had sent **0** statements when it returned; reading the body sent **4**: the posts'
`SELECT` once, and one tags `IN (…)` per chunk of 20 (Django ≥ 4.1 prefetches per chunk).
""",
        "postgres": """
- `iterator()` reads through a **server-side cursor** on PostgreSQL: the captured
  statement is `DECLARE "_django_curs_…" NO SCROLL CURSOR WITH HOLD FOR SELECT …`, and
  `pg_cursors` showed it open mid-iteration (`is_holdable = true`). The `FETCH FORWARD 20`
  per chunk is not in `CaptureQueriesContext`. SQLite has no server-side cursors: Django
  runs the one `SELECT` and reads `chunk_size` rows at a time from it.
""",
        "gotchas": """
- The streamed body's statements run after the view returned: a middleware or test that
  counts queries around the view sees 0 (the runner saw 0 when `Client().get()` returned,
  4 after reading `streaming_content`). `assertNumQueries` must consume the body inside
  its block.
- `WITH HOLD` cursors outside a transaction are what let the body be read after the view
  returns; behind PgBouncer in transaction mode they break — set
  `DISABLE_SERVER_SIDE_CURSORS = True` there (not run here: no PgBouncer).
- Without `chunk_size`, `iterator()` with `prefetch_related` used to ignore the prefetch
  (before 4.1) and now needs `chunk_size` for it; the chunk is also the prefetch's `IN`
  list size.
- The naive buffered export holds every post and the whole string: at 50 posts it is
  160 KB; memory is what the pattern is about, and this run did not measure it.
""",
        "catch": """
- Watch memory, not query counts: the two sides send about the same SQL. `tracemalloc` or
  the process's peak RSS during an export of the full table shows the buffered one grow.
- `pg_cursors` (PostgreSQL) during a streamed export shows the cursor the response holds.
""",
        "docs": """
Matches. "a `StreamingHttpResponse` over a generator that reads
`QuerySet.iterator(chunk_size=100)` … (with `prefetch_related`, `iterator()` prefetches
per chunk since Django 4.1)" — one tags query per chunk, as ran. Not in the doc: on
PostgreSQL the iterator is a `DECLARE … WITH HOLD` server-side cursor.
""",
    },
    "bulk-updates": {
        "title": "Bulk updates",
        "summary": """
Publishing the 8 drafts by a `save()` loop (and bumping each post's tags' counters, as
perfblog's naive side does) sent **1 + 2 × 8 = 17** statements, each `save()` an `UPDATE`
of **every column — body included** — under autocommit, so a commit per statement. The
same loop inside `transaction.atomic()` sent the same 17 between `BEGIN` and `COMMIT`.
The optimized side sent **3** inside its transaction: the ids, one `UPDATE … WHERE id IN
(…)`, one `UPDATE tags` with a correlated `Subquery` count. The doc's one-liner
`filter(status='draft').update(status='published')` is **1** statement and returned 8.
""",
        "postgres": """
- `select_for_update()` adds `FOR UPDATE` on PostgreSQL; SQLite drops it silently (it
  locks the whole database for a write anyway).
""",
        "gotchas": """
- **`update()` skips `save()`, `pre_save`/`post_save` and `auto_now`.** With a
  `post_save` receiver connected: 0 calls for `update()`, 8 for the loop; `updated_at`
  (`auto_now=True`) did not move under `update()` and did in the loop. Pass
  `updated_at=now` yourself, as the optimized step does.
- **No `RETURNING` from `update()`** in Django 5.2: it returns a row count. perfblog's
  `UPDATE … RETURNING id` is one statement; in Django the ids come from a `SELECT`
  first (locked with `select_for_update()` on PostgreSQL so no draft slips between), which
  is why the optimized side is 3 statements, not 2.
- `save()` without `update_fields` writes every column. `save(update_fields=[…])` writes
  only those (the `atomic()` variant), still one `UPDATE` per row.
""",
        "catch": """
- `assertNumQueries` on the action: 17 here against 3, and it grows with the drafts.
- The SQL log shows `UPDATE "posts" SET "author_id" = …, "title" = …, "body" = …` per
  row: a `save()` in a loop.
- For the signals: a test with a `post_save` receiver (as the gotcha step) tells which
  writes fire it — and so which bypass your counters or cache invalidation.
""",
        "docs": """
Matches. "a query to load, then an `UPDATE` and, under autocommit, a commit per row. The
bulk form is `QuerySet.update()`: … one statement that returns the number of rows
changed. Like perfblog's bulk statements it skips `save()` and the `pre_save` /
`post_save` signals." — as ran (8 returned; 0 signals). Worth adding: it also skips
`auto_now`, and it has no `RETURNING`.
""",
    },
    "bulk-inserts": {
        "title": "Bulk inserts",
        "summary": """
Importing 100 posts with two tags each inside one `transaction.atomic()`: `create()` per
row + `post.tags.add()` + the tags' counter sent **402** statements (`BEGIN`, 4 per post,
`COMMIT`): `INSERT … RETURNING "posts"."id"`, a `SELECT` of the post's existing links,
the links' `INSERT`, the counter `UPDATE`. `bulk_create(batch_size=1000)` for posts and
links and one counter `UPDATE … CASE` sent **6 on SQLite, 5 on PostgreSQL**, and the new
posts came back with their ids (51, 52, 53, …).
""",
        "postgres": """
- Django 5.2 writes a multi-row insert on PostgreSQL as `INSERT INTO "posts" (…) SELECT *
  FROM UNNEST(('{…}'::int2[])::integer[], …) RETURNING …` — one array per column —
  instead of `VALUES (…), (…)`; `tags.add()` too.
- SQLite split the 100 posts into **two** `INSERT`s (90 + 10 rows) despite
  `batch_size=1000`: Django 5.2 caps a SQLite batch at 999 bind parameters, and a post
  has 11 columns. PostgreSQL took the 100 in one.
""",
        "gotchas": """
- `bulk_create()` skips `save()` and `post_save` (0 calls, as ran) — counters or caches
  kept by signals are not kept. `auto_now`/`auto_now_add` and field defaults are still
  applied.
- The ids come back through `RETURNING` on both (SQLite ≥ 3.35), and Django assigns them
  to the objects **in the order given** — the order perfblog's doc says neither database
  promises for a multi-row `INSERT … RETURNING` (perfblog looks its ids up by slug
  instead). Django relies on it; this run got them in order.
- `post.tags.add()` sent a `SELECT` before its `INSERT` because `post_tags` here is a
  through model of our own (to have perfblog's composite primary key, with Django 5.2's
  `CompositePrimaryKey`); with Django's auto-created through table, `add()` is one
  `INSERT OR IGNORE` / `ON CONFLICT DO NOTHING` (checked separately: `BEGIN`, one
  `INSERT OR IGNORE INTO … VALUES (1, 1), (1, 2)`, `COMMIT`).
""",
        "catch": """
- `assertNumQueries` on an import of 10 rows and of 100: the naive count grows by 4 a row.
- The SQL log: a run of `INSERT … RETURNING` with the same shape.
- A `post_save` receiver test shows what `bulk_create` bypasses.
""",
        "docs": """
Matches. "`Post.objects.create(…)` per row, then `post.tags.add(…)`; the bulk form is
`Post.objects.bulk_create(posts, batch_size=1000)` … (and
`Post.tags.through.objects.bulk_create(…)` for the links), which skips `save()` and its
signals." — as ran. The doc could add that `batch_size=1000` is 90 rows a statement on
SQLite for an 11-column table (Django's 999-parameter cap), and that on PostgreSQL Django
5.2 sends `INSERT … SELECT * FROM UNNEST(…)`.
""",
    },
    "atomic-counters": {
        "title": "Atomic counters",
        "summary": """
`post.view_count += 1; post.save()` sent **2** statements: the whole row, then an
`UPDATE` of **every column** (body included) with `"view_count" = 401`.
`filter(slug=…).update(view_count=F('view_count') + 1)` sent `UPDATE "posts" SET
"view_count" = ("posts"."view_count" + 1) …`, and reading the new count back is a second
statement (Django's `update()` has no `RETURNING`; perfblog's is one `UPDATE … RETURNING`).
Twenty concurrent views, one thread and connection each: read-add-write kept
**{r:atomic-counters|20 concurrent|sqlite|read-add-write kept} of 20 on SQLite and {r:atomic-counters|20 concurrent|postgresql|read-add-write kept} of 20 on PostgreSQL**; `F()` kept
**{r:atomic-counters|20 concurrent|sqlite|F() kept} of 20 on SQLite and {r:atomic-counters|20 concurrent|postgresql|F() kept} of 20 on PostgreSQL**. How many read-add-write
keeps varies by run (an earlier run kept 2 and 3); `F()` kept all 20 every time.
""",
        "gotchas": """
- `save()` without `update_fields` writes every column back: besides losing concurrent
  views, it overwrites any column another request changed meanwhile (a title edited
  between the `SELECT` and the `UPDATE`).
- `save(update_fields=['view_count'])` narrows the write to one column but is still
  read-add-write: the count is computed in Python.
- `post.view_count = F('view_count') + 1; post.save(update_fields=['view_count'])` is
  atomic, but the attribute holds an expression until `refresh_from_db()` (a third
  statement, as ran); rendering `post.view_count` before that prints the expression.
- The race needs the read to happen before another writer commits: in the run the threads
  met at a barrier and paused 1 ms between read and write (`naive_view`), as a request
  does while it renders.
""",
        "catch": """
- A test with threads (or `concurrent.futures`) against a real database, as the race
  step: `TestCase` wraps everything in one transaction and one connection, so the race
  needs `TransactionTestCase`.
- In the SQL log, a `SELECT` of the row followed by `UPDATE … SET "view_count" = 401` (a
  literal) instead of `"view_count" + 1`.
""",
        "docs": """
Matches. "`post.view_count += 1; post.save()`: Python reads the count, adds one and
writes the whole row back. The atomic form is
`Post.objects.filter(pk=post.pk).update(view_count=F('view_count') + 1)`" — as ran, with
the lost updates shown.
""",
    },
    "write-behind-counter": {
        "title": "Write-behind counter",
        "summary": """
Django has nothing built in for this; the run shows the smallest honest hand-written
versions. Naive (the atomic counter): 5 views = **5 `UPDATE`s**. An in-process tally
(`Counter` + lock) took the 8 views (5 of post 40, 3 of post 39) with **no SQL**, showed
405 (stored 400 + 5 pending) with one `SELECT` by primary key, and one flush wrote both
posts in **one** `UPDATE … SET "view_count" = ("posts"."view_count" + CASE WHEN ("posts"."id"
= 40) THEN 5 WHEN ("posts"."id" = 39) THEN 3 ELSE 0 END) WHERE "posts"."id" IN (40, 39)`.
The Redis variant (redis-py `HINCRBY` into one hash, `RENAME` at flush so new views go to
a fresh hash) ran against a local Redis: one `UPDATE … CASE` for the batch.
""",
        "gotchas": """
- Django's cache API cannot be the whole tally: `cache.incr()` raises `ValueError: Key
  … not found` on a missing key (checked on locmem; Django's `RedisCache.incr` does an
  `EXISTS` then an `INCR`, and raises the same), so every view needs a `cache.add(key, 0)`
  first; and the cache API cannot list the keys with pending views, so the flusher would
  not know which posts to write. A raw Redis hash (`HINCRBY`, then `RENAME` + `HGETALL`)
  does both, which is why the Redis variant talks to redis-py directly.
- `update(view_count=F('view_count') + n)` per post is one statement per post; the
  `Case(When(pk=…, then=n) …)` form is one statement per flush (perfblog writes
  `UPDATE … FROM (VALUES …)`, which the ORM cannot express).
- The in-process tally is per worker process: with four gunicorn workers, four tallies,
  each flushing its own; all add, so the total is right, but views tallied since the
  last flush are lost if a worker is killed (flush in a shutdown hook).
- The flusher is yours to run: a thread started in `AppConfig.ready()`, a management
  command in a loop, or a periodic Celery/django-tasks job; none was run here on a timer.
""",
        "catch": """
- The write load shows in the database, not in Django: `pg_stat_user_tables.n_tup_upd`
  for `posts` climbing with page views, or `n_tup_hot_upd`; in Django's log, one
  `UPDATE … "view_count" + 1` per page view.
- `assertNumQueries(0)` around `count_view()` pins that a view writes nothing.
""",
        "docs": """
Partly. "an `INCR` in Redis per view (`cache.incr()`, with Redis as the cache), and a
periodic task (Celery beat) that writes the counts back with
`Post.objects.filter(pk=…).update(view_count=F('view_count') + n)`" — the write-back is
right (one statement per post; a `Case/When` makes it one per flush). `cache.incr()` is
not a Redis `INCR` on its own: Django's `RedisCache.incr` is `EXISTS` + `INCR` and raises
`ValueError` for a key not yet there, and the cache API gives the periodic task no way to
find the keys with pending views; a raw Redis hash does.
""",
    },
    "offloaded-email": {
        "title": "Offloaded email",
        "summary": """
With a mail backend that takes 50 ms (locmem's backend after a `sleep`), `send_mail()` in
the view — SQLite: {r:offloaded-email|send_mail() in the view|sqlite|}; PostgreSQL: {r:offloaded-email|send_mail() in the view|postgresql|} (SQL: the post with its author, the
comment's `INSERT`). perfblog's outbox — the comment and an `email_outbox` row in one
`transaction.atomic()` — SQLite: {r:offloaded-email|perfblog's outbox|sqlite|}; PostgreSQL: {r:offloaded-email|perfblog's outbox|postgresql|}: `BEGIN`, two `INSERT … RETURNING`,
`COMMIT`. A task queued with `transaction.on_commit(lambda: notify_author.enqueue(…))`
(django-tasks, the backport of Django 6.0's `django.tasks`; Celery's `.delay()` goes in
the same place) {r:offloaded-email|on commit|sqlite|} and was enqueued **after** the `COMMIT`
(the runner marked the moment among the statements: after the `COMMIT`, on both).
""",
        "postgres": """
- The outbox worker's `select_for_update(skip_locked=True)` is `… FOR UPDATE SKIP LOCKED`
  on PostgreSQL; on SQLite Django drops the clause without a word (one writer at a time
  there anyway).
""",
        "gotchas": """
- `on_commit` callbacks never run inside `TestCase` (its transaction is rolled back):
  `test_on_commit_does_not_run_inside_testcase` passes with 0 tasks enqueued;
  `captureOnCommitCallbacks(execute=True)` runs them (1 callback, 1 task). Outside any
  `atomic()`, `on_commit` runs the callback at once.
- Between the `COMMIT` and the enqueue, a crash loses the email: the task queue is not in
  the database's transaction. The outbox row is (perfblog's point).
- `send_mail()` in the view fails with the mail server: the comment is committed, the
  request errors, and nothing retries.
""",
        "catch": """
- Time the request with the mail server slowed down (a backend that sleeps, as here, or
  a local SMTP sink with a delay): a view whose time moves with it sends in-request.
- In tests, `django.core.mail.outbox` (locmem backend) fills during the request for the
  naive view and stays empty for the queued one until the task runs.
""",
        "docs": """
Matches. "The naive side is `send_mail()` in the view, after `comment.save()`. The usual
fix is a Celery task queued with `transaction.on_commit(lambda: notify.delay(comment.pk))`,
so the task is queued only once the comment is committed." — the enqueue ran after
`COMMIT` (with django-tasks; Celery itself was not installed or run).
""",
    },
    "denormalized-counters": {
        "title": "Denormalized counters",
        "summary": """
The naive side is the aggregation pattern's two `GROUP BY`s (2 statements, every
published post's links and every comment joined). Reading the counters is **2** plain
statements: `SELECT name, slug, published_post_count FROM tags ORDER BY 1` and the five
posts `ORDER BY comment_count DESC, id LIMIT 5`. Keeping one: a comment's `INSERT` and
`UPDATE "posts" SET "comment_count" = ("posts"."comment_count" + 1)` in one transaction.
perfblog's `recount` in Django is one `UPDATE` with a correlated `Subquery`, limited to the
rows that differ: it found the 1 drifted post.
""",
        "gotchas": """
- **Signals are not every write path.** With the counter kept by a `post_save` receiver,
  `create()` bumped it and `bulk_create()` of two more comments did not: the counter said
  7 for 9 comments. `QuerySet.update()`, `delete()` on a queryset (no `post_delete` per
  row unless Django has to cascade in Python), raw SQL and other services bypass it too.
- `F('comment_count') + 1` is what keeps it exact under concurrent comments (see
  [atomic counters](atomic-counters.md)); a fresh `COUNT(*)` written back inside each
  transaction would miss what another transaction commits meanwhile.
- The recount's `exclude(comment_count=F('fresh')).update(comment_count=fresh)` repeats
  the subquery in `SET` and in `WHERE` (as ran); fine as a nightly job.
""",
        "catch": """
- A periodic check that compares the counters with a fresh count (the recount step
  returns how many rows drifted; alert when it is not 0).
- Tests for every write path (`create`, `bulk_create`, admin actions, `update()`) that
  assert the counter equals `comments.count()` afterwards.
""",
        "docs": """
Matches. "Django has no built-in counter cache: … a `comment_count` column kept with
`Post.objects.filter(pk=…).update(comment_count=F('comment_count') + 1)` in the same
transaction as the comment's insert (or by `post_save` / `post_delete` signals, which a
`QuerySet.update()` or `bulk_create()` bypasses)" — as ran: the signal missed the
`bulk_create()`.
""",
    },
    "fragment-caching": {
        "title": "Fragment caching",
        "summary": """
Uncached, each render of the sidebar sent its **2** statements (4 for two requests).
`{% cache 300 sidebar %}` sent 2 on the miss and **0** on the hit; after a comment on post
34 (its counter bumped), the next render was still the hit — **stale**, the same bytes as
before. A generation in the key (`{% cache 300 sidebar generation %}`, bumped with
`cache.incr` on commit) missed after the write and showed the new count.
`cache.get_or_set('sidebar', render, 300)` ran the queries once for two calls. Deleting
the fragment with `cache.delete(make_template_fragment_key('sidebar'))` also worked.
""",
        "gotchas": """
- **`{% cache %}` and `cache_page` expire by TTL**: nothing ties them to the data. A
  write does not touch them; invalidation is yours — delete the key
  (`make_template_fragment_key('sidebar', [vary_on…])`) or put a version in it. Deleting
  races (a request that read the old data can store its result just after the delete);
  a generation does not, which is why perfblog uses one.
- **The SQL is only saved if the queries are lazy.** Querysets passed to the template
  run inside `{% cache %}`; a view that does `list(Tag.objects…)` before rendering sent
  its 2 statements on every request, hit or not (4 for two renders, as ran).
- Per-object keys (`{% cache 300 entry post.pk post.updated_at %}`, Rails's way) refresh
  an entry when its row's `updated_at` moves: after `save()` the entry showed the new
  title; after `QuerySet.update()` — which skips `auto_now` — it stayed stale.
- `cache.incr()` on the generation needs the key to exist (`get_or_set(…, 1,
  timeout=None)` first, as ran); with LocMemCache each process has its own generation —
  use a shared cache (Redis) when there are several.
""",
        "catch": """
- `assertNumQueries(0)` on the second render pins the hit; a test that writes and renders
  again pins the invalidation (the generation step does both).
- In the debug toolbar, the Cache panel shows the `get`/`set` per request next to the SQL
  panel's statements: a hit should have a `get` and no SQL.
""",
        "docs": """
Matches. "`{% cache 300 sidebar %}…{% endcache %}`, or in Python
`cache.get_or_set('sidebar', render_sidebar, 300)`; Django invalidates by key or by TTL,
so the generation number below is yours to add (a version in the key:
`{% cache 300 sidebar generation %}`)" — as ran: stale after a write, fresh with the
generation or after deleting the key.
""",
    },
    "per-view-caching": {
        "title": "Per-view caching",
        "summary": """
The list view without a cache sent its statement on every request (2 for two requests).
`cache_page(300)(post_list)` sent 1 on the miss and **0** on the hits; after a post was
retitled, the next request served the page as it was before the write (stale, the same
bytes once decompressed) until the key was deleted (the invalidation step). With the
view counting its own views inside, `cache_page` served three requests and **counted
one**.
""",
        "gotchas": """
- **The view does not run on a hit**: anything per request inside it — a view counter, a
  footer of this request's figures — stops (1 view counted for 3 requests). perfblog's
  "holes" are what `cache_page` lacks.
- **Compression per hit**: `cache_page` stores the response before `GZipMiddleware`
  (the stored response had no `Content-Encoding`, 5,475 bytes), and every hit went out
  `Content-Encoding: gzip`, compressed again — with different bytes each time, since
  Django's `GZipMiddleware` adds random padding against BREACH, so compare pages
  decompressed.
- **TTL is the only automatic expiry**, but not the only way: `cache.delete(get_cache_key(
  request))` with a request for the same URL (and the same values of the headers in
  `Vary`) removed the page and the next request rendered the new title — one key per URL
  and header variant, so a write that changes many pages must know them all (or
  `cache.clear()`).
- `cache_page` also sends `Cache-Control: max-age=300` (seen on the hit): browsers and
  proxies keep the page too, where no server-side delete reaches.
""",
        "catch": """
- `assertNumQueries(0)` on the second request; a test that writes and requests again shows
  the stale page.
- A counter in the view (as the gotcha step) shows the view not running.
- Response headers: `Cache-Control: max-age=…` and `Expires` on a page that must not be
  cached by browsers.
""",
        "docs": """
Mostly matches. "It stores the whole response, so a view count or a per-request footer
cannot change inside it" — yes (1 view counted for 3 requests); "and the compression
middleware compresses every hit again" — yes (stored uncompressed, served gzip). "it is
invalidated only by its timeout (or a key prefix you change)" is too strong:
`django.utils.cache.get_cache_key(request)` and `cache.delete()` removed one page and the
next request rendered it anew (as ran); it is per URL and header variant, which is what
makes it awkward, but it is not only the timeout.
""",
    },
    "indexes": {
        "title": "Indexes you can see",
        "summary": """
At 20,000 more posts and 100,000 comments, with the models' `Meta.indexes`, `explain()`
showed the list page and the tag page walking `idx_posts_status_published_at_id` in order
(PostgreSQL: `Limit → Index Scan`), and the post page's comments found through
`idx_comments_post_id_created_at` on both. With the four indexes perfblog's lab drops
dropped (`DROP INDEX` inside a transaction rolled back), PostgreSQL sorted a `Seq Scan`
of posts for the list, hash-joined two `Seq Scan`s for the tag page and scanned every
comment for the post page. The title search was a `Seq Scan` / `SCAN posts` either way —
see the gotcha on `icontains`.
""",
        "postgres": """
- SQLite: `QuerySet.explain()` is `EXPLAIN QUERY PLAN` (`SCAN` / `SEARCH … USING INDEX`),
  and `explain(analyze=True)` raises `ValueError: Unknown options: analyze`. PostgreSQL:
  `EXPLAIN`, and `explain(analyze=True)` adds the rows and times per step (the catch step).
- SQLite has no trigram index: the title search scans on both sides there.
- Django added an index perfblog does not have on PostgreSQL: `posts_slug_…_like`
  (`varchar_pattern_ops`), which it creates for every unique or indexed `CharField` so
  that `LIKE 'prefix%'` can use it.
""",
        "gotchas": """
- **`title__icontains` cannot use the trigram index on `LOWER(title)`.** Django writes
  `icontains` on PostgreSQL as `UPPER("posts"."title"::text) LIKE UPPER('%cache
  latency%')`: with `SET enable_seqscan = off` it was still a `Seq Scan` (cost
  10000000000…), while `alias(t=Lower('title')).filter(t__contains=…)` —
  `LOWER("posts"."title")::text LIKE '%cache latency%'` — became a `Bitmap Index Scan on
  idx_posts_title_trgm`. Index `Upper('title')` instead, or filter on `Lower`. (Without
  forcing, the planner chose the sequential scan for both at this size — 80 matching
  titles of 20,050, short bodies; it picks the index when the table is bigger on disk.)
- **`OpClass(…)` needs `django.contrib.postgres` in `INSTALLED_APPS`.** Without it,
  `GinIndex(OpClass(Lower('title'), name='gin_trgm_ops'))` was created as `USING gin
  ((LOWER("title") gin_trgm_ops))`, a syntax error: the app's `ready()` registers
  `OpClass` so the expression gets its parentheses. The extension itself comes first
  (`TrigramExtension()` in a migration; here a `pre_migrate` receiver).
- **Index names longer than 30 characters** fail `manage.py check` (`models.E034`, kept
  for Oracle): four of perfblog's names (`idx_posts_status_published_at_id`, …) do. The
  check is silenced here so the SQL reads like perfblog's; in an app, use shorter names.
- A foreign key gets an index by default (`db_index=True`); the models here turn it off
  where perfblog's own composite index leads with that column, or it would be there twice.
- **`explain()` after `DROP INDEX` on the same SQLite connection returned the old plan**
  (Python's `sqlite3` statement cache kept the compiled `EXPLAIN QUERY PLAN`); the naive
  step opens a fresh connection first. Re-plan on a new connection when comparing.
""",
        "catch": """
- `QuerySet.explain()` on the page's queryset, in a shell or a test, on a copy of
  production-sized data (on a 50-post table PostgreSQL seq-scans everything, index or
  not — that is why this step adds 20,000 posts). Look for `Seq Scan` + `Sort` under a
  `Limit` (PostgreSQL) or `SCAN` + `USE TEMP B-TREE FOR ORDER BY` (SQLite).
- `explain(analyze=True)` on PostgreSQL gives `Rows Removed by Filter` and actual rows.
- django-debug-toolbar's SQL panel has an "Explain" button per statement.
""",
        "docs": """
Partly. "`Meta.indexes = [models.Index(fields=['status', '-published_at', '-id'])]`" —
created `("status", "published_at" DESC, "id" DESC)` on both, and the plans use it. "and
`GinIndex(OpClass(Lower('title'), name='gin_trgm_ops'), name=…)` (from
`django.contrib.postgres`, after a `TrigramExtension()` migration) for the title search" —
it needs `django.contrib.postgres` in `INSTALLED_APPS`, not only imported from it
(otherwise invalid SQL, as happened), and it serves `Lower('title')` filters only: the
search a Django developer writes, `title__icontains`, is `UPPER(…) LIKE UPPER(…)` on
PostgreSQL and never uses it. "A foreign key gets its index by default" — yes.
"`QuerySet.explain(analyze=True)`" — PostgreSQL only; on SQLite it raises.
""",
    },
    "connection-pooling": {
        "title": "Connection pooling",
        "summary": """
100 requests through Django's `WSGIHandler` (so `request_started` / `request_finished`
ran `close_old_connections`, as under gunicorn), each loading the post page's three
reads (plus `SELECT pg_backend_pid()` on PostgreSQL to see which backend served it):

| settings | connections opened | PostgreSQL backends | median request, PostgreSQL | median request, SQLite |
|---|---|---|---|---|
| `CONN_MAX_AGE = 0` (default) | {r:connection-pooling|CONN_MAX_AGE = 0|postgresql|connections opened} | {r:connection-pooling|CONN_MAX_AGE = 0|postgresql|distinct backends} | {r:connection-pooling|CONN_MAX_AGE = 0|postgresql|median ms} ms | {r:connection-pooling|CONN_MAX_AGE = 0|sqlite|median ms} ms |
| `CONN_MAX_AGE = 600`, `CONN_HEALTH_CHECKS = True` | {r:connection-pooling|CONN_MAX_AGE = 600|postgresql|connections opened} | {r:connection-pooling|CONN_MAX_AGE = 600|postgresql|distinct backends} | {r:connection-pooling|CONN_MAX_AGE = 600|postgresql|median ms} ms | {r:connection-pooling|CONN_MAX_AGE = 600|sqlite|median ms} ms |
| `OPTIONS = {'pool': {'min_size': 2, 'max_size': 4}}` | {r:connection-pooling|OPTIONS|postgresql|connections opened} checkouts | {r:connection-pooling|OPTIONS|postgresql|distinct backends} | {r:connection-pooling|OPTIONS|postgresql|median ms} ms | — |

Medians of one run each on this 2-core machine while another build ran beside it: an
earlier run gave 22.9 / 4.9 / 5.4 ms on PostgreSQL — the order holds, the figures move.
""",
        "postgres": """
- The pool is PostgreSQL only (Django 5.1+, the `psycopg_pool` package:
  `pip install "psycopg[pool]"`); with it `CONN_MAX_AGE` must stay 0 (Django raises
  `ImproperlyConfigured: Pooling doesn't support persistent connections.`).
- On SQLite, "connecting" is opening the file: {r:connection-pooling|CONN_MAX_AGE = 0|sqlite|median ms} ms against {r:connection-pooling|CONN_MAX_AGE = 600|sqlite|median ms} ms a request here.
""",
        "gotchas": """
- `connection_created` fires on **every checkout** from Django's pool ({r:connection-pooling|OPTIONS|postgresql|connections opened} signals for {r:connection-pooling|OPTIONS|postgresql|distinct backends}
  backends here): code that sets session state there runs per request, not per backend.
- `CONN_HEALTH_CHECKS = True` runs `SELECT 1` on the psycopg connection directly
  (`is_usable()`, "bypassing Django's utilities") at the start of each request that
  reuses a connection: it is a round trip per request that neither
  `CaptureQueriesContext` nor the debug toolbar shows. Read from Django's source; not
  measured separately here.
- Persistent connections are per thread: a threaded server keeps one per thread, and an
  ASGI server, which runs sync code in threads of its own, may open more than you think.
  Django's docs (5.2, "Persistent connections"): "When using ASGI, persistent connections
  should be disabled. Instead, use your database backend's built-in connection pooling"
  (not run under ASGI here).
- A connection kept open between requests keeps whatever state a request left (a `SET`,
  an aborted transaction); Django resets the transaction state, not session settings.
""",
        "catch": """
- On PostgreSQL, `pg_stat_activity` (backends for the app's database) and
  `pg_stat_database.sessions` (PostgreSQL 14+) climbing with requests; `log_connections =
  on` shows one connection per request.
- In Django, count `connection_created` signals per request (as `requests_through` does);
  with the pool, count distinct `pg_backend_pid()` values instead.
""",
        "docs": """
Matches. "Django opens a connection per request by default (`CONN_MAX_AGE = 0`): the
naive side. `CONN_MAX_AGE` keeps it for that many seconds (persistent connections, one
per worker thread), and from Django 5.1 a real pool: `OPTIONS={'pool': True}` (psycopg's
pool)" — as ran (the pool with a dict of sizes; `True` takes psycopg_pool's defaults).
""",
    },
    "concurrent-reads": {
        "title": "Concurrent independent reads",
        "summary": """
Each statement was given a simulated 50 ms round trip (an `execute_wrapper` that sleeps)
so overlap would show in the timings. The sync view: three statements one after another,
**{r:concurrent-reads|a sync view|sqlite|total ms} ms**, all on the main thread. The async view with `asyncio.gather()` over
`aget()` and `async for`: **{r:concurrent-reads|asyncio.gather|sqlite|total ms} ms**, all three on **one thread** (the main thread, under
`async_to_sync`), one after another — no overlap. `sync_to_async(list,
thread_sensitive=False)` for the two reads: **{r:concurrent-reads|thread_sensitive=False|sqlite|total ms} ms** on SQLite, the tags and the
comments on two threads at the same time; only **{r:concurrent-reads|thread_sensitive=False|sqlite|captured on this thread's connection} of the 3** statements was captured on
the request's connection.
""",
        "postgres": """
- The same timelines ({r:concurrent-reads|a sync view|postgresql|total ms} / {r:concurrent-reads|asyncio.gather|postgresql|total ms} / {r:concurrent-reads|thread_sensitive=False|postgresql|total ms} ms). The two threads opened **two more
  connections** to the database (before the request, after: {r:concurrent-reads|thread_sensitive=False|postgresql|connections to the database before, after}), which nothing
  closed: Django closes connections at `request_finished` only for the thread that
  handles it.
""",
        "gotchas": """
- Django 5.2's async ORM methods (`aget`, `acount`, `async for`) are `sync_to_async`
  wrappers with `thread_sensitive=True`: `gather()` over them serialises on one thread.
- `thread_sensitive=False` overlaps the reads, at the cost of a connection per thread,
  left open, and statements outside `assertNumQueries` / `CaptureQueriesContext` of the
  request's connection (1 of 3 captured).
- Inside `atomic()` the other threads do not see the request's transaction (they have
  their own connections): uncommitted writes are invisible to them.
""",
        "catch": """
- A timeline of statements with their thread and start/end (the `Timeline` wrapper here,
  or the debug toolbar's SQL panel start times): reads that do not depend on each other
  show as a staircase.
- Measure a `SELECT 1` round trip first: overlapping two reads saves at most one.
""",
        "docs": """
Matches. "each of those runs the synchronous query through `sync_to_async`, whose
`thread_sensitive=True` default keeps them on one thread, one at a time. The way out is
your own `sync_to_async(fn, thread_sensitive=False)`: each such thread opens a database
connection of its own, which Django does not close for you, and its queries fall outside
`assertNumQueries`." — all three as ran: one thread for `gather()`, two connections left
open on PostgreSQL, 1 of 3 statements captured.
""",
    },
}
