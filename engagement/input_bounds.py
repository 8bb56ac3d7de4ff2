"""The limits every door applies to what it accepts: date-times, integers, JSON nesting and text.

One place, so that the API, the CSV imports, xAPI and the commands refuse the same values with
the same words. Date-times outside the bounds overflow Python's ``datetime`` when shifted to UTC
or by a few days (year 1, year 9999), and make no sense for learning activity anyway. Dates and
date-times are ASCII ISO 8601 text only (RFC 3339's lower-case ``t`` and ``z`` included): no other
digits, no control characters, nothing before or after, so that every door reads the same value
the same way. Integers
above ``MAX_INTEGER`` overflow a 32-bit database column; JSON nested deeper than
``MAX_JSON_DEPTH`` exhausts the parser's recursion; numbers that are not finite (NaN, an
overflowing ``1e309``) are not JSON and cannot be stored; NUL characters and unpaired surrogates cannot
be stored as text by PostgreSQL, nor encoded as UTF-8. Pure functions that raise ``ValueError``
with a message fit for a ``{"field": ["why"]}`` answer.
"""

import functools
import math
import re
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from django.core.exceptions import ValidationError

#: Earliest and latest instants accepted anywhere (the latest is exclusive).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
EARLIEST_DATE = EARLIEST.date()
LATEST_DATE = date(2099, 12, 31)
#: Largest whole number stored (PostgreSQL's ``integer``, Django's PositiveIntegerField).
MAX_INTEGER = 2**31 - 1
#: Deepest nesting of arrays and objects accepted in a request body.
MAX_JSON_DEPTH = 64
#: Clock skew allowed to a time that must not lie in the future (an event, an enrolment).
FUTURE_TOLERANCE = timedelta(minutes=10)

DATETIME_RANGE = f"in the range {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()} (UTC)"


def future_problem(value: datetime, *, now: datetime) -> str | None:
    """Why ``value`` cannot be a time that has already come (an enrolment, a finish, a rescore's
    ``as_of``), or ``None``; ``FUTURE_TOLERANCE`` of clock skew is allowed."""
    if value > now + FUTURE_TOLERANCE:
        return f"Must not lie in the future (it is now {now.isoformat()})."
    return None


def check_datetime(value: datetime) -> datetime:
    """``value`` (aware, or naive meaning UTC) in UTC, if it lies within the accepted range."""
    try:
        in_utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"Must lie {DATETIME_RANGE}.") from exc
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"Must lie {DATETIME_RANGE}.")
    return in_utc


