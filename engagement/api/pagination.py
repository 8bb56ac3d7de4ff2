"""Pagination classes used by the API."""

import hashlib
import math
from datetime import datetime
from typing import Any, cast

from django.core.cache import cache
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

#: SQL's BIGINT: the largest ``OFFSET`` or ``LIMIT`` a database takes (pages past it do not exist).
LARGEST_OFFSET = 2**63 - 1


class PageNumberPagination(pagination.PageNumberPagination):
    """Numbered pages; clients choose ``page_size`` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CappedCountPagination(PageNumberPagination):
    """Numbered pages of long lists, whose total costs the same at any length.

    The rows of a page are read with one more row than the page holds, which tells whether
    there is a next page; the last page, and any list shorter than a page, tells its exact
    total without a count. Otherwise the total is counted exactly up to :attr:`exact_up_to`
    rows (a ``LIMIT`` inside the count, which reads at most that many rows). Past that, ``count``
    is an exact count cached for :attr:`count_cache_seconds` and ``count_exact`` is false: it may
    lag rows added or removed since. The cache is shared by every caller who runs the same query
    (the key is the query itself, scope included), and while it holds a count no count runs at
    all. ``next`` and ``previous`` are always exact; ``page=last`` counts exactly.
    """

    exact_up_to = 1_000
    count_cache_seconds = 60

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.url = request.build_absolute_uri()
        size = cast(int, self.get_page_size(request))  # page_size is set: never None here
        requested = request.query_params.get(self.page_query_param) or 1
        total: tuple[int, bool] | None = None
        if requested in self.last_page_strings:  # rare: worth an exact count, never stale
            total = (queryset.order_by().values("pk").count(), True)
            requested = max(1, math.ceil(total[0] / size))
        try:
            number = int(requested)
        except (TypeError, ValueError) as exc:
            raise NotFound(self.invalid_page_message) from exc
        offset = (number - 1) * size
        if number < 1 or offset + size + 1 > LARGEST_OFFSET:
            raise NotFound(self.invalid_page_message)
        rows = self.page_rows(queryset, offset, offset + size + 1)
        self.has_next = len(rows) > size
        rows = rows[:size]
        if not rows and number > 1:
            raise NotFound(self.invalid_page_message)
        if not self.has_next:
            total = (offset + len(rows), True)
        self.number = number
        self.total = total or self._count(queryset)
        return rows

    def page_rows(self, queryset: QuerySet, start: int, stop: int) -> list[Any]:
        """Rows ``start:stop`` of ``queryset``; a list may read them its own way."""
        return list(queryset[start:stop])

    def _count(self, queryset: QuerySet) -> tuple[int, bool]:
        """The total and whether it is exact (see the class docstring)."""
        rows = queryset.order_by().values("pk")
        key = _count_key(rows)
        cached = cache.get(key)
        if cached is not None:
            return cached, False
        counted = rows[: self.exact_up_to + 1].count()
        if counted <= self.exact_up_to:
            return counted, True
        total = rows.count()
        cache.set(key, total, timeout=self.count_cache_seconds)
        return total, False

    def get_paginated_response(self, data: Any) -> Response:
        count, exact = self.total
        return Response(
            {
                "count": count,
                "count_exact": exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count"]["description"] = (
            f"Exact up to {self.exact_up_to:,} rows (and on the last page); above that a count "
            f"cached for up to {self.count_cache_seconds} s, which may lag recent changes: see "
            "count_exact."
        )
        answer["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when count is the cached count of a list longer than "
            f"{self.exact_up_to:,} rows.",
        }
        answer["required"] = [*answer["required"], "count_exact"]
        return answer

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        if self.number == 2:
            return remove_query_param(self.url, self.page_query_param)
        return replace_query_param(self.url, self.page_query_param, self.number - 1)


def _count_key(queryset: QuerySet) -> str:
    """The cache key of a long list's count: its database and its query, parameters included
    (so the caller's scope too), with date-times to the minute: a filter relative to now
    ("inactive for 14 days") then keeps one count per minute instead of one per request."""
    sql, params = queryset.query.sql_with_params()
    stable = [
        value.replace(second=0, microsecond=0) if isinstance(value, datetime) else value
        for value in params
    ]
    query = f"{queryset.db}:{sql}:{stable!r}"
    return f"list:count:v1:{hashlib.sha256(query.encode()).hexdigest()}"


class TimeCursorPagination(pagination.CursorPagination):
    """Stable cursors over time-ordered rows (newest first), for long histories."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = ("-occurred_at", "-id")
