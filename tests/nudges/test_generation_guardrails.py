"""Guardrails: each rule with a message that breaks it, and the templates that pass them all."""

from typing import Any

import pytest

from nudges.fallback_templates import TEMPLATES, fallback_message
from nudges.guardrails import RULES, GuardrailContext, guardrail_context, guardrail_failures
from nudges.prompts import prompt_context
from tests.nudges.generation_factories import risk_snapshot

SUBJECT = "Your PY101 course is waiting for you"
BODY = (
    "Hi Ada,\n\nIt has been 12 days since your last visit to PY101 and you are 40% of the way "
    "through. A short session on the next lesson this week would help you keep going."
)


@pytest.fixture
def context() -> GuardrailContext:
    return guardrail_context(prompt_context(risk_snapshot(lever="days_inactive")))


def test_a_message_within_every_rule_passes(context: GuardrailContext) -> None:
    assert guardrail_failures(subject=SUBJECT, body=BODY, context=context) == []


@pytest.mark.parametrize(
    ("rule", "subject", "body"),
    [
        ("length", "", BODY),
        ("length", SUBJECT, "  "),
        ("length", "x" * 121, BODY),
        ("length", SUBJECT, BODY + " more" * 300),
        ("email", SUBJECT, BODY + " Write to coach.maria@example.org if you need help."),
        ("phone", SUBJECT, BODY + " Call us on +44 20 7946 0958."),
        ("phone", SUBJECT, BODY + " Appelez le 06 12 34 56 78."),
        ("other_name", SUBJECT, BODY.replace("Hi Ada,", "Hi Grace,")),
        ("other_name", SUBJECT, BODY.replace("Hi Ada,", "Hi Ada Lovelace,")),
        ("other_name", SUBJECT, BODY + " Your coach Maria Lopez is waiting for you."),
        ("other_name", SUBJECT, BODY + " Ask Mr. Smith about it."),
        ("link", SUBJECT, BODY + " Log in at https://evil.example.com/login now."),
        ("link", SUBJECT, BODY + " See www.shady-site.net for tips."),
        ("link", SUBJECT, BODY + " Visit bit.ly/abc today."),
        ("number", SUBJECT, BODY.replace("12 days", "3 days")),
        ("number", SUBJECT, BODY.replace("40%", "90%")),
        ("tone", SUBJECT, BODY + " Don't be lazy."),
        ("tone", SUBJECT, BODY + " This is your last warning, or you will be expelled."),
        ("tone", SUBJECT, BODY + " Vous devriez avoir honte."),
        ("tone", "Quel résultat lamentable", BODY),
    ],
)
def test_each_rule_rejects_a_message_that_breaks_it(
    rule: str, subject: str, body: str, context: GuardrailContext
) -> None:
    assert rule in RULES
    assert guardrail_failures(subject=subject, body=body, context=context) == [rule]


def test_links_to_allowed_domains_and_their_subdomains_pass(
    settings: Any, context: GuardrailContext
) -> None:
    settings.NUDGE_ALLOWED_LINK_DOMAINS = ["learn.example.edu"]
    for link in ("https://learn.example.edu/course/PY101", "https://www.learn.example.edu"):
        assert guardrail_failures(subject=SUBJECT, body=f"{BODY} {link}", context=context) == []
    spoof = "https://learn.example.edu.evil.io/x"
    assert guardrail_failures(subject=SUBJECT, body=f"{BODY} {spoof}", context=context) == ["link"]


def test_the_limits_follow_the_settings(settings: Any, context: GuardrailContext) -> None:
    settings.NUDGE_MAX_BODY_CHARS = 100
    assert guardrail_failures(subject=SUBJECT, body=BODY, context=context) == ["length"]


def test_a_message_breaking_several_rules_names_each(context: GuardrailContext) -> None:
    body = "Hi Bob, call 555-123-4567 or mail bob@x.org: 7 days lazy."
    assert guardrail_failures(subject=SUBJECT, body=body, context=context) == [
        "email",
        "phone",
        "other_name",
        "number",
        "tone",
    ]


@pytest.mark.parametrize(
    ("locale", "first_name", "body", "rule"),
    [
        ("es", "Ana", "Hola Marta, tu curso te espera.", "other_name"),
        ("es", "Ana", "Hola Ana, no seas perezosa con tu curso.", "tone"),
        ("de", "Jonas", "Hallo Jonas, sonst wirst du den Kurs verlieren.", "tone"),
        ("de", "Jonas", "Hallo Jonas, Frau Schmidt wartet auf dich.", "other_name"),
        ("pl", "Ola", "Cześć Kasia, kurs na ciebie czeka.", "other_name"),
        ("pl", "Ola", "Cześć Ola, to ostatnie ostrzeżenie.", "tone"),
    ],
)
def test_the_word_rules_know_every_template_language(
    locale: str, first_name: str, body: str, rule: str
) -> None:
    context = guardrail_context(
        prompt_context(risk_snapshot(lever="days_inactive", first_name=first_name, locale=locale))
    )
    assert guardrail_failures(subject="PY101", body=body, context=context) == [rule]


def test_two_capitalised_words_are_a_name_except_where_every_noun_is_capitalised() -> None:
    body = "Hallo Jonas, heute wartet deine Lektion Datenanalyse Grundlagen auf dich."
    for locale, failures in (("de", []), ("en", ["other_name"])):
        context = guardrail_context(
            prompt_context(risk_snapshot(lever="days_inactive", first_name="Jonas", locale=locale))
        )
        assert guardrail_failures(subject="PY101", body=body, context=context) == failures


def test_templates_are_deterministic_per_factor_in_the_learners_language() -> None:
    english = fallback_message(
        risk_snapshot(lever="days_inactive", locale="en", factor="assessment_mean")
    )
    assert english == fallback_message(
        risk_snapshot(lever="days_inactive", locale="en", factor="assessment_mean")
    )
    assert english[0] == "Ready for the next quiz in PY101?"
    french = fallback_message(
        risk_snapshot(lever="days_inactive", locale="fr-BE", factor="days_inactive", days=12)
    )
    assert french[0] == "Votre cours PY101 vous attend"
    assert french[1].startswith("Bonjour Ada,\n\nCela fait 12 jours")
    assert set(TEMPLATES["en"]) == set(TEMPLATES["fr"])
