import time

from django.conf import settings
from django.core.mail.backends.locmem import EmailBackend


class SlowLocmemBackend(EmailBackend):
    """locmem's backend (mail.outbox) that first waits like a slow SMTP server."""

    def send_messages(self, messages):
        time.sleep(getattr(settings, "EMAIL_DELAY_SECONDS", 0.05))
        return super().send_messages(messages)
