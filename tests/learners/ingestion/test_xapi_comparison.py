"""xAPI 1.0.3 statement comparison: what a re-sent statement may differ in and still match."""

import copy
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from learners.ingestion.xapi_comparison import (
    comparable_statement,
    legacy_statement_digest,
    statement_digest,
)

STATEMENT_ID = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
REGISTRATION = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
REFERENCED = "3f1b0a6e-5d2c-4b8a-9e7f-1a2b3c4d5e6f"
COURSE = "https://moodle.example.edu/course/view.php?id=42"


def moodle_statement() -> dict[str, Any]:
    """A statement shaped like Moodle's logstore_xapi output, with the parts comparison touches."""
    return {
        "id": STATEMENT_ID,
        "actor": {
            "objectType": "Agent",
            "name": "Ada Lovelace",
            "account": {"homePage": "https://moodle.example.edu", "name": "7"},
        },
        "verb": {
            "id": "http://id.tincanapi.com/verb/viewed",
            "display": {"en": "viewed"},
        },
        "object": {
            "objectType": "Activity",
            "id": COURSE,
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/course",
                "name": {"en": "Statistics 101"},
                "extensions": {
                    "https://w3id.org/learning-analytics/learning-management-system/short-id": "STAT101"
                },
            },
        },
        "timestamp": "2026-10-01T10:00:00+02:00",
        "context": {
            "registration": REGISTRATION,
            "platform": "Moodle",
            "language": "en",
            "instructor": {"objectType": "Agent", "mbox": "mailto:Grace.Hopper@Example.EDU"},
            "contextActivities": {
                "grouping": [
                    {
                        "id": "https://moodle.example.edu",
                        "definition": {"name": {"en": "Example University"}},
                    }
                ],
                "category": [{"id": "http://moodle.org", "objectType": "Activity"}],
            },
            "statement": {"objectType": "StatementRef", "id": REFERENCED},
            "extensions": {"http://lrs.learninglocker.net/define/extensions/info": {"x": 1}},
        },
        "result": {"duration": "PT5M", "score": {"raw": 8, "min": 0, "max": 10}},
    }


