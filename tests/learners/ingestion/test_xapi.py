"""Pure mapping of xAPI statements to activity events: no database involved."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from learners.ingestion.events import LearnerRef
from learners.ingestion.xapi import (
    VERB_KINDS,
    XAPI_SOURCE,
    Actor,
    parse_actor,
    parse_duration,
    parse_score,
    parse_statement,
    version_supported,
)
from learners.models import EventKind

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ADL = "http://adlnet.gov/expapi/verbs/"
STATEMENT_ID = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"

EXPECTED_KINDS = {
    f"{ADL}launched": "login",
    f"{ADL}initialized": "login",
    f"{ADL}logged-in": "login",
    f"{ADL}resumed": "login",
    f"{ADL}experienced": "content_view",
    f"{ADL}interacted": "content_view",
    f"{ADL}progressed": "content_view",
    f"{ADL}completed": "lesson_completed",
    f"{ADL}attempted": "assessment_started",
    f"{ADL}answered": "assessment_submitted",
    f"{ADL}scored": "assessment_submitted",
    f"{ADL}passed": "assessment_passed",
    f"{ADL}failed": "assessment_failed",
    f"{ADL}commented": "forum_post",
    f"{ADL}asked": "forum_post",
    f"{ADL}responded": "forum_post",
    f"{ADL}shared": "forum_post",
    "https://w3id.org/xapi/video/verbs/played": "video_watched",
    "http://activitystrea.ms/schema/1.0/watch": "video_watched",
}


def statement(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": STATEMENT_ID,
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example.edu", "name": "u-1"},
        },
        "verb": {"id": f"{ADL}completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": "https://lms.example.edu/course/1/lesson/3"},
        "timestamp": "2026-10-01T10:00:00+02:00",
        "result": {"score": {"scaled": 0.8}, "duration": "PT5M"},
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def errors_of(item: Any, **kwargs: Any) -> dict[str, list[str]]:
    parsed, errors = parse_statement(item, now=NOW, **kwargs)
    assert parsed is None
    return errors


# Verbs -----------------------------------------------------------------------------------------


def test_verb_table_is_exactly_the_documented_one() -> None:
    assert VERB_KINDS == EXPECTED_KINDS
    assert set(VERB_KINDS.values()) <= set(EventKind.values)


@pytest.mark.parametrize(("verb_id", "kind"), sorted(EXPECTED_KINDS.items()))
def test_every_mapped_verb_becomes_its_event_kind(verb_id: str, kind: str) -> None:
    parsed, errors = parse_statement(statement(verb={"id": verb_id}), now=NOW)
    assert errors == {}
    assert parsed is not None
    assert parsed.record.kind == kind
    assert parsed.record.metadata["xapi"]["verb"] == verb_id


@pytest.mark.parametrize(
    "verb_id",
    [
        "http://id.tincanapi.com/verb/viewed",
        "https://w3id.org/xapi/dod-isd/verbs/answered",
        "https://w3id.org/xapi/video/verbs/paused",
        f"{ADL}terminated",
        "urn:example:verb:pondered",
        # IRIs are compared exactly: another case is another verb.
        f"{ADL}COMPLETED",
    ],
)
def test_verbs_outside_the_table_are_other_activity_keeping_the_verb(verb_id: str) -> None:
    parsed, errors = parse_statement(statement(verb={"id": verb_id}), now=NOW)
    assert errors == {}
    assert parsed is not None
    assert parsed.record.kind == EventKind.OTHER
    assert parsed.record.metadata["xapi"]["verb"] == verb_id


@pytest.mark.parametrize(
    ("verb", "reason"),
    [
        ({"id": "viewed", "display": {"en-US": "viewed"}}, "'viewed' is not an IRI"),
        ({"id": "completed lesson"}, "is not an IRI"),
        ({"id": "http://example.org/verbs/a b"}, "is not an IRI"),
        ({"id": "//example.org/verbs/viewed"}, "is not an IRI"),
        ({"id": "http:"}, "is not an IRI"),
        ({"id": " http://adlnet.gov/expapi/verbs/completed\n"}, "is not an IRI"),
        ({"id": ""}, "non-empty verb id"),
        ({"display": {"en-US": "completed"}}, "non-empty verb id"),
        ("completed", "JSON object"),
        (None, "JSON object"),
    ],
)
def test_verbs_that_are_not_iris_are_refused_with_the_reason(verb: Any, reason: str) -> None:
    body = statement(verb=verb) if verb is not None else {**statement(), "verb": None}
    [message] = errors_of(body)["verb"]
    assert reason in message


# Actors ----------------------------------------------------------------------------------------


def test_account_actor_may_match_its_home_page_or_its_host() -> None:
    actor = parse_actor({"account": {"homePage": "https://lms.example.edu:8443/", "name": " u-1 "}})
    assert actor == Actor(
        home_page="https://lms.example.edu:8443/",
        account_name="u-1",
        sources=("https://lms.example.edu:8443/", "lms.example.edu"),
    )


def test_account_home_page_without_host_is_its_only_source() -> None:
    actor = parse_actor({"objectType": "Agent", "account": {"homePage": "moodle", "name": "7"}})
    assert actor.sources == ("moodle",)


def test_account_actor_gives_a_provisional_learner_reference() -> None:
    parsed, _ = parse_statement(statement(), now=NOW)
    assert parsed is not None
    assert parsed.record.learner == LearnerRef(source="https://lms.example.edu", external_id="u-1")
    learner_id = uuid.uuid4()
    assert parsed.for_learner(learner_id).learner == LearnerRef(learner_id=learner_id)


def test_mbox_actor_is_an_email_address_compared_in_lower_case() -> None:
    actor = parse_actor({"mbox": "mailto:Ada.Lovelace@Example.ORG", "name": "Ada"})
    assert actor == Actor(email="ada.lovelace@example.org")


@pytest.mark.parametrize(
    ("actor", "reason"),
    [
        (None, "JSON object"),
        ("mailto:a@example.org", "JSON object"),
        ({"objectType": "Group", "member": []}, "group"),
        ({"name": "No identifier"}, "exactly one"),
        (
            {"mbox": "mailto:a@example.org", "account": {"homePage": "https://x", "name": "a"}},
            "exactly one",
        ),
        ({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}, "use account or mbox"),
        ({"openid": "https://openid.example.org/a"}, "use account or mbox"),
        ({"mbox": "a@example.org"}, "mailto"),
        ({"mbox": "mailto:nobody"}, "mailto"),
        ({"account": "u-1"}, "homePage and name"),
        ({"account": {"homePage": "https://lms.example.edu"}}, "account.name"),
        ({"account": {"homePage": "", "name": "u-1"}}, "account.homePage"),
        ({"account": {"homePage": "http://[::1", "name": "u-1"}}, "not a valid URL"),
        ({"account": {"homePage": "https://x", "name": "u\x00"}}, "NUL"),
        ({"account": {"homePage": "https://x", "name": "u\ud800"}}, "valid text"),
    ],
)
def test_invalid_actors_are_refused_with_a_reason(actor: Any, reason: str) -> None:
    errors = errors_of({**statement(), "actor": actor})
    assert reason in errors["actor"][0]


# Durations -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H2M3.5S", 3724),
        ("PT1H2M3.4S", 3723),
        ("P1DT2H", 93600),
        ("PT0S", 0),
        ("PT01H00M00S", 3600),
        ("PT1,5S", 2),
        ("PT90M", 5400),
        ("P2W", 14 * 86400),
        ("P1M", 30 * 86400),
        ("P1Y", 365 * 86400),
        ("P1Y2M3DT4H5M6S", 365 * 86400 + 60 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6),
        (None, None),
    ],
)
def test_iso_durations_become_whole_seconds(text: str | None, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "1H", "PT-1S", "PT1.5.5S", "PT1H2H", "pt1h", 90, "P99999999Y"]
)
def test_invalid_durations_are_refused(text: Any) -> None:
    with pytest.raises(ValueError, match=r"duration|Longer"):
        parse_duration(text)


def test_statement_with_a_bad_duration_names_the_field() -> None:
    errors = errors_of(statement(result={"duration": "5 minutes"}))
    assert list(errors) == ["result.duration"]


# Scores ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ({"scaled": 0.8}, 0.8),
        ({"scaled": 1}, 1.0),
        ({"scaled": 0}, 0.0),
        ({"scaled": -0.5}, 0.0),
        ({"scaled": -1}, 0.0),
        ({"scaled": 0.25, "raw": 9, "min": 0, "max": 10}, 0.25),
        ({"raw": 5, "min": 0, "max": 10}, 0.5),
        ({"raw": 15, "min": 10, "max": 30}, 0.25),
        ({"raw": -2, "min": -4, "max": 4}, 0.25),
        ({"raw": 7}, None),
        ({"raw": 7, "max": 10}, None),
        ({}, None),
        (None, None),
    ],
)
def test_scores_are_scaled_to_zero_one(score: Any, expected: float | None) -> None:
    assert parse_score(score) == expected


@pytest.mark.parametrize(
    ("score", "reason"),
    [
        ({"scaled": 1.2}, "between -1 and 1"),
        ({"scaled": -1.5}, "between -1 and 1"),
        ({"scaled": "0.5"}, "number"),
        ({"scaled": True}, "number"),
        ({"scaled": 10**400}, "out of range"),
        ({"scaled": float("nan")}, "finite"),
        ({"raw": 11, "min": 0, "max": 10}, "between min and max"),
        ({"raw": 5, "min": 10, "max": 10}, "less than max"),
        ({"raw": 1e308, "min": -1e308, "max": 1e308}, "out of range"),
        ("0.5", "JSON object"),
    ],
)
def test_invalid_scores_are_refused(score: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_score(score)


# Timestamps, ids, hashes -----------------------------------------------------------------------


def test_a_complete_statement_becomes_an_event_record() -> None:
    parsed, errors = parse_statement(statement(), now=NOW)
    assert errors == {}
    assert parsed is not None
    record = parsed.record
    assert parsed.id == STATEMENT_ID
    assert (record.source, record.source_event_id) == (XAPI_SOURCE, STATEMENT_ID)
    assert record.kind == EventKind.LESSON_COMPLETED
    assert record.occurred_at == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert record.duration_seconds == 300
    assert record.score == 0.8
    assert record.metadata == {
        "xapi": {
            "verb": f"{ADL}completed",
            "object": "https://lms.example.edu/course/1/lesson/3",
            "hash": parsed.digest,
        }
    }


def test_missing_timestamp_and_result_mean_stored_now_without_duration_or_score() -> None:
    parsed, errors = parse_statement({**statement(), "timestamp": None, "result": None}, now=NOW)
    assert errors == {}
    assert parsed is not None
    assert parsed.record.occurred_at == NOW
    assert (parsed.record.duration_seconds, parsed.record.score) == (None, None)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("yesterday", "ISO 8601"),
        (1700000000, "ISO 8601"),
        ((NOW + timedelta(hours=1)).isoformat(), "future"),
        ("0001-01-01T00:00:00+01:00", "range"),
    ],
)
def test_bad_timestamps_are_refused(timestamp: Any, reason: str) -> None:
    assert reason in errors_of(statement(timestamp=timestamp))["timestamp"][0]


def test_zulu_timestamps_are_utc() -> None:
    parsed, _ = parse_statement(statement(timestamp="2026-10-01T08:00:00.250Z"), now=NOW)
    assert parsed is not None
    assert parsed.record.occurred_at == datetime(2026, 10, 1, 8, 0, 0, 250000, tzinfo=UTC)


def test_a_statement_without_id_gets_a_new_uuid4() -> None:
    first, _ = parse_statement({**statement(), "id": None}, now=NOW)
    second, _ = parse_statement({**statement(), "id": None}, now=NOW)
    assert first is not None
    assert second is not None
    assert uuid.UUID(first.id).version == 4
    assert first.id != second.id
    assert first.record.source_event_id == first.id


def test_ids_are_canonical_so_that_re_sends_compare_equal() -> None:
    upper, _ = parse_statement(statement(id=STATEMENT_ID.upper()), now=NOW)
    lower, _ = parse_statement(statement(), now=NOW)
    assert upper is not None
    assert lower is not None
    assert upper.id == STATEMENT_ID
    assert upper.digest == lower.digest


@pytest.mark.parametrize("bad_id", ["not-a-uuid", 42, ""])
def test_bad_ids_are_refused(bad_id: Any) -> None:
    assert "id" in errors_of(statement(id=bad_id))


def test_put_id_is_used_when_the_body_has_none_and_must_match_when_it_has_one() -> None:
    parsed, _ = parse_statement({**statement(), "id": None}, now=NOW, statement_id=STATEMENT_ID)
    assert parsed is not None
    assert parsed.id == STATEMENT_ID
    other = str(uuid.uuid4())
    assert "Does not match" in errors_of(statement(), statement_id=other)["id"][0]


def test_object_must_carry_an_id_unless_it_is_an_agent_or_sub_statement() -> None:
    assert "object" in errors_of(statement(object={"objectType": "Activity"}))
    assert "object" in errors_of(statement(object="https://lms.example.edu/course/1"))
    parsed, errors = parse_statement(
        statement(object={"objectType": "Agent", "mbox": "mailto:peer@example.org"}), now=NOW
    )
    assert errors == {}
    assert parsed is not None
    assert parsed.record.metadata["xapi"]["object"] is None


@pytest.mark.parametrize(("version", "ok"), [("1.0.3", True), ("1.0.0", True), ("2.0.0", False)])
def test_statement_version_must_be_1_0_x(version: str, ok: bool) -> None:
    _, errors = parse_statement(statement(version=version), now=NOW)
    assert ("version" not in errors) is ok


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("1.0.3", True),
        ("1.0", True),
        ("1.0.0", True),
        (" 1.0.1 ", True),
        ("1.05", False),
        ("0.95", False),
        ("2.0.0", False),
        ("", False),
        (None, False),
    ],
)
def test_version_header_values(header: str | None, ok: bool) -> None:
    assert version_supported(header) is ok


def test_every_problem_of_a_statement_is_reported_at_once() -> None:
    errors = errors_of(
        {
            "id": "nope",
            "actor": {"objectType": "Group"},
            "verb": {"id": "pondered"},
            "object": {},
            "timestamp": "later",
            "result": {"duration": "long", "score": {"scaled": 2}},
        }
    )
    assert set(errors) == {
        "id",
        "actor",
        "verb",
        "object",
        "timestamp",
        "result.duration",
        "result.score",
    }


@pytest.mark.parametrize("item", [[], "statement", 7, None])
def test_a_statement_must_be_a_json_object(item: Any) -> None:
    assert errors_of(item) == {"non_field_errors": ["Each statement must be a JSON object."]}


def test_result_must_be_an_object() -> None:
    assert errors_of(statement(result=[1])) == {"result": ["Must be a JSON object."]}
