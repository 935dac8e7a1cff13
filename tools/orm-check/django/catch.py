"""The N+1 detectors and the debug toolbar against the naive list, each in a process of
its own (they patch Django differently):

    python catch.py             # runs both below and prints what each reported
    python catch.py nplusone    # nplusone's Profiler (nplusone.ext.django installed)
    python catch.py toolbar     # django-debug-toolbar's SQL panel, through the test client
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def nplusone():
    import conf

    conf.setup()
    from nplusone.core import exceptions, profiler

    import patterns
    import seed

    seed.create_schema()
    seed.seed()
    for label, side in (("nplusone", patterns.eager_naive),
                        ("nplusone on the optimized list", patterns.eager_optimized)):
        try:
            with profiler.Profiler():
                side()
            print(f"{label}: nothing reported")
        except exceptions.NPlusOneError as error:
            print(f"{label}: NPlusOneError: {error}")


def toolbar():
    import conf

    conf.setup()
    from collections import Counter

    from debug_toolbar.store import get_store
    from django.test import Client

    import seed

    seed.create_schema()
    seed.seed()
    for path in ("/", "/posts/post-40/"):
        get_store().clear()
        Client().get(path)  # the list view selects the authors; the post page counts a view
        request_id = list(get_store().request_ids())[-1]
        stats = get_store().panel(request_id, "SQLPanel")
        print(f"toolbar SQL panel for {path}: {len(stats['queries'])} queries, "
              f"{stats['sql_time']:.1f} ms; similar/duplicate groups:",
              Counter((q.get("similar_count"), q.get("duplicate_count")) for q in stats["queries"]))
    from django.test.utils import override_settings

    with override_settings(ROOT_URLCONF="catch_urls"):
        get_store().clear()
        Client().get("/naive/")
        request_id = list(get_store().request_ids())[-1]
        stats = get_store().panel(request_id, "SQLPanel")
        counts = Counter(q.get("similar_count") for q in stats["queries"])
        print(f"toolbar SQL panel for the naive list (/naive/): {len(stats['queries'])} queries; "
              f"queries by the size of their 'similar' group: {dict(counts)}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "all"
    if mode == "nplusone":
        nplusone()
    elif mode == "toolbar":
        toolbar()
    else:
        for mode, flag in (("nplusone", "ORM_CHECK_NPLUSONE"), ("toolbar", "ORM_CHECK_TOOLBAR")):
            env = {**os.environ, flag: "1"}
            done = subprocess.run([sys.executable, __file__, mode], env=env, cwd=HERE,
                                  capture_output=True, text=True)
            print(done.stdout, end="")
            if done.returncode:
                print(f"{mode} failed:\n{done.stderr[-3000:]}")
