"""The coach's caseload: the filter form, one page of rows, and the CSV of the whole filtered list.

Reads only (plus the export's audit record). The list itself is ``selectors.learner_list``
narrowed by :class:`~learners.filters.LearnerFilter`; this module turns the page's query string
into those filters, validates what the API does not know (the cohort must be one of the viewer's,
the page must exist), and words each row's top risk factor from the current assessments of the
rows shown, fetched in one query.

The total is an exact count up to :data:`COUNT_CAP` and "more than 10,000" above it: counting
stops at the cap (a ``LIMIT`` inside the count), so the page costs the same at 100,000 learners
as at 11,000, and pages past the cap (OFFSET 10,000 and more) are not offered: nobody works a
caseload that deep, they narrow the filters.
"""

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from engagement.audit import Actor, audit_record
from engagement.errors import ValidationFailed
from engagement.iterables import chunked
from engagement.roles import sees_personal_data
from engagement.spreadsheets import csv_line
from learners.filters import MAX_INACTIVE_DAYS
from learners.models import STUDYING_STATUSES, Learner, LearnerStatus, RiskBand
from learners.risk.explanations import top_factor_explanation
from learners.risk.selectors import current_assessments
from learners.selectors import cohort_list, learner_label, learner_list

#: Counting stops here: an exact total below, "more than" above (see the module docstring).
COUNT_CAP = 10_000
PER_PAGE_CHOICES = (25, 50, 100)
STUDYING = "studying"
ALL_STATUSES = "all"
DEFAULT_ORDERING = "-risk"
#: The direction a column sorts in when its header is followed first: the most worrying first.
FIRST_DIRECTION = {"risk": "-risk", "last_active": "last_active", "enrolled": "-enrolled"}
ORDERINGS = (
    ("-risk", _("Risk, highest first")),
    ("risk", _("Risk, lowest first")),
    ("last_active", _("Last activity, longest ago first")),
    ("-last_active", _("Last activity, most recent first")),
    ("-enrolled", _("Enrolment, newest first")),
    ("enrolled", _("Enrolment, oldest first")),
)
EXPORT_CHUNK = 1000
PSEUDONYMISED = _("Not available on pseudonymised data.")
PERSONAL_FIELDS = ("name", "email", "name_tokens", "email_hash", "external_id", "source")


class CaseloadFilterForm(forms.Form):
    """The query string of ``/dashboard/learners/``; every field optional, every value checked."""

    search = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Whole words of the name, or the exact external id."),
    )
    cohort = forms.ChoiceField(label=_("Cohort"), required=False)
    band = forms.MultipleChoiceField(
        label=_("Risk band"),
        required=False,
        choices=RiskBand.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (STUDYING, _("Studying (active or paused)")),
            *LearnerStatus.choices,
            (ALL_STATUSES, _("All")),
        ],
    )
    inactive_days = forms.IntegerField(
        label=_("Inactive for at least (days)"),
        required=False,
        min_value=0,
        max_value=MAX_INACTIVE_DAYS,
    )
    ordering = forms.ChoiceField(label=_("Sort by"), required=False, choices=ORDERINGS)
    per_page = forms.TypedChoiceField(
        label=_("Rows per page"),
        required=False,
        coerce=int,
        empty_value=PER_PAGE_CHOICES[0],  # type: ignore[arg-type]  # the stubs say str only
        choices=[(str(size), str(size)) for size in PER_PAGE_CHOICES],
    )
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1)

    def __init__(
        self, data: Mapping[str, Any], *, cohorts: Sequence[tuple[Any, str]], personal: bool
    ) -> None:
        super().__init__(data)
        self.personal = personal
        cohort_field: Any = self.fields["cohort"]
        cohort_field.choices = [("", _("All my cohorts")), *((str(pk), n) for pk, n in cohorts)]

    def clean_search(self) -> str:
        search = self.cleaned_data["search"].strip()
        if search and not self.personal:
            raise forms.ValidationError(PSEUDONYMISED)
        return search

    def learner_filters(self) -> MultiValueDict:
        """The validated query as ``LearnerFilter`` parameters."""
        data = self.cleaned_data
        status = data["status"] or STUDYING
        statuses: dict[str, list[str]] = {
            STUDYING: [str(value) for value in STUDYING_STATUSES],
            ALL_STATUSES: list(LearnerStatus.values),
        }
        filters = MultiValueDict(
            {
                "status": statuses.get(status, [status]),
                "ordering": [data["ordering"] or DEFAULT_ORDERING],
            }
        )
        if data["band"]:
            filters.setlist("risk_band", data["band"])
        for name in ("search", "cohort"):
            if data[name]:
                filters[name] = data[name]
        if data["inactive_days"] is not None:
            filters["inactive_days"] = str(data["inactive_days"])
        return filters

    def add_errors(self, detail: Mapping[str, Any]) -> None:
        """Errors the list's own filters found, next to the field they came from."""
        names = {"risk_band": "band"}
        for name, messages in detail.items():
            field = names.get(name, name)
            for message in messages:
                self.add_error(field if field in self.fields else None, str(message))

    def audit_filters(self) -> dict[str, Any]:
        """The filters used, for the export's audit record (search terms are personal data)."""
        data = self.cleaned_data
        return {
            "cohort": data["cohort"] or None,
            "band": list(data["band"]),
            "status": data["status"] or STUDYING,
            "inactive_days": data["inactive_days"],
            "ordering": data["ordering"] or DEFAULT_ORDERING,
            "search": bool(data["search"]),
        }


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    """One learner as the table and the CSV show them; personal fields empty for analysts."""

    id: uuid.UUID
    label: str
    name: str
    email: str
    external_id: str
    source: str
    cohort: str
    status: str
    status_label: str
    band: str
    score: float | None
    top_factor: str
    last_active_at: datetime | None
    enrolled_at: datetime


