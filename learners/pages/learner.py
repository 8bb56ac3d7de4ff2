"""The learner page: who the learner is, their risk and why, what they did, and the coaches'
verdicts and notes. What a coach reads before contacting a learner, in a constant number of
queries however long the learner's history (the timeline is paginated, the chart bounded).

Analysts get the same page pseudonymised: no name, email, source identifiers, event metadata,
feedback note or coach notes. Writes (feedback, notes) are POST forms that redirect back here.
"""

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from engagement.charts import Series, line_chart
from engagement.dashboard import page_user, paginate, staff_page
from engagement.errors import ValidationFailed
from engagement.models import Role
from engagement.roles import ADMIN_COACH, role_of, sees_personal_data
from learners import selectors, services
from learners.models import COACH_NOTE_MAX_LENGTH, ActivityEvent, Learner, RiskFeedbackKind
from learners.pages.panels import learner_panels
from learners.risk import selectors as risk_selectors
from learners.risk.explanations import LEVER_ADVICE, factor_label
from learners.risk.feedback import risk_feedback_create
from learners.risk.selectors import RiskPoint

EVENTS_PER_PAGE = 50
RISK_HISTORY_POINTS = 90
#: How many factor changes "what changed" lists, largest first (the order says the size).
CHANGES_SHOWN = 5


def _learner(request: HttpRequest, learner_id: Any) -> Learner:
    """The learner if the caller may see them (``staff_page`` makes the refusal a 404)."""
    return selectors.learner_get(actor=request.user, learner_id=learner_id)


def back_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site (the caseload with its filters), else ``None``:
    never a redirect or a link to another site, however the address is spelled."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(char) < 32 for char in value):
        return None
    return value if url_has_allowed_host_and_scheme(value, allowed_hosts=None) else None


def _here(learner: Learner, back: str | None) -> str:
    url = reverse("dashboard-learner", kwargs={"learner_id": learner.pk})
    return f"{url}?{urlencode({'back': back})}" if back else url


