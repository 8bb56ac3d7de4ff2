"""The learner page (``/dashboard/learners/<uuid>/``): every section per role, scope, the
feedback and note forms with their failures, CSRF, and a query count that ignores history."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from engagement.roles import ADMIN_COACH
from learners.models import ActivityEvent, CoachNote, RiskAssessment, RiskFeedback
from learners.pages import panels
from learners.pages.learner import (
    RISK_HISTORY_POINTS,
    back_path,
    duration_words,
    shared_thresholds,
    timeline_days,
)
from learners.risk.feedback import risk_feedback_create
from learners.risk.selectors import learner_risk_trend
from learners.risk.services import learners_rescore
from learners.services import coach_note_create
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rules_model: Any) -> dict[str, Any]:
    cohort, other = CohortFactory(name="Autumn"), CohortFactory(name="Elsewhere")
    coach, stranger = UserFactory(role="coach"), UserFactory(role="coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    CohortAssignmentFactory(user=stranger, cohort=other)
    learner = LearnerFactory(
        cohort=cohort,
        name="Ada Drift",
        email="ada@example.org",
        external_id="ext-ada",
        enrolled_at=timezone.now() - timedelta(days=60),
    )
    ActivityEventFactory(
        learner=learner,
        kind="assessment_submitted",
        occurred_at=timezone.now() - timedelta(days=20),
        duration_seconds=1500,
        score=0.8,
    )
    learners_rescore(learner_ids=[learner.pk])
    return {
        "learner": learner,
        "coach": coach,
        "stranger": stranger,
        "admin": UserFactory(role="admin"),
        "analyst": UserFactory(role="analyst"),
    }


def _client(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _url(learner: Any, suffix: str = "") -> str:
    return f"/dashboard/learners/{learner.pk}/{suffix}"


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, world: dict[str, Any]) -> None:
    response = client.get(_url(world["learner"]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/learners/")


@pytest.mark.parametrize("role", ["admin", "coach"])
def test_staff_who_see_personal_data_get_every_section(world: dict[str, Any], role: str) -> None:
    coach_note_create(actor=world["coach"], learner=world["learner"], body="Called, no answer")
    risk_feedback_create(
        actor=world["coach"], learner=world["learner"], kind="acknowledged", note="on it"
    )
    response = _client(world[role]).get(_url(world["learner"]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Ada Drift", "ada@example.org", "ext-ada", "Autumn", "Profile"):
        assert text in page
    assert "Current risk" in page and "Pushing the risk up" in page
    assert "No activity for 20 days" in page  # a worded factor
    assert "Best lever" in page and "Risk history" in page
    assert "Assessment submitted" in page and "25 min" in page and "80%" in page
    assert "Called, no answer" in page and "Coach notes" in page
    assert "Latest: Acknowledged" in page and "on it" in page
    assert 'name="kind" value="incorrect"' in page
    assert ("Export data" in page) is (role == "admin")


def test_analysts_get_a_pseudonymised_page_without_forms(world: dict[str, Any]) -> None:
    response = _client(world["analyst"]).get(_url(world["learner"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Learner {str(world['learner'].pk)[-8:]}" in page
    assert "Ada Drift" not in page and "ext-ada" not in page
    assert "Current risk" in page and "No activity for 20 days" in page
    assert "Coach notes" not in page and '<form method="post" action="/dashboard' not in page
    assert "Export data" not in page


# Personal data planted in every field that holds it; the analyst's page must show none of it.
MARKER = "zqlearnerpage"


def test_analyst_page_holds_no_planted_personal_data(world: dict[str, Any]) -> None:
    learner = LearnerFactory(
        cohort=world["learner"].cohort,
        name=f"Ann {MARKER}name",
        email=f"{MARKER}email@example.org",
        external_id=f"{MARKER}-external",
        source=f"{MARKER}-source",
        enrolled_at=timezone.now() - timedelta(days=30),
    )
    ActivityEventFactory(
        learner=learner,
        source=f"{MARKER}-event-source",
        source_event_id=f"{MARKER}-event-id",
        metadata={"comment": f"{MARKER}-metadata", f"{MARKER}-key": 1},
        occurred_at=timezone.now() - timedelta(days=2),
    )
    learners_rescore(learner_ids=[learner.pk])
    risk_feedback_create(
        actor=world["coach"], learner=learner, kind="incorrect", note=f"{MARKER} feedback note"
    )
    coach_note_create(actor=world["coach"], learner=learner, body=f"Call {MARKER} coach note")
    admin_page = _client(world["admin"]).get(_url(learner)).content.decode()
    assert admin_page.count(MARKER) >= 8  # the planting shows where it may
    analyst_page = _client(world["analyst"]).get(_url(learner)).content.decode()
    assert MARKER not in analyst_page.lower()
    assert "Incorrectly flagged" in analyst_page  # the verdict, without its note


def test_a_coach_sees_only_learners_of_their_cohorts(world: dict[str, Any]) -> None:
    assert _client(world["stranger"]).get(_url(world["learner"])).status_code == 404


@pytest.mark.parametrize(
    "path", [f"/dashboard/learners/{uuid.uuid4()}/", "/dashboard/learners/not-a-uuid/"]
)
def test_unknown_or_malformed_ids_are_404(world: dict[str, Any], path: str) -> None:
    assert _client(world["admin"]).get(path).status_code == 404


def test_an_unscored_learner_says_so(world: dict[str, Any]) -> None:
    learner = LearnerFactory(cohort=world["learner"].cohort)
    page = _client(world["coach"]).get(_url(learner)).content.decode()
    assert "Not scored yet" in page and "No activity recorded." in page


def test_stale_risk_is_flagged(world: dict[str, Any]) -> None:
    type(world["learner"]).objects.filter(pk=world["learner"].pk).update(risk_stale=True)
    page = _client(world["coach"]).get(_url(world["learner"])).content.decode()
    assert "Out of date" in page


def test_what_changed_since_the_previous_assessment(world: dict[str, Any]) -> None:
    learner = world["learner"]
    learners_rescore(learner_ids=[learner.pk], as_of=timezone.now() - timedelta(days=10))
    page = _client(world["coach"]).get(_url(learner)).content.decode()
    assert re.search(r"Risk \d+% on <time [^>]+>\d+ \w+ \d{4}</time>, \d+% now\.", page)
    assert "This is the first assessment." not in page
    assert "now raises the risk more" in page or "now lowers the risk more" in page


# The timeline ---------------------------------------------------------------------------------


def test_the_timeline_is_paginated_and_grouped_by_day(world: dict[str, Any]) -> None:
    learner = world["learner"]
    start = timezone.now() - timedelta(days=5)
    ActivityEventFactory.create_batch(
        60, learner=learner, occurred_at=start, kind="login", duration_seconds=30
    )
    client = _client(world["coach"])
    first = client.get(_url(learner)).content.decode()
    assert "Page 1 of 2" in first and first.count("<td>Login</td>") == 50
    second = client.get(_url(learner), {"page": 2}).content.decode()
    assert second.count("<td>Login</td>") == 10 and "Assessment submitted" in second
    assert len(re.findall(r'<h3 class="day">', second)) == 2


@pytest.mark.parametrize(
    ("page", "status", "message"),
    [("abc", 400, "Give a page number"), ("0", 400, "Give a page number"), ("99", 404, "")],
)
def test_a_bad_timeline_page_is_4xx_with_a_message(
    world: dict[str, Any], page: str, status: int, message: str
) -> None:
    """The frame's pagination: a malformed number is a 400 saying why, one past the last a 404."""
    response = _client(world["coach"]).get(_url(world["learner"]), {"page": page})
    assert response.status_code == status
    assert message in response.content.decode()


