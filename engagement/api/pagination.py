"""Pagination classes used by the API."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Numbered pages; clients choose ``page_size`` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class TimeCursorPagination(pagination.CursorPagination):
    """Stable cursors over time-ordered rows (newest first), for long histories."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = ("-occurred_at", "-id")