def changed(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = moodle_statement()
    change(body)
    return body


def digest(body: dict[str, Any]) -> str:
    return statement_digest(body, STATEMENT_ID)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting a nested key (``a.b.c``); ``None`` removes it."""

    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value

    return change


SAME_STATEMENT = {
    "course renamed": _set("object.definition.name", {"en": "Statistics 101 (2027)"}),
    "definition dropped": _set("object.definition", None),
    "verb display translated": _set("verb.display", {"en-US": "viewed", "de": "angesehen"}),
    "verb display dropped": _set("verb.display", None),
    "same instant in UTC": _set("timestamp", "2026-10-01T08:00:00Z"),
    "same instant, milliseconds": _set("timestamp", "2026-10-01T08:00:00.000Z"),
    "same instant, other offset": _set("timestamp", "2026-10-01T03:30:00-04:30"),
    "same instant, no offset is UTC": _set("timestamp", "2026-10-01T08:00:00"),
    "below millisecond precision": _set("timestamp", "2026-10-01T08:00:00.000999999+00:00"),
    "LRS set stored": _set("stored", "2026-10-02T00:00:00Z"),
    "LRS set authority": _set("authority", {"mbox": "mailto:lrs@example.org"}),
    "version sent": _set("version", "1.0.3"),
    "attachments": _set("attachments", [{"usageType": "http://example.org/a", "length": 1}]),
    "default actor objectType left out": _set("actor.objectType", None),
    "default activity objectType left out": _set("object.objectType", None),
    "default context activity objectType written": _set(
        "context.contextActivities.grouping",
        [{"id": "https://moodle.example.edu", "objectType": "Activity"}],
    ),
    "registration in capitals": _set("context.registration", REGISTRATION.upper()),
    "statement ref in capitals": _set("context.statement.id", REFERENCED.upper()),
    "language tag case": _set("context.language", "EN"),
    "mbox domain and scheme case": _set(
        "context.instructor.mbox", "MAILTO:Grace.Hopper@example.edu"
    ),
    "context activity renamed": _set(
        "context.contextActivities.grouping",
        [{"id": "https://moodle.example.edu", "definition": {"name": {"en": "Example U."}}}],
    ),
    "single context activity, not an array": _set(
        "context.contextActivities.category", {"id": "http://moodle.org", "objectType": "Activity"}
    ),
}

DIFFERENT_STATEMENT = {
    "another activity": _set("object.id", "https://moodle.example.edu/course/view.php?id=43"),
    "another verb": _set("verb.id", "http://adlnet.gov/expapi/verbs/experienced"),
    "verb id case": _set("verb.id", "http://id.tincanapi.com/verb/Viewed"),
    "a millisecond later": _set("timestamp", "2026-10-01T08:00:00.001Z"),
    "no timestamp": _set("timestamp", None),
    "another score": _set("result.score", {"raw": 9, "min": 0, "max": 10}),
    "another duration": _set("result.duration", "PT6M"),
    "another learner": _set("actor.account.name", "8"),
    "learner renamed": _set("actor.name", "Ada King"),
    "mbox local part case": _set("context.instructor.mbox", "mailto:grace.hopper@example.edu"),
    "another registration": _set("context.registration", str(uuid.uuid4())),
    "another context activity": _set(
        "context.contextActivities.grouping", [{"id": "https://other.example.edu"}]
    ),
    "context extension": _set("context.extensions", {"http://example.org/x": 2}),
    "result added": _set("result.success", True),
    "object is an agent, not an activity": _set(
        "object", {"objectType": "Agent", "mbox": "mailto:ada@example.edu"}
    ),
}


@pytest.mark.parametrize("change", SAME_STATEMENT.values(), ids=SAME_STATEMENT.keys())
def test_what_xapi_ignores_does_not_make_another_statement(
    change: Callable[[dict[str, Any]], None],
) -> None:
    assert digest(changed(change)) == digest(moodle_statement())


@pytest.mark.parametrize("change", DIFFERENT_STATEMENT.values(), ids=DIFFERENT_STATEMENT.keys())
def test_any_other_difference_is_another_statement(
    change: Callable[[dict[str, Any]], None],
) -> None:
    assert digest(changed(change)) != digest(moodle_statement())


def test_key_order_does_not_matter_but_the_id_does() -> None:
    body = moodle_statement()
    reordered = dict(reversed(list(body.items())))
    assert digest(reordered) == digest(body)
    assert statement_digest(body, str(uuid.uuid4())) != digest(body)


def test_group_members_are_unordered_and_their_ids_case_folded() -> None:
    ada = {"mbox": "mailto:ada@example.edu"}
    grace = {"account": {"homePage": "https://moodle.example.edu", "name": "9"}}
    team = _set("context.team", {"objectType": "Group", "member": [ada, grace]})
    shuffled = _set(
        "context.team",
        {"objectType": "Group", "member": [grace, {"mbox": "mailto:ada@EXAMPLE.edu"}]},
    )
    fewer = _set("context.team", {"objectType": "Group", "member": [grace]})
    assert digest(changed(team)) == digest(changed(shuffled))
    assert digest(changed(team)) != digest(changed(fewer))


def test_a_sub_statement_is_compared_by_the_same_rules() -> None:
    def sub_statement(name: str, timestamp: str) -> Callable[[dict[str, Any]], None]:
        return _set(
            "object",
            {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:ada@example.edu"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en": name}},
                "object": {"id": COURSE, "definition": {"name": {"en": name}}},
                "timestamp": timestamp,
            },
        )

    planned = digest(changed(sub_statement("attempted", "2026-12-01T09:00:00Z")))
    assert digest(changed(sub_statement("tried", "2026-12-01T10:00:00+01:00"))) == planned
    assert digest(changed(sub_statement("attempted", "2026-12-02T09:00:00Z"))) != planned


def test_the_comparable_form_compares_like_the_statement_itself() -> None:
    body = moodle_statement()
    comparable = comparable_statement(copy.deepcopy(body), STATEMENT_ID)
    assert digest(comparable) == digest(body)
    assert body == moodle_statement()


def test_malformed_parts_are_compared_as_sent() -> None:
    strange = _set("context", {"contextActivities": "none", "registration": 7, "team": "x"})
    assert digest(changed(strange)) == digest(changed(strange))
    assert digest(changed(_set("timestamp", "not a time"))) != digest(moodle_statement())


def test_legacy_digest_is_the_raw_statement_without_lrs_properties() -> None:
    body = moodle_statement()
    raw = {**body, "id": STATEMENT_ID}
    expected = hashlib.sha256(
        json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    with_lrs_fields = {**body, "stored": "2026-10-02T00:00:00Z", "version": "1.0.0"}
    assert legacy_statement_digest(with_lrs_fields, STATEMENT_ID) == expected
    assert legacy_statement_digest(body, STATEMENT_ID) != digest(body)