def test_times_show_in_the_viewers_time_zone(world: dict[str, Any]) -> None:
    world["coach"].timezone = "Asia/Tokyo"
    world["coach"].save(update_fields=["timezone"])
    event = ActivityEvent.objects.get(learner=world["learner"])
    local = timezone.localtime(event.occurred_at, timezone=ZoneInfo("Asia/Tokyo"))
    page = _client(world["coach"]).get(_url(world["learner"])).content.decode()
    assert f"<td>{local:%H:%M}</td>" in page


def test_the_timeline_groups_by_the_viewers_days(world: dict[str, Any]) -> None:
    """The frame activates the viewer's time zone for the request; days follow it."""
    learner = LearnerFactory(cohort=world["learner"].cohort)
    ActivityEventFactory(learner=learner, occurred_at=datetime(2026, 10, 1, 20, 0, tzinfo=UTC))
    with timezone.override(ZoneInfo("UTC")):
        assert [
            day.day for day in timeline_days(ActivityEvent.objects.filter(learner=learner))
        ] == [date(2026, 10, 1)]
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert [
            day.day for day in timeline_days(ActivityEvent.objects.filter(learner=learner))
        ] == [date(2026, 10, 2)]


def test_analysts_see_no_event_sources_or_metadata(world: dict[str, Any]) -> None:
    ActivityEventFactory(learner=world["learner"], source_event_id="evt-secret", metadata={"a": 1})
    page = _client(world["analyst"]).get(_url(world["learner"])).content.decode()
    assert "evt-secret" not in page and "Source" not in page


