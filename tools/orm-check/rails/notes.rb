# frozen_string_literal: true

# The prose report.rb puts around the SQL that check.rb captured. Every claim here was
# checked against that captured run (Active Record 6.1.7.10, SQLite 3.40, PostgreSQL
# 15) unless it says it was not.

module OrmCheck
  QC = "Each side ran inside `ActiveRecord::Base.cache { }`, the query cache Rails turns on for every request " \
       "and job, so a repeated identical SELECT is answered from memory and never reaches the database; those are " \
       "marked CACHE and not counted as sent."
  HTTP = "Each request went through Action Pack's router and controller (Rack, no server), inside its own query " \
         "cache, as Rails' executor runs a request."

  NOTES = {
    "eager-loading" => {
      setup: QC,
      after: {
        eager_loading_preload_vs_eager_load: "In order: `preload` is two statements (the posts, then `users … IN`); `eager_load` is one `LEFT OUTER JOIN` with every column aliased `t0_r0…`; `includes` alone chose `preload`'s two; `includes` + `references` chose `eager_load`'s one.",
      },
      gotchas: <<~MD,
        - **The query cache hides part of the N+1, not all of it.** Of the naive list's 1 + 3 × 20 = 61 statements, 15 author look-ups were answered by the query cache (5 distinct authors), so 46 reached the database: the 20 tag queries and 20 `COUNT`s did not repeat and all went. Outside a request (a console, a script, a job without the executor) all 61 go.
        - **`includes(:tags)` through `has_many :through` is two statements** (`post_tags`, then `tags`), so the Rails fix is 5 statements for the list where perfblog's optimized loader is 3 (it joins `post_tags` to `tags` in one query).
        - **`count` vs `size` vs `length`** (run above): `count` always sends `COUNT(*)`, even on a loaded association; `size` sends `COUNT(*)` when not loaded and uses the loaded records when loaded; `length` loads every row. `size` reads a counter column instead only when the `has_many` knows its name: perfblog's column is `comment_count`, not Rails' default `comments_count`, so `belongs_to :post, counter_cache: :comment_count` alone still leaves `post.comments.size` counting; `has_many :comments, counter_cache: :comment_count` as well makes it read the column (no statement, shown above).
        - **`includes` becomes one `JOIN` when a condition names the association** (`where(tags: …)`, or `references`): with a `limit` it is two statements (a `SELECT DISTINCT posts.id … LIMIT` then the joined rows), and the posts come back with only the tags that matched the condition (`post-3.tags => ["caching"]` of its 3).
        - **A `JOIN` multiplies rows**: `Post.joins(:tags).count` is 149 (links), `joins(:tags, :comments).count` 347 for 40 distinct posts; `eager_load(:tags, :comments)` reads that product and de-duplicates in Ruby.
      MD
      catch: <<~MD,
        - **`strict_loading`** (6.1): `Post.strict_loading…` raised `ActiveRecord::StrictLoadingViolationError` on `post.author` (above). It did **not** flag `post.comments.count` — a `COUNT` is not a lazy load — so it catches two of the naive list's three N+1s. `config.active_record.strict_loading_by_default = true` turns it on everywhere.
        - **Counting statements** through `ActiveSupport::Notifications` (the `count_queries` helper above; Rails' own `assert_queries` is a test helper of Active Record's suite): 46 for the naive list, 5 for the optimized one. A test that pins the count at 5 and 50 posts is perfblog's `assert_no_n_plus_one`.
        - **Bullet**: the Debian package (`ruby-bullet` 6.1.0) refuses Active Record 6.1 (`RuntimeError: Bullet does not support active_record 6.1.7.10 yet`, above); it was not run. Bullet 6.1.1+ (rubygems) supports 6.1 — not verified here. **Prosopite** and **rack-mini-profiler** are not packaged in Debian bookworm and rubygems.org is not reachable here: not run.
        - The log: every statement of the naive list appears in `log/development.log`; 20 near-identical lines per request are the sign.
      MD
      docs: <<~MD,
        No contradiction. The doc's "In Rails the same loop over `post.author`, `post.tags` and `post.comments.count` is the N+1, and `includes(:author, :tags)` the fix (a counter cache, or one grouped count, for the comments)" is what ran. Two things it could add: Rails' per-request query cache absorbs repeated identical look-ups (15 of 61 here), and `includes(:tags)` through the join table is two statements, so the Rails list is 5 statements where perfblog's is 3.
      MD
    },
    "projection" => {
      setup: QC,
      after: {
        projection_naive: "The result is the bytes of the column values that came back: 94,781 for 21 rows.",
        projection_optimized: "1,625 bytes for the same 21 rows.",
      },
      gotchas: <<~MD,
        - **A column not selected raises, it does not query**: `post.body` on `select(:id, :title)` raised `ActiveModel::MissingAttributeError: missing attribute: body` with no statement — unlike Django's deferred field, which costs a query per object (the N+1 the doc warns about for Django does not exist in Rails; an exception does).
        - **`select` must keep the foreign keys `includes` needs**: `select(:id, :title).includes(:author)` raised `missing attribute: author_id`.
        - **`pluck` on a loaded relation sends nothing** (it reads the loaded records); on a new relation it sends a `SELECT` of those columns.
      MD
      catch: <<~MD,
        Look for `SELECT "posts".*` on list pages in the log; Active Record has no warning for unused columns. `relation.to_sql` shows what a scope will select.
      MD
      docs: <<~MD,
        No contradiction: "Rails selects `*` by default; `select(:id, :title, …)` narrows it, and `pluck` returns the bare values" is what ran. Worth adding: touching an unselected column raises `MissingAttributeError` rather than loading it.
      MD
    },
    "aggregation" => {
      setup: QC,
      gotchas: <<~MD,
        - `tag.posts.select(&:published?)` is Ruby's `select` with a block: it loads every post of the tag (`SELECT "posts".*` per tag, bodies included) — not Active Record's `select` of columns.
        - `group(…).count` returns a Hash keyed by the group columns (`{tag_id => n}`, or `{[id, title] => n}` for two); ordering by the count needs `Arel.sql("COUNT(*) DESC")` (a raw string in `order` is refused in 6.1 unless wrapped).
        - The tag cloud is three statements, not two: the names come from `Tag.order(:name)`; a `Tag.joins(:posts)…group(:name).count` would drop tags with no published post.
      MD
      catch: <<~MD,
        The naive side's sign is one `SELECT "posts".*` per tag (10 here) and a `SELECT "comments".* … IN (…)` of every comment. Counting statements (see eager loading) catches the per-tag loop; only reading the SQL catches the one big load.
      MD
      docs: <<~MD,
        No contradiction. The doc's Rails line, `PostTag.joins(:post).where(posts: { status: 'published' }).group(:tag_id).count`, ran as written and sent one `COUNT(*) … GROUP BY "post_tags"."tag_id"`; `tag.posts.select(&:published?).size` per tag sent one whole-row `SELECT` per tag.
      MD
    },
    "keyset-pagination" => {
      setup: "Page 1's last entry is post 21; post 20 has the same `published_at`, and is the first entry of page 2. " + QC,
      gotchas: <<~MD,
        - **Without the id tie-break a post disappears**: `where(published_at: ...t)` returned 19 posts and skipped post 20, which shares page 1's last timestamp (above). The row value `(published_at, id) < (?, ?)` and the `OR` form both returned the 20 that `OFFSET` did.
        - **`?` in a string condition is interpolated, not bound**: the row-value condition went to the database with the time and id written into the SQL (`('2026-11-02 18:00:00', 21)`), where the hash form `where(published_at: ...t)` sent a bind. On PostgreSQL that makes each cursor a different statement text (no reuse of a prepared statement).
        - Qualify the columns (`posts.published_at`): on the tag page's join an unqualified `id` is ambiguous.
        - Row values need SQLite 3.15+ (3.40 here) and work on PostgreSQL; the `OR` form works everywhere.
      MD
      catch: <<~MD,
        `OFFSET` grows with `?page=`: look for `OFFSET` in the log of list pages, and `EXPLAIN` a deep page (see indexes). Kaminari's `page(n).per(20)` and will_paginate's `paginate` send `LIMIT 20 OFFSET (n - 1) × 20`, as the naive side here (they were not installed: not packaged for this set-up).
      MD
      docs: <<~MD,
        No contradiction: `where('(published_at, id) < (?, ?)', t, i)` works on both backends (qualify the columns on a join). `docs/patterns/keyset-pagination.md` has no `rails:` line in its front matter (the pattern table shows only Django's name for it).
      MD
    },
    "exists" => {
      setup: QC,
      gotchas: <<~MD,
        - `present?` / `blank?` load every row to answer (`SELECT "posts".*` above).
        - `any?` and `empty?` on a relation not yet loaded send the same `SELECT 1 AS one … LIMIT 1` as `exists?` in 6.1; on a loaded relation they read the records and send nothing.
        - `size` on an unloaded relation sends `COUNT(*)`; `exists?` always queries, loaded or not.
        - `User.count > 0 || Post.count > 0` stopped after the first count (Ruby's `||`): one statement, a full `COUNT(*)` of `users`.
      MD
      catch: <<~MD,
        Search the code for `.count > 0`, `.count.zero?`, `.present?` on relations; in the log, a `COUNT(*)` or a whole-row `SELECT` followed by no use of the rows.
      MD
      docs: <<~MD,
        No contradiction: "`exists?` instead of `count > 0` (or `present?`, which loads the relation to answer)" is what ran. Rails' `exists?` writes the `LIMIT 1` (`SELECT 1 AS one … LIMIT 1`), unlike the SeaORM trap the doc describes.
      MD
    },
    "streaming" => {
      setup: HTTP,
      after: {
        streaming_live: "The Live action runs on a thread of its own, which takes a connection of its own from the pool: on SQLite that new connection's `SELECT sqlite_version(*)` is the first line (on PostgreSQL its set-up statements are `SCHEMA`-named and left out).",
        streaming_live_slow_client: "Only the client's side is shown (101–102 statements ran). Action Pack 6.1's `ActionController::Live::Buffer` is a queue of 10 chunks (`queue_size = 10`): when the client received its first chunk the action had already read 11 batches, and from then on it stayed about ten chunks ahead of the client until it had read all 26 (the 26th came back empty). A slow client does slow the export, ten chunks late.",
        streaming_enumerator: "No export statement ran inside the action: every batch was read while the server iterated the body.",
      },
      gotchas: <<~MD,
        - **`find_each` ignores the relation's `order`** and logs `Scoped order is ignored, it's forced to be batch order.` (above); it pages by primary key. `find_each(order: :desc)` (6.1) reverses the key, nothing else.
        - **`includes` with `find_each` / `find_in_batches` preloads per batch**: 4 statements per batch here (posts, users, `post_tags`, tags) where perfblog's batch is 3.
        - **`in_batches` plucks the ids first**, then loads `WHERE id IN (…)` when the batch is iterated: two statements per batch.
        - **Errors mid-stream**: with Live the status (200) leaves with the first chunk; an exception after that can only cut the body short.
      MD
      catch: <<~MD,
        Memory, not statements, is this pattern's signal: a request whose memory grows with the table (`render json: Post.all`). In the log the buffered export is one big `SELECT "posts".*` with no `LIMIT`.
      MD
      docs: <<~MD,
        No contradiction: "`find_each` (batches by primary key, as here) writing to `response.stream` with `ActionController::Live`, or an `Enumerator` assigned to `self.response_body`" both ran and streamed, in batches by `id > last ORDER BY id LIMIT n`. Worth adding: the Live action runs on its own thread with its own database connection.
      MD
    },
    "bulk-updates" => {
      setup: "BEGIN/COMMIT are shown. Both sides publish the 10 drafts and keep `tags.published_post_count`, which the model keeps with an `after_save` callback (Rails' `counter_cache` cannot count published posts only). " + QC,
      gotchas: <<~MD,
        - **`update_all` skips validations, callbacks and `updated_at`** (above): it saved a blank title that `validates :title, presence: true` refuses (`update!` raised `RecordInvalid`), left `updated_at` at its old value — so `cache post do` fragments keyed on it stay — and ran no `after_save`, so two tags' `published_post_count` drifted. The optimized side keeps the counters by hand, as perfblog's does.
        - **No `RETURNING` from `update_all` in 6.1**: the ids come from a `pluck` first, in the same transaction.
        - The naive loop is 1 + 3N statements here (the callback reads each post's tag ids, then updates the tags), plus a `BEGIN`/`COMMIT` per row.
      MD
      catch: <<~MD,
        In the log, the same `UPDATE … WHERE "posts"."id" = ?` between `BEGIN` and `COMMIT` once per row. Counting statements in a test of the action, at two sizes, catches the loop.
      MD
      docs: <<~MD,
        No contradiction: "`each(&:save)` against `Post.where(status: 'draft').update_all(status: 'published')`, which skips validations and callbacks" is what ran. Worth adding: it also leaves `updated_at` alone, so record-keyed caches do not see the change.
      MD
    },
    "bulk-inserts" => {
      setup: "BEGIN/COMMIT are shown. Both sides import 10 published posts with two tags each in one transaction and keep the tags' counters. " + QC,
      gotchas: <<~MD,
        - **`insert_all` sets no timestamps in 6.1**: without `created_at` / `updated_at` the insert failed on perfblog's `NOT NULL` columns, on both backends (above). Rails 7.0 and later fill them (`record_timestamps:`) — not run here.
        - **`insert_all` without the bang adds `ON CONFLICT DO NOTHING`**: a duplicate slug was skipped silently (0 rows back, no error) and its blank title was never validated. `insert_all!` raises on the duplicate instead.
        - **No binds**: 6.1 writes every value into the `INSERT` text, so SQLite's and PostgreSQL's bind-parameter limits do not apply, but there is no `batch_size:` either — slice the rows yourself (`each_slice(1000)`).
        - **`RETURNING "id"` on PostgreSQL only**: `insert_all` asked PostgreSQL for the new ids (visible in the timestamps gotcha's statement) and SQLite for nothing. The optimized side looks the ids up by slug, as perfblog does, because neither database promises the order of a multi-row `RETURNING`.
        - Like `update_all`, no callbacks: the tag counters by hand.
      MD
      catch: <<~MD,
        In the log, one `INSERT INTO "posts"` per row (and one per `post_tags` row) inside the import's transaction. Counting statements in the import's test at two sizes.
      MD
      docs: <<~MD,
        No contradiction: "`create` per row against `insert_all` (Rails 6+), which skips validations and callbacks" is what ran. Worth adding for 6.1: it skips timestamps too (a `NOT NULL created_at` fails), and without the bang it skips duplicates silently.
      MD
    },
    "atomic-counters" => {
      setup: "BEGIN/COMMIT are shown. " + QC,
      gotchas: <<~MD,
        - **The lost update, reproduced**: eight threads, each on its own pooled connection, read the post, wait at a barrier until all eight have read, then write. Read-add-write kept **1** of 8 views on both backends; `increment_counter` kept **8** (the barrier forces the interleaving that concurrent requests hit by chance).
        - **`post.update(view_count: …)` also writes `updated_at`**: every view changes the post's `cache_key_with_version` and expires its `cache post do` fragments. `increment_counter` and `update_counters` leave `updated_at` alone (unless `touch: true`).
        - **`increment!` is atomic in SQL in 6.1** (`UPDATE … SET view_count = COALESCE(view_count, 0) + 1`, above), though it reads the row first; `increment` without the bang followed by `save` is read-add-write.
        - **No `RETURNING` in 6.1**: to show the new count, a second statement (`pick`), where perfblog's `UPDATE … RETURNING view_count` is one.
      MD
      catch: <<~MD,
        Search for `update(x: record.x + 1)` and `x += 1; save`. A test with concurrent threads and a barrier, as above, fails on read-add-write every time.
      MD
      docs: <<~MD,
        No contradiction: "`Post.increment_counter(:view_count, post.id)` or `update_counters`, where `post.update(view_count: post.view_count + 1)` reads, adds and saves" is what ran.
      MD
    },
    "write-behind-counter" => {
      setup: "Eight views: four of post 1, … in the order `[1, 1, 2, 1, 1, 2, 1, 2]`. BEGIN/COMMIT are shown. Each view is its own request (no query cache spans them).",
      after: {
        write_behind_optimized: "Rails has no write-behind counter: this is the smallest honest hand-written one, a tally in process under a `Mutex` and a flush a scheduler would run (a Redis `INCRBY` tally would outlive the process; no Redis here). The flush is one `update_counters` per post that had views; perfblog's flush is one statement per 1,000 posts (`UPDATE … FROM (VALUES …)`), which in Rails would be hand-written SQL in `update_all`.",
      },
      gotchas: <<~MD,
        - **`Rails.cache.increment` on a `MemoryStore` does nothing to a missing key** in 6.1: it returned `nil` and stored nothing (above); it counts only after a `write`. So a tally in `Rails.cache` must be seeded (or be a Redis store, whose `INCRBY` creates the key — not run here).
        - A crash loses the tally since the last flush (in process); views shown are stored count + pending, so a page can lag by a flush in progress.
      MD
      catch: <<~MD,
        The naive side's sign is one `UPDATE "posts" SET "view_count" …` per page view in the log, and on PostgreSQL lock waits on hot rows (`pg_stat_activity`, `log_lock_waits`).
      MD
      docs: <<~MD,
        No contradiction: "Rails has no name of its own for it: the same Redis `INCR` (or `Rails.cache.increment`) and a scheduled job calling `update_counters`" holds, with one catch verified here: `Rails.cache.increment` on the default `MemoryStore` returns `nil` for a key that was never written. `docs/patterns/write-behind-counter.md` has no `rails:` line in its front matter.
      MD
    },
    "offloaded-email" => {
      setup: "BEGIN/COMMIT are shown. The mail goes to a delivery method that waits 50 ms, like the lab's SMTP server; Active Job uses its test adapter, whose queue the script then runs. " + QC,
      after: {
        offloaded_email_naive: "The request waited for the SMTP conversation: the 50 ms are in its time (and Action Mailer's first render, in this run).",
        offloaded_email_optimized: "The request answered after the comment's transaction; the mail is a job (`ActionMailer::MailDeliveryJob`) holding the comment's GlobalID.",
      },
      gotchas: <<~MD,
        - **`deliver_later` inside a transaction enqueues at once, before the commit** (6.1): the comment's transaction rolled back, the job was already queued, and when it ran it failed with `ActiveJob::DeserializationError: … Couldn't find OrmCheck::Comment with 'id'=…` (above). With a real queue the job can also run before the commit and not find the row. Rails 7.2 added `enqueue_after_transaction_commit` to defer the enqueue — not run here.
        - **The job reads again what the request had**: 3 statements (the comment by GlobalID, its post, the author) before it sends.
        - A queue outside the database cannot promise the mail survives a crash between the commit and the enqueue; perfblog's outbox row (last side above) is written in the comment's own transaction. Rails has no built-in outbox: that side is hand-written.
      MD
      catch: <<~MD,
        A request's time that tracks the mail server's (`Completed 200 OK in 250ms` with 50 ms of it in `Delivered mail` in the log). In tests, `assert_enqueued_emails` / `have_enqueued_mail` show `deliver_later` was used.
      MD
      docs: <<~MD,
        No contradiction: "`CommentMailer.new_comment(comment).deliver_later` (Active Job) instead of `deliver_now`, with the same caveat" is what ran. The caveat is sharper in 6.1 than the doc says: inside a transaction `deliver_later` enqueues before the commit, and a rolled-back comment's job still runs.
      MD
    },
    "denormalized-counters" => {
      setup: "`Comment` has `belongs_to :post, counter_cache: :comment_count` (perfblog's column name). " + QC,
      gotchas: <<~MD,
        - **`insert_all` and `delete_all` bypass the counter**: two comments inserted and one deleted left `comment_count` at 4 while `COUNT(*)` said 5 (above); so do `update_all` and raw SQL.
        - **`reset_counters` works per record**: 3 statements for one post (find, `COUNT(*)`, `UPDATE`); it found perfblog's `comment_count` through the `belongs_to`'s `counter_cache:` option. Rails has no set-based recount like perfblog's one `UPDATE … (SELECT COUNT(*) …)` for every post — that is `update_all` with hand-written SQL.
        - **`post.comments.size` reads the column only if the `has_many` names it** (`has_many :comments, counter_cache: :comment_count`); with the default name it would look for `comments_count` and count instead (run in the eager loading check).
        - **The counter's `UPDATE` does not touch `updated_at`** unless `belongs_to … touch: true` — see fragment caching for what that does to `cache post do`.
        - `tags.published_post_count` (published posts only) has no built-in: `counter_cache` counts every child row. It is kept by a callback here (see bulk updates); the counter_culture gem's conditional counters do this — not run here.
      MD
      catch: <<~MD,
        A `COUNT(*) … GROUP BY` on every page view in the log; and, for drift, a periodic job comparing each counter with a fresh count (what `perfblog recount` reports).
      MD
      docs: <<~MD,
        No contradiction: "`belongs_to :post, counter_cache: true` keeps `posts.comments_count`, and `reset_counters` is its `perfblog recount` — though `update_all` and `insert_all` skip it too" is what ran (with `counter_cache: :comment_count` for perfblog's column). Two nuances: `reset_counters` is one record at a time, not a recount of the table; and with a column not named `comments_count`, `has_many` needs the option too for `size` to use it.
      MD
    },
    "fragment-caching" => {
      setup: HTTP + " The cache store is a `MemoryStore`; `--` lines show each cache read and write by its key.",
      after: {
        fragment_caching_optimized: "The second view ran no SQL. The generation is perfblog's idea done by hand: a write bumps it (in an app, `Comment` `after_commit { Sidebar.bump! }`), and the next view misses and renders again. The fragment keys here are `views/sidebar/1`; a template file's `cache` would also put the template's digest in the key (these templates are inline).",
        fragment_caching_records: "`cache post do` keys on `post.cache_key_with_version` (`orm_check/posts/1-20261101120000000000`: the id and `updated_at`). A comment counted through `counter_cache` did **not** change `updated_at`, so the second request served the old fragment (`0 comments`) though the post had 1. With `belongs_to :post, counter_cache: :comment_count, touch: true` the counter's `UPDATE` also set `updated_at`, the key changed, and the third request rendered `2 comments`.",
        fragment_caching_rails_cache_fetch: "perfblog's `tags` table has no `updated_at`: a tag's `cache_key_with_version` is `orm_check/tags/1` and never changes, so `cache tag do` would never expire.",
      },
      gotchas: <<~MD,
        - **Record keys move only with `updated_at`**: `counter_cache` increments, `update_all`, `insert_all` and `increment_counter` leave it alone, so a fragment showing a count goes stale (verified above) unless the write touches the record (`touch: true`, or `touch` by hand).
        - **A table without `updated_at` gives keys without a version** (`tags` here).
        - Each miss on a per-record key writes a new entry; the old versions stay until the store evicts them (`MemoryStore` by size, Redis by its policy).
        - Expiry: `cache … expires_in:` / `Rails.cache.fetch(…, expires_in:)` add a TTL on top of the key; no jitter is built in (`race_condition_ttl:` softens a stampede).
      MD
      catch: <<~MD,
        In development, `config.action_controller.perform_caching = true` (`rails dev:cache`) and the log's `Read fragment views/…` / `Write fragment` lines show hits and misses; a `Write fragment` on every request means the key changes every time (a `touch` per view, say).
      MD
      docs: <<~MD,
        No contradiction: "`<% cache … do %>` fragment caching, whose keys carry the records' `cache_key_with_version` — the same idea as the generation, per record" is what ran. What the doc could add: the version is `updated_at`, which perfblog's counter writes would not move (Rails' `counter_cache` does not touch it either), and perfblog's `tags` has no `updated_at` at all — so for the sidebar a Rails app needs a generation of its own, as perfblog has, not record keys. Unlike Django's `{% cache %}` (TTL or a key you change), a record-keyed fragment does expire on a write that touches the record.
      MD
    },
    "per-view-caching" => {
      setup: HTTP + " `caches_action` is the actionpack-action_caching gem (Debian's `ruby-actionpack-action-caching` 1.2.2).",
      after: {
        per_view_caching_optimized: "After the first request the page came from the cache with no SQL. A view counted meanwhile (`UPDATE … view_count`) did not show: the cached page still said `views of the first: 0` — the whole response is cached, there are no holes. It stays until `expires_in` or `expire_action`.",
        per_view_caching_conditional_get: "`stale?(@posts)` on a relation with `includes` computed the ETag and `Last-Modified` with three statements (the `DISTINCT` ids, `MAX(updated_at)` over the joins, then `COUNT(*)`/`MAX(updated_at)` for the collection's cache version) and then rendered with the usual four. The two `304`s skipped rendering, but each still sent the three.",
      },
      gotchas: <<~MD,
        - `caches_action` runs the controller's filters (authentication) before serving from the cache, unlike page caching; the key is the host and path (`views/example.org/posts/cached`), so query strings and formats need `cache_path:`.
        - A conditional GET (`fresh_when` / `stale?`) saves the render and the bytes, not the queries that build the ETag.
        - No compression of the cached body is done by either: `Rack::Deflater` compresses every hit again, as Django's middleware does.
      MD
      catch: <<~MD,
        The log's `Completed 200 OK in … (Views: … | ActiveRecord: …)` line on every request of a page that changes rarely; with `caches_action`, `Read fragment views/…` hits.
      MD
      docs: <<~MD,
        No contradiction: "`caches_action` (the actionpack-action_caching gem, out of Rails itself since Rails 4), or HTTP caching with `fresh_when` / `stale?`" — both ran. Worth adding: `stale?` on a relation still runs its ETag's queries on every `304`.
      MD
    },
    "indexes" => {
      setup: "For this pattern the database gets 2,000 more posts and 20,000 more comments, so the planners have a reason to use an index. BEGIN/COMMIT are shown. `relation.explain` output is below each run.",
      after: {
        indexes_trigram_as_documented: "The doc's form, `add_index :posts, \"lower(title)\", using: :gin, opclass: :gin_trgm_ops`, fails in Active Record 6.1 before any `CREATE INDEX` is sent (`NoMethodError: undefined method 'values' for :gin_trgm_ops:Symbol`).",
        indexes_trigram_opclass_hash: "With `opclass:` as a hash, 6.1 drops it for an expression: it sent `USING gin (lower(title))` and PostgreSQL refused it (`data type text has no default operator class for access method \"gin\"`).",
        indexes_trigram_working: "What works in 6.1: the operator class written into the expression, `add_index :posts, \"lower(title) gin_trgm_ops\", using: :gin`. `enable_extension \"pg_trgm\"` sent `CREATE EXTENSION IF NOT EXISTS \"pg_trgm\"`.",
        indexes_optimized: "On PostgreSQL the title search still read the table (`Seq Scan`): on 2,050 posts the planner judged it cheaper. With `SET enable_seqscan = off` (run by hand in `psql`) the same query used `Bitmap Index Scan on idx_posts_title_trgm`, so the index can serve it. On SQLite it is a `SCAN` either way, as the doc says.",
      },
      gotchas: <<~MD,
        - **`relation.explain` runs the query first**, then `EXPLAIN` (each `SELECT` above is followed by its `EXPLAIN`): on a slow query you pay it twice. In 6.1 it takes no options — no `ANALYZE`; for actual rows run `EXPLAIN ANALYZE` yourself (`connection.select_all("EXPLAIN ANALYZE …")`). Rails 7.1 added options to `explain` (`:analyze`, `:verbose`) — not run here.
        - The comments index `(post_id, created_at DESC)` does not cover the query's `ORDER BY created_at DESC, id DESC`: SQLite added `USE TEMP B-TREE FOR RIGHT PART OF ORDER BY` and PostgreSQL an `Incremental Sort` (presorted on `created_at`). Cheap on 50 rows, but it is a sort.
        - On SQLite, `add_foreign_key` after `create_table` rebuilds the table (a copy through a temporary table), visible in the schema set-up; declare foreign keys in `create_table` there.
      MD
      catch: <<~MD,
        `relation.explain` in a console (output above); on PostgreSQL `pg_stat_statements` and `auto_explain` for the slow ones; in tests, perfblog's approach — fail when a page's plan reads a whole table — works the same through `explain`.
      MD
      docs: <<~MD,
        **Contradicted.** `docs/patterns/indexes.md`, "In Django and Rails": *"Rails: `add_index` in a migration — `add_index :posts, [:status, :published_at, :id], order: { published_at: :desc, id: :desc }`, and for the title search `using: :gin, opclass: :gin_trgm_ops` on `lower(title)`, after `enable_extension 'pg_trgm'`."* The first half ran as written (`CREATE INDEX … ("status", "published_at" DESC, "id" DESC)` on both backends). The second does not work in Active Record 6.1: `opclass:` is not applied to an expression (`NoMethodError` with a symbol; silently dropped with a hash, and PostgreSQL then rejects the index). The form that ran is `add_index :posts, "lower(title) gin_trgm_ops", using: :gin, name: "idx_posts_title_trgm"`. Whether Rails 7.x/8 applies `opclass:` to an expression was not verified.
      MD
    },
    "connection-pooling" => {
      setup: "Connection set-up statements (`SCHEMA`) are shown, and each statement is labelled with the connection it ran on.",
      after: {
        connection_pooling_naive: "Every new connection first sets itself up: on SQLite `PRAGMA foreign_keys = ON` and `SELECT sqlite_version(*)`; on PostgreSQL four `SET`s, two `pg_type` queries for the type map, `SHOW TIME ZONE` and `SHOW search_path` — 8 statements before the page's 3, on a new backend process.",
        connection_pooling_timing: "One run, on 2 cores shared with a build: read the ratio, not the figures. Prepared statements (PostgreSQL): listing a pooled connection's statement pool after three post pages (a separate run) showed the `tags` query prepared and neither `eager_load` query — 6.1 sends those two as unprepared statements, parsed and planned every time, pool or not.",
      },
      gotchas: <<~MD,
        - **`pool:` bounds, it does not pre-open**: Active Record opens connections lazily, up to `pool:` (5 by default in generated `database.yml`; this script used 10), and a thread that cannot get one waits `checkout_timeout` (5 s) and raises `ConnectionTimeoutError`. Size it to the server's threads (Puma's `max_threads`), not larger.
        - **Threads you start hold connections**: `ActionController::Live` actions and your own threads check out a connection of their own (see streaming and concurrent reads); wrap them in `connection_pool.with_connection`.
        - Prepared statements are per connection (`statement_limit: 1000` on PostgreSQL); behind PgBouncer in transaction mode set `prepared_statements: false`.
      MD
      catch: <<~MD,
        `ActiveRecord::Base.connection_pool.stat` (size, connections, busy, idle, waiting); on PostgreSQL `pg_stat_activity`'s count per application, and `log_connections` in the server log — a connection per request shows as one `connection authorized` line per request.
      MD
      docs: <<~MD,
        No contradiction: "Active Record's pool, sized by `pool:` in `database.yml`; a connection per request would be `establish_connection` and `disconnect!` around each" is what ran (here `establish_connection` and `remove_connection`).
      MD
    },
    "concurrent-reads" => {
      setup: "Each statement is labelled with the connection it ran on. The post is post 2 (3 tags, 4 comments).",
      after: {
        concurrent_reads_threads: "Active Record 6.1 has no `load_async`: this is the hand-written version, two threads, each with a connection from the pool. On PostgreSQL the two reads ran on two connections (B and C); on SQLite both ran on the same connection B, one after the other — the first thread had finished and given it back before the second asked — so nothing overlapped there.",
      },
      gotchas: <<~MD,
        - **`load_async` is Rails 7.0+** (`respond_to?(:load_async)` is false in 6.1, above). Not run here: it needs `config.active_record.async_query_executor` (`:global_thread_pool`), runs in the foreground inside a transaction and with transactional test fixtures, and `async_count` and friends came in 7.1.
        - A thread per read takes a connection per read: under load the page holds two connections, and the pool (`pool:`) must allow for it.
        - Statements a thread runs are outside the request's query cache and outside anything that counts per request.
      MD
      catch: <<~MD,
        rack-mini-profiler's timeline shows reads as a staircase (not packaged in Debian bookworm: not run); in the log, statements that do not depend on each other run one after another, each after the last one's time.
      MD
      docs: <<~MD,
        No contradiction in what could be run; "Rails 7 has `load_async` … It is off until `config.active_record.async_query_executor` is set" could not be verified here (6.1 has no `load_async`).
      MD
    },
  }.freeze
end
