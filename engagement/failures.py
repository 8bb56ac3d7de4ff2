"""Naming a failure for probes and logs without its message: messages can carry host names, a
URL's credentials or personal data; the error's class and the operating system's reason cannot.

Libraries wrap errors (django-redis' ``ConnectionInterrupted`` around redis' ``ConnectionError``
around the socket's ``ConnectionRefusedError``): the name is that of the innermost library
error, the reason that of an operating-system error beneath it, e.g.
``ConnectionError: Connection refused``.
"""

from collections.abc import Iterator

# Enough for any real chain of wrappers; a longer one is cut rather than followed round a cycle.
_LONGEST_CHAIN = 10


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then what caused it (``raise ... from``) or was being handled when it arose,
    down to the first operating-system error: whatever that one arose during is unrelated."""
    current: BaseException | None = error
    for _ in range(_LONGEST_CHAIN):
        if current is None:
            return
        yield current
        if isinstance(current, OSError):
            return
        current = current.__cause__ or current.__context__


def failure_name(error: BaseException) -> str:
    """``<innermost non-OS error class>[: <OS reason>]``, e.g. ``ConnectionError: Connection refused``."""
    chain = list(_chain(error))
    raised = [link for link in chain if not isinstance(link, OSError)] or chain
    reason = chain[-1].strerror if isinstance(chain[-1], OSError) else None
    name = type(raised[-1]).__name__
    return f"{name}: {reason}" if reason else name
