from django.apps import AppConfig
from django.db.models.signals import pre_migrate


def trigram_extension(sender, using, **kwargs):
    """What a TrigramExtension() migration operation does, before syncdb creates the GIN
    index (the app has no migrations; the test database is created the same way)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class BlogConfig(AppConfig):
    name = "blog"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        pre_migrate.connect(trigram_extension, sender=self)