def caseload_rows(learners: Sequence[Learner], *, personal: bool) -> list[CaseloadRow]:
    """Rows for ``learners`` (cohort joined in), with the current assessments of all of them
    read in one query to word each top factor."""
    assessments = current_assessments(learner_ids=[learner.pk for learner in learners])
    rows = []
    for learner in learners:
        assessment = assessments.get(learner.pk)
        rows.append(
            CaseloadRow(
                id=learner.pk,
                label=learner_label(learner, personal=personal),
                name=learner.name if personal else "",
                email=learner.email if personal else "",
                external_id=learner.external_id if personal else "",
                source=learner.source if personal else "",
                cohort=learner.cohort.name,
                status=learner.status,
                status_label=learner.get_status_display(),
                band=learner.risk_band,
                score=learner.risk_score,
                top_factor=top_factor_explanation(assessment) if assessment else "",
                last_active_at=learner.last_active_at,
                enrolled_at=learner.enrolled_at,
            )
        )
    return rows


@dataclass(frozen=True)
class CaseloadQuery:
    """A validated form and the learners it selects; ``learners`` is None when it is invalid."""

    form: CaseloadFilterForm
    learners: QuerySet[Learner] | None
    personal: bool


def caseload_query(*, actor: Any, params: Mapping[str, Any]) -> CaseloadQuery:
    """The viewer's learners matching ``params`` (one query for the cohort choices; the list is
    a lazy queryset). Invalid params leave the errors on the form, next to their field."""
    personal = sees_personal_data(actor)
    cohorts = list(cohort_list(actor=actor).values_list("id", "name"))
    form = CaseloadFilterForm(params, cohorts=cohorts, personal=personal)
    if not form.is_valid():
        return CaseloadQuery(form=form, learners=None, personal=personal)
    try:
        learners = learner_list(actor=actor, filters=form.learner_filters())
    except ValidationFailed as error:
        form.add_errors(error.detail)
        return CaseloadQuery(form=form, learners=None, personal=personal)
    if not personal:  # never read (nor decrypt) what the viewer may not see
        learners = learners.defer(*PERSONAL_FIELDS)
    return CaseloadQuery(form=form, learners=learners, personal=personal)


@dataclass(frozen=True)
class CaseloadPage:
    rows: list[CaseloadRow]
    number: int
    per_page: int
    total: int
    capped: bool
    num_pages: int

    @property
    def start(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1 if self.rows else 0


def caseload_page(query: CaseloadQuery) -> CaseloadPage | None:
    """The requested page in three queries (capped count, rows, their current assessments);
    ``None`` for an invalid query, and, with an error on the form's ``page``, for a page past
    the last."""
    if query.learners is None:
        return None
    data = query.form.cleaned_data
    per_page = data["per_page"]
    counted = query.learners.order_by()[: COUNT_CAP + 1].count()
    capped = counted > COUNT_CAP
    total = min(counted, COUNT_CAP)
    num_pages = max(1, -(-total // per_page))
    number = data["page"] or 1
    if number > num_pages:
        query.form.add_error(
            "page",
            _("There is no page %(number)s: the last is %(last)s.")
            % {"number": number, "last": num_pages},
        )
        return None
    offset = (number - 1) * per_page
    learners = list(query.learners[offset : offset + per_page])
    return CaseloadPage(
        rows=caseload_rows(learners, personal=query.personal),
        number=number,
        per_page=per_page,
        total=total,
        capped=capped,
        num_pages=num_pages,
    )


# CSV ----------------------------------------------------------------------------------------

PERSONAL_COLUMNS = ("name", "email", "external_id", "source")


def csv_header(*, personal: bool) -> list[str]:
    identity = ["id", *PERSONAL_COLUMNS] if personal else ["id", "pseudonym"]
    return [
        *identity,
        "cohort",
        "status",
        "risk_band",
        "risk_score",
        "top_factor",
        "last_active_at",
        "enrolled_at",
    ]


def _local(value: datetime | None) -> str:
    """ISO 8601 in the viewer's time zone (the page shows the same)."""
    return "" if value is None else timezone.localtime(value).isoformat()


def _csv_values(row: CaseloadRow, *, personal: bool) -> list[Any]:
    identity = (
        [str(row.id), row.name, row.email, row.external_id, row.source]
        if personal
        else [str(row.id), row.label]
    )
    return [
        *identity,
        row.cohort,
        row.status,
        row.band,
        "" if row.score is None else f"{row.score:.4f}",
        row.top_factor,
        _local(row.last_active_at),
        _local(row.enrolled_at),
    ]


def caseload_csv_lines(learners: QuerySet[Learner], *, personal: bool) -> Iterator[str]:
    """The CSV of ``learners`` line by line: rows read in chunks of ``EXPORT_CHUNK`` through
    a server-side cursor, with one query per chunk for their assessments, so memory stays
    constant whatever the number of rows."""
    yield csv_line(csv_header(personal=personal))
    for chunk in chunked(learners.iterator(chunk_size=EXPORT_CHUNK), EXPORT_CHUNK):
        for row in caseload_rows(chunk, personal=personal):
            yield csv_line(_csv_values(row, personal=personal))


def caseload_csv_export(
    *, actor: Actor, learners: QuerySet[Learner], personal: bool, filters: Mapping[str, Any]
) -> Iterator[str]:
    """Audit an export (who, how many rows, which filters), then its CSV lines to stream."""
    rows = learners.order_by().count()
    audit_record(
        actor=actor,
        action="learners.export",
        target_type="learners.learner",
        changes={"rows": rows, "filters": dict(filters), "personal_data": personal},
    )
    return caseload_csv_lines(learners, personal=personal)
