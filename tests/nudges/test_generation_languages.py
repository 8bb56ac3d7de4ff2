"""The learner's language: the prompt names it for any locale, and the templates and advice
speak each shipped language (English for a language without templates)."""

import re
import string

import pytest

from learners.contracts import learner_risk_snapshot
from nudges.fallback_templates import (
    ADVICE,
    FACTOR_GROUPS,
    GREETINGS,
    TEMPLATES,
    fallback_message,
    snapshot_group,
)
from nudges.guardrail_words import GREETINGS as NAMING_GREETINGS
from nudges.guardrail_words import HONORIFICS, SHAMING
from nudges.guardrails import guardrail_context, guardrail_failures
from nudges.prompts import prompt_context, prompt_for, prompt_render
from nudges.rendering import LANGUAGES, language_name, language_of
from tests.nudges.generation_factories import risk_snapshot, scored_learner

GROUPS = sorted({*FACTOR_GROUPS.values(), "general"})
FACTORS = sorted({*FACTOR_GROUPS, "unknown_factor"})


@pytest.mark.parametrize(
    ("locale", "name"),
    [
        ("en", "English"),
        ("fr-CA", "French"),
        ("es", "Spanish"),
        ("es_MX", "Mexican Spanish"),
        ("de-AT", "German"),
        ("pl", "Polish"),
        ("pt-BR", "Brazilian Portuguese"),
        ("ja", "Japanese"),
        ("zh-CN", "Simplified Chinese"),
        ("zh-Hant-TW", "Traditional Chinese"),
        ("xx-YY", "English"),
        ("", "English"),
    ],
)
def test_the_language_named_to_the_llm_is_the_learners_for_any_locale(
    locale: str, name: str
) -> None:
    assert language_name(locale) == name


@pytest.mark.django_db
@pytest.mark.usefixtures("rules_model")
@pytest.mark.parametrize(
    ("locale", "name", "prompt_locale"),
    [
        ("en", "English", "en"),
        ("fr", "French", "fr"),
        ("es", "Spanish", "en"),
        ("de", "German", "en"),
        ("pl", "Polish", "en"),
    ],
)
def test_the_prompt_and_the_template_are_in_each_shipped_language(
    locale: str, name: str, prompt_locale: str
) -> None:
    snapshot = learner_risk_snapshot(scored_learner(locale=locale).pk)
    assert snapshot is not None
    context = prompt_context(snapshot)
    prompt = prompt_for("reengage", locale)
    assert prompt is not None
    assert prompt.locale == prompt_locale

    system, user = prompt_render(prompt, context)

    assert context["language"] == name
    if prompt_locale == "en":  # the English prompt asks for the learner's language by name
        assert f"Write in {name}." in system
        assert f"Write the message in {name} (locale {locale})." in user
    group = snapshot_group(snapshot)
    assert context["best_lever"] == ADVICE[locale][group]
    assert context["best_lever"] in user
    subject, body = fallback_message(snapshot)
    assert (subject, body) == (
        TEMPLATES[locale][group][0].format(course="PY101"),
        TEMPLATES[locale][group][1].format(
            greeting=GREETINGS[locale][0].format(name="Ada"),
            course="PY101",
            days=context["days_inactive"],
        ),
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("rules_model")
def test_a_language_without_templates_is_asked_of_the_llm_and_falls_back_to_english() -> None:
    snapshot = learner_risk_snapshot(scored_learner(locale="ja-JP").pk)
    assert snapshot is not None
    context = prompt_context(snapshot)
    prompt = prompt_for("reengage", "ja-JP")
    assert prompt is not None
    system, user = prompt_render(prompt, context)

    assert "Write in Japanese." in system
    assert "Write the message in Japanese (locale ja-JP)." in user
    assert language_of("ja-JP") == "en"
    assert context["best_lever"] == ADVICE["en"][snapshot_group(snapshot)]
    subject, body = fallback_message(snapshot)
    assert subject == TEMPLATES["en"][snapshot_group(snapshot)][0].format(course="PY101")
    assert body.startswith("Hi Ada,\n\n")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_shipped_language_has_every_group_with_the_same_placeholders(language: str) -> None:
    assert set(TEMPLATES[language]) == set(ADVICE[language]) == set(GROUPS)
    for group in GROUPS:
        for english, translated in zip(
            TEMPLATES["en"][group], TEMPLATES[language][group], strict=True
        ):
            assert _placeholders(translated) == _placeholders(english), (language, group)
    named, anonymous = GREETINGS[language]
    assert _placeholders(named) == {"name"}
    assert _placeholders(anonymous) == set()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("first_name", ["Ada", "Zoë", ""])
def test_every_factor_renders_in_every_shipped_language_and_passes_every_guardrail(
    language: str, factor: str, first_name: str
) -> None:
    for days in (0.4, 12):
        snapshot = risk_snapshot(locale=language, factor=factor, first_name=first_name, days=days)
        subject, body = fallback_message(snapshot)
        context = prompt_context(snapshot)

        assert "{" not in subject + body and "}" not in subject + body
        assert "PY101" in subject + body
        assert context["best_lever"] == ADVICE[language][snapshot_group(snapshot)]
        assert (
            guardrail_failures(subject=subject, body=body, context=guardrail_context(context)) == []
        )
        if first_name:
            assert first_name in body
        if snapshot_group(snapshot) == "inactive":
            assert "12" in body


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _shaming(language: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{'|'.join(SHAMING[language])})\b", re.IGNORECASE | re.UNICODE)


def test_the_guardrail_word_lists_cover_the_languages_beyond_english_and_french() -> None:
    beyond = set(LANGUAGES) - {"en", "fr"}
    assert set(SHAMING) == set(NAMING_GREETINGS) == set(HONORIFICS) == beyond


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("es", "Eres un vago y es una vergüenza. Última advertencia."),
        ("de", "Du bist faul, das ist eine Schande. Letzte Warnung!"),
        ("pl", "Jesteś leniwy, to wstyd. Ostatnie ostrzeżenie!"),
    ],
)
def test_the_shaming_words_of_each_language_catch_shaming(language: str, text: str) -> None:
    assert len(_shaming(language).findall(text)) == 3


@pytest.mark.parametrize("language", sorted(SHAMING))
def test_no_template_or_advice_uses_a_shaming_word_or_an_honorific(language: str) -> None:
    honorific = re.compile(rf"\b(?:{'|'.join(HONORIFICS[language])})\.?\s+[A-ZÀ-Þ]")
    texts = [*ADVICE[language].values(), *GREETINGS[language]]
    texts += [text for pair in TEMPLATES[language].values() for text in pair]
    for text in texts:
        assert not _shaming(language).search(text), text
        assert not honorific.search(text), text
