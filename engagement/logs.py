"""Structured logs: every record, ours or a library's, goes through one structlog pipeline.

Production writes one JSON object per line (for a log shipper); development a readable console
line. Each record carries the current request id (a request's, or the one a Celery task was
queued under), so a request and the background work it caused can be followed together. Nothing
here adds personal data: callers log ids, never names, emails or raw paths.
"""

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from engagement import request_context
from engagement.failures import failure_name

LOG_FORMATS = ("json", "console")


def add_request_id(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The request id of the request or task being served, unless the caller gave one."""
    context = request_context.current()
    if context is not None:
        event_dict.setdefault("request_id", context.request_id)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_request_id,
    ]


def formatter(log_format: str) -> dict[str, Any]:
    """A ``logging.config`` formatter rendering records as JSON lines or console lines."""
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        # Tracebacks as data, without the frames' local variables: those can hold personal data.
        final.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        )
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [*final, renderer],
        "foreign_pre_chain": _shared_processors(),
    }


def console_logging(log_format: str) -> dict[str, Any]:
    """The ``formatters`` and ``handlers`` of a ``logging.config`` dict: one handler, ``console``
    (standard error), rendering through :func:`formatter`."""
    return {
        "formatters": {"structured": formatter(log_format)},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    }


def gunicorn_logging(log_format: str, level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines (start, workers, invalid requests) in the
    application's format. Its access log stays off: the request log (``engagement.request``)
    says the same with the route instead of the raw path and query string."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        **console_logging(log_format),
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            # Access lines are written at INFO: a WARNING threshold and no handler drop them.
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


class OncePerInterval(logging.Filter):
    """A failure that repeats on every request (a cache outage: every read and write fails) is
    logged once per ``interval`` seconds per process, as a warning without traceback: the service
    is degraded, not failing, and a traceback per request would bury every other line.

    The line says ``message``, the failure's name (class and system reason, never its message:
    see :mod:`engagement.failures`) and how many were left out since the previous one.
    """

    def __init__(
        self, interval: float, message: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self.message = message
        self._clock = clock
        self._quiet_until = float("-inf")
        self._left_out = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            now = self._clock()
            if now < self._quiet_until:
                self._left_out += 1
                return False
            self._quiet_until = now + self.interval
            left_out, self._left_out = self._left_out, 0
        # Some callers log the message of the error they are handling rather than the error
        # itself (django-prometheus' cache backend): it is still the one being handled.
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        record.msg = "%s: %s (%d more since the last such line; repeats within %g s are not logged)"
        record.args = (
            self.message,
            failure_name(error) if error is not None else record.getMessage(),
            left_out,
            self.interval,
        )
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text = None, None
        return True


class ExceptionsOnly(logging.Filter):
    """Only records that carry an exception.

    For ``django.request``: its line for an error response a view returned on purpose (``/readyz``'s
    503) comes after the request's context is gone, so without the request id, and names the raw
    path; the request log has already recorded that response. Lines for exceptions, which keep
    their traceback, are written while the request is served and carry its id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is not None


def configure_structlog() -> None:
    """Route structlog's own loggers, and Python's warnings (``py.warnings``), into the standard
    library, where the formatter renders them: no plain line among the JSON ones."""
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
