# frozen_string_literal: true

# One method per pattern side, written as a Rails developer would write it. check.rb
# runs each, captures the SQL it sends, and cuts the method's body out of this file
# for the write-up, so the code shown is the code that ran.
#
# `mark` (a line shown among the statements) and `render_erb` (an ERB view, as a
# template would run it) are the harness; everything else is plain Active Record.

require_relative "app"
require_relative "web"

module OrmCheck
  # perfblog's columns are comment_count / published_post_count, not Rails'
  # conventional comments_count: this twin of Post tells has_many about it.
  class PostWithCounter < ApplicationRecord
    self.table_name = "posts"
    has_many :comments, foreign_key: :post_id, counter_cache: :comment_count
  end

  # What a comment with `touch: true` does to its post (fragment caching).
  class TouchingComment < ApplicationRecord
    self.table_name = "comments"
    belongs_to :post, counter_cache: :comment_count, touch: true
  end

  # The sidebar's cache generation, bumped by every write that changes it.
  module Sidebar
    def self.generation
      Rails.cache.fetch("sidebar/generation") { 1 }
    end

    def self.bump!
      Rails.cache.increment("sidebar/generation")
    end
  end

  # Write-behind: the tally a view adds to, and the lock around it.
  TALLY = Hash.new(0)
  TALLY_LOCK = Mutex.new

  module Views
    def export_line(post)
      { title: post.title, slug: post.slug, body: post.body, status: post.status,
        published_at: post.published_at, author: post.author.email,
        tags: post.tags.map(&:slug) }.to_json + "\n"
    end
  end

  class PostsController < ActionController::Base
    include Views

    LIST = <<~ERB
      <% @posts.each do |post| %><h2><%= post.title %></h2> by <%= post.author.name %>
      <%= post.tags.map(&:name).join(", ") %> · <%= post.comment_count %> comments
      <% end %>views of the first: <%= @posts.first.view_count %>
    ERB

    def index
      @posts = Post.published.order(published_at: :desc, id: :desc).limit(20)
                   .includes(:author, :tags)
      render inline: LIST
    end

    caches_action :cached_index, expires_in: 5.minutes

    def cached_index
      @posts = Post.published.order(published_at: :desc, id: :desc).limit(20)
                   .includes(:author, :tags)
      render inline: LIST
    end

    def conditional_index
      @posts = Post.published.order(published_at: :desc, id: :desc).limit(20)
                   .includes(:author, :tags)
      render inline: LIST if stale?(@posts)
    end

    SIDEBAR = <<~ERB
      <% @tags.each do |tag| %><%= tag.name %> (<%= tag.published_post_count %>) <% end %>
      <% @most_discussed.each do |post| %><li><%= post.title %> · <%= post.comment_count %></li><% end %>
    ERB

    def sidebar
      @tags = Tag.order(:name)
      @most_discussed = Post.published.order(comment_count: :desc, id: :asc).limit(5)
      render inline: SIDEBAR
    end

    def cached_sidebar
      @tags = Tag.order(:name)
      @most_discussed = Post.published.order(comment_count: :desc, id: :asc).limit(5)
      render inline: <<~ERB
        <% cache ["sidebar", OrmCheck::Sidebar.generation] do %>#{SIDEBAR}<% end %>
      ERB
    end

    def cached_entries
      @posts = Post.published.order(published_at: :desc, id: :desc).limit(3)
      render inline: <<~ERB
        <% @posts.each do |post| %><% cache post do %>
          <h2><%= post.title %></h2> · <%= post.comment_count %> comments
        <% end %><% end %>
      ERB
    end

    def export
      posts = Post.includes(:author, :tags).order(:id)
      render body: posts.map { |post| export_line(post) }.join,
             content_type: "application/x-ndjson"
    end
  end

  class ExportController < ActionController::Base
    include ActionController::Live
    include Views

    def stream
      response.headers["Content-Type"] = "application/x-ndjson"
      Post.includes(:author, :tags).find_in_batches(batch_size: params.fetch(:batch, 20).to_i) do |batch|
        response.stream.write(batch.map { |post| export_line(post) }.join)
      end
    ensure
      response.stream.close
    end
  end

  class EnumeratorExportController < ActionController::Base
    include Views

    def stream
      headers["Content-Type"] = "application/x-ndjson"
      self.response_body = Enumerator.new do |out|
        Post.includes(:author, :tags).find_in_batches(batch_size: 20) do |batch|
          out << batch.map { |post| export_line(post) }.join
        end
      end
      Capture.mark("the action has returned: no export statement has run yet")
    end
  end

  ROUTES.draw do
    get "/posts" => "orm_check/posts#index"
    get "/posts/cached" => "orm_check/posts#cached_index"
    get "/posts/conditional" => "orm_check/posts#conditional_index"
    get "/sidebar" => "orm_check/posts#sidebar"
    get "/sidebar/cached" => "orm_check/posts#cached_sidebar"
    get "/entries/cached" => "orm_check/posts#cached_entries"
    get "/export" => "orm_check/posts#export"
    get "/export/stream" => "orm_check/export#stream"
    get "/export/enumerator" => "orm_check/enumerator_export#stream"
  end
  [PostsController, ExportController, EnumeratorExportController].each { |c| c.include ROUTES.url_helpers }

  class Patterns
    include Views

    def mark(text)
      Capture.mark(text)
      nil
    end

    def render_erb(template)
      html = ERB.new(template).result(binding)
      mark "rendered #{html.scan('<h2>').size} entries"
      Digest::SHA1.hexdigest(html)[0, 12]
    end

    # Requests a path as a browser would, and says what came back, chunk by chunk.
    def get(path, headers = {}, show: nil, chunks: false, slow: nil)
      count = 0
      status, resp_headers, body = OrmCheck.request(path, headers, on_chunk: lambda do |code, chunk|
        count += 1
        read = Capture.events.to_a.count { |e| e.sql.start_with?('SELECT "posts".*') } if slow
        mark "client received #{count == 1 ? "HTTP #{code} and " : ''}chunk #{count}: #{chunk.bytesize} bytes" \
             "#{" (batches the server has read so far: #{read})" if slow}" if chunks
        sleep slow if slow
      end)
      etag = resp_headers["ETag"]
      mark "HTTP #{status}, #{body.bytesize} bytes in #{count} chunk(s)#{" (ETag #{etag})" if etag}" \
           "#{": #{body[show]&.strip.inspect}" if show}"
      body
    end

    # ---------------------------------------------------------------- eager loading

    def eager_loading_naive
      @posts = Post.published.order(published_at: :desc, id: :desc).limit(20)
      render_erb <<~ERB
        <% @posts.each do |post| %>
          <h2><%= post.title %></h2> by <%= post.author.name %>
          <%= post.tags.map(&:name).join(", ") %> · <%= post.comments.count %> comments
        <% end %>
      ERB
    end

    def eager_loading_optimized
      @posts = Post.published.order(published_at: :desc, id: :desc).limit(20)
                   .includes(:author, :tags)
      @comment_counts = Comment.where(post_id: @posts.map(&:id)).group(:post_id).count
      render_erb <<~ERB
        <% @posts.each do |post| %>
          <h2><%= post.title %></h2> by <%= post.author.name %>
          <%= post.tags.map(&:name).join(", ") %> · <%= @comment_counts.fetch(post.id, 0) %> comments
        <% end %>
      ERB
    end

    def eager_loading_comments_naive
      post = Post.published.find_by!(slug: "post-2")
      post.comments.order(created_at: :desc, id: :desc).limit(50)
          .map { |comment| "#{comment.author.name}: #{comment.body}" }
    end

    def eager_loading_comments_optimized
      post = Post.published.find_by!(slug: "post-2")
      post.comments.eager_load(:author).order(created_at: :desc, id: :desc).limit(50)
          .map { |comment| "#{comment.author.name}: #{comment.body}" }
    end

    def eager_loading_preload_vs_eager_load
      Post.published.order(:id).limit(3).preload(:author).to_a
      Post.published.order(:id).limit(3).eager_load(:author).to_a
      Post.published.order(:id).limit(3).includes(:author).to_a
      Post.published.order(:id).limit(3).includes(:author).references(:author).to_a
      nil
    end

    def gotcha_count_size_length
      post = Post.find_by!(slug: "post-2")
      mark "post.comments.count  => #{post.comments.count}"
      mark "post.comments.size   => #{post.comments.size}"
      mark "post.comments.length => #{post.comments.length}"
      mark "post.comments.count  => #{post.comments.count}  (loaded now, still counts)"
      mark "post.comments.size   => #{post.comments.size}  (loaded now: no query)"
      counted = PostWithCounter.find_by!(slug: "post-2")
      mark "with has_many counter_cache: :comment_count, size => #{counted.comments.size}"
    end

    def gotcha_includes_becomes_join
      posts = Post.includes(:tags).where(tags: { slug: "caching" }).order(:id).limit(3).to_a
      mark "#{posts.first.slug}.tags => #{posts.first.tags.map(&:slug)} (only the tag matched)"
      mark "#{posts.first.slug} has #{PostTag.where(post_id: posts.first.id).count} tags"
    end

    def gotcha_join_multiplies_rows
      mark "Post.count                            => #{Post.count}"
      mark "Post.joins(:tags).count               => #{Post.joins(:tags).count}"
      mark "Post.joins(:tags, :comments).count    => #{Post.joins(:tags, :comments).count}"
      mark "... .distinct.count                   => #{Post.joins(:tags, :comments).distinct.count}"
      mark "eager_load(:tags, :comments) rows     => " \
           "#{Post.eager_load(:tags, :comments).to_a.size} posts built from the joined rows"
    end

    def catch_strict_loading
      posts = Post.strict_loading.published.order(:id).limit(2).to_a
      mark "comments.count on a strict_loading record => #{posts.first.comments.count} (allowed)"
      posts.first.author.name
    rescue ActiveRecord::StrictLoadingViolationError => e
      mark "#{e.class}: #{e.message}"
    end

    def count_queries(&block)
      count = 0
      counter = lambda do |*, payload|
        count += 1 unless %w[SCHEMA TRANSACTION].include?(payload[:name]) || payload[:cached]
      end
      ActiveSupport::Notifications.subscribed(counter, "sql.active_record", &block)
      count
    end

    def catch_count_queries
      mark "naive list:     #{count_queries { eager_loading_naive }} statements"
      mark "optimized list: #{count_queries { eager_loading_optimized }} statements"
    end

    def catch_bullet
      require "bullet"
      Bullet.enable = true
    rescue Exception => e # rubocop:disable Lint/RescueException
      mark "Bullet #{Gem.loaded_specs['bullet']&.version}: #{e.class}: #{e.message}"
    end

    # ------------------------------------------------------------------- projection

    def projection_naive
      posts = Post.published.order(published_at: :desc, id: :desc).limit(21).to_a
      posts.sum { |post| post.attributes.values.sum { |v| v.to_s.bytesize } }
    end

    def projection_optimized
      posts = Post.published.order(published_at: :desc, id: :desc).limit(21)
                  .select(:id, :author_id, :title, :slug, :excerpt, :published_at, :comment_count)
      posts.sum { |post| post.attributes.values.sum { |v| v.to_s.bytesize } }
    end

    def projection_pluck
      Post.published.order(published_at: :desc, id: :desc).limit(21)
          .pluck(:id, :title, :slug, :published_at).size
    end

    def gotcha_missing_attribute
      post = Post.select(:id, :title).find_by!(slug: "post-1")
      post.body
    rescue ActiveModel::MissingAttributeError => e
      mark "#{e.class}: #{e.message} (no query: Rails raises, Django would query)"
    end

    def gotcha_select_without_foreign_key
      Post.select(:id, :title).includes(:author).limit(2).map { |post| post.author&.name }
    rescue ActiveModel::MissingAttributeError => e
      mark "#{e.class}: #{e.message}"
    end

    def gotcha_pluck_on_loaded_relation
      posts = Post.published.limit(5).load
      mark "pluck on the loaded relation => #{posts.pluck(:id).size} ids"
      mark "pluck on a new relation      => #{Post.published.limit(5).pluck(:id).size} ids"
    end

    # ------------------------------------------------------------------ aggregation

    def aggregation_naive
      tag_cloud = Tag.order(:name).map { |tag| [tag.name, tag.posts.select(&:published?).size] }
      most_discussed = Post.published.includes(:comments)
                           .max_by(5) { |post| [post.comments.size, -post.id] }.map(&:title)
      [tag_cloud, most_discussed]
    end

    def aggregation_optimized
      counts = PostTag.joins(:post).where(posts: { status: "published" }).group(:tag_id).count
      tag_cloud = Tag.order(:name).map { |tag| [tag.name, counts.fetch(tag.id, 0)] }
      most_discussed = Post.published.joins(:comments).group(:id, :title)
                           .order(Arel.sql("COUNT(*) DESC"), :id).limit(5).count.keys.map(&:last)
      [tag_cloud, most_discussed]
    end

    # ----------------------------------------------------------- keyset pagination

    def keyset_pagination_naive
      page = 2 # ?page=2, as Kaminari's page(2).per(20) or will_paginate would ask
      Post.published.order(published_at: :desc, id: :desc)
          .offset((page - 1) * 20).limit(20).pluck(:id)
    end

    def keyset_pagination_optimized
      published_at, id = @cursor # page 1's last entry, from ?after=
      Post.published.where("(posts.published_at, posts.id) < (?, ?)", published_at, id)
          .order(published_at: :desc, id: :desc).limit(20).pluck(:id)
    end

    def keyset_pagination_portable
      t, id = @cursor # the same seek without a row value
      Post.published.where("posts.published_at < ? OR (posts.published_at = ? AND posts.id < ?)", t, t, id)
          .order(published_at: :desc, id: :desc).limit(20).pluck(:id)
    end

    def gotcha_keyset_without_tie_break
      published_at, _id = @cursor
      Post.published.where(published_at: ...published_at)
          .order(published_at: :desc).limit(20).pluck(:id)
    end

    # ------------------------------------------------------------------------ exists

    def exists_naive
      Post.published.joins(:tags).where(tags: { slug: "rust" }).count > 0
    end

    def exists_optimized
      Post.published.joins(:tags).where(tags: { slug: "rust" }).exists?
    end

    def exists_startup_naive
      User.count > 0 || Post.count > 0
    end

    def exists_startup_optimized
      User.exists? || Post.exists?
    end

    def gotcha_present_any_empty
      rust = -> { Post.published.joins(:tags).where(tags: { slug: "rust" }) }
      mark "present?   => #{rust.call.present?}"
      mark "any?       => #{rust.call.any?}"
      mark "empty?     => #{rust.call.empty?}"
      mark "size > 0   => #{rust.call.size > 0}"
      loaded = rust.call.load
      mark "loaded.any? => #{loaded.any?}   loaded.exists? => #{loaded.exists?}"
    end

    # -------------------------------------------------------------------- streaming

    def streaming_naive
      get "/export", chunks: true # PostsController#export
    end

    def streaming_live
      get "/export/stream", chunks: true # ExportController#stream (ActionController::Live)
    end

    def streaming_live_slow_client
      get "/export/stream?batch=2", chunks: true, slow: 0.02 # 25 chunks, a client reading slowly
    end

    def streaming_enumerator
      get "/export/enumerator", chunks: true # EnumeratorExportController#stream
    end

    def gotcha_find_each_ignores_order
      ids = Post.published.order(published_at: :desc).find_each(batch_size: 20).first(3).map(&:id)
      mark "first three ids => #{ids} (by id, not by published_at)"
      ids = Post.published.find_each(batch_size: 20, order: :desc).first(3).map(&:id)
      mark "find_each(order: :desc) => #{ids} (6.1+: the primary key, descending)"
    end

    def gotcha_in_batches
      Post.published.in_batches(of: 20) { |batch| batch.each { |post| post.title } }
    end

    # ----------------------------------------------------------------- bulk updates

    def bulk_updates_naive
      Post.where(status: "draft").each do |post|
        post.update!(status: "published", published_at: Time.current)
      end
    end

    def bulk_updates_naive_in_one_transaction
      Post.transaction { bulk_updates_naive }
    end

    def bulk_updates_optimized
      Post.transaction do
        ids = Post.where(status: "draft").lock.pluck(:id) # FOR UPDATE on PostgreSQL
        Post.where(id: ids).update_all(status: "published", published_at: Time.current,
                                       updated_at: Time.current)
        add_to_tag_counters(ids) # update_all ran no callback: the counters by hand
      end
    end

    def add_to_tag_counters(post_ids)
      Tag.where(id: PostTag.where(post_id: post_ids).select(:tag_id)).update_all([<<~SQL, post_ids])
        published_post_count = published_post_count + (SELECT COUNT(*) FROM post_tags
          WHERE post_tags.tag_id = tags.id AND post_tags.post_id IN (?))
      SQL
    end

    def gotcha_update_all_skips_callbacks
      post = Post.find_by!(slug: "post-41") # a draft
      Post.where(id: post.id).update_all(status: "published", title: "")
      fresh = Post.find(post.id)
      mark "update_all saved title #{fresh.title.inspect}, updated_at still #{fresh.updated_at.iso8601}"
      mark "tag counters drifted: #{counters_drifted}"
      fresh.update!(title: "")
    rescue ActiveRecord::RecordInvalid => e
      mark "update! on the same row: #{e.class}: #{e.message}"
    end

    # Tags whose published_post_count differs from a fresh count (perfblog recount).
    def counters_drifted
      fresh = PostTag.joins(:post).where(posts: { status: "published" }).group(:tag_id).count
      Tag.all.reject { |tag| tag.published_post_count == fresh.fetch(tag.id, 0) }.map(&:slug)
    end

    # ----------------------------------------------------------------- bulk inserts

    def import_rows
      (1..10).map do |i|
        { title: "Imported #{i}", slug: "imported-#{i}", excerpt: "…", body: "Body #{i}",
          status: "published", published_at: BASE_TIME, author_id: @author_id,
          tag_slugs: %w[sql ops] }
      end
    end

    def bulk_inserts_naive
      rows = import_rows
      tags = Tag.where(slug: rows.flat_map { |row| row[:tag_slugs] }.uniq).index_by(&:slug)
      Post.transaction do
        rows.each do |row|
          Post.create!(row.except(:tag_slugs).merge(tags: tags.values_at(*row[:tag_slugs])))
        end
      end
    end

    def bulk_inserts_optimized
      rows, now = import_rows, Time.current
      Post.transaction do
        Post.insert_all!(rows.map { |row| row.except(:tag_slugs).merge(created_at: now, updated_at: now) })
        ids = Post.where(slug: rows.map { |row| row[:slug] }).pluck(:slug, :id).to_h
        tags = Tag.where(slug: rows.flat_map { |row| row[:tag_slugs] }.uniq).pluck(:slug, :id).to_h
        PostTag.insert_all!(rows.flat_map do |row|
          row[:tag_slugs].map { |slug| { post_id: ids[row[:slug]], tag_id: tags[slug] } }
        end)
        add_to_tag_counters(ids.values) # insert_all ran no callback either
      end
    end

    def gotcha_insert_all_without_timestamps
      Post.insert_all!([import_rows.first.except(:tag_slugs)])
    rescue ActiveRecord::NotNullViolation => e
      mark "#{e.class}: #{e.message.lines.first.strip}"
    end

    def gotcha_insert_all_skips_duplicates
      now = Time.current
      rows = [import_rows.first.except(:tag_slugs).merge(slug: "post-1", title: "", created_at: now, updated_at: now)]
      result = Post.insert_all(rows)
      mark "insert_all of an existing slug and a blank title => #{result.rows.size} row(s) back, no error; " \
           "post-1 title still #{Post.find_by!(slug: 'post-1').title.inspect}"
    end

    # -------------------------------------------------------------- atomic counters

    def atomic_counters_naive
      post = Post.find(@post_id)
      post.update(view_count: post.view_count + 1)
      post.view_count
    end

    def atomic_counters_optimized
      Post.increment_counter(:view_count, @post_id)
      Post.where(id: @post_id).pick(:view_count) # to show it: no RETURNING in 6.1
    end

    def atomic_counters_update_counters
      Post.update_counters(@post_id, view_count: 1)
    end

    def atomic_counters_increment_bang
      post = Post.find(@post_id)
      post.increment!(:view_count)
      post.view_count
    end

    def race(threads: 8)
      barrier = Concurrent::CyclicBarrier.new(threads)
      Array.new(threads) do
        Thread.new do
          ActiveRecord::Base.connection_pool.with_connection { yield barrier }
        end
      end.each(&:join)
    end

    def gotcha_lost_updates
      Post.where(id: @post_id).update_all(view_count: 0)
      race do |barrier|
        post = Post.find(@post_id)
        barrier.wait # all eight have read before any writes
        post.update(view_count: post.view_count + 1)
      end
      mark "8 concurrent views, read-add-write: view_count = #{Post.find(@post_id).view_count}"
    end

    def gotcha_no_lost_updates
      Post.where(id: @post_id).update_all(view_count: 0)
      race do |barrier|
        post = Post.find(@post_id)
        barrier.wait
        Post.increment_counter(:view_count, post.id)
      end
      mark "8 concurrent views, increment_counter: view_count = #{Post.find(@post_id).view_count}"
    end

    # --------------------------------------------------------- write-behind counter

    def write_behind_naive
      @views.each { |post_id| Post.increment_counter(:view_count, post_id) }
    end

    def count_view(post_id) # per page view: no write, one read by primary key
      pending = TALLY_LOCK.synchronize { TALLY[post_id] += 1 }
      Post.where(id: post_id).pick(:view_count) + pending
    end

    def flush_views # a scheduled job, about once a second
      pending = TALLY_LOCK.synchronize { TALLY.dup.tap { TALLY.clear } }
      Post.transaction do
        pending.each { |post_id, views| Post.update_counters(post_id, view_count: views) }
      end
    end

    def write_behind_optimized
      shown = @views.map { |post_id| count_view(post_id) }
      mark "pages showed #{shown}; nothing written yet"
      flush_views
    end

    def gotcha_memory_store_increment
      cache = ActiveSupport::Cache::MemoryStore.new
      mark "increment of a missing key  => #{cache.increment('views/1').inspect}"
      cache.write("views/1", 0)
      mark "after write(key, 0)         => #{cache.increment('views/1').inspect}"
    end

    # -------------------------------------------------------------- offloaded email

    def offloaded_email_naive
      post = Post.find_by!(slug: "post-1")
      comment = post.comments.create!(author_id: @author_id, body: "Nice post")
      CommentMailer.new_comment(comment).deliver_now
    end

    def offloaded_email_optimized
      post = Post.find_by!(slug: "post-1")
      comment = post.comments.create!(author_id: @author_id, body: "Nice post")
      CommentMailer.new_comment(comment).deliver_later
    end

    def perform_enqueued_jobs # what the Active Job worker does, later
      jobs = ActiveJob::Base.queue_adapter.enqueued_jobs
      mark "#{jobs.size} job(s) queued: #{jobs.map { |job| job['job_class'] }.uniq.join(', ')}"
      jobs.dup.each { |job| ActiveJob::Base.execute(job) }.tap { jobs.clear }
    end

    def offloaded_email_outbox
      post = Post.find_by!(slug: "post-1")
      Comment.transaction do
        comment = post.comments.create!(author_id: @author_id, body: "Nice post")
        EmailOutbox.create!(recipient: post.author.email, subject: "New comment on #{post.title}",
                            body: comment.body, status: "pending", next_attempt_at: Time.current)
      end
    end

    def gotcha_deliver_later_in_rolled_back_transaction
      post = Post.find_by!(slug: "post-1")
      Comment.transaction do
        comment = post.comments.create!(author_id: @author_id, body: "Rolled back")
        CommentMailer.new_comment(comment).deliver_later
        raise ActiveRecord::Rollback
      end
      perform_enqueued_jobs
    rescue ActiveJob::DeserializationError => e
      mark "the job ran for a comment that was never committed: #{e.class}: #{e.message}"
    end

    # -------------------------------------------------------- denormalized counters

    def denormalized_counters_optimized
      tag_cloud = Tag.order(:name).pluck(:name, :published_post_count)
      most_discussed = Post.published.order(comment_count: :desc, id: :asc).limit(5).pluck(:title)
      [tag_cloud, most_discussed]
    end

    def denormalized_counters_write
      post = Post.find_by!(slug: "post-1")
      post.comments.create!(author_id: @author_id, body: "Nice post")
    end

    def gotcha_counter_bypassed
      post = Post.find_by!(slug: "post-2")
      Comment.insert_all!(Array.new(2) { { post_id: post.id, author_id: @author_id, body: "imported", created_at: Time.current } })
      Comment.where(post_id: post.id).order(:id).limit(1).delete_all
      mark "comment_count #{post.reload.comment_count}, COUNT(*) #{post.comments.count}"
    end

    def gotcha_reset_counters
      post = Post.find_by!(slug: "post-2")
      Post.where(id: post.id).update_all(comment_count: 99) # drifted
      Post.reset_counters(post.id, :comments)
      mark "after reset_counters: comment_count #{post.reload.comment_count}"
    end

    # ------------------------------------------------------------- fragment caching

    def fragment_caching_naive
      3.times { get "/sidebar" } # PostsController#sidebar, three page views
    end

    def fragment_caching_optimized
      2.times { get "/sidebar/cached" } # PostsController#cached_sidebar
      Post.find_by!(slug: "post-1").comments.create!(author_id: @author_id, body: "Hi")
      Sidebar.bump! # in a real app: Comment after_commit { Sidebar.bump! }
      get "/sidebar/cached"
    end

    def fragment_caching_records
      get "/entries/cached", show: /<h2>.*?comments/ # cache post do … end
      post = Post.find_by!(slug: "post-1")
      post.comments.create!(author_id: @author_id, body: "counted, not touched")
      get "/entries/cached", show: /<h2>.*?comments/ # the fragment still says 0
      TouchingComment.create!(post_id: post.id, author_id: @author_id, body: "touch: true", created_at: Time.current)
      get "/entries/cached", show: /<h2>.*?comments/ # updated_at moved: a new key, a miss
    end

    def fragment_caching_rails_cache_fetch
      key = ["sidebar", Sidebar.generation]
      2.times { Rails.cache.fetch(key, expires_in: 5.minutes) { denormalized_counters_optimized } }
      mark "Tag.first.cache_key_with_version => #{Tag.first.cache_key_with_version.inspect} (tags has no updated_at)"
    end

    # ------------------------------------------------------------- per-view caching

    def per_view_caching_naive
      3.times { get "/posts" } # PostsController#index
    end

    def per_view_caching_optimized
      3.times { get "/posts/cached", show: /views of the first: \d+/ } # caches_action
      Post.increment_counter(:view_count, Post.find_by!(slug: "post-1").id)
      get "/posts/cached", show: /views of the first: \d+/ # the count inside does not move
    end

    def per_view_caching_conditional_get
      etag = OrmCheck.request("/posts/conditional")[1]["ETag"]
      mark "first response's ETag: #{etag}"
      2.times { get("/posts/conditional", { "HTTP_IF_NONE_MATCH" => etag }) }
    end

    # ---------------------------------------------------------------------- indexes

    def indexes_statements
      post = Post.find_by!(slug: "post-1")
      tag = Tag.find_by!(slug: "caching")
      [post.comments.order(created_at: :desc, id: :desc).limit(50),
       Post.published.order(published_at: :desc, id: :desc).limit(21),
       tag.posts.published.order(published_at: :desc, id: :desc).limit(21),
       Post.where("LOWER(title) LIKE ?", "%cache latency%")].map(&:explain)
    end

    def indexes_naive
      Post.transaction do # DROP INDEX is transactional on both backends: rolled back below
        { posts: "idx_posts_status_published_at_id", post_tags: "idx_post_tags_tag_id_post_id",
          comments: "idx_comments_post_id_created_at" }.each do |table, name|
          ActiveRecord::Base.connection.remove_index table, name: name
        end
        ActiveRecord::Base.connection.remove_index :posts, name: "idx_posts_title_trgm" if POSTGRES
        @plans = indexes_statements
        raise ActiveRecord::Rollback
      end
    end

    def indexes_optimized
      @plans = indexes_statements
    end

    def indexes_add_index
      Post.transaction do
        ActiveRecord::Base.connection.remove_index :posts, name: "idx_posts_status_published_at_id"
        ActiveRecord::Base.connection.add_index :posts, [:status, :published_at, :id],
          order: { published_at: :desc, id: :desc }, name: "idx_posts_status_published_at_id"
        raise ActiveRecord::Rollback
      end
    end

    def indexes_trigram_as_documented
      ActiveRecord::Base.connection.enable_extension "pg_trgm"
      ActiveRecord::Base.connection.transaction(requires_new: true) do
        ActiveRecord::Base.connection.add_index :posts, "lower(title)", using: :gin,
          opclass: :gin_trgm_ops, name: "idx_posts_title_trgm"
      end
    rescue NoMethodError, ActiveRecord::StatementInvalid => e
      mark "#{e.class}: #{e.message.lines.first.strip}"
    end

    def indexes_trigram_opclass_hash
      ActiveRecord::Base.connection.enable_extension "pg_trgm"
      ActiveRecord::Base.connection.transaction(requires_new: true) do
        ActiveRecord::Base.connection.add_index :posts, "lower(title)", using: :gin,
          opclass: { title: :gin_trgm_ops }, name: "idx_posts_title_trgm"
      end
    rescue ActiveRecord::StatementInvalid => e
      mark "#{e.class}: #{e.message.lines.first.strip}"
    end

    def indexes_trigram_working
      ActiveRecord::Base.connection.enable_extension "pg_trgm"
      ActiveRecord::Base.connection.add_index :posts, "lower(title) gin_trgm_ops", using: :gin,
        name: "idx_posts_title_trgm"
    end

    # ----------------------------------------------------------- connection pooling

    def post_page(slug)
      post = Post.published.eager_load(:author).find_by!(slug: slug)
      [post, post.tags.to_a, post.comments.eager_load(:author).order(created_at: :desc, id: :desc).limit(50).to_a]
    end

    def connection_pooling_naive
      3.times do # a connection per request
        ActiveRecord::Base.establish_connection(OrmCheck.db_config)
        post_page("post-2")
        ActiveRecord::Base.remove_connection
      end
    end

    def connection_pooling_optimized
      3.times do # a connection from the pool per request
        ActiveRecord::Base.connection_pool.with_connection { post_page("post-2") }
      end
    end

    def connection_pooling_timing
      n = 50
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      n.times { ActiveRecord::Base.connection_pool.with_connection { post_page("post-2") } }
      t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      n.times do
        ActiveRecord::Base.establish_connection(OrmCheck.db_config)
        post_page("post-2")
        ActiveRecord::Base.remove_connection
      end
      t2 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      ActiveRecord::Base.establish_connection(OrmCheck.db_config)
      mark format("pool: %.2f ms a request; connection per request: %.2f ms a request",
                  (t1 - t0) * 1000 / n, (t2 - t1) * 1000 / n)
    end

    # ----------------------------------------------------------- concurrent reads

    def concurrent_reads_naive
      post = Post.published.eager_load(:author).find_by!(slug: "post-2")
      tags = post.tags.to_a
      comments = post.comments.eager_load(:author).order(created_at: :desc, id: :desc).limit(50).to_a
      [post.id, tags.size, comments.size]
    end

    def concurrent_reads_threads
      post = Post.published.eager_load(:author).find_by!(slug: "post-2")
      tags, comments = [post.tags, post.comments.eager_load(:author).order(created_at: :desc, id: :desc).limit(50)]
        .map { |rel| Thread.new { ActiveRecord::Base.connection_pool.with_connection { rel.to_a } } }
        .map(&:value)
      [post.id, tags.size, comments.size]
    end

    def concurrent_reads_load_async
      comments = Comment.where(post_id: 2).order(created_at: :desc, id: :desc).limit(50)
      mark "Active Record #{ActiveRecord::VERSION::STRING}: relation.respond_to?(:load_async) => " \
           "#{comments.respond_to?(:load_async)}"
    end
  end
end