def duration_words(seconds: int | None) -> str:
    """A duration as people read it in a timeline: "45 s", "12 min", "1 h 05 min"."""
    if seconds is None:
        return ""
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    return _("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}


@dataclass(frozen=True)
class TimelineRow:
    event: ActivityEvent
    duration: str


@dataclass(frozen=True)
class ActivityDay:
    """The events of one day in the viewer's time zone, newest first."""

    day: date
    rows: list[TimelineRow]


def timeline_days(events: Iterable[ActivityEvent]) -> list[ActivityDay]:
    """Events (newest first) grouped by the viewer's days, each with its duration in words."""
    rows = [TimelineRow(event, duration_words(event.duration_seconds)) for event in events]
    return [
        ActivityDay(day=day, rows=list(group))
        for day, group in itertools.groupby(
            rows, key=lambda row: timezone.localtime(row.event.occurred_at).date()
        )
    ]


def chart_percent(score: float | None) -> int | None:
    """A score (0..1) as the whole percentage the chart plots (the text uses the ``percent``
    filter of ``{% load dashboard %}``, which rounds the same way)."""
    return None if score is None else round(score * 100)


def _moment(value: str | None) -> datetime | None:
    """A time the risk detail holds as ISO text (it is cached as JSON-ready data)."""
    return None if value is None else datetime.fromisoformat(value)


def _risk(detail: Mapping[str, Any], *, sees_personal: bool) -> dict[str, Any]:
    """The current risk in words: factors that push it up and down, what moved since the
    previous assessment, and the best lever (see ``learners.risk.selectors.learner_risk``)."""
    factors = [{**factor, "label": factor_label(factor["factor"])} for factor in detail["factors"]]
    changes = [
        {
            "label": factor_label(change["factor"]),
            "up": change["contribution_change"] > 0,
        }
        for change in detail["changes"]
        if change["contribution_change"]
    ][:CHANGES_SHOWN]
    lever = detail["best_lever"]
    feedback = detail["feedback"]
    if feedback is not None:
        feedback = {
            "kind": RiskFeedbackKind(feedback["kind"]).label,
            "note": feedback["note"] if sees_personal else "",
            "created_at": feedback["created_at"],
        }
    previous = detail["previous"]
    return {
        **detail,
        "as_of": _moment(detail["as_of"]),
        "previous": None if previous is None else {**previous, "as_of": _moment(previous["as_of"])},
        "up": [factor for factor in factors if factor["contribution"] > 0],
        "down": [factor for factor in factors if factor["contribution"] < 0],
        "worded_changes": changes,
        "lever": None
        if lever is None
        else {
            "label": factor_label(lever["factor"]),
            "advice": str(LEVER_ADVICE.get(lever["factor"], factor_label(lever["factor"]))),
            "score_after": lever["score_after"],
        },
        "latest_feedback": feedback,
    }


def risk_chart(history: Sequence[RiskPoint]) -> SafeString | None:
    """The score over time in percent, with the latest model's band thresholds as flat lines."""
    if not history:
        return None
    series = [Series(_("Risk"), [(point.as_of, chart_percent(point.score)) for point in history])]
    ends = (history[0].as_of, history[-1].as_of)
    # Flat lines need a span of time: a single assessment shows as its point alone.
    thresholds = (history[-1].thresholds or {}) if ends[0] != ends[1] else {}
    for band, tone, label in (
        ("high", "high", _("High from")),
        ("medium", "medium", _("Medium from")),
    ):
        if band in thresholds:
            level = chart_percent(thresholds[band])
            series.append(Series(f"{label} {level}%", [(ends[0], level), (ends[1], level)], tone))
    return line_chart(series, title=_("Risk over time"), y_label=_("Risk (%)"), y_max=100)


def _render(
    request: HttpRequest,
    learner: Learner,
    *,
    status: int = 200,
    errors: Mapping[str, Any] | None = None,
    note_body: str = "",
) -> HttpResponse:
    actor = request.user
    sees_personal = sees_personal_data(actor)
    back = back_path(request.GET.get("back") or request.POST.get("back"))
    # One page of the activity (count and rows: two queries); a bad page number is the frame's 4xx.
    page = paginate(request, selectors.learner_events(learner=learner), EVENTS_PER_PAGE)
    history = risk_selectors.learner_risk_trend(learner=learner, limit=RISK_HISTORY_POINTS)
    context = {
        "learner": learner,
        "label": selectors.learner_label(learner, personal=sees_personal),
        "sees_personal": sees_personal,
        "may_act": role_of(actor) in ADMIN_COACH,
        "is_admin": role_of(actor) == Role.ADMIN,
        "risk": _risk(risk_selectors.learner_risk(learner=learner), sees_personal=sees_personal),
        "history": history,
        "history_chart": risk_chart(history),
        "history_points": RISK_HISTORY_POINTS,
        "events_page": page,
        "days": timeline_days(page),
        "notes": list(selectors.coach_note_list(actor=actor, learner=learner))
        if sees_personal
        else [],
        "feedback_kinds": RiskFeedbackKind.choices,
        "back": back,
        "back_url": back or reverse("dashboard-learners"),
        "errors": errors or {},
        "note_body": note_body,
        "note_max_length": COACH_NOTE_MAX_LENGTH,
        "export_url": reverse("learner-export", kwargs={"pk": learner.pk}),
        "panels": [
            {"template": panel.template, "context": panel.context(request, learner.pk)}
            for panel in learner_panels(role_of(actor))
        ],
    }
    return render(request, "learners/learner.html", context, status=status)


@require_safe
@staff_page()
def learner_page(request: HttpRequest, learner_id: Any) -> HttpResponse:
    """A learner's profile, current risk and why, risk history, activity and coach notes."""
    return _render(request, _learner(request, learner_id))


@require_POST
@staff_page(ADMIN_COACH)
def learner_feedback(request: HttpRequest, learner_id: Any) -> HttpResponse:
    """Mark the learner's current assessment: acknowledged, not applicable or incorrectly flagged."""
    learner = _learner(request, learner_id)
    kind = request.POST.get("kind", "")
    if kind not in RiskFeedbackKind.values:
        choices = ", ".join(str(label) for _value, label in RiskFeedbackKind.choices)
        message = _("Choose one of: %(choices)s.") % {"choices": choices}
        return _render(request, learner, status=400, errors={"feedback": message})
    risk_feedback_create(actor=page_user(request), learner=learner, kind=kind)
    messages.success(
        request, _("Feedback recorded: %(kind)s.") % {"kind": RiskFeedbackKind(kind).label}
    )
    return HttpResponseRedirect(_here(learner, back_path(request.POST.get("back"))))


@require_POST
@staff_page(ADMIN_COACH)
def learner_note_add(request: HttpRequest, learner_id: Any) -> HttpResponse:
    """Add a coach note; an empty or overlong note comes back with the reason (400)."""
    learner = _learner(request, learner_id)
    body = request.POST.get("body", "")
    try:
        services.coach_note_create(actor=page_user(request), learner=learner, body=body)
    except ValidationFailed as error:
        return _render(
            request, learner, status=400, errors={"note": error.detail["body"]}, note_body=body
        )
    messages.success(request, _("Note added."))
    return HttpResponseRedirect(_here(learner, back_path(request.POST.get("back"))))


@require_POST
@staff_page(ADMIN_COACH)
def learner_note_delete(request: HttpRequest, learner_id: Any, note_id: Any) -> HttpResponse:
    """Delete a note: its author or an admin (403 for another coach)."""
    learner = _learner(request, learner_id)
    note = selectors.coach_note_get(actor=request.user, learner=learner, note_id=note_id)
    services.coach_note_delete(actor=page_user(request), note=note)
    messages.success(request, _("Note deleted."))
    return HttpResponseRedirect(_here(learner, back_path(request.POST.get("back"))))
