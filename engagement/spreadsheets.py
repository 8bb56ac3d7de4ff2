"""CSV for people who open it in a spreadsheet: the one place that makes a cell safe and writes
CSV lines, for API answers (``engagement.api.csv``), page downloads (the caseload export) and
stored reports (an import's refused lines).

Cells come from outside (names, ids, uploaded text): one that starts like a formula gets a
leading apostrophe, so a spreadsheet shows it instead of running it.
"""

import csv
from collections.abc import Iterable
from typing import Any, overload

from django.http import HttpResponse, StreamingHttpResponse

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a cell: empty for none, lists joined, text that a spreadsheet would run as a
    formula quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


class _Line:
    """A file-like object ``csv.writer`` writes one line into, handed back at once."""

    def write(self, value: str) -> str:
        return value


_WRITER = csv.writer(_Line())


def csv_line(values: Iterable[Any]) -> str:
    """One CSV line (``\\r\\n``-terminated) of ``values``, each made safe with :func:`cell`."""
    return str(_WRITER.writerow([cell(value) for value in values]))


@overload
def csv_download(content: str, filename: str) -> HttpResponse: ...  # type: ignore[overload-overlap]  # str is text, not lines
@overload
def csv_download(content: Iterable[str], filename: str) -> StreamingHttpResponse: ...
def csv_download(
    content: str | Iterable[str], filename: str
) -> HttpResponse | StreamingHttpResponse:
    """``content`` as a CSV attachment named ``filename``: whole text at once, or lines streamed."""
    response: HttpResponse | StreamingHttpResponse
    if isinstance(content, str):
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
