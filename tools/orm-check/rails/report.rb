# frozen_string_literal: true

# Writes one Markdown file per pattern from the JSON that check.rb wrote on each
# backend, with the prose of notes.rb:
#
#   ruby report.rb SQLITE.json POSTGRES.json OUT_DIR

require "json"
require "fileutils"
require_relative "notes"

module OrmCheck
  module Report
    module_function

    TITLES = {
      "eager-loading" => "Eager loading", "projection" => "Column projection",
      "aggregation" => "Aggregation in the database", "keyset-pagination" => "Keyset pagination",
      "exists" => "Exists vs count", "streaming" => "Streaming a large result",
      "bulk-updates" => "Bulk updates", "bulk-inserts" => "Bulk inserts",
      "atomic-counters" => "Atomic counters", "write-behind-counter" => "Write-behind counter",
      "offloaded-email" => "Offloaded email", "denormalized-counters" => "Denormalized counters",
      "fragment-caching" => "Fragment caching", "per-view-caching" => "Per-view caching",
      "indexes" => "Indexes you can see", "connection-pooling" => "Connection pooling",
      "concurrent-reads" => "Concurrent independent reads"
    }.freeze

    HEADINGS = { "naive" => "Naive", "optimized" => "Optimized", "extra" => "Also run",
                 "gotcha" => "Gotcha", "catch" => "Catching it" }.freeze

    def bind_text(binds)
      return "" if binds.nil? || binds.empty?
      "  " + binds.map { |name, value| [name, value] }.inspect
    end

    def lines_of(section)
      conns = {}
      section["events"].map do |e|
        if e["kind"] == "mark"
          "-- #{e['sql']}"
        else
          label = ""
          if section["options"]["conn"]
            conns[e["conn"]] ||= ("A".ord + conns.size).chr
            label = "/* conn #{conns[e['conn']]} */ "
          end
          prefix = e["cached"] ? "/* CACHE: answered by the query cache, not sent */ " : ""
          "#{label}#{prefix}#{e['sql'].gsub(/\s+/, ' ')}#{bind_text(e['binds'])}"
        end
      end
    end

    def shape(sql_line)
      sql_line.sub(/  \[\[.*\z/, "").gsub(/\$\d+/, "?")
    end

    # Long runs are cut: the first lines, a count of every statement by its text, the last.
    def sql_block(section)
      lines = lines_of(section)
      quiet = section["options"]["quiet"]
      lines = lines.select { |l| l.start_with?("-- ") } if quiet
      if lines.size > 40
        sqls = lines.reject { |l| l.start_with?("-- ") }
        counts = sqls.group_by { |l| shape(l) }.map { |k, v| [k, v.size] }
        head = lines.first(10)
        tail = lines.last(4)
        summary = ["-- … #{lines.size - 14} more lines; every statement of this run by its text:"] +
                  counts.map { |k, n| "--   #{n} × #{k.size > 160 ? k[0, 160] + ' …' : k}" }
        lines = head + summary + ["-- …"] + tail
      end
      lines.join("\n")
    end

    def count_line(section)
      parts = ["**#{section['sent']} statement#{section['sent'] == 1 ? '' : 's'} sent**"]
      parts << "#{section['cached']} more answered by the query cache" if section["cached"].positive?
      parts << "#{section['transaction_statements']} BEGIN/COMMIT/ROLLBACK/SAVEPOINT" if section["transaction_statements"].positive?
      parts << "#{section["schema_statements"]} `SCHEMA` statement#{section["schema_statements"] == 1 ? "" : "s"} (connection set-up, schema look-ups)" if section["schema_statements"].positive?
      parts.join(", ")
    end

    def same_sql?(a, b)
      return false if a.nil? || b.nil?
      norm = ->(s) { lines_of(s).reject { |l| l.start_with?("-- ") }.map { |l| shape(l).gsub(/\s+/, " ") } }
      norm.call(a) == norm.call(b) && a["sent"] == b["sent"]
    end

    def section_md(sq, pg)
      s = sq || pg
      out = +"## #{HEADINGS.fetch(s['key'])}: #{s['title'].sub(/\A(Naive|Optimized|Before)( in 6\.1)?: /, '')}\n\n"
      s["code"].each do |c|
        out << "```ruby\n#{c['text']}\n```\n\n"
      end
      if sq
        out << "SQLite — #{count_line(sq)}:\n\n```sql\n#{sql_block(sq)}\n```\n\n"
        out << "Error: `#{sq['error']}`\n\n" if sq["error"]
        out << plans_md(sq, "SQLite (`EXPLAIN QUERY PLAN`)") if sq["plans"]
        (sq["log"] || []).each { |l| out << "Log: `#{l.sub(/\A\w, \[[^\]]*\]\s+/, '')}`\n\n" }
      end
      if pg
        if sq && same_sql?(sq, pg)
          same = pg["sent"].zero? && pg["transaction_statements"].zero? ? "none either" : "the same statements, with `$1, $2 …` placeholders"
          out << "PostgreSQL — #{count_line(pg)}: #{same}#{pg_marks_differ?(sq, pg) ? " (results below)" : ''}.\n\n"
          out << "```sql\n#{pg_marks(pg)}\n```\n\n" if pg_marks_differ?(sq, pg)
        else
          out << "PostgreSQL — #{count_line(pg)}:\n\n```sql\n#{sql_block(pg)}\n```\n\n"
        end
        out << "Error: `#{pg['error']}`\n\n" if pg["error"]
        out << plans_md(pg, "PostgreSQL (`EXPLAIN`)") if pg["plans"]
      else
        out << "PostgreSQL: not run (SQLite only).\n\n" if sq && !sq["options"]["sqlite"]
      end
      out
    end

    def pg_marks(pg)
      pg["events"].select { |e| e["kind"] == "mark" }.map { |e| "-- #{e['sql']}" }.join("\n")
    end

    def pg_marks_differ?(sq, pg)
      m = ->(s) { s["events"].select { |e| e["kind"] == "mark" }.map { |e| e["sql"].gsub(/\d+(\.\d+)? ms/, "") } }
      m.call(sq) != m.call(pg)
    end

    def plans_md(s, label)
      "#{label}, as `relation.explain` printed it:\n\n```\n#{s['plans'].join("\n")}\n```\n\n"
    end

    def write(sqlite_json, pg_json, out_dir)
      sq = JSON.parse(File.read(sqlite_json))
      pg = JSON.parse(File.read(pg_json))
      FileUtils.mkdir_p(out_dir)
      by = ->(data) { data["sections"].group_by { |s| s["slug"] } }
      sq_by = by.call(sq)
      pg_by = by.call(pg)
      TITLES.each do |slug, title|
        sq_sections = sq_by.fetch(slug, [])
        pg_sections = pg_by.fetch(slug, [])
        keys = (pg_sections.map { |s| s["method"] } | sq_sections.map { |s| s["method"] })
        order = pg_sections.map { |s| s["method"] }
        keys.sort_by! { |m| order.index(m) || -1 }
        note = NOTES.fetch(slug)
        md = +"# #{title}, in Active Record\n\n"
        md << "Verified by running, not recalled: Active Record #{sq['versions']['activerecord']} (Debian bookworm's " \
              "`ruby-activerecord`), Ruby #{sq['versions']['ruby']}, on SQLite #{sq['versions']['sqlite']} and " \
              "PostgreSQL #{pg['versions']['postgresql'].split.first}, against perfblog's tables and columns " \
              "([`tools/orm-check/rails`](../../main/tools/orm-check/rails/), `check.rb`). Every statement below is one " \
              "the `sql.active_record` notification reported, in order, with its binds as Rails logs them; `--` lines " \
              "are the script's own notes (a value, a response, a cache read). In the code, `render_erb` renders the ERB as a view " \
              "would, `mark` writes a `--` line, and `get` sends a request through the app's routes and controllers. Seed: 5 users, 10 tags, 50 posts " \
              "(40 published), 111 comments.#{note[:setup] ? " #{note[:setup]}" : ''}\n\n"
        md << "#{note[:intro]}\n\n" if note[:intro]
        keys.each do |meth|
          a = sq_sections.find { |s| s["method"] == meth }
          b = pg_sections.find { |s| s["method"] == meth }
          md << section_md(a, b)
          extra = note.dig(:after, meth.to_sym)
          md << "#{extra}\n\n" if extra
        end
        %i[gotchas catch docs].each do |k|
          next unless note[k]
          heading = { gotchas: "Gotchas", catch: "How to catch it in your own app", docs: "Against perfblog's docs" }[k]
          md << "## #{heading}\n\n#{note[k].strip}\n\n"
        end
        File.write(File.join(out_dir, "#{slug}.md"), md.rstrip + "\n")
      end
    end
  end
end

OrmCheck::Report.write(*ARGV) if $PROGRAM_NAME == __FILE__
