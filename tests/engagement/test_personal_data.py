"""The pseudonymisation rule: fields a serializer declares personal never reach analysts."""

from typing import Any

import pytest
from rest_framework import serializers

from engagement.api.personal_data import shown_to, without_personal_data
from tests.factories import UserFactory


class Note(serializers.Serializer):
    kind = serializers.CharField()
    note = serializers.CharField()

    class Meta:
        personal_fields = ("note",)


class Person(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    notes = Note(many=True)
    latest = Note(allow_null=True)
    extra = serializers.DictField()

    class Meta:
        personal_fields = ("email",)


PERSON = {
    "id": 1,
    "email": "ann@example.org",
    "notes": [{"kind": "a", "note": "called"}, {"kind": "b", "note": "ill"}],
    "latest": {"kind": "b", "note": "ill"},
    "extra": {"note": "not declared personal here", "email": "neither"},
    "added_later": "kept",
}


def test_declared_fields_are_dropped_at_every_depth_and_in_lists() -> None:
    assert without_personal_data([PERSON, {**PERSON, "latest": None}], Person()) == [
        {
            "id": 1,
            "notes": [{"kind": "a"}, {"kind": "b"}],
            "latest": {"kind": "b"},
            "extra": {"note": "not declared personal here", "email": "neither"},
            "added_later": "kept",
        },
        {
            "id": 1,
            "notes": [{"kind": "a"}, {"kind": "b"}],
            "latest": None,
            "extra": {"note": "not declared personal here", "email": "neither"},
            "added_later": "kept",
        },
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "whole"), [("admin", True), ("coach", True), ("analyst", False)])
def test_only_pseudonymised_callers_lose_personal_fields(role: str, whole: bool) -> None:
    shown: Any = shown_to(UserFactory(role=role), PERSON, Person)
    assert (shown == PERSON) is whole
    assert ("email" in shown) is whole
