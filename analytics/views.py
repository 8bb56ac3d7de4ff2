"""Dashboard pages of the analytics app: the overview and the cohorts page."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analytics import selectors
from engagement.charts import Series, bar_chart, line_chart
from engagement.dashboard import staff_page
from learners.contracts import EVENT_KIND_LABELS, CohortSummary


class TrendForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days of history"),
        min_value=1,
        max_value=selectors.TREND_DAYS_MAX,
        required=False,
    )


def _days(request: HttpRequest) -> tuple[TrendForm, int | None]:
    """The trend window asked for (default 30 days), or ``None`` when the input is refused."""
    form = TrendForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, form.cleaned_data["days"] or selectors.TREND_DAYS_DEFAULT


def _refused(request: HttpRequest, template: str, form: TrendForm) -> HttpResponse:
    return render(request, template, {"form": form}, status=400)


def _tiles(overview: selectors.Overview) -> list[dict[str, Any]]:
    return [
        {"key": "studying", "label": _("Learners studying"), "kpi": overview.learners_studying},
        {"key": "high-risk", "label": _("High risk now"), "kpi": overview.high_risk},
        {"key": "alerts", "label": _("Alerts waiting"), "kpi": overview.alerts_waiting},
        {"key": "nudges", "label": _("Nudges sent this month"), "kpi": overview.nudges_sent},
        {
            "key": "re-engagement",
            "label": _("Re-engagement rate"),
            "kpi": overview.re_engagement_rate,
            "format": "percent",
        },
        {
            "key": "llm-cost",
            "label": _("LLM cost this month"),
            "kpi": overview.llm_cost_month,
            "format": "money",
        },
    ]


def _distribution_chart(cohorts: Sequence[CohortSummary]) -> SafeString:
    """Studying learners per cohort, stacked by band (what is left: not scored yet)."""
    high, medium, low = gettext("High"), gettext("Medium"), gettext("Low")
    return bar_chart(
        [(cohort.name, cohort.studying) for cohort in cohorts],
        title=gettext("Studying learners per cohort by risk band"),
        tone="muted",
        stacked={
            high: [cohort.high_risk for cohort in cohorts],
            medium: [cohort.medium_risk for cohort in cohorts],
            low: [cohort.low_risk for cohort in cohorts],
        },
        tones={high: "high", medium: "medium", low: "low"},
    )


def _engagement_chart(days: Sequence[selectors.EngagementDay]) -> SafeString:
    return line_chart(
        [
            Series(
                gettext("Daily active learners"),
                [(day.day, day.active_learners) for day in days],
            )
        ],
        title=gettext("Daily active learners per day (UTC)"),
        y_label=gettext("learners"),
    )


#: Lines of the events chart: the busiest kinds get one each, the rest share "Other kinds".
EVENT_LINES = 4
_EVENT_TONES = ("accent", "low", "medium", "high")


def _events_chart(
    days: Sequence[selectors.EngagementDay], kinds: Sequence[tuple[str, str]]
) -> SafeString:
    """Events per day, one line per kind of the ``EVENT_LINES`` busiest kinds of the window
    and one for the others together (five tones keep the lines apart); gaps on missing days."""
    busiest = sorted(kinds, key=lambda kind: -sum(day.events[kind[0]] or 0 for day in days))
    shown, others = busiest[:EVENT_LINES], [kind for kind, _ in busiest[EVENT_LINES:]]
    series = [
        Series(label, [(day.day, day.events[kind]) for day in days], tone=tone)
        for (kind, label), tone in zip(shown, _EVENT_TONES, strict=False)
    ]
    if others:
        series.append(
            Series(
                gettext("Other kinds"),
                [
                    (
                        day.day,
                        None
                        if day.events_total is None
                        else sum(day.events[kind] or 0 for kind in others),
                    )
                    for day in days
                ],
                tone="muted",
            )
        )
    return line_chart(
        series, title=gettext("Events by kind per day (UTC)"), y_label=gettext("events")
    )


def _risk_chart(days: Sequence[selectors.RiskDay]) -> SafeString:
    return line_chart(
        [
            Series(gettext("High"), [(day.day, day.high) for day in days], tone="high"),
            Series(gettext("Medium"), [(day.day, day.medium) for day in days], tone="medium"),
            Series(gettext("Low"), [(day.day, day.low) for day in days], tone="low"),
        ],
        title=gettext("Studying learners by risk band per day (UTC)"),
        y_label=gettext("learners"),
    )


@staff_page()
def overview(request: HttpRequest) -> HttpResponse:
    """The overview a member of staff lands on: KPIs, risk by cohort, trends, who needs a coach."""
    form, days = _days(request)
    if days is None:
        return _refused(request, "analytics/overview.html", form)
    actor = request.user
    engagement = selectors.engagement_trend(actor=actor, days=days)
    cohorts = selectors.cohort_distribution(actor=actor)
    risk = selectors.risk_trend(actor=actor, days=days)
    kinds = [
        (kind, label)
        for kind, label in EVENT_KIND_LABELS.items()
        if any(day.events[kind] for day in engagement)
    ]
    overview = selectors.overview(actor=actor)
    context = {
        "form": form,
        "days": days,
        "tiles": _tiles(overview),
        "reference_day": overview.high_risk.reference_day,
        "cohorts": cohorts,
        "distribution_chart": _distribution_chart(cohorts),
        "engagement_chart": _engagement_chart(engagement),
        "events_chart": _events_chart(engagement, kinds),
        "risk_chart": _risk_chart(risk),
        "engagement_rows": [(day, [day.events[kind] for kind, _ in kinds]) for day in engagement],
        "event_kinds": kinds,
        "risk": risk,
        "snapshots_missing": all(day.events_total is None for day in engagement),
        "attention": selectors.needing_attention(actor=actor),
        "caseloads": selectors.caseloads(actor=actor),
        "changes": selectors.last_24_hours(actor=actor),
        "cache_seconds": settings.ANALYTICS_CACHE_SECONDS,
    }
    return render(request, "analytics/overview.html", context)


@staff_page()
def cohorts(request: HttpRequest) -> HttpResponse:
    """Each of the caller's cohorts: learners, at risk, coaches and the high-risk trend."""
    form, days = _days(request)
    if days is None:
        return _refused(request, "analytics/cohorts.html", form)
    cards = [
        {
            "card": card,
            "has_snapshots": any(high is not None for _, high in card.high_risk_trend),
            "chart": line_chart(
                [Series(gettext("High risk"), card.high_risk_trend, tone="high")],
                title=gettext("High-risk learners of %(cohort)s per day (UTC)")
                % {"cohort": card.summary.name},
                width=360,
                height=140,
            ),
        }
        for card in selectors.cohort_cards(actor=request.user, days=days)
    ]
    context = {"form": form, "days": days, "cards": cards}
    return render(request, "analytics/cohorts.html", context)
