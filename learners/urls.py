"""The learners app's dashboard pages under ``/dashboard/``."""

from django.urls import path

from learners.pages import caseload, learner

urlpatterns = [
    path("learners/", caseload.caseload, name="dashboard-learners"),
    path("learners/export.csv", caseload.caseload_export, name="dashboard-learners-export"),
    path("learners/<uuid:learner_id>/", learner.learner_page, name="dashboard-learner"),
    path(
        "learners/<uuid:learner_id>/feedback/",
        learner.learner_feedback,
        name="dashboard-learner-feedback",
    ),
    path(
        "learners/<uuid:learner_id>/notes/", learner.learner_note_add, name="dashboard-learner-note"
    ),
    path(
        "learners/<uuid:learner_id>/notes/<uuid:note_id>/delete/",
        learner.learner_note_delete,
        name="dashboard-learner-note-delete",
    ),
]
