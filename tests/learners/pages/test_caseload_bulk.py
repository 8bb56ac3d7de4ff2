"""Bulk actions of the caseload table: mark acknowledged, export selected, and refusals."""

import csv
import io
from typing import Any

import pytest

from engagement.models import AuditEvent
from learners import bulk_actions
from learners.bulk_actions import BulkAction, bulk_action_register, bulk_actions_for
from learners.models import RiskFeedback, RiskFeedbackKind
from learners.risk.selectors import current_assessments
from tests.learners.pages.conftest import URL, Caseload, signed_in

pytestmark = pytest.mark.django_db


def _post(client: Any, action: str, *ids: Any, back: str = "band=high") -> Any:
    return client.post(URL, {"action": action, "learner": [str(i) for i in ids], "back": back})


def test_coach_marks_selected_learners_acknowledged_in_bulk(
    caseload: Caseload, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(caseload.coach)
    learners = (caseload.drifting, caseload.steady)
    with django_assert_max_num_queries(12):
        response = _post(client, "acknowledge", *(learner.pk for learner in learners))
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?band=high"
    feedback = {row.learner_id: row for row in RiskFeedback.objects.all()}
    assert set(feedback) == {learner.pk for learner in learners}
    current = current_assessments(learner_ids=feedback)
    for learner_id, row in feedback.items():
        assert row.kind == RiskFeedbackKind.ACKNOWLEDGED
        assert row.created_by == caseload.coach
        assert row.assessment == current[learner_id]
        assert row.score_at_feedback == current[learner_id].score
    audited = AuditEvent.objects.filter(action="risk.feedback")
    assert sorted(audited.values_list("target_id", flat=True)) == sorted(str(i) for i in feedback)
    page = client.get(response["Location"]).content.decode()
    assert "Marked 2 learners as acknowledged." in page


def test_out_of_scope_ids_refuse_the_whole_request(caseload: Caseload) -> None:
    client = signed_in(caseload.coach)
    response = _post(client, "acknowledge", caseload.drifting.pk, caseload.outsider.pk)
    assert response.status_code == 400
    assert "1 selected learner is not in your caseload: nothing was done." in (
        response.content.decode()
    )
    assert not RiskFeedback.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "acknowledge"}, "Select at least one learner first."),
        ({"action": "acknowledge", "learner": "nope"}, "A selected learner id is not valid"),
        ({"action": "delete-everything", "learner": "x"}, "Choose one of the actions offered."),
        ({"learner": "x"}, "Choose one of the actions offered."),
    ],
)
def test_bad_bulk_requests_are_400_with_a_message(
    caseload: Caseload, data: dict[str, str], message: str
) -> None:
    response = signed_in(caseload.coach).post(URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RiskFeedback.objects.exists()


def test_too_many_selected_is_refused(caseload: Caseload, monkeypatch: Any) -> None:
    monkeypatch.setattr("learners.pages.caseload.MAX_SELECTED", 1)
    response = _post(
        signed_in(caseload.coach), "acknowledge", caseload.drifting.pk, caseload.steady.pk
    )
    assert response.status_code == 400
    assert "Select at most 1 learners at a time" in response.content.decode()


def test_analysts_have_no_bulk_actions(caseload: Caseload) -> None:
    response = _post(signed_in(caseload.analyst), "acknowledge", caseload.drifting.pk)
    assert response.status_code == 403
    assert not RiskFeedback.objects.exists()
    assert bulk_actions_for("analyst") == []


def test_export_selected_streams_only_those_rows(caseload: Caseload) -> None:
    response = _post(signed_in(caseload.admin), "export", caseload.steady.pk, caseload.outsider.pk)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="caseload-selected-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["name"] for row in rows} == {"Sam Steady", "Otto Outside"}
    event = AuditEvent.objects.get(action="learners.export")
    assert event.changes["rows"] == 2
    assert event.changes["filters"] == {"selected": 2}


def test_another_app_can_add_an_action(caseload: Caseload, monkeypatch: Any) -> None:
    """How the nudges app will add "Start a campaign": a handler gets the ids in scope."""
    monkeypatch.setattr(bulk_actions, "_actions", dict(bulk_actions._actions))
    seen: list[Any] = []

    def campaign(request: Any, learner_ids: Any) -> str:
        seen.extend(learner_ids)
        return "Campaign drafted."

    bulk_action_register(
        BulkAction(
            name="campaign", label="Start a campaign", roles=frozenset({"coach"}), handler=campaign
        )
    )
    client = signed_in(caseload.coach)
    assert 'value="campaign"' in client.get(URL).content.decode()
    response = _post(client, "campaign", caseload.drifting.pk)
    assert response.status_code == 302
    assert seen == [caseload.drifting.pk]
    with pytest.raises(ValueError, match="already registered"):
        bulk_action_register(
            BulkAction(name="campaign", label="Other", roles=frozenset(), handler=campaign)
        )
