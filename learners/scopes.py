"""The API key scopes of the learners app (registered from ``LearnersConfig.ready()``).

Stored on keys by value: a value never changes once keys carry it.
"""

from django.db import models


class ApiKeyScope(models.TextChoices):
    EVENTS_WRITE = "events:write", "Write activity events"
    XAPI_WRITE = "xapi:write", "Write xAPI statements"
    INBOX_READ = "inbox:read", "Read the in-app inbox"
    LEARNERS_READ = "learners:read", "Read learners"
