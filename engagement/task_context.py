"""The request id travels with every task a request queues, into the worker and its log lines.

Publishing puts the current request id in the message headers; the worker, before running the
task, makes it the current request context (the audit log and the log formatter read it there),
binds the task's name and id to its log lines and starts a unit of work (reads may use the read
replica until the task writes). Eager tasks run inside the request already.
"""

from contextlib import ExitStack
from typing import Any

import structlog
from celery import signals

from engagement import request_context
from engagement.db_routing import unit_of_work

REQUEST_ID_HEADER = "request_id"
# What to undo when each running task ends (task id -> its contexts).
_RUNNING: dict[str, ExitStack] = {}


@signals.before_task_publish.connect
def _publish_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    context = request_context.current()
    if context is not None and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, context.request_id)


@signals.task_prerun.connect
def _enter_task(task_id: str, task: Any, **_: Any) -> None:
    stack = ExitStack()
    stack.enter_context(structlog.contextvars.bound_contextvars(task=task.name, task_id=task_id))
    if not task.request.is_eager:  # an eager task is part of the request that ran it
        stack.enter_context(unit_of_work())
    offered = (task.request.headers or {}).get(REQUEST_ID_HEADER)
    if request_context.current() is None and request_context.valid_request_id(offered):
        token = request_context.enter(request_id=offered, ip=None)
        stack.callback(request_context.leave, token)
    _RUNNING[task_id] = stack


@signals.task_postrun.connect
def _leave_task(task_id: str, **_: Any) -> None:
    stack = _RUNNING.pop(task_id, None)
    if stack is not None:
        stack.close()
