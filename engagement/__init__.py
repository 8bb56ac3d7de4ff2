"""Project package: settings, URLs, the Celery app and cross-cutting concerns."""

from engagement.celery import app as celery_app

__all__ = ["celery_app"]
