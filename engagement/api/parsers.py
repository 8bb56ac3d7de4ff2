"""The project's JSON parser: DRF's, with a bound on nesting and finite numbers only."""

import codecs
import json
import math
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from engagement.input_bounds import MAX_JSON_DEPTH, json_too_deep

TOO_DEEP = f"JSON parse error - arrays and objects nest more than {MAX_JSON_DEPTH} levels deep."
NOT_FINITE = "JSON parse error - numbers must be finite: {} is not."


def _refuse_constant(name: str) -> NoReturn:
    raise ParseError(NOT_FINITE.format(name))


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ParseError(NOT_FINITE.format(text if len(text) <= 32 else f"{text[:32]}…"))
    return number


class JSONParser(parsers.JSONParser):
    """Refuse, with a 400, bodies nested more than ``MAX_JSON_DEPTH`` levels and non-finite numbers.

    The standard library's decoder recurses once per level, so a body of a few kilobytes of
    ``[`` exhausts the interpreter's stack; that is caught here, and shallower bodies that still
    exceed the bound are refused after decoding. ``NaN``, ``Infinity`` and numbers that overflow
    a float (``1e309``) are not JSON; decoded, they would become ``inf`` that no column stores.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=_refuse_constant,
                parse_float=_finite_float,
            )
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_too_deep(data):
            raise ParseError(TOO_DEEP)
        return data
