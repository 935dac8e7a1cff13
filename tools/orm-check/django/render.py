"""Writes one Markdown file per pattern from check.py's two JSON captures and notes.py.

    python render.py RAW_DIR OUT_DIR
    # RAW_DIR holds sqlite.json and postgresql.json (check.py --json), and the test and
    # catch.py outputs; OUT_DIR gets <slug>.md for every pattern.
"""
import json
import re
import sys
from pathlib import Path

import notes

SIDES = {"naive": "Naive", "optimized": "Optimized", "also": "Also ran",
         "gotcha": "Gotcha, as it ran", "catch": "Catching it, as it ran"}


def shorten_literals(sql):
    sql = re.sub(r"'((?:[^']|'')*)'", lambda m: "'" + (m.group(1)[:40] + "…" if len(m.group(1)) > 40
                                                      else m.group(1)) + "'", sql)
    return sql


def shape(sql):
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    sql = re.sub(r'_django_curs_\w+', "cursor", sql)
    return re.sub(r"\(\?(, \?)*\)", "(…)", sql)


def normalize(sql):
    """What differs between the backends only in spelling: casts and timestamp literals."""
    sql = re.sub(r"::(timestamptz|text|integer|int2|int4|int8|varchar|boolean|date|"
                 r"timestamp with time zone)(\[\])?", "", sql)
    sql = re.sub(r"'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?)(\+00:00)?'", r"'\1'", sql)
    sql = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+", "NOW", sql)  # auto_now stamps
    return sql


def grouped(queries, limit=1400):
    """Consecutive statements of one shape shown once, with their count."""
    out, i = [], 0
    while i < len(queries):
        j = i
        while j + 1 < len(queries) and shape(queries[j + 1]) == shape(queries[i]):
            j += 1
        sql = shorten_literals(queries[i]).strip()
        sql = re.sub(r"\s+", " ", sql)
        if len(sql) > limit:
            sql = sql[:limit] + " …"
        n = j - i + 1
        out.append(sql + ";" + (f"\n-- … and {n - 1} more of this shape (×{n} in all)" if n > 1 else ""))
        i = j + 1
    # a repeating cycle (the N+1's 3 statements per post) folded too
    return out


def cycles(queries):
    """A run of 2-6 statements of different shapes repeated (the N+1's statements per
    row): (start, width, times) of the longest such run, or None."""
    shapes = [shape(q) for q in queries]
    best = None
    for start in range(0, 4):
        for width in range(2, 7):
            unit = shapes[start:start + width]
            if len(unit) < width or len(set(unit)) < 2:
                continue
            times = 1
            while shapes[start + times * width:start + (times + 1) * width] == unit:
                times += 1
            if times >= 3 and (best is None or times * width > best[1] * best[2]):
                best = (start, width, times)
    return best


def sql_block(queries):
    if not queries:
        return "_(no SQL)_\n"
    cyc = cycles(queries)
    lines = []
    if cyc:
        start, width, times = cyc
        lines += grouped(queries[:start])
        lines.append(f"-- then, {times} times (once per row), these {width}:")
        lines += grouped(queries[start:start + width])
        lines.append(f"-- … {times - 1} more rounds of the same {width} statements")
        lines += grouped(queries[start + width * times:])
    else:
        lines += grouped(queries)
    return "```sql\n" + "\n".join(lines) + "\n```\n"


def code_block(record):
    parts = ([] if record.get("driver") else [record["code"]]) + record["show"]
    block = "```python\n" + "\n\n".join(p.rstrip() for p in parts) + "\n```\n"
    if record.get("driver"):
        block += (f"\n(Run by `{record['driver']}()` in `patterns.py`, which calls the code "
                  "above and reports what happened.)\n")
    return block


def same_sql(a, b):
    return [normalize(q) for q in a] == [normalize(q) for q in b]


def result_text(result):
    text = re.sub(r"\s+", " ", str(result)).strip()
    return text if len(text) <= 300 else text[:300] + " …"


