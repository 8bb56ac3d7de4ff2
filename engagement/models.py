"""Abstract model bases shared by every app."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from engagement.ids import uuid7


class BaseModel(models.Model):
    """UUIDv7 primary key plus creation and modification times."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    """What a staff user may do; coaches are further limited to the cohorts assigned to them."""

    ADMIN = "admin", "Programme admin"
    COACH = "coach", "Coach"
    ANALYST = "analyst", "Analyst"


class User(AbstractUser):
    """A staff member. Machines (an LMS pushing activity) use API keys instead of users."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.COACH)
