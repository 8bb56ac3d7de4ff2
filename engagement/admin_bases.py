"""Admin base classes for rows that only the application writes."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown here, never added or edited: the application writes these rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AppendOnlyAdmin(ReadOnlyAdmin):
    """Read-only and never deleted here either (an audit trail, a job's record)."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