def plans_section(record, pg, sqlite_label, pg_label):
    """A step whose result is a plan: its heading, its code, and the plan on each backend."""
    lines = [f"### {SIDES[record['side']]}: {record['title']}\n", code_block(record),
             f"{sqlite_label}:\n", plans_block(record)]
    if pg:
        lines += [f"{pg_label}:\n", plans_block(pg)]
    return lines


def render_step(record, pg, counts_only=False):
    out = [f"### {SIDES[record['side']]}: {record['title']}\n", code_block(record)]
    if record["capture"]:
        n = len(record["queries"])
        out.append(f"Returned `{result_text(record['result'])}`.\n" if record["result"] not in
                   (None, "None") and not str(record["result"]).lstrip().startswith(("\n", " "))
                   and "\n" not in str(record["result"])[:200] else "")
        out.append(f"**SQLite: {n} statement{'s' if n != 1 else ''}**\n")
        out.append(sql_block(record["queries"]))
        if pg is None:
            out.append("_PostgreSQL: this step did not run there._\n")
        elif same_sql(record["queries"], pg["queries"]):
            m = len(pg["queries"])
            out.append(f"**PostgreSQL: the same {'statement' if m == 1 else f'{m} statements'}** "
                       "(only casts such as `::timestamptz` and literal spellings differ).\n")
        else:
            m = len(pg["queries"])
            out.append(f"**PostgreSQL: {m} statement{'s' if m != 1 else ''}, not the same text:**\n")
            out.append(sql_block(pg["queries"]))
        if pg is not None and str(pg["result"]) != str(record["result"]) and not \
                str(record["result"]).lstrip().startswith("\n"):
            out.append(f"Returned on PostgreSQL: `{result_text(pg['result'])}`.\n")
    else:
        out.append(f"SQLite returned `{result_text(record['result'])}`.\n")
        if pg is not None:
            out.append(f"\nPostgreSQL returned `{result_text(pg['result'])}`.\n")
    return "\n".join(o for o in out if o)


def plans_block(record):
    import ast

    try:
        plans = ast.literal_eval(record["result"])
    except (ValueError, SyntaxError):
        return "```\n" + str(record["result"]) + "\n```\n"
    if isinstance(plans, str):
        return "```\n" + plans + "\n```\n"
    return "\n".join(f"`{name}`:\n```\n{plan}\n```" for name, plan in plans.items()) + "\n"


def fill(text, data):
    """`{r:slug|title part|sqlite or postgresql|key}`: a figure from the captures, so the
    prose says what this run measured (timings and races vary from run to run)."""
    import ast

    def one(match):
        slug, part, backend, key = match.group(1).split("|")
        record = next(r for r in data[backend]["patterns"][slug] if part in r["title"])
        result = record["result"]
        try:
            result = ast.literal_eval(result)
        except (ValueError, SyntaxError):
            pass
        for k in filter(None, key.split(".")):
            result = result[k]
        return str(result)

    return re.sub(r"\{r:([^}]+)\}", one, text)


def tests_section(raw):
    """The assertNumQueries test and the detectors, as run_tests.py and catch.py ran."""
    here = Path(__file__).resolve().parent
    source = (here / "blog" / "tests.py").read_text()
    start = source.index("class ListPageQueries")
    end = source.index("class OnCommitInTests")
    out = ["### Catching it, as it ran: `assertNumQueries` in a test (`run_tests.py`)\n",
           "```python\n" + source[start:end].strip() + "\n```\n"]
    for backend in ("sqlite", "postgresql"):
        text = (raw / f"tests-{backend}.txt").read_text()
        keep = [line for line in text.splitlines()
                if line.startswith(("test_", "AssertionError", "Ran ", "FAILED", "OK"))]
        queries = [line for line in text.splitlines() if re.match(r"^\d+\. ", line)][:4]
        out.append(f"`python run_tests.py` on {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}"
                   " (the naive test fails on purpose):\n")
        out.append("```\n" + "\n".join(keep[:5]) + "\n" + "\n".join(keep[5:]) +
                   "\nCaptured queries were:\n" + "\n".join(q[:160] + (" …" if len(q) > 160 else "")
                                                      for q in queries) +
                   "\n…\n```\n")
    out.append("### Catching it, as it ran: nplusone and django-debug-toolbar (`catch.py`)\n")
    for backend in ("sqlite", "postgresql"):
        text = (raw / f"catch-{backend}.txt").read_text().strip()
        out.append(f"{'SQLite' if backend == 'sqlite' else 'PostgreSQL'}:\n\n```\n{text}\n```\n")
    return "\n".join(out)


