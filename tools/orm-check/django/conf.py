"""Settings for the standalone ORM check: settings.configure(), no manage.py.

SQLite by default (a file, so that threads get connections of their own);
PostgreSQL when DATABASE_URL=postgres://user[:pw]@host:port/db is set.
REDIS_URL=redis://127.0.0.1:6379/15 adds a Redis cache alias ("redis").
"""
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def database():
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        u = urlparse(url)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": u.path.lstrip("/"),
            "USER": u.username or "postgres",
            "PASSWORD": u.password or "",
            "HOST": u.hostname or "127.0.0.1",
            "PORT": str(u.port or 5432),
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", "/tmp/perfblog-orm-check.sqlite"),
        "OPTIONS": {"timeout": 20},
    }


def setup():
    import django
    from django.conf import settings

    if settings.configured:
        return
    default = database()
    databases = {
        # Django's default: CONN_MAX_AGE = 0, a connection per request.
        "default": {**default, "CONN_MAX_AGE": 0},
        # Persistent connections: kept 600 s, checked before reuse.
        "persistent": {**default, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True,
                       "TEST": {"MIRROR": "default"}},
    }
    postgres = default["ENGINE"].endswith("postgresql")
    if postgres:
        # Django 5.1+: psycopg's pool (psycopg_pool), PostgreSQL only.
        databases["pooled"] = {**default, "CONN_MAX_AGE": 0,
                               "OPTIONS": {"pool": {"min_size": 2, "max_size": 4}},
                               "TEST": {"MIRROR": "default"}}
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "orm-check"},
    }
    if os.environ.get("REDIS_URL"):
        caches["redis"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                           "LOCATION": os.environ["REDIS_URL"]}
    toolbar = bool(os.environ.get("ORM_CHECK_TOOLBAR"))
    extra = {}
    if toolbar:  # catch.py's django-debug-toolbar run
        extra = dict(INTERNAL_IPS=["127.0.0.1"], STATIC_URL="/static/",
                     DEBUG_TOOLBAR_CONFIG={"IS_RUNNING_TESTS": False})
    settings.configure(
        DEBUG=toolbar,
        **extra,
        SECRET_KEY="orm-check",
        ALLOWED_HOSTS=["testserver", "localhost"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        DATABASES=databases,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        # django.contrib.postgres must be installed for OpClass() in an index: its
        # AppConfig.ready() registers OpClass with IndexExpression; without it the GIN
        # index below is created as `USING gin ((LOWER("title") gin_trgm_ops))`, a
        # syntax error (seen while writing this).
        INSTALLED_APPS=(["django.contrib.postgres"] if postgres else []) + ["django.contrib.contenttypes", "blog"] + (
            # N+1 detectors: django-zeal by default, nplusone with ORM_CHECK_NPLUSONE=1
            # (both patch the related-object descriptors; one at a time).
            ["nplusone.ext.django"] if os.environ.get("ORM_CHECK_NPLUSONE") else ["zeal"]) + (
            ["django.contrib.staticfiles", "debug_toolbar"] if toolbar else []),
        NPLUSONE_RAISE=True,
        ROOT_URLCONF="blog.urls",
        MIDDLEWARE=(["debug_toolbar.middleware.DebugToolbarMiddleware"] if toolbar else [])
        + ["django.middleware.gzip.GZipMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "DIRS": [], "APP_DIRS": True}],
        CACHES=caches,
        # A stand-in for a mail server that takes 50 ms to accept a message.
        EMAIL_BACKEND="blog.mail.SlowLocmemBackend",
        EMAIL_DELAY_SECONDS=0.05,
        # django-tasks (the backport of Django 6.0's django.tasks): enqueue only.
        TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}},
        TEST_RUNNER="django.test.runner.DiscoverRunner",
        # perfblog's index names are longer than Django's 30-character limit for index
        # names (models.E034, kept for Oracle); they are kept so the SQL reads like
        # perfblog's. `manage.py check` (and so runserver, migrate, test) refuse them
        # otherwise.
        SILENCED_SYSTEM_CHECKS=["models.E034"],
    )
    django.setup()


def vendor():
    from django.db import connection
    return connection.vendor
