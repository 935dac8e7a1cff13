# frozen_string_literal: true

# perfblog's schema, models and a small seed, in Active Record, for check.rb.
#
# SQLite by default (a file, so several connections can share it); PostgreSQL when
# DATABASE_URL is set, e.g. postgres://postgres@127.0.0.1:5432/orm_check_rails.
# Table and column names are perfblog's (migrations/src/*.rs), so the SQL below is
# the SQL a Rails app on perfblog's schema would send.

require "active_record"
require "active_support/notifications"
require "erb"
require "json"
require "logger"
require "stringio"
require "tmpdir"

module OrmCheck
  DATABASE_URL = ENV["DATABASE_URL"]
  POSTGRES = !!(DATABASE_URL && DATABASE_URL.start_with?("postgres"))
  SQLITE_PATH = ENV.fetch("SQLITE_PATH", File.join(Dir.tmpdir, "orm_check_rails.sqlite3"))

  # What establish_connection gets: the same hash a database.yml entry would hold.
  def self.db_config
    if POSTGRES
      { url: DATABASE_URL, pool: 10 }
    else
      { adapter: "sqlite3", database: SQLITE_PATH, pool: 10, timeout: 5000 }
    end
  end

  def self.backend
    POSTGRES ? "postgresql" : "sqlite"
  end

  # Log output (warnings such as find_each's "Scoped order is ignored") goes here, so
  # check.rb can show it next to the SQL.
  LOG = StringIO.new
  ActiveRecord::Base.logger = Logger.new(LOG, level: Logger::WARN)

  def self.connect!
    File.delete(SQLITE_PATH) if !POSTGRES && File.exist?(SQLITE_PATH) && !@connected
    @connected = true
    ActiveRecord::Base.establish_connection(db_config)
  end

  # --- SQL capture -----------------------------------------------------------------
  #
  # Every statement Active Record sends is instrumented as `sql.active_record`; this is
  # all an `assert_queries`-style helper needs.
  module Capture
    Event = Struct.new(:kind, :name, :sql, :binds, :cached, :thread, :conn, keyword_init: true)
    @events = nil
    @lock = Mutex.new
    @threads = {}

    class << self
      attr_reader :events

      def start(transactions: false, schema: false)
        @lock.synchronize do
          @events = []
          @threads = {}
          @transactions = transactions
          @schema = schema
        end
      end

      def stop
        @lock.synchronize { e = @events; @events = nil; e }
      end

      def record(payload)
        name = payload[:name].to_s
        return if @events.nil?
        return if name == "SCHEMA" && !@schema
        return if name == "TRANSACTION" && !@transactions
        # SQLite's adapter sends its connect-time PRAGMAs with no name
        sql = payload[:sql].to_s.strip
        binds = payload[:binds] || []
        casted = payload[:type_casted_binds]
        casted = casted.call if casted.respond_to?(:call)
        pairs = binds.each_with_index.map do |b, i|
          value = casted ? casted[i] : (b.respond_to?(:value_for_database) ? b.value_for_database : b)
          value = value.to_s[0, 24] + "…" if value.is_a?(String) && value.size > 25
          [b.respond_to?(:name) ? b.name : nil, value]
        end
        @lock.synchronize do
          return if @events.nil?
          thread = (@threads[Thread.current] ||= @threads.size + 1)
          conn = payload[:connection]&.object_id
          @events << Event.new(kind: "sql", name: name, sql: sql, binds: pairs,
                               cached: payload[:cached] ? true : false, thread: thread, conn: conn)
        end
      end

      # A line that is not SQL (a chunk written to the response, a mail sent, a
      # result), shown in order among the statements.
      def mark(text)
        @lock.synchronize do
          next if @events.nil?
          thread = (@threads[Thread.current] ||= @threads.size + 1)
          @events << Event.new(kind: "mark", sql: text, binds: [], thread: thread)
        end
        nil
      end
    end
  end

  ActiveSupport::Notifications.subscribe("sql.active_record") do |*, payload|
    Capture.record(payload)
  end

  # --- schema ----------------------------------------------------------------------

  TABLES = %w[email_outbox comments post_tags posts tags users].freeze

  def self.ts
    POSTGRES ? :timestamptz : :datetime
  end

  # The indexes of perfblog's migrations, as `add_index` calls (the indexes pattern
  # drops and re-creates them, and shows what `add_index` sends).
  def self.add_page_indexes(c = ActiveRecord::Base.connection)
    c.add_index :posts, [:status, :published_at, :id], order: { published_at: :desc, id: :desc },
                                                       name: "idx_posts_status_published_at_id"
    c.add_index :post_tags, [:tag_id, :post_id], name: "idx_post_tags_tag_id_post_id"
    c.add_index :comments, [:post_id, :created_at], order: { created_at: :desc },
                                                    name: "idx_comments_post_id_created_at"
  end

  def self.define_schema!
    t_ = ts
    ActiveRecord::Schema.verbose = false
    ActiveRecord::Schema.define do
      OrmCheck::TABLES.each { |t| drop_table t, if_exists: true, force: :cascade }

      create_table :users do |t|
        t.string :name, limit: 100, null: false
        t.string :email, limit: 254, null: false, index: { unique: true }
        t.column :created_at, t_, null: false
      end

      create_table :posts do |t|
        t.integer :author_id, null: false
        t.string :title, limit: 200, null: false
        t.string :slug, limit: 200, null: false, index: { unique: true }
        t.text :excerpt, null: false
        t.text :body, null: false
        t.string :status, limit: 16, null: false
        t.column :published_at, t_
        t.integer :view_count, null: false, default: 0
        t.column :created_at, t_, null: false
        t.column :updated_at, t_, null: false
        # m20261127_000004_denormalized_counters
        t.integer :comment_count, null: false, default: 0
      end
      add_foreign_key :posts, :users, column: :author_id, on_delete: :cascade, name: "fk_posts_author"

      create_table :tags do |t|
        t.string :name, limit: 50, null: false, index: { unique: true }
        t.string :slug, limit: 50, null: false, index: { unique: true }
        t.integer :published_post_count, null: false, default: 0
      end

      create_table :post_tags, id: false, primary_key: [:post_id, :tag_id] do |t|
        t.integer :post_id, null: false
        t.integer :tag_id, null: false
      end
      add_foreign_key :post_tags, :posts, on_delete: :cascade, name: "fk_post_tags_post"
      add_foreign_key :post_tags, :tags, on_delete: :cascade, name: "fk_post_tags_tag"

      create_table :comments do |t|
        t.integer :post_id, null: false
        t.integer :author_id, null: false
        t.text :body, null: false
        t.column :created_at, t_, null: false
      end
      add_foreign_key :comments, :posts, on_delete: :cascade, name: "fk_comments_post"
      add_foreign_key :comments, :users, column: :author_id, on_delete: :cascade, name: "fk_comments_author"

      create_table :email_outbox do |t|
        t.string :recipient, limit: 400, null: false
        t.string :subject, limit: 400, null: false
        t.text :body, null: false
        t.string :status, limit: 16, null: false
        t.integer :attempts, null: false, default: 0
        t.column :next_attempt_at, t_, null: false
        t.column :locked_until, t_
        t.string :locked_by, limit: 100
        t.text :last_error
        t.column :created_at, t_, null: false
        t.column :sent_at, t_
      end

      OrmCheck.add_page_indexes(connection)
      add_index :posts, :author_id, name: "idx_posts_author_id"
      add_index :comments, :author_id, name: "idx_comments_author_id"
      add_index :email_outbox, [:status, :next_attempt_at], name: "idx_email_outbox_status_next_attempt_at"
      add_index :posts, [:status, :comment_count, :id], order: { comment_count: :desc },
                                                       name: "idx_posts_status_comment_count_id"
    end
  end

  # --- models ----------------------------------------------------------------------

  class ApplicationRecord < ActiveRecord::Base
    self.abstract_class = true
  end

  class User < ApplicationRecord
    has_many :posts, foreign_key: :author_id, inverse_of: :author
  end

  class Tag < ApplicationRecord
    has_many :post_tags
    has_many :posts, through: :post_tags
  end

  class PostTag < ApplicationRecord
    belongs_to :post
    belongs_to :tag
  end

  class Post < ApplicationRecord
    belongs_to :author, class_name: "User"
    has_many :post_tags
    has_many :tags, through: :post_tags
    has_many :comments

    scope :published, -> { where(status: "published") }
    validates :title, presence: true

    # tags.published_post_count, kept by a callback: Rails' counter_cache counts every
    # child row and cannot say "published posts only".
    after_save :keep_tag_counters, if: :saved_change_to_status?

    def published?
      status == "published"
    end

    private

    def keep_tag_counters
      was = status_before_last_save == "published"
      delta = (published? ? 1 : 0) - (was ? 1 : 0)
      Tag.where(id: tag_ids).update_counters(published_post_count: delta) unless delta.zero?
    end
  end

  class Comment < ApplicationRecord
    belongs_to :post, counter_cache: :comment_count
    belongs_to :author, class_name: "User"
  end

  class EmailOutbox < ApplicationRecord
    self.table_name = "email_outbox"
  end

  MODELS = [User, Tag, PostTag, Post, Comment, EmailOutbox].freeze

  # --- seed ------------------------------------------------------------------------
  #
  # 5 users, 10 tags, 50 posts (40 published, 10 drafts), 2–3 tags each, 0–6 comments
  # each. Published posts are an hour apart, newest first, except two that share a
  # timestamp across the boundary of the first page of 20 (keyset pagination's tie).
  BASE_TIME = Time.utc(2026, 11, 1, 12, 0, 0)
  WORDS = %w[cache latency index query pool batch stream counter join scan row page
             write read lock commit tally queue shard replica].freeze

  def self.seed!
    c = ActiveRecord::Base.connection
    if POSTGRES
      c.execute("TRUNCATE #{TABLES.join(', ')} RESTART IDENTITY CASCADE")
    else
      TABLES.each { |t| c.execute("DELETE FROM #{t}") }
      c.execute("DELETE FROM sqlite_sequence")
    end
    rnd = Random.new(42)
    now = BASE_TIME + 60 * 86_400
    User.insert_all!((1..5).map { |i| { name: "User #{i}", email: "user#{i}@example.com", created_at: BASE_TIME } })
    Tag.insert_all!(%w[rust sql caching postgres sqlite http async testing ops design].map { |n| { name: n, slug: n } })
    user_ids = User.order(:id).ids
    tag_ids = Tag.order(:id).ids
    posts = (1..50).map do |i|
      published = i <= 40
      # post 1 is the newest; posts 20 and 21 (rows 20 and 21 of the list) share a time
      hours = i >= 21 ? i - 1 : i
      words = Array.new(4) { WORDS[rnd.rand(WORDS.size)] }
      {
        author_id: user_ids[i % 5], title: "#{words.join(' ').capitalize} #{i}", slug: "post-#{i}",
        excerpt: "Excerpt of post #{i}.", body: ("Lorem ipsum dolor sit amet. " * (70 + rnd.rand(200))),
        status: published ? "published" : "draft",
        published_at: published ? BASE_TIME + (50 - hours) * 3600 : nil,
        view_count: 0, created_at: BASE_TIME, updated_at: BASE_TIME
      }
    end
    Post.insert_all!(posts)
    post_ids = Post.order(:id).ids
    links = post_ids.flat_map { |pid| tag_ids.sample(2 + rnd.rand(2), random: rnd).map { |tid| { post_id: pid, tag_id: tid } } }
    # one tag (rust) on most published posts: the "busiest tag"
    links |= post_ids.first(30).map { |pid| { post_id: pid, tag_id: tag_ids[0] } }
    PostTag.insert_all!(links.uniq)
    comments = post_ids.first(45).flat_map do |pid|
      Array.new(rnd.rand(7)) { |k| { post_id: pid, author_id: user_ids[rnd.rand(5)], body: "Comment #{k} on #{pid}", created_at: BASE_TIME + k * 60 } }
    end
    Comment.insert_all!(comments)
    # perfblog's BACKFILL (m20261127_000004): what `perfblog recount` runs too
    c.execute("UPDATE posts SET comment_count = (SELECT COUNT(*) FROM comments WHERE comments.post_id = posts.id)")
    c.execute("UPDATE tags SET published_post_count = (SELECT COUNT(*) FROM post_tags JOIN posts ON posts.id = post_tags.post_id " \
              "WHERE post_tags.tag_id = tags.id AND posts.status = 'published')")
    c.execute("ANALYZE") if POSTGRES
  end

  # A fresh pool with every model's columns already loaded, so a pattern's capture
  # holds only what the pattern itself sends.
  def self.fresh_pool!
    ActiveRecord::Base.connection_pool.disconnect!
    ActiveRecord::Base.connection_pool.with_connection do
      MODELS.each { |m| m.reset_column_information; m.columns; m.first }
    end
  end

  def self.versions
    v = { "activerecord" => ActiveRecord::VERSION::STRING, "ruby" => RUBY_VERSION }
    if POSTGRES
      v["postgresql"] = ActiveRecord::Base.connection.select_value("SHOW server_version")
      v["pg gem"] = PG::VERSION
    else
      v["sqlite"] = SQLite3::SQLITE_VERSION
      v["sqlite3 gem"] = SQLite3::VERSION
    end
    v
  end
end
