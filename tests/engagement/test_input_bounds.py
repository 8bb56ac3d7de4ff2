"""The shared input bounds: date-times, JSON nesting and storable text, thrown extreme values."""

import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from engagement.api.parsers import JSONParser
from engagement.api.renderers import JSONRenderer
from engagement.input_bounds import (
    EARLIEST,
    LATEST,
    MAX_JSON_DEPTH,
    check_json,
    json_too_deep,
    parse_datetime,
)

offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
any_datetime = st.datetimes()  # year 1 to 9999


@given(any_datetime, st.one_of(st.none(), offsets))
def test_any_iso_datetime_parses_within_bounds_or_is_refused_with_a_reason(
    moment: datetime, offset: timezone | None
) -> None:
    text = moment.replace(tzinfo=offset).isoformat()
    try:
        parsed = parse_datetime(text)
    except ValueError as exc:
        assert "1970-01-01 to 2099-12-31" in str(exc)
    else:
        assert parsed.tzinfo is UTC
        assert EARLIEST <= parsed < LATEST


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00-12:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59+14:00",
        "9999-12-31",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "2099-12-31T23:00:00-01:00",
    ],
)
def test_extreme_datetimes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="range 1970-01-01 to 2099-12-31"):
        parse_datetime(text)


def test_bounds_are_inclusive_of_their_first_and_last_day() -> None:
    assert parse_datetime("1970-01-01T00:00:00Z") == EARLIEST
    assert parse_datetime("2100-01-01T04:59:59+05:00") < LATEST
    assert parse_datetime("2099-12-31T23:59:59") == LATEST - timedelta(seconds=1)


def _json(text: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | text,
        lambda children: st.lists(children) | st.dictionaries(text, children),
        max_leaves=30,
    )


json_values = _json(st.text())
storable_json = _json(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")))


def _nested(depth: int) -> object:
    value: object = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@given(storable_json)
def test_shallow_json_with_valid_text_passes(value: object) -> None:
    assert check_json(value, name="metadata") == value


@given(json_values, st.sampled_from(["\x00", "\ud800", "\udfff"]))
def test_json_holding_a_nul_or_a_lone_surrogate_is_refused(value: object, bad: str) -> None:
    with pytest.raises(ValueError, match="metadata"):
        check_json({"ok": value, "bad": [f"x{bad}y"]}, name="metadata")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"a": "\x00"}, "metadata.a contains a NUL character"),
        ({"a": ["ok", "\ud800"]}, r"metadata.a\[1\] contains an unpaired surrogate"),
        ({"\udfff": 1}, "a key of metadata contains an unpaired surrogate"),
        ({"a": {"b": {"c": "x\x00y"}}}, "metadata.a.b.c contains a NUL character"),
    ],
)
def test_bad_text_is_named_by_its_path(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_json(value, name="metadata")


def test_depth_is_counted_in_arrays_and_objects() -> None:
    assert not json_too_deep(_nested(MAX_JSON_DEPTH))
    assert json_too_deep(_nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(ValueError, match="more than 3 levels"):
        check_json(_nested(4), name="metadata", max_depth=3)
    # Iterative: nesting far beyond the interpreter's recursion limit is measured, not a crash.
    assert json_too_deep(_nested(100_000))


def _parse(body: str) -> object:
    return JSONParser().parse(io.BytesIO(body.encode()), "application/json", {})


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_parser_refuses_deep_bodies_with_a_parse_error(depth: int) -> None:
    with pytest.raises(ParseError, match="nest more than 64 levels"):
        _parse("[" * depth + "]" * depth)


def test_parser_accepts_bodies_up_to_the_depth_bound() -> None:
    assert _parse(json.dumps(_nested(MAX_JSON_DEPTH))) == _nested(MAX_JSON_DEPTH)


@given(json_values)
def test_renderer_renders_any_python_json_value_as_valid_json(value: object) -> None:
    rendered = JSONRenderer().render({"value": value})
    assert json.loads(rendered) == {"value": value}


def test_renderer_escapes_unpaired_surrogates_instead_of_failing() -> None:
    rendered = JSONRenderer().render({"metadata": {"a": "\ud800", "b": "é"}})
    assert rendered == b'{"metadata":{"a":"\\ud800","b":"\\u00e9"}}'
    assert JSONRenderer().render({"b": "é"}) == '{"b":"é"}'.encode()
