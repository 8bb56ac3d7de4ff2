"""The project's JSON parser: DRF's, with a bound on how deeply a body may nest."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from engagement.input_bounds import MAX_JSON_DEPTH, json_too_deep

TOO_DEEP = f"JSON parse error - arrays and objects nest more than {MAX_JSON_DEPTH} levels deep."


class JSONParser(parsers.JSONParser):
    """Refuse bodies nested more than ``MAX_JSON_DEPTH`` levels with a 400, not a RecursionError.

    The standard library's decoder recurses once per level, so a body of a few kilobytes of
    ``[`` exhausts the interpreter's stack; that is caught here, and shallower bodies that still
    exceed the bound are refused after decoding.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        if json_too_deep(data):
            raise ParseError(TOO_DEEP)
        return data
