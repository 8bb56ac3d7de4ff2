"""The request id travels with every task a request queues, into the worker and its log lines.

Publishing puts the current request id in the message headers; the worker, before running the
task, makes it the current request context (the audit log and the log formatter read it there)
and binds the task's name and id to its log lines. Eager tasks run inside the request already.
"""

from collections.abc import Callable
from typing import Any

import structlog
from celery import signals

from engagement import request_context

REQUEST_ID_HEADER = "request_id"
# What to undo when each running task ends (task id -> resets, innermost last).
_RESETS: dict[str, list[Callable[[], None]]] = {}


@signals.before_task_publish.connect
def _publish_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    context = request_context.current()
    if context is not None and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, context.request_id)


@signals.task_prerun.connect
def _enter_task(task_id: str, task: Any, **_: Any) -> None:
    bound = structlog.contextvars.bind_contextvars(task=task.name, task_id=task_id)
    resets = [lambda: structlog.contextvars.reset_contextvars(**bound)]
    offered = (task.request.headers or {}).get(REQUEST_ID_HEADER)
    if request_context.current() is None and request_context.valid_request_id(offered):
        token = request_context.enter(request_id=offered, ip=None)
        resets.append(lambda: request_context.leave(token))
    _RESETS[task_id] = resets


@signals.task_postrun.connect
def _leave_task(task_id: str, **_: Any) -> None:
    for reset in reversed(_RESETS.pop(task_id, [])):
        reset()
