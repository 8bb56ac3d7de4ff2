"""The import pages under ``/dashboard/`` (a module of their own, registered from ``apps.py``)."""

from django.urls import path

from learners.pages import imports

urlpatterns = [
    path("imports/", imports.imports, name="dashboard-imports"),
    path("imports/<uuid:upload_id>/", imports.import_detail, name="dashboard-import"),
    path(
        "imports/<uuid:upload_id>/refused.csv",
        imports.import_refused,
        name="dashboard-import-refused",
    ),
]
