"""Doors never bypass services: every write an admin page allows goes through a service.

Django's ``ModelAdmin`` writes with ``obj.save()`` and ``queryset.delete()``, skipping the
services' rules and audit. So an admin of the project's models either refuses a write
(``has_*_permission`` is false) or overrides the hook Django would use for it.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def project_admins() -> Iterator[admin.ModelAdmin]:
    for model, model_admin in admin.site._registry.items():
        if Path(model._meta.app_config.path).parent == ROOT:
            yield model_admin


def own_hooks(model_admin: admin.ModelAdmin, *names: str) -> list[str]:
    """Which of the hooks ``names`` the admin's class still inherits from ``ModelAdmin``."""
    return [
        name
        for name in names
        if getattr(type(model_admin), name) is getattr(admin.ModelAdmin, name)
    ]


@pytest.mark.django_db
def test_every_admin_write_goes_through_a_service(rf: Any) -> None:
    request = rf.get("/admin/")
    request.user = UserFactory(role="admin", is_superuser=True)
    bypasses = {}
    for model_admin in project_admins():
        missing = []
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            missing += own_hooks(model_admin, "save_model")
            if model_admin.inlines:
                missing += own_hooks(model_admin, "save_formset")
        if model_admin.has_delete_permission(request):
            missing += own_hooks(model_admin, "delete_model", "delete_queryset")
        if missing:
            bypasses[str(model_admin)] = missing
    assert bypasses == {}
