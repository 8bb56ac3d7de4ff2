"""Abstract model bases shared by every app."""

from django.db import models

from engagement.ids import uuid7


class BaseModel(models.Model):
    """UUIDv7 primary key plus creation and modification times."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