def main(raw, out):
    sqlite = json.loads((raw / "sqlite.json").read_text())
    postgres = json.loads((raw / "postgresql.json").read_text())
    header = (f"Django {sqlite['django']}; SQLite {sqlite['db_version']}; "
              f"PostgreSQL {postgres['db_version'].split(' on ')[0].replace('PostgreSQL ', '')}")
    out.mkdir(parents=True, exist_ok=True)
    data = {"sqlite": sqlite, "postgresql": postgres}
    for slug, records in sqlite["patterns"].items():
        pg_records = {r["title"]: r for r in postgres["patterns"].get(slug, [])}
        note = notes.NOTES[slug]
        lines = [f"# {note['title']} — in Django, as it ran\n",
                 f"{header}. Code: `tools/orm-check/django/patterns.py` (the functions below are "
                 "copied from it by `check.py`, as they ran). Data: 5 users, 10 tags, 50 posts "
                 "(40 published, 2 archived, 8 drafts), 120 comments"
                 + (", and for the plans 20,000 more posts and 100,000 comments" if slug in
                    ("indexes", "keyset-pagination") else "")
                 + ". SQL captured with `CaptureQueriesContext(connection)`; long literals cut "
                 "with `…`, statements that repeat with other ids folded.\n",
                 fill(note["summary"].strip(), data) + "\n"]
        titles = set()
        for record in records:
            side = record["side"]
            titles.add(record["title"])
            pg = pg_records.get(record["title"])
            if slug == "indexes" and record["capture"] and "explain" in record["title"]:
                lines += plans_section(record, pg, "SQLite (`EXPLAIN QUERY PLAN`)",
                                       "PostgreSQL (`EXPLAIN`)")
                lines.append(f"Statements sent (SQLite): {len(record['queries'])}, "
                             "the `EXPLAIN`s of:\n")
                lines.append(sql_block([re.sub(r"^EXPLAIN (QUERY PLAN )?", "", q)
                                        for q in record["queries"] if q.startswith("EXPLAIN")]))
                continue
            if "explain(" in record["title"]:
                lines += plans_section(record, pg, "SQLite", "PostgreSQL")
                continue
            lines.append(render_step(record, pg))
        for record in postgres["patterns"].get(slug, []):
            if record["title"] not in titles:  # PostgreSQL-only steps
                lines.append(f"### {SIDES[record['side']]} (PostgreSQL only): {record['title']}\n")
                lines.append(code_block(record))
                if "explain" in record["title"] or "enable_seqscan" in record["title"]:
                    lines.append(plans_block(record))
                else:
                    lines.append(f"Returned `{result_text(record['result'])}`.\n")
                    if record["capture"]:
                        lines.append(f"**{len(record['queries'])} statements:**\n")
                        lines.append(sql_block(record["queries"]))
        if slug == "eager-loading":
            lines.append(tests_section(raw))
        if note.get("postgres"):
            lines.append("## Where PostgreSQL differs\n\n" + fill(note["postgres"].strip(), data) + "\n")
        lines.append("## Gotchas\n\n" + fill(note["gotchas"].strip(), data) + "\n")
        lines.append("## Catching it in your own app\n\n" + fill(note["catch"].strip(), data) + "\n")
        if note.get("docs"):
            lines.append("## Against perfblog's doc\n\n" + fill(note["docs"].strip(), data) + "\n")
        (out / f"{slug}.md").write_text("\n".join(lines).rstrip() + "\n")
        print(f"wrote {out / (slug + '.md')}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
