"""Prompts: the safe context, sandboxed rendering, versions that are never edited, activation
and rollback in one audited call, and the shipped defaults."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagement.errors import ValidationFailed
from engagement.models import AuditEvent
from learners.contracts import learner_risk_snapshot
from nudges.models import PromptTemplate
from nudges.prompts import (
    CONTEXT_KEYS,
    prompt_activate,
    prompt_context,
    prompt_for,
    prompt_render,
    prompt_version_create,
)
from nudges.rendering import TemplateRefused, language_of, safe_format, template_check
from tests.nudges.generation_factories import scored_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_model")]


def _context(**fields: Any) -> dict[str, str]:
    snapshot = learner_risk_snapshot(scored_learner(**fields).pk)
    assert snapshot is not None
    return prompt_context(snapshot)


def test_the_context_holds_what_the_message_needs_and_no_other_personal_data() -> None:
    context = _context(name="Ada King Lovelace", email="ada@example.org", progress=0.4)

    assert set(context) == set(CONTEXT_KEYS)
    assert (context["first_name"], context["cohort"], context["course"]) == (
        "Ada",
        "Spring 2026",
        "PY101",
    )
    assert int(context["days_inactive"]) >= 39
    assert context["factors"].startswith("- ")
    assert context["best_lever"]
    assert (context["locale"], context["language"]) == ("en", "English")
    rendered = "\n".join(context.values())
    assert "Lovelace" not in rendered
    assert "ada@example.org" not in rendered


def test_the_shipped_prompt_renders_from_the_context_in_the_learners_language() -> None:
    context = _context(locale="fr-CA")
    prompt = prompt_for("reengage", "fr-CA")
    assert prompt is not None
    assert (prompt.locale, prompt.version, prompt.is_active) == ("fr", 1, True)

    system, user = prompt_render(prompt, context)

    assert "Prénom de l'apprenant : Ada" in user
    assert "PY101" in user
    assert context["factors"] in user
    assert '{"subject": "...", "body": "..."}' in system
    assert "{" not in user


def test_a_locale_without_a_prompt_falls_back_to_english_in_one_query() -> None:
    with CaptureQueriesContext(connection) as queries:
        prompt = prompt_for("reengage", "de-DE")
    assert prompt is not None
    assert prompt.locale == "en"
    assert len(queries) == 1
    assert prompt_for("no-such-key", "en") is None
    assert language_of("pt_BR") == "en"
    assert language_of("FR") == "fr"


@pytest.mark.parametrize(
    "template",
    [
        "{first_name.__class__}",
        "{first_name.__class__.__mro__}",
        "{factors[0]}",
        "{0}",
        "{}",
        "{settings}",
        "{first_name!r}",
        "{first_name:>10}",
        "unbalanced {first_name",
    ],
)
def test_rendering_reaches_no_attribute_index_or_unknown_name(template: str) -> None:
    with pytest.raises(TemplateRefused):
        safe_format(template, {"first_name": "Ada", "factors": "- x"})


@pytest.mark.parametrize(
    "template", ["Hi {first_name:{first_name}}", "Hi {first_name:{cohort}>5}", "{cohort!s}"]
)
def test_a_nested_specification_is_refused_when_written_not_when_rendered(template: str) -> None:
    # Checked with empty values, "{first_name:{first_name}}" has an empty specification; with a
    # learner's name it would have one: the check refuses it as written.
    with pytest.raises(TemplateRefused):
        template_check(template, ["first_name", "cohort"])


def test_a_value_holding_braces_is_placed_as_text() -> None:
    assert safe_format("Hi {first_name}", {"first_name": "{factors}"}) == "Hi {factors}"


def test_a_version_with_a_placeholder_outside_the_context_is_refused(user: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        prompt_version_create(
            key="reengage",
            locale="en",
            system_text="Fine.",
            user_text="Email {email} about {first_name.__class__}",
            actor=user,
        )
    assert list(refused.value.detail) == ["user_text"]
    assert PromptTemplate.objects.filter(key="reengage", locale="en").count() == 1


def test_versions_are_added_never_edited_and_activation_and_rollback_are_audited(
    user: Any,
) -> None:
    shipped = PromptTemplate.objects.get(key="reengage", locale="en", version=1)
    text = shipped.user_text

    second = prompt_version_create(
        key="reengage",
        locale="en",
        system_text="Be brief. Write in {language}.",
        user_text="Name: {first_name}",
        actor=user,
        temperature=0.2,
    )
    shipped.refresh_from_db()
    assert (second.version, second.is_active, second.created_by) == (2, False, user)
    assert (shipped.is_active, shipped.user_text) == (True, text)

    prompt_activate(prompt=second, actor=user)
    assert prompt_for("reengage", "en") == second
    prompt_activate(prompt=shipped, actor=user)  # rollback
    assert prompt_for("reengage", "en") == shipped
    assert PromptTemplate.objects.filter(key="reengage", locale="en", is_active=True).count() == 1
    assert PromptTemplate.objects.get(pk=second.pk).user_text == "Name: {first_name}"

    events = AuditEvent.objects.filter(action__startswith="prompt.").order_by("occurred_at", "id")
    assert [(e.action, e.changes.get("version"), e.changes.get("previous")) for e in events] == [
        ("prompt.create", 2, None),
        ("prompt.activate", 2, 1),
        ("prompt.activate", 1, 2),
    ]
    assert {e.actor_id for e in events} == {str(user.pk)}


def test_activating_the_active_version_changes_and_records_nothing(user: Any) -> None:
    shipped = PromptTemplate.objects.get(key="reengage", locale="fr", version=1)
    prompt_activate(prompt=shipped, actor=user)
    assert not AuditEvent.objects.filter(action="prompt.activate").exists()


def test_a_new_version_may_be_activated_at_once_and_numbers_per_key_and_locale(
    user: Any,
) -> None:
    first = prompt_version_create(
        key="welcome", locale="fr", system_text="S", user_text="{first_name}", actor=user
    )
    second = prompt_version_create(
        key="welcome",
        locale="fr",
        system_text="S2",
        user_text="{first_name}",
        actor=user,
        activate=True,
    )
    assert (first.version, second.version) == (1, 2)
    assert prompt_for("welcome", "fr") == second


def test_a_temperature_outside_0_to_2_is_refused(user: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        prompt_version_create(
            key="k", locale="en", system_text="S", user_text="U", actor=user, temperature=2.5
        )
    assert list(refused.value.detail) == ["temperature"]
