"""The caseload table: access, scope, pseudonymisation, filters, ordering and bad input."""

from datetime import UTC
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape

from learners.models import RiskBand
from tests.factories import UserFactory
from tests.learners.pages.conftest import URL, Caseload, signed_in

pytestmark = pytest.mark.django_db


def _names(response: Any) -> list[str]:
    return [row.label for row in response.context["page"].rows]


def test_anonymous_visitors_are_sent_to_sign_in(client: Any) -> None:
    response = client.get(URL + "?band=high")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/learners/")


def test_a_user_without_a_staff_role_gets_403(db: None) -> None:
    nobody = UserFactory(username="nobody", role="")
    assert signed_in(nobody).get(URL).status_code == 403


def test_the_navigation_leads_to_learners(caseload: Caseload) -> None:
    page = signed_in(caseload.coach).get(URL).content.decode()
    assert '<a href="/dashboard/learners/" aria-current="page">Learners</a>' in page


def test_coach_sees_only_the_studying_learners_of_assigned_cohorts(caseload: Caseload) -> None:
    response = signed_in(caseload.coach).get(URL)
    assert response.status_code == 200
    assert _names(response) == ["Dora Drift", "Sam Steady"]
    page = response.content.decode()
    assert "Otto Outside" not in page and "Fin Ished" not in page
    assert "Other" not in [label for _, label in response.context["form"].fields["cohort"].choices]


def test_coach_filtering_on_another_cohort_is_refused(caseload: Caseload) -> None:
    response = signed_in(caseload.coach).get(URL, {"cohort": str(caseload.other.pk)})
    assert response.status_code == 400
    assert response.context["page"] is None
    assert "Select a valid choice" in response.context["form"].errors["cohort"][0]
    assert 'id="cohort-error"' in response.content.decode()
    assert "Otto Outside" not in response.content.decode()


def test_admin_sees_every_cohort_and_the_row_content(caseload: Caseload) -> None:
    response = signed_in(caseload.admin).get(URL)
    assert set(_names(response)) == {"Dora Drift", "Sam Steady", "Otto Outside"}
    page = response.content.decode()
    drifting = caseload.drifting
    assert f'href="/dashboard/learners/{drifting.pk}/?back=/dashboard/learners/' in page
    assert "drift-1" in page
    assert f'<span class="badge {drifting.risk_band}">' in page
    assert f"{drifting.risk_score:.2f}" in page
    assert "No activity for 19 days" in page  # the top factor, in words
    assert '<th scope="col" aria-sort="descending"><a href="?ordering=risk">Risk</a></th>' in page
    assert "<caption>" in page
    assert 'src="/static/learners/caseload.js"' in page


def test_times_are_shown_in_the_viewers_time_zone(caseload: Caseload) -> None:
    """The exact time (the title) in the viewer's own time zone, the machine-readable one in UTC."""
    zone = ZoneInfo("Pacific/Auckland")
    caseload.admin.timezone = zone.key
    caseload.admin.save(update_fields=["timezone"])
    page = signed_in(caseload.admin).get(URL, {"cohort": str(caseload.mine.pk)})
    seen = caseload.steady.last_active_at
    assert seen is not None
    exact = date_format(timezone.localtime(seen, zone), "DATETIME_FORMAT")
    utc = seen.astimezone(UTC).isoformat()
    assert f'<time datetime="{utc}" title="{exact}">1' in page.content.decode()


def test_analyst_rows_are_pseudonymised(caseload: Caseload) -> None:
    from learners.models import Learner

    Learner.objects.filter(pk=caseload.drifting.pk).update(
        source="MARKER-SOURCE", external_id="MARKER-EXTID"
    )
    caseload.drifting.refresh_from_db()
    caseload.drifting.name = "MARKER NAME"
    caseload.drifting.email = "marker-email@example.org"
    caseload.drifting.save()
    response = signed_in(caseload.analyst).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for marker in ("MARKER", "marker-email", "Dora", "drift-1", "Sam Steady", "steady-1", "lms"):
        assert marker not in page
    assert f"Learner {caseload.drifting.pk.hex[-8:]}" in page
    assert 'name="search"' not in page
    assert 'name="learner"' not in page  # no bulk actions for analysts


