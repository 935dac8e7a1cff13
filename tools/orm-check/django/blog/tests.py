"""How a test suite catches the N+1: assertNumQueries (one of these fails on purpose),
django-zeal, and on_commit callbacks in a TestCase.  Run: python run_tests.py"""
from django.test import TestCase

import patterns
import seed


class ListPageQueries(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed.seed()

    def test_optimized_list_runs_two_queries(self):
        with self.assertNumQueries(2):
            patterns.eager_optimized()

    def test_naive_list_runs_two_queries(self):  # FAILS on purpose: 61 queries, not 2
        with self.assertNumQueries(2):
            patterns.eager_naive()

    def test_zeal_raises_on_the_naive_list(self):
        from zeal import NPlusOneError, zeal_context

        with self.assertRaises(NPlusOneError), zeal_context():
            patterns.eager_naive()


class OnCommitInTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed.seed()

    def setUp(self):
        patterns.CTX["mark"] = lambda what: None

    def test_on_commit_does_not_run_inside_testcase(self):
        from django_tasks import default_task_backend

        default_task_backend.clear()
        patterns.email_on_commit()  # TestCase's transaction never commits
        self.assertEqual(len(default_task_backend.results), 0)

    def test_captureOnCommitCallbacks_runs_it(self):
        from django_tasks import default_task_backend

        default_task_backend.clear()
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            patterns.email_on_commit()
        self.assertEqual((len(callbacks), len(default_task_backend.results)), (1, 1))