def check_date(value: date) -> date:
    """``value`` if it lies within the accepted range."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"Must lie {DATETIME_RANGE}.")
    return value


_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,9}))?)?"
_OFFSET = (
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<offset_hours>[0-9]{2})(?::?(?P<offset_minutes>[0-9]{2}))?)"
)
_DATE_PATTERN = re.compile(_DATE)
_TIME_PATTERN = re.compile(_TIME)
_DATETIME_PATTERN = re.compile(rf"{_DATE}(?:[Tt ]{_TIME}{_OFFSET}?)?")


def _quoted(value: str) -> str:
    """``value`` quoted for a message, control characters and lone surrogates escaped."""
    return repr(value if len(value) <= 64 else f"{value[:64]}…")


def _offset(match: re.Match[str]) -> timezone | None:
    if not match["offset"]:
        return None
    if match["offset"] in "Zz":
        return UTC
    sign = -1 if match["sign"] == "-" else 1
    hours, minutes = int(match["offset_hours"]), int(match["offset_minutes"] or 0)
    if minutes > 59:
        raise ValueError("offset minutes beyond 59")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_iso_datetime(value: str) -> datetime:
    """Strict ISO 8601 text to a datetime, naive when it has no offset; no bounds applied.

    ``YYYY-MM-DD``, optionally followed by ``T`` (or ``t``, or a space) and ``hh:mm[:ss[.f]]``
    with an optional ``Z``, ``z`` or ``±hh[:mm]`` offset; ASCII digits only, nothing around it.
    """
    match = _DATETIME_PATTERN.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int((match["fraction"] or "").ljust(6, "0")[:6]),
            tzinfo=_offset(match),
        )
    except ValueError as exc:
        raise ValueError(f"{_quoted(value)} is not an ISO 8601 date-time.") from exc


def parse_datetime(value: Any) -> datetime:
    """ISO 8601 text (a date alone means its midnight) to an aware UTC datetime within bounds."""
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 date-time string.")
    return check_datetime(parse_iso_datetime(value))


def parse_date(value: Any) -> date:
    """ISO 8601 ``YYYY-MM-DD`` text (ASCII digits, nothing around it) to a date within bounds."""
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 date string (YYYY-MM-DD).")
    match = _DATE_PATTERN.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        parsed = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError as exc:
        raise ValueError(f"{_quoted(value)} is not an ISO 8601 date (YYYY-MM-DD).") from exc
    return check_date(parsed)


def parse_time(value: str) -> time:
    """ISO 8601 ``hh:mm[:ss[.f]]`` text (ASCII digits, no offset, nothing around it) to a time."""
    match = _TIME_PATTERN.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return time(
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int((match["fraction"] or "").ljust(6, "0")[:6]),
        )
    except ValueError as exc:
        raise ValueError(f"{_quoted(value)} is not an ISO 8601 time (hh:mm:ss).") from exc


#: Top-level areas of the IANA database whose zones mean the same on every server.
TIMEZONE_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Etc",
        "Indian",
        "Pacific",
    }
)


def check_timezone(value: Any) -> str:
    """``value`` if it is a portable IANA zone: ``UTC`` or ``Area/Location`` in a known area.

    Names such as ``localtime``, ``posixrules`` or ``Factory`` exist in some zone databases but
    mean whatever the server is configured to, or nothing; they are refused, and so are the old
    aliases without a region (``GB``, ``EST5EDT``, ``US/Eastern``): give the canonical name.
    """
    area, slash, _ = value.partition("/") if isinstance(value, str) else ("", "", "")
    portable = value == "UTC" or (slash and area in TIMEZONE_AREAS)
    if not portable or value not in zoneinfo.available_timezones():
        raise ValueError(f"{_quoted(str(value))} is not an IANA time zone such as 'Europe/Paris'.")
    return value


@functools.cache
def portable_timezones() -> tuple[str, ...]:
    """Every zone :func:`check_timezone` accepts, sorted: the choices offered to people."""
    return tuple(
        sorted(
            name
            for name in zoneinfo.available_timezones()
            if name == "UTC" or ("/" in name and name.partition("/")[0] in TIMEZONE_AREAS)
        )
    )


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a NUL character, an unpaired surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "contains an unpaired surrogate, which is not valid text"
    return None


def check_text(value: str) -> str:
    """``value`` if it can be stored as text."""
    problem = text_problem(value)
    if problem:
        raise ValueError(f"Must be valid text: it {problem}.")
    return value


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any, int]]:
    """Every value inside ``value`` with its path and how many arrays/objects enclose it.

    Iterative, so that no nesting can exhaust the interpreter's recursion.
    """
    stack = [(path, value, 0)]
    while stack:
        where, item, depth = stack.pop()
        yield where, item, depth
        if isinstance(item, dict):
            stack.extend((f"a key of {where}", key, depth + 1) for key in item)
            stack.extend((f"{where}.{key}", child, depth + 1) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend(
                (f"{where}[{index}]", child, depth + 1) for index, child in enumerate(item)
            )


def _too_deep(item: Any, depth: int, max_depth: int) -> bool:
    return depth >= max_depth and isinstance(item, dict | list)


def check_json(value: Any, *, name: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` (parsed JSON) if at most ``max_depth`` arrays/objects nest and all text is valid.

    The message names the offending place, e.g. ``metadata.tags[2] contains a NUL character``.
    """
    for where, item, depth in _walk(value, name):
        if _too_deep(item, depth, max_depth):
            raise ValueError(f"{name} nests arrays and objects more than {max_depth} levels deep.")
        problem = text_problem(item) if isinstance(item, str) else None
        if isinstance(item, float) and not math.isfinite(item):
            problem = "is not a finite number"
        if problem:
            raise ValueError(f"{where} {problem}.")
    return value


def json_too_deep(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests more than ``max_depth`` arrays and objects.

    Level by level over containers only, without paths: it runs on every request body.
    """
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(max_depth):
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend([child for child in children if isinstance(child, dict | list)])
        level = below
    return bool(level)


def validate_datetime(value: datetime) -> None:
    """Model-field validator: a date-time within the accepted range."""
    try:
        check_datetime(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="out_of_range") from exc


def validate_date(value: date) -> None:
    """Model-field validator: a date within the accepted range."""
    try:
        check_date(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="out_of_range") from exc


def validate_json(value: Any) -> None:
    """Model-field validator: JSON within ``MAX_JSON_DEPTH``, storable text and finite numbers."""
    try:
        check_json(value, name="value")
    except ValueError as exc:
        raise ValidationError(str(exc), code="unstorable") from exc


def validate_timezone(value: str) -> None:
    """Model-field validator: a portable IANA time zone."""
    try:
        check_timezone(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_timezone") from exc
