"""Reading settings from the environment so that a malformed value stops start-up in one line.

django-environ raises a bare ``ValueError`` (a traceback that does not say which variable) for
``JWT_ACCESS_MINUTES=abc``, and silently reads ``DEBUG=flase`` as false. :class:`Environment`
turns every value it cannot read into ``ImproperlyConfigured`` naming the variable and what it
expects; ``manage.py``, gunicorn and celery then stop with that line.
"""

import builtins
import math
from collections.abc import Callable
from typing import Any

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import URLValidator

FALSE_STRINGS = ("false", "off", "no", "n", "0", "")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def _expectation(cast: Any) -> str:
    if cast is bool:
        return "true or false"
    if cast is int:
        return "a whole number"
    if cast is float:
        return "a number"
    if isinstance(cast, list):
        return f"a comma-separated list of {_expectation(cast[0])}s"
    return "a valid value"


class Environment(environ.Env):
    """``environ.Env`` that names the variable whenever a value cannot be read as asked."""

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        """Strict where django-environ guesses: booleans are one of the known words, numbers are
        numbers (``0.1x`` is refused, not read as 0.1)."""
        if cast is bool and isinstance(value, str):
            word = value.strip().lower()
            if word in cls.BOOLEAN_TRUE_STRINGS:
                return True
            if word in FALSE_STRINGS:
                return False
            raise ValueError(word)
        if cast is float and isinstance(value, str):
            return float(value)
        return super().parse_value(value, cast)

    def get_value(
        self,
        var: str,
        cast: Any = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"{var} must be {_expectation(cast)} (see README, Configuration)."
            ) from exc

    def int(self, var: str, default: Any = environ.Env.NOTSET, *, minimum: builtins.int = 0) -> Any:
        """A whole number of at least ``minimum``: every count and duration here is one."""
        value = super().int(var, default=default)
        if value < minimum:
            raise ImproperlyConfigured(f"{var} must be a whole number of at least {minimum}.")
        return value

    def float(
        self, var: str, default: Any = environ.Env.NOTSET, *, positive: builtins.bool = False
    ) -> Any:
        """A finite number, not negative (``nan`` and ``inf`` read as numbers but mean none);
        above 0 when ``positive`` (a timeout of 0 would fail every wait at once)."""
        value = super().float(var, default=default)
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            lowest = "above 0" if positive else "of at least 0"
            raise ImproperlyConfigured(f"{var} must be a finite number {lowest}.")
        return value

    def share(self, var: str, default: Any = environ.Env.NOTSET, *, zero: bool = True) -> Any:
        """A share of a whole: a number from 0 (excluded unless ``zero``) to 1."""
        value = super().float(var, default=default)
        if not (0 <= value <= 1) or (value == 0 and not zero):
            lowest = "0" if zero else "above 0"
            raise ImproperlyConfigured(f"{var} must be a number from {lowest} to 1.")
        return value

    def choice(self, var: str, *, choices: tuple[str, ...], default: str) -> str:
        """One of ``choices`` (compared case-insensitively, returned as listed)."""
        value = self.str(var, default=default).strip()
        by_folded = {choice.casefold(): choice for choice in choices}
        if value.casefold() not in by_folded:
            raise ImproperlyConfigured(f"{var} must be one of {', '.join(choices)}.")
        return by_folded[value.casefold()]

    def log_level(self, var: str, *, default: str) -> str:
        """A level name the logging configuration accepts (an unknown one fails at set-up)."""
        return self.choice(var, choices=LOG_LEVELS, default=default)

    def rate(self, var: str, *, default: str) -> str:
        """A throttle rate as REST framework reads it: ``<requests>/<s|min|hour|day>``."""
        value = self.str(var, default=default).strip()
        requests, _, period = value.partition("/")
        if not (requests.isdigit() and period.isalpha() and period[0] in "smhd"):
            raise ImproperlyConfigured(
                f"{var} must be a rate such as 60/min (requests per s, min, hour or day)."
            )
        return value

    def http_url(self, var: str, *, default: str) -> str:
        value = self.str(var, default=default).rstrip("/")
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError as exc:
            raise ImproperlyConfigured(
                f"{var} must be an http(s) URL such as https://engagement.example.org."
            ) from exc
        return value

    def fernet_keys(self, var: str) -> list[str]:
        """Comma-separated Fernet keys; the position (not the secret) of a bad one is named."""
        keys: list[str] = self.list(var, default=[])
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError) as exc:
                raise ImproperlyConfigured(
                    f"{var}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                    "make one with `python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)."
                ) from exc
        return keys

    def url_config(
        self, var: str, *, parse: Callable[[str], dict[str, Any]], default: str, example: str
    ) -> dict[str, Any]:
        """A database, cache or e-mail URL parsed into Django's settings shape (empty = default)."""
        url = self.str(var, default="") or default
        try:
            return parse(url)
        except (ImproperlyConfigured, ValueError, KeyError) as exc:
            raise ImproperlyConfigured(f"{var} must be a URL such as {example}.") from exc
