"""``/dashboard/learners/``: the caseload table (GET), its bulk actions (POST), its CSV export.

Thin: the query string is validated and turned into rows by :mod:`learners.caseload`, bulk
actions come from :mod:`learners.bulk_actions`, writes go through the services. Invalid input
answers the page again with status 400 and the message next to the field.
"""

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from engagement.dashboard import staff_page
from engagement.principals import audit_actor
from engagement.roles import ADMIN_COACH, role_of, sees_personal_data
from engagement.spreadsheets import csv_download
from learners.bulk_actions import BulkAction, bulk_actions_for
from learners.caseload import (
    DEFAULT_ORDERING,
    FIRST_DIRECTION,
    ORDERINGS,
    CaseloadQuery,
    caseload_csv_export,
    caseload_page,
    caseload_query,
)
from learners.models import RiskFeedbackKind
from learners.risk.feedback import risk_feedback_create_many
from learners.selectors import learner_list, learner_queryset

#: At most this many learners in one bulk request (four pages of 100, and some).
MAX_SELECTED = 500
SORTABLE = (("risk", _("Risk")), ("last_active", _("Last activity")), ("enrolled", _("Enrolled")))


def _query_string(params: QueryDict, **changes: str | None) -> str:
    """``params`` with ``changes`` applied (``None`` drops a key), as ``?...`` or ``""``."""
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else ""


def _sort_headers(params: QueryDict) -> dict[str, dict[str, Any]]:
    """For each sortable column: its ``aria-sort`` (when the list is sorted by it) and the link
    its header leads to (the other direction when sorted by it, its first direction otherwise)."""
    current = params.get("ordering") or DEFAULT_ORDERING
    if current not in dict(ORDERINGS):
        current = DEFAULT_ORDERING
    headers = {}
    for key, label in SORTABLE:
        sorted_by = current.removeprefix("-") == key
        descending = current.startswith("-")
        following = (key if descending else f"-{key}") if sorted_by else FIRST_DIRECTION[key]
        headers[key] = {
            "label": label,
            "aria_sort": ("descending" if descending else "ascending") if sorted_by else None,
            "url": _query_string(params, ordering=following, page=None),
        }
    return headers


def _page_links(params: QueryDict, number: int, last: int) -> list[dict[str, Any]]:
    wanted = [("first", 1), ("previous", number - 1), ("next", number + 1), ("last", last)]
    return [
        {"rel": rel, "number": target, "url": _query_string(params, page=str(target))}
        for rel, target in wanted
        if 1 <= target <= last and target != number
    ]


def _render(
    request: HttpRequest,
    params: QueryDict,
    query: CaseloadQuery | None = None,
    *,
    errors: Sequence[str] = (),
) -> HttpResponse:
    query = query or caseload_query(actor=request.user, params=params)
    page = caseload_page(query)
    actions = bulk_actions_for(role_of(request.user))
    context = {
        "form": query.form,
        "page": page,
        "personal": query.personal,
        "sort": _sort_headers(params),
        "page_links": _page_links(params, page.number, page.num_pages) if page else [],
        "actions": actions,
        "back": params.urlencode(),
        # The list as filtered, for the learner page's "back" link (``?back=`` on each row).
        "list_url": reverse("dashboard-learners") + _query_string(params),
        "export_url": reverse("dashboard-learners-export") + _query_string(params, page=None),
        "bulk_errors": errors,
    }
    status = 400 if page is None or errors else 200
    return render(request, "learners/caseload.html", context, status=status)


@staff_page()
@require_http_methods(["GET", "POST"])
def caseload(request: HttpRequest) -> HttpResponseBase:
    """The viewer's learners, filtered, sorted and paginated; POST runs a bulk action."""
    if request.method == "POST":
        return _bulk(request)
    return _render(request, request.GET)


def _selected_ids(request: HttpRequest) -> tuple[list[uuid.UUID], str | None]:
    values = request.POST.getlist("learner")
    try:
        ids = list(dict.fromkeys(uuid.UUID(value) for value in values))
    except ValueError:
        return [], str(_("A selected learner id is not valid; nothing was done."))
    if not ids:
        return [], str(_("Select at least one learner first."))
    if len(ids) > MAX_SELECTED:
        return [], str(
            _("Select at most %(limit)s learners at a time; nothing was done.")
            % {"limit": MAX_SELECTED}
        )
    outside = len(ids) - learner_queryset(actor=request.user).filter(pk__in=ids).count()
    if outside:
        message = ngettext(
            "%(count)s selected learner is not in your caseload: nothing was done.",
            "%(count)s selected learners are not in your caseload: nothing was done.",
            outside,
        )
        return [], message % {"count": outside}
    return ids, None


def _bulk(request: HttpRequest) -> HttpResponseBase:
    """Run the chosen action on the selected learners, all in the caller's scope or none."""
    offered = {action.name: action for action in bulk_actions_for(role_of(request.user))}
    if not offered:
        raise PermissionDenied("Your role has no bulk actions.")
    back = QueryDict(request.POST.get("back", ""))
    action = offered.get(request.POST.get("action", ""))
    if action is None:
        return _render(request, back, errors=[str(_("Choose one of the actions offered."))])
    ids, error = _selected_ids(request)
    if error:
        return _render(request, back, errors=[error])
    result = action.handler(request, ids)
    if isinstance(result, HttpResponseBase):
        return result
    messages.success(request, result)
    return redirect(reverse("dashboard-learners") + _query_string(back))


def _csv_response(lines: Iterator[str], name: str) -> HttpResponseBase:
    return csv_download(lines, f"{name}-{timezone.localdate():%Y-%m-%d}.csv")


@staff_page()
@require_GET
def caseload_export(request: HttpRequest) -> HttpResponseBase:
    """The whole filtered list as CSV (same query string as the page), streamed and audited."""
    query = caseload_query(actor=request.user, params=request.GET)
    if query.learners is None:
        return _render(request, request.GET, query)
    lines = caseload_csv_export(
        actor=audit_actor(request),
        learners=query.learners,
        personal=query.personal,
        filters=query.form.audit_filters(),
    )
    return _csv_response(lines, "caseload")


def _export_selected(request: HttpRequest, learner_ids: Sequence[uuid.UUID]) -> HttpResponseBase:
    learners = learner_list(actor=request.user, filters={"ordering": DEFAULT_ORDERING})
    lines = caseload_csv_export(
        actor=audit_actor(request),
        learners=learners.filter(pk__in=learner_ids),
        personal=sees_personal_data(request.user),
        filters={"selected": len(learner_ids)},
    )
    return _csv_response(lines, "caseload-selected")


def _acknowledge(request: HttpRequest, learner_ids: Sequence[uuid.UUID]) -> str:
    marked = risk_feedback_create_many(
        actor=audit_actor(request), learner_ids=learner_ids, kind=RiskFeedbackKind.ACKNOWLEDGED
    )
    return ngettext(
        "Marked %(count)s learner as acknowledged.",
        "Marked %(count)s learners as acknowledged.",
        marked,
    ) % {"count": marked}


BULK_ACTIONS = (
    BulkAction(
        name="export",
        label=_("Export selected (CSV)"),
        roles=ADMIN_COACH,
        handler=_export_selected,
        order=10,
    ),
    BulkAction(
        name="acknowledge",
        label=_("Mark acknowledged"),
        roles=ADMIN_COACH,
        handler=_acknowledge,
        order=20,
    ),
)