def test_analysts_cannot_search_by_name(caseload: Caseload) -> None:
    response = signed_in(caseload.analyst).get(URL, {"search": "Dora"})
    assert response.status_code == 400
    assert "Not available on pseudonymised data." in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "dora"}, ["Dora Drift"]),
        ({"search": "steady-1"}, ["Sam Steady"]),
        ({"search": "nobody"}, []),
        ({"status": "completed"}, ["Fin Ished"]),
        ({"status": "all", "ordering": "enrolled"}, ["Dora Drift", "Fin Ished", "Sam Steady"]),
        ({"status": "paused"}, []),
        ({"inactive_days": "10"}, ["Dora Drift"]),
        ({"inactive_days": "30"}, []),
        ({"ordering": "-last_active"}, ["Sam Steady", "Dora Drift"]),
        ({"ordering": "last_active"}, ["Dora Drift", "Sam Steady"]),
        ({"ordering": "risk"}, ["Sam Steady", "Dora Drift"]),
        ({"ordering": "-enrolled"}, ["Sam Steady", "Dora Drift"]),
        ({"ordering": "enrolled"}, ["Dora Drift", "Sam Steady"]),
    ],
)
def test_filters_and_orderings(
    caseload: Caseload, params: dict[str, str], expected: list[str]
) -> None:
    response = signed_in(caseload.coach).get(URL, params)
    assert response.status_code == 200
    names = _names(response)
    if "status" in params and params["status"] == "all":
        assert sorted(names) == sorted(expected)
    else:
        assert names == expected


def test_band_filter(caseload: Caseload) -> None:
    client = signed_in(caseload.coach)
    band = caseload.drifting.risk_band
    assert _names(client.get(URL, {"band": band})) == ["Dora Drift"]
    other_bands = [
        value for value in RiskBand.values if value not in (band, caseload.steady.risk_band)
    ]
    assert _names(client.get(URL, {"band": other_bands})) == []
    assert set(_names(client.get(URL, {"band": RiskBand.values}))) == {"Dora Drift", "Sam Steady"}


def test_sort_headers_toggle_and_keep_the_filters(caseload: Caseload) -> None:
    page = signed_in(caseload.coach).get(
        URL, {"ordering": "last_active", "band": "high", "page": "1"}
    )
    html = page.content.decode()
    assert 'aria-sort="ascending"><a href="?ordering=-last_active&amp;band=high">' in html
    assert '<th scope="col"><a href="?ordering=-risk&amp;band=high">Risk</a></th>' in html


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"band": "purple"}, "band", "Select a valid choice"),
        ({"status": "sleeping"}, "status", "Select a valid choice"),
        ({"inactive_days": "soon"}, "inactive_days", "Enter a whole number"),
        ({"inactive_days": "-1"}, "inactive_days", "greater than or equal to 0"),
        ({"inactive_days": "99999999"}, "inactive_days", "less than or equal to"),
        ({"ordering": "password"}, "ordering", "Select a valid choice"),
        ({"per_page": "1000"}, "per_page", "Select a valid choice"),
        ({"page": "0"}, "page", "greater than or equal to 1"),
        ({"page": "x"}, "page", "Enter a whole number"),
        ({"page": "5"}, "page", "There is no page 5: the last is 1."),
        ({"cohort": "not-a-uuid"}, "cohort", "Select a valid choice"),
        ({"search": "x" * 201}, "search", "at most 200 characters"),
    ],
)
def test_bad_input_is_a_400_with_the_message_by_the_field(
    caseload: Caseload, params: dict[str, str], field: str, message: str
) -> None:
    response = signed_in(caseload.coach).get(URL, params)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message.split(":")[0].replace("'", "&#x27;") in response.content.decode()


def test_pagination_keeps_the_filters(caseload: Caseload) -> None:
    from tests.factories import LearnerFactory

    for number in range(30):
        LearnerFactory(cohort=caseload.mine, external_id=f"extra-{number}", name=f"Extra {number}")
    client = signed_in(caseload.coach)
    first = client.get(URL, {"status": "studying", "ordering": "enrolled"})
    page = first.context["page"]
    assert (page.total, page.num_pages, len(page.rows), page.capped) == (32, 2, 25, False)
    html = first.content.decode()
    assert 'href="?status=studying&amp;ordering=enrolled&amp;page=2" rel="next"' in html
    second = client.get(URL, {"ordering": "enrolled", "page": "2"})
    assert len(second.context["page"].rows) == 7
    fifty = client.get(URL, {"per_page": "50"})
    assert len(fifty.context["page"].rows) == 32


def test_the_total_stops_counting_at_the_cap(caseload: Caseload, monkeypatch: Any) -> None:
    monkeypatch.setattr("learners.caseload.COUNT_CAP", 2)
    response = signed_in(caseload.admin).get(URL)
    page = response.context["page"]
    assert (page.total, page.capped, page.num_pages) == (2, True, 1)
    assert "of more than 2 learners" in response.content.decode()


def test_a_learner_link_leads_back_to_the_filtered_list(caseload: Caseload) -> None:
    client = signed_in(caseload.admin)
    page = client.get(URL, {"band": "high", "ordering": "risk"}).content.decode()
    back = "/dashboard/learners/?band=high&ordering=risk"
    link = f"/dashboard/learners/{caseload.drifting.pk}/?back={quote(back)}"
    assert f'href="{link}"' in page
    learner_page = client.get(link).content.decode()
    assert f'href="{escape(back)}"' in learner_page
