"""Logging: plain lines to the console at ``LOG_LEVEL``."""

from engagement.settings.base import env
from engagement.settings.celery import CELERY_TASK_ALWAYS_EAGER

LOG_LEVEL = env.log_level("LOG_LEVEL", default="INFO")
# Tasks run in-process (no broker) are part of the command or request that ran them: Celery's
# per-task lines and kombu's note about the in-memory broker's missing host are noise there.
# Workers keep them.
IN_PROCESS_TASK_LOGGERS = ("celery.app.trace", "kombu.connection")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": (
        {name: {"level": "ERROR"} for name in IN_PROCESS_TASK_LOGGERS}
        if CELERY_TASK_ALWAYS_EAGER
        else {}
    ),
}