def test_the_query_count_does_not_grow_with_the_history(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    learner = world["learner"]
    coach_note_create(actor=world["coach"], learner=learner, body="first")
    client = _client(world["coach"])
    client.get(_url(learner))  # warms the risk detail cache, as any earlier visit would
    ActivityEventFactory.create_batch(4, learner=learner)
    # 9 of the page itself, 1 of the nudges panel (nudges.pages.panel).
    with django_assert_num_queries(10) as few:
        assert client.get(_url(learner)).status_code == 200
    ActivityEventFactory.create_batch(495, learner=learner)
    for _ in range(3):
        coach_note_create(actor=world["coach"], learner=learner, body="more")
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(_url(learner)).status_code == 200


# Feedback -------------------------------------------------------------------------------------


def test_feedback_is_recorded_and_shown_at_once(world: dict[str, Any]) -> None:
    client = _client(world["coach"])
    response = client.post(
        _url(world["learner"], "feedback/"),
        {"kind": "not_applicable", "back": "/dashboard/learners/?band=high"},
    )
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"{_url(world['learner'])}?back=%2Fdashboard%2Flearners%2F%3Fband%3Dhigh"
    )
    page = client.get(response["Location"]).content.decode()
    assert "Feedback recorded: Not applicable" in page and "Latest: Not applicable" in page
    assert 'href="/dashboard/learners/?band=high"' in page
    assert RiskFeedback.objects.get().created_by == world["coach"]


@pytest.mark.parametrize("kind", ["", "bogus"])
def test_an_unknown_feedback_kind_is_400(world: dict[str, Any], kind: str) -> None:
    response = _client(world["coach"]).post(_url(world["learner"], "feedback/"), {"kind": kind})
    assert response.status_code == 400
    assert "Choose one of: Acknowledged" in response.content.decode()
    assert not RiskFeedback.objects.exists()


@pytest.mark.parametrize("suffix", ["feedback/", "notes/"])
def test_analysts_may_not_post(world: dict[str, Any], suffix: str) -> None:
    response = _client(world["analyst"]).post(
        _url(world["learner"], suffix), {"kind": "acknowledged", "body": "x"}
    )
    assert response.status_code == 403
    assert not RiskFeedback.objects.exists() and not CoachNote.objects.exists()


@pytest.mark.parametrize("suffix", ["feedback/", "notes/"])
def test_a_coach_may_not_post_outside_their_cohorts(world: dict[str, Any], suffix: str) -> None:
    response = _client(world["stranger"]).post(
        _url(world["learner"], suffix), {"kind": "acknowledged", "body": "x"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("suffix", ["feedback/", "notes/"])
def test_forms_need_the_csrf_token(world: dict[str, Any], suffix: str) -> None:
    client = _client(world["coach"], enforce_csrf_checks=True)
    response = client.post(_url(world["learner"], suffix), {"kind": "acknowledged", "body": "x"})
    assert response.status_code == 403
    assert not RiskFeedback.objects.exists() and not CoachNote.objects.exists()


def test_the_page_is_get_only(world: dict[str, Any]) -> None:
    assert _client(world["coach"]).post(_url(world["learner"])).status_code == 405


# Notes ----------------------------------------------------------------------------------------


def test_a_note_is_added_and_shown_newest_first(world: dict[str, Any]) -> None:
    client = _client(world["coach"])
    client.post(_url(world["learner"], "notes/"), {"body": "older"})
    response = client.post(_url(world["learner"], "notes/"), {"body": "  Left a voicemail  "})
    assert response.status_code == 302 and response["Location"] == _url(world["learner"])
    page = client.get(_url(world["learner"])).content.decode()
    assert "Note added." in page
    assert page.index("Left a voicemail") < page.index("older")
    assert world["coach"].username in page


@pytest.mark.parametrize(
    ("body", "reason"),
    [("   ", "the note is empty"), ("x" * 5001, "At most 5,000 characters")],
)
def test_a_bad_note_comes_back_with_the_reason(
    world: dict[str, Any], body: str, reason: str
) -> None:
    response = _client(world["coach"]).post(_url(world["learner"], "notes/"), {"body": body})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not CoachNote.objects.exists()


def test_only_the_author_or_an_admin_deletes_a_note(world: dict[str, Any]) -> None:
    other_coach = UserFactory(role="coach")
    CohortAssignmentFactory(user=other_coach, cohort=world["learner"].cohort)
    note = coach_note_create(actor=world["coach"], learner=world["learner"], body="mine")
    delete = _url(world["learner"], f"notes/{note.pk}/delete/")
    page = _client(other_coach).get(_url(world["learner"])).content.decode()
    assert "mine" in page and "Delete this note" not in page
    assert _client(other_coach).post(delete).status_code == 403
    assert _client(world["stranger"]).post(delete).status_code == 404
    assert _client(world["coach"]).post(delete).status_code == 302
    assert not CoachNote.objects.exists()
    again = coach_note_create(actor=world["coach"], learner=world["learner"], body="theirs")
    assert (
        _client(world["admin"])
        .post(_url(world["learner"], f"notes/{again.pk}/delete/"))
        .status_code
        == 302
    )
    assert (
        _client(world["admin"])
        .post(_url(world["learner"], f"notes/{uuid.uuid4()}/delete/"))
        .status_code
        == 404
    )


# Helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("/dashboard/learners/?band=high&page=2", True),
        ("/dashboard/", True),
        ("", False),
        (None, False),
        ("https://evil.example/", False),
        ("//evil.example/", False),
        ("/\\evil.example/", False),
        ("javascript:alert(1)", False),
        ("dashboard/learners/", False),
        ("/dashboard/\nx", False),
    ],
)
def test_back_is_a_path_on_this_site_only(value: str | None, kept: bool) -> None:
    assert back_path(value) == (value if kept else None)


