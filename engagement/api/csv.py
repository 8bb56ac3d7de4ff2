"""CSV answers for table endpoints: ``?format=csv`` or ``Accept: text/csv``.

A view lists :class:`CSVRenderer` among its renderers (or uses :class:`CSVExportMixin`) and
names its download (``csv_filename``) and columns (``csv_columns``, the header even when there
are no rows). Rows are the JSON answer's objects; a nested object's keys become
``<field>_<key>`` columns. An error still answers JSON (``{"field": ["why"]}``), which a client
asking for CSV reads more easily than a one-cell table.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.renderers import JSONRenderer
from engagement.spreadsheets import csv_line


def flat_row(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One CSV row from an answer's object: nested objects spread into prefixed columns."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_row(value, prefix=f"{name}_"))
        else:
            flat[name] = value
    return flat


def csv_lines(rows: Iterable[Mapping[str, Any]], columns: Iterable[str] = ()) -> Iterator[str]:
    """The header (``columns``, then any further column the rows bring) and one line per row."""
    flat = [flat_row(row) for row in rows]
    header = list(dict.fromkeys([*columns, *(name for row in flat for name in row)]))
    yield csv_line(header)
    for row in flat:
        yield csv_line(row.get(name) for name in header)


class CSVRenderer(BaseRenderer):
    """A list answer (or a paginated one's ``results``) as CSV, downloaded as the view's
    ``csv_filename``; lets a view that answers CSV text itself declare ``text/csv``."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        context = renderer_context or {}
        view, response = context.get("view"), context.get("response")
        if isinstance(data, Mapping) and "results" in data:
            data = data["results"]
        if isinstance(data, Mapping):
            data = [data]
        if response is not None:
            filename = getattr(view, "csv_filename", "export.csv")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        columns = getattr(view, "csv_columns", ())
        return "".join(csv_lines(data or [], columns)).encode(self.charset)


class CSVExportMixin:
    """For an ``APIView``: JSON as usual, CSV on request, errors always in JSON."""

    renderer_classes: Sequence[type[BaseRenderer]] = [
        JSONRenderer,
        BrowsableAPIRenderer,
        CSVRenderer,
    ]
    csv_filename = "export.csv"
    csv_columns: tuple[str, ...] = ()

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Response:
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and isinstance(getattr(request, "accepted_renderer", None), CSVRenderer)
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
