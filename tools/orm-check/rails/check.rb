# frozen_string_literal: true

# Runs both sides of every perfblog pattern in Active Record and prints every SQL
# statement each sends, with the count.
#
#   ruby check.rb                      # SQLite (a file in the temp dir)
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/orm_check_rails ruby check.rb
#   ruby check.rb --only eager-loading --json out.json
#
# Each section runs on a freshly seeded database and a fresh pool, inside
# `ActiveRecord::Base.cache { }` (the query cache Rails turns on for every request
# and job) unless it says otherwise; statements the query cache answered are shown as
# CACHE and not counted as sent. BEGIN/COMMIT and schema look-ups are left out unless
# a section shows them.

require "digest"
require "optparse"
require_relative "patterns"

module OrmCheck
  # [key, title, method or [Class, :action], options]
  #   tx: show BEGIN/COMMIT/SAVEPOINT   schema: show SCHEMA statements
  #   qc: run inside the query cache (default true)   conn: label each statement's connection
  #   quiet: show only the count, not each statement   pg/sqlite: run on that backend only
  #   code: methods to show instead of the one run   setup: symbol run before, not captured
  NAIVE_LIST = "Naive: the view loop"
  PATTERNS = {
    "eager-loading" => [
      [:naive, NAIVE_LIST, :eager_loading_naive, {}],
      [:optimized, "Optimized: includes + one grouped count", :eager_loading_optimized, {}],
      [:naive, "Naive: the post page's comments, each author asked for", :eager_loading_comments_naive, {}],
      [:optimized, "Optimized: the comments with their authors joined (eager_load)", :eager_loading_comments_optimized, {}],
      [:extra, "preload, eager_load, includes and includes + references", :eager_loading_preload_vs_eager_load, { qc: false }],
      [:gotcha, "count vs size vs length on an association", :gotcha_count_size_length, { qc: false }],
      [:gotcha, "includes switches to one JOIN when a condition names the association", :gotcha_includes_becomes_join, { qc: false }],
      [:gotcha, "a JOIN multiplies rows", :gotcha_join_multiplies_rows, { qc: false }],
      [:catch, "strict_loading (6.1)", :catch_strict_loading, { qc: false }],
      [:catch, "counting statements through ActiveSupport::Notifications", :catch_count_queries,
       { quiet: true, code: %i[count_queries catch_count_queries] }],
      [:catch, "Bullet, as Debian packages it", :catch_bullet, { qc: false }],
    ],
    "projection" => [
      [:naive, "Naive: whole rows", :projection_naive, {}],
      [:optimized, "Optimized: select the columns shown", :projection_optimized, {}],
      [:optimized, "Optimized: pluck, bare values", :projection_pluck, {}],
      [:gotcha, "reading a column that was not selected", :gotcha_missing_attribute, { qc: false }],
      [:gotcha, "select without the foreign key, then includes", :gotcha_select_without_foreign_key, { qc: false }],
      [:gotcha, "pluck on a loaded relation", :gotcha_pluck_on_loaded_relation, { qc: false }],
    ],
    "aggregation" => [
      [:naive, "Naive: count in Ruby", :aggregation_naive, {}],
      [:optimized, "Optimized: group(...).count", :aggregation_optimized, {}],
    ],
    "keyset-pagination" => [
      [:naive, "Naive: page 2 by OFFSET", :keyset_pagination_naive, {}],
      [:optimized, "Optimized: page 2 after page 1's last (published_at, id)", :keyset_pagination_optimized, { setup: :find_cursor }],
      [:extra, "the same seek without a row value", :keyset_pagination_portable, { setup: :find_cursor }],
      [:gotcha, "a cursor without the id tie-break skips a post", :gotcha_keyset_without_tie_break, { setup: :find_cursor }],
    ],
    "exists" => [
      [:naive, "Naive: count > 0 (the busiest tag)", :exists_naive, {}],
      [:optimized, "Optimized: exists? (the busiest tag)", :exists_optimized, {}],
      [:naive, "Naive: the start-up check by counting", :exists_startup_naive, {}],
      [:optimized, "Optimized: the start-up check with exists?", :exists_startup_optimized, {}],
      [:gotcha, "present?, any?, empty?, size on a relation", :gotcha_present_any_empty, { qc: false }],
    ],
    "streaming" => [
      [:naive, "Naive: the whole export built, then sent", :streaming_naive,
       { qc: false, code: [[:PostsController, :export], :export_line] }],
      [:optimized, "Optimized: ActionController::Live, a batch at a time", :streaming_live,
       { qc: false, code: [[:ExportController, :stream]] }],
      [:extra, "ActionController::Live and a slow client (batches of 2: 25 chunks)", :streaming_live_slow_client,
       { qc: false, quiet: true, code: [:streaming_live_slow_client] }],
      [:optimized, "Optimized: an Enumerator as the response body", :streaming_enumerator,
       { qc: false, code: [[:EnumeratorExportController, :stream]] }],
      [:gotcha, "find_each ignores the relation's order", :gotcha_find_each_ignores_order, { qc: false, log: true }],
      [:gotcha, "in_batches plucks the ids first", :gotcha_in_batches, { qc: false }],
    ],
    "bulk-updates" => [
      [:naive, "Naive: load the drafts, save each (its callback keeps the tag counters)", :bulk_updates_naive,
       { tx: true, code: [:bulk_updates_naive, [:Post, :keep_tag_counters]] }],
      [:extra, "The same loop inside Post.transaction: one commit, the same statements",
       :bulk_updates_naive_in_one_transaction,
       { tx: true, code: %i[bulk_updates_naive_in_one_transaction bulk_updates_naive] }],
      [:optimized, "Optimized: update_all, the counters by hand", :bulk_updates_optimized,
       { tx: true, code: %i[bulk_updates_optimized add_to_tag_counters] }],
      [:gotcha, "update_all skips validations, callbacks and updated_at", :gotcha_update_all_skips_callbacks,
       { tx: true, qc: false, code: %i[gotcha_update_all_skips_callbacks] }],
    ],
    "bulk-inserts" => [
      [:naive, "Naive: create! per row, in one transaction", :bulk_inserts_naive, { tx: true, setup: :pick_author, code: %i[import_rows bulk_inserts_naive] }],
      [:optimized, "Optimized: insert_all!", :bulk_inserts_optimized, { tx: true, setup: :pick_author, code: %i[bulk_inserts_optimized add_to_tag_counters] }],
      [:gotcha, "insert_all sets no timestamps in 6.1", :gotcha_insert_all_without_timestamps, { tx: true, qc: false, setup: :pick_author }],
      [:gotcha, "insert_all (no bang) skips a duplicate silently, and validates nothing", :gotcha_insert_all_skips_duplicates, { tx: true, qc: false, setup: :pick_author }],
    ],
    "atomic-counters" => [
      [:naive, "Naive: read, add, update", :atomic_counters_naive, { tx: true, setup: :pick_post }],
      [:optimized, "Optimized: increment_counter", :atomic_counters_optimized, { tx: true, setup: :pick_post }],
      [:extra, "update_counters", :atomic_counters_update_counters, { tx: true, setup: :pick_post }],
      [:extra, "increment! (atomic in SQL since Rails 5.0)", :atomic_counters_increment_bang, { tx: true, setup: :pick_post }],
      [:gotcha, "8 concurrent views, read-add-write", :gotcha_lost_updates,
       { qc: false, quiet: true, setup: :pick_post, code: %i[gotcha_lost_updates race] }],
      [:gotcha, "8 concurrent views, increment_counter", :gotcha_no_lost_updates, { qc: false, quiet: true, setup: :pick_post }],
    ],
    "write-behind-counter" => [
      [:naive, "Before: increment_counter per view (8 views of 2 posts)", :write_behind_naive, { tx: true, qc: false, setup: :pick_views }],
      [:optimized, "Optimized: a tally per view, a flush per second (hand-written)", :write_behind_optimized,
       { tx: true, qc: false, setup: :pick_views, code: %i[count_view flush_views write_behind_optimized] }],
      [:gotcha, "Rails.cache.increment on a MemoryStore", :gotcha_memory_store_increment, { qc: false }],
    ],
    "offloaded-email" => [
      [:naive, "Naive: deliver_now in the request", :offloaded_email_naive, { tx: true, setup: :pick_author, timed: true }],
      [:optimized, "Optimized: deliver_later", :offloaded_email_optimized, { tx: true, setup: :pick_author, timed: true }],
      [:extra, "… and what the job does later", :offloaded_email_later, { tx: true, code: %i[perform_enqueued_jobs] }],
      [:optimized, "perfblog's way: an outbox row in the comment's transaction (hand-written)", :offloaded_email_outbox, { tx: true, setup: :pick_author, timed: true }],
      [:gotcha, "deliver_later inside a transaction that rolls back", :gotcha_deliver_later_in_rolled_back_transaction,
       { tx: true, qc: false, setup: :pick_author, code: %i[gotcha_deliver_later_in_rolled_back_transaction] }],
    ],
    "denormalized-counters" => [
      [:naive, "Before: two GROUP BYs (aggregation's optimized side)", :aggregation_optimized, {}],
      [:optimized, "Optimized: read the counters", :denormalized_counters_optimized, {}],
      [:extra, "the write that keeps posts.comment_count (counter_cache)", :denormalized_counters_write, { tx: true, setup: :pick_author }],
      [:gotcha, "insert_all and delete_all bypass the counter", :gotcha_counter_bypassed, { tx: true, qc: false, setup: :pick_author }],
      [:extra, "reset_counters, Rails' perfblog recount (one post)", :gotcha_reset_counters, { qc: false }],
    ],
    "fragment-caching" => [
      [:naive, "Naive: the sidebar read and rendered on every view (3 views)", :fragment_caching_naive,
       { qc: false, code: [[:PostsController, :sidebar]] }],
      [:optimized, "Optimized: <% cache [\"sidebar\", generation] do %> (2 views, a comment, 1 view)", :fragment_caching_optimized,
       { qc: false, tx: true, setup: :pick_author, code: [[:PostsController, :cached_sidebar], :fragment_caching_optimized] }],
      [:extra, "cache post do: the key is the record's updated_at", :fragment_caching_records,
       { qc: false, tx: true, setup: :pick_author, code: [[:PostsController, :cached_entries], :fragment_caching_records] }],
      [:extra, "Rails.cache.fetch", :fragment_caching_rails_cache_fetch, {}],
    ],
    "per-view-caching" => [
      [:naive, "Naive: every request renders (3 requests)", :per_view_caching_naive, { qc: false, code: [[:PostsController, :index]] }],
      [:optimized, "Optimized: caches_action (3 requests, a view counted, 1 request)", :per_view_caching_optimized,
       { qc: false, code: ["caches_action :cached_index, expires_in: 5.minutes", [:PostsController, :cached_index], :per_view_caching_optimized] }],
      [:extra, "HTTP caching: stale? (a 304 still runs the ETag's query)", :per_view_caching_conditional_get,
       { qc: false, code: [[:PostsController, :conditional_index], :per_view_caching_conditional_get] }],
    ],
    "indexes" => [
      [:extra, "what add_index sends", :indexes_add_index, { tx: true, schema: true }],
      [:extra, "the trigram index as the doc writes it (PostgreSQL)", :indexes_trigram_as_documented, { tx: true, schema: true, pg: true }],
      [:extra, "the trigram index with opclass as a hash (PostgreSQL)", :indexes_trigram_opclass_hash, { tx: true, schema: true, pg: true }],
      [:extra, "the trigram index, the form that works in 6.1 (PostgreSQL)", :indexes_trigram_working, { tx: true, schema: true, pg: true }],
      [:naive, "Naive: the indexes dropped, relation.explain", :indexes_naive, { tx: true, setup: :seed_big, plans: true, code: %i[indexes_naive indexes_statements] }],
      [:optimized, "Optimized: the schema's indexes, relation.explain", :indexes_optimized, { setup: :seed_big, plans: true }],
    ],
    "connection-pooling" => [
      [:naive, "Naive: a connection per request (3 requests)", :connection_pooling_naive,
       { qc: false, schema: true, conn: true, timed: true, code: %i[connection_pooling_naive post_page] }],
      [:optimized, "Optimized: the pool (3 requests)", :connection_pooling_optimized, { qc: false, schema: true, conn: true, timed: true }],
      [:extra, "time per request, 50 requests each way (noisy: 2 shared cores)", :connection_pooling_timing,
       { qc: false, quiet: true, code: ["# 50 × post_page(\"post-2\") inside connection_pool.with_connection, then 50 × (establish_connection,\n# post_page, remove_connection), each timed with a monotonic clock (connection_pooling_timing in patterns.rb)"] }],
    ],
    "concurrent-reads" => [
      [:naive, "Naive: three reads, one after another", :concurrent_reads_naive, { qc: false, conn: true }],
      [:optimized, "Optimized in 6.1: two threads, two connections (hand-written)", :concurrent_reads_threads, { qc: false, conn: true, setup: :warm_two_connections }],
      [:extra, "load_async", :concurrent_reads_load_async, { qc: false }],
    ],
  }.freeze

  class Patterns
    def find_cursor
      @cursor = Post.published.order(published_at: :desc, id: :desc).limit(20).pluck(:published_at, :id).last
    end

    # The pool already holds two open connections, as a warm server's would.
    def warm_two_connections
      2.times.map { Thread.new { ActiveRecord::Base.connection_pool.with_connection { |c| c.select_value("SELECT 1"); sleep 0.2 } } }.each(&:join)
    end

    def pick_post
      @post_id = Post.find_by!(slug: "post-1").id
    end

    def pick_author
      @author_id = User.order(:id).second.id
    end

    def pick_views
      a, b = Post.where(slug: %w[post-1 post-2]).order(:id).ids
      @views = [a, a, b, a, a, b, a, b]
    end

    def offloaded_email_later
      pick_author
      offloaded_email_optimized
      Capture.start(transactions: true)
      perform_enqueued_jobs
    end

    # 2,000 more posts and 20,000 more comments, so the planners have a reason to use
    # an index (on 50 posts PostgreSQL rightly reads the table).
    def seed_big
      pick_author
      now = Time.current
      base = Post.maximum(:id)
      (1..2000).each_slice(500) do |slice|
        Post.insert_all!(slice.map do |i|
          { author_id: @author_id, title: "Filler #{i}", slug: "filler-#{i}", excerpt: "", body: "x" * 200,
            status: i % 10 == 0 ? "draft" : "published", published_at: BASE_TIME - i * 60,
            created_at: now, updated_at: now }
        end)
      end
      ids = Post.where("id > ?", base).ids
      ids.each_slice(100) do |slice|
        Comment.insert_all!(slice.flat_map { |pid| Array.new(10) { |k| { post_id: pid, author_id: @author_id, body: "c#{k}", created_at: BASE_TIME + k } } })
      end
      caching = Tag.find_by!(slug: "caching").id
      PostTag.insert_all!(ids.each_with_index.select { |_, i| i % 3 == 0 }.map { |pid, _| { post_id: pid, tag_id: caching } })
      ActiveRecord::Base.connection.execute("ANALYZE")
    end
  end

  module Runner
    module_function

    def source_of(spec)
      return { "text" => spec } if spec.is_a?(String)
      meth = if spec.is_a?(Array)
               OrmCheck.const_get(spec[0]).instance_method(spec[1])
             else
               Patterns.instance_method(spec)
             end
      file, line = meth.source_location
      lines = File.readlines(file)
      indent = lines[line - 1][/\A */]
      out = []
      lines[(line - 1)..].each do |l|
        out << l.sub(/\A#{indent}/, "").rstrip
        break if l.rstrip == "#{indent}end"
      end
      { "text" => out.join("\n"), "file" => File.basename(file), "line" => line }
    end

    def run_section(slug, key, title, meth, opts)
      ActiveRecord::Base.establish_connection(OrmCheck.db_config) unless ActiveRecord::Base.connected?
      OrmCheck.seed!
      OrmCheck.fresh_pool!
      TALLY.clear
      ActiveJob::Base.queue_adapter.enqueued_jobs.clear
      Rails.cache.clear
      LOG.truncate(0)
      LOG.rewind
      patterns = Patterns.new
      patterns.send(opts[:setup]) if opts[:setup]
      Capture.start(transactions: opts[:tx], schema: opts[:schema])
      result = error = nil
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      begin
        result = if opts[:qc] == false
                   patterns.send(meth)
                 else
                   ActiveRecord::Base.cache { patterns.send(meth) }
                 end
      rescue StandardError => e
        error = "#{e.class}: #{e.message.lines.first&.strip}"
      end
      ms = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(1)
      events = Capture.stop || []
      plans = patterns.instance_variable_get(:@plans) if opts[:plans]
      {
        "slug" => slug, "key" => key.to_s, "title" => title, "method" => meth.to_s,
        "options" => opts.reject { |k, _| k == :code }.transform_keys(&:to_s).transform_values(&:to_s),
        "code" => Array(opts[:code] || [meth]).map { |s| source_of(s) },
        "events" => events.map(&:to_h).map { |h| h.transform_keys(&:to_s) },
        "sent" => events.count { |e| e.kind == "sql" && !e.cached && !%w[TRANSACTION SCHEMA].include?(e.name) },
        "transaction_statements" => events.count { |e| e.kind == "sql" && e.name == "TRANSACTION" },
        "schema_statements" => events.count { |e| e.kind == "sql" && e.name == "SCHEMA" },
        "cached" => events.count { |e| e.kind == "sql" && e.cached },
        "result" => result.nil? ? nil : result.inspect[0, 400],
        "error" => error, "ms" => ms, "plans" => plans,
        "log" => opts[:log] ? LOG.string.lines.map(&:strip).uniq : nil,
      }
    end

    def print_section(s)
      puts "\n== #{s['slug']} · #{s['key']}: #{s['title']} (#{s['method']})"
      conns = {}
      s["events"].each do |e|
        label = ""
        if s["options"]["conn"] && e["kind"] == "sql"
          conns[e["conn"]] ||= ("A".ord + conns.size).chr
          label = "[conn #{conns[e['conn']]}] "
        end
        if e["kind"] == "mark"
          puts "   -- #{e['sql']}"
        elsif s["options"]["quiet"]
          next
        else
          sql = e["sql"].gsub(/\s+/, " ")
          binds = e["binds"].empty? ? "" : "  #{e['binds'].inspect}"
          prefix = e["cached"] ? "CACHE " : (%w[TRANSACTION SCHEMA].include?(e["name"]) ? "(#{e['name']}) " : "")
          puts "   #{label}#{prefix}#{sql}#{binds}"
        end
      end
      (s["log"] || []).each { |l| puts "   log: #{l}" }
      (s["plans"] || []).each { |p| puts p.gsub(/^/, "   | ") }
      puts "   => #{s['result']}" if s["result"]
      puts "   !! #{s['error']}" if s["error"]
      extra = []
      extra << "#{s['cached']} answered by the query cache" if s["cached"].positive?
      extra << "#{s['transaction_statements']} BEGIN/COMMIT/SAVEPOINT" if s["transaction_statements"].positive?
      extra << "#{s['schema_statements']} SCHEMA" if s["schema_statements"].positive?
      puts "   statements sent: #{s['sent']}#{" (+ #{extra.join(', ')})" unless extra.empty?}; #{s['ms']} ms"
    end

    def main(argv)
      only = nil
      json = nil
      OptionParser.new do |o|
        o.on("--only SLUGS", "comma-separated pattern slugs") { |v| only = v.split(",") }
        o.on("--json PATH", "also write the results as JSON") { |v| json = v }
      end.parse!(argv)
      OrmCheck.connect!
      OrmCheck.define_schema!
      versions = OrmCheck.versions
      puts "Active Record #{versions['activerecord']} on #{OrmCheck.backend} (#{versions.reject { |k, _| k == 'activerecord' }.map { |k, v| "#{k} #{v}" }.join(', ')})"
      results = []
      PATTERNS.each do |slug, sections|
        next if only && !only.include?(slug)
        sections.each do |key, title, meth, opts|
          next if opts[:pg] && !POSTGRES
          next if opts[:sqlite] && POSTGRES
          s = run_section(slug, key, title, meth, opts)
          print_section(s)
          results << s
        end
      end
      File.write(json, JSON.pretty_generate("backend" => OrmCheck.backend, "versions" => versions, "sections" => results)) if json
      failed = results.select { |s| s["error"] }
      puts "\n#{results.size} sections on #{OrmCheck.backend}; #{failed.size} ended in an error they did not expect" \
           "#{": #{failed.map { |s| s['method'] }.join(', ')}" unless failed.empty?}"
    end
  end
end

OrmCheck::Runner.main(ARGV) if $PROGRAM_NAME == __FILE__
