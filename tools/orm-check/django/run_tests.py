"""The test suite of the ORM check: python run_tests.py (DATABASE_URL for PostgreSQL).
One test fails on purpose (test_naive_list_runs_two_queries): its message is the point."""
import sys

import conf

conf.setup()

from django.test.runner import DiscoverRunner  # noqa: E402

failures = DiscoverRunner(verbosity=2, interactive=False).run_tests(["blog.tests"])
sys.exit(1 if failures != 1 else 0)  # exactly the one deliberate failure is a pass