def test_an_unsafe_back_falls_back_to_the_caseload(world: dict[str, Any]) -> None:
    page = (
        _client(world["coach"])
        .get(_url(world["learner"]), {"back": "https://evil.example/"})
        .content.decode()
    )
    assert "evil.example" not in page and 'href="/dashboard/learners/"' in page


@pytest.mark.parametrize(
    ("seconds", "words"), [(None, ""), (45, "45 s"), (720, "12 min"), (3900, "1 h 05 min")]
)
def test_durations_read_as_people_say_them(seconds: int | None, words: str) -> None:
    assert duration_words(seconds) == words


def test_the_risk_history_is_a_chart_with_band_lines_bounded_to_90_points(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    learner = world["learner"]
    current = RiskAssessment.objects.get(learner=learner)
    RiskAssessment.objects.bulk_create(
        RiskAssessment(
            learner=learner,
            model=current.model,
            as_of=current.as_of - timedelta(days=day),
            score=0.5,
            band="medium",
            factors=current.factors,
            features=current.features,
            computed_at=current.computed_at,
        )
        for day in range(1, 101)
    )
    with django_assert_num_queries(1):
        points = learner_risk_trend(learner=learner, limit=RISK_HISTORY_POINTS)
    assert len(points) == 90 and points[-1].as_of == current.as_of
    assert points[0].as_of == current.as_of - timedelta(days=89)
    page = _client(world["coach"]).get(_url(learner)).content.decode()
    assert 'class="chart" role="img"' in page and "Risk over time" in page
    assert "High from 75%" in page and "Medium from 50%" in page
    assert "The last 90 assessments as a table" in page


def test_the_export_link_downloads_the_learners_data_for_admins(world: dict[str, Any]) -> None:
    client = _client(world["admin"])
    page = client.get(_url(world["learner"])).content.decode()
    link = re.search(r'href="([^"]+/export/\?format=json)" download>Export data', page)
    assert link
    document = client.get(link.group(1)).json()
    assert document["learner"]["id"] == str(world["learner"].pk)


def test_other_apps_add_panels_for_the_roles_they_name(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any
) -> None:
    (tmp_path / "probe_panel.html").write_text(
        '<section class="panel">Probe {{ panel.word }}</section>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    seen: list[Any] = []

    def context(request: Any, learner_id: Any) -> dict[str, str]:
        seen.append(learner_id)
        return {"word": "nudges here"}

    monkeypatch.setattr(panels, "_panels", {})
    panels.learner_panel_add(
        panels.LearnerPanel(
            key="probe", template="probe_panel.html", context=context, roles=ADMIN_COACH
        )
    )
    with pytest.raises(ImproperlyConfigured, match="twice"):
        panels.learner_panel_add(panels.LearnerPanel(key="probe", template="x", context=context))
    assert (
        "Probe nudges here" in _client(world["coach"]).get(_url(world["learner"])).content.decode()
    )
    assert seen == [world["learner"].pk]
    assert "Probe" not in _client(world["analyst"]).get(_url(world["learner"])).content.decode()


def test_band_lines_are_left_out_when_older_models_with_other_thresholds_scored_points(
    world: dict[str, Any],
) -> None:
    learner = world["learner"]
    current = RiskAssessment.objects.get(learner=learner)
    older = current.model
    older.pk = None
    older.version = current.model.version + 100
    older.is_active = False
    older.parameters = {**older.parameters, "thresholds": {"high": 0.9, "medium": 0.6}}
    older.save()
    RiskAssessment.objects.create(
        learner=learner,
        model=older,
        as_of=current.as_of - timedelta(days=7),
        score=0.8,
        band="medium",
        factors=current.factors,
        features=current.features,
        computed_at=current.computed_at,
    )
    points = learner_risk_trend(learner=learner, limit=RISK_HISTORY_POINTS)
    assert shared_thresholds(points) == {}
    page = _client(world["coach"]).get(_url(learner)).content.decode()
    assert 'class="chart" role="img"' in page
    assert "High from" not in page and "Medium from" not in page
    assert "scored by models with different band thresholds" in page
