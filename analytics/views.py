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
        },
        {"key": "llm-cost", "label": _("LLM cost this month"), "kpi": overview.llm_cost_month},
    ]


def _distribution_chart(cohorts: Sequence[CohortSummary]) -> SafeString:
    """Studying learners per cohort, stacked by band (what is left: not scored yet)."""
    return bar_chart(
        [(cohort.name, cohort.studying) for cohort in cohorts],
        title=gettext("Studying learners per cohort by risk band"),
        tone="muted",
        stacked={
            "High": [cohort.high_risk for cohort in cohorts],
            "Medium": [cohort.medium_risk for cohort in cohorts],
            "Low": [cohort.low_risk for cohort in cohorts],
        },
    )


def _engagement_chart(days: Sequence[selectors.EngagementDay]) -> SafeString:
    return line_chart(
        [
            Series(
                gettext("Daily active learners"),
                [(day.day, day.active_learners) for day in days],
            )
        ],
        title=gettext("Daily active learners"),
        y_label=gettext("learners"),
    )


def _risk_chart(days: Sequence[selectors.RiskDay]) -> SafeString:
    return line_chart(
        [
            Series(gettext("High"), [(day.day, day.high) for day in days], tone="high"),
            Series(gettext("Medium"), [(day.day, day.medium) for day in days], tone="medium"),
            Series(gettext("Low"), [(day.day, day.low) for day in days], tone="low"),
        ],
        title=gettext("Studying learners by risk band"),
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
    context = {
        "form": form,
        "days": days,
        "tiles": _tiles(selectors.overview(actor=actor)),
        "cohorts": cohorts,
        "distribution_chart": _distribution_chart(cohorts),
        "engagement_chart": _engagement_chart(engagement),
        "risk_chart": _risk_chart(risk),
        "engagement_rows": [(day, [day.events[kind] for kind, _ in kinds]) for day in engagement],
        "event_kinds": kinds,
        "risk": risk,
        "attention": selectors.needing_attention(actor=actor),
        "caseloads": selectors.caseloads(actor=actor),
        "changes": selectors.since_yesterday(actor=actor),
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
            "chart": line_chart(
                [Series(gettext("High risk"), card.high_risk_trend, tone="high")],
                title=gettext("High-risk learners of %(cohort)s per day")
                % {"cohort": card.summary.name},
                width=360,
                height=140,
            ),
        }
        for card in selectors.cohort_cards(actor=request.user, days=days)
    ]
    context = {"form": form, "days": days, "cards": cards}
    return render(request, "analytics/cohorts.html", context)
