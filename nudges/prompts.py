"""Prompt templates: the learner's safe context, rendering, and versions (create, activate).

A version is never edited: a change is a new version, and activating one (or rolling back to an
older one) is one audited call. The context holds only what the message needs and may name:
the first name, cohort and course, days inactive, progress, the top risk factors with their
explanations, the best lever, and the learner's locale (issue 13, §1).
"""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from engagement.audit import audit_record
from engagement.errors import Conflict, ValidationFailed
from engagement.ids import row_by_id
from engagement.models import User
from learners.contracts import RiskSnapshot
from nudges.fallback_templates import ADVICE, factor_group
from nudges.models import PromptTemplate
from nudges.rendering import (
    LANGUAGES,
    TemplateRefused,
    language_name,
    language_of,
    safe_format,
    template_check,
)

#: The prompt a nudge uses when none is named.
DEFAULT_PROMPT_KEY = "reengage"

#: The placeholders a prompt may use.
CONTEXT_KEYS = (
    "first_name",
    "cohort",
    "course",
    "days_inactive",
    "progress",
    "factors",
    "best_lever",
    "locale",
    "language",
)


def prompt_context(snapshot: RiskSnapshot) -> dict[str, str]:
    """The learner's safe context, as strings: nothing else reaches a prompt (or the LLM)."""
    language = language_of(snapshot.locale)
    lever = snapshot.best_lever.factor if snapshot.best_lever else None
    return {
        "first_name": snapshot.first_name,
        "cohort": snapshot.cohort_name,
        "course": snapshot.course_code,
        "days_inactive": str(round(snapshot.days_inactive)),
        "progress": f"{snapshot.progress:.0%}",
        "factors": "\n".join(f"- {factor.explanation}" for factor in snapshot.top_factors),
        "best_lever": ADVICE[language][factor_group(lever, days_inactive=snapshot.days_inactive)],
        "locale": snapshot.locale,
        "language": language_name(snapshot.locale),
    }


def prompt_render(prompt: PromptTemplate, context: Mapping[str, str]) -> tuple[str, str]:
    """The (system, user) messages of ``prompt`` for a learner's context."""
    return safe_format(prompt.system_text, context), safe_format(prompt.user_text, context)


# Reads -----------------------------------------------------------------------------------------


def prompt_list(*, key: str | None = None, locale: str | None = None) -> QuerySet[PromptTemplate]:
    """Every version, newest first within each key and locale."""
    queryset = PromptTemplate.objects.all()
    if key:
        queryset = queryset.filter(key=key)
    if locale:
        queryset = queryset.filter(locale=locale)
    return queryset.order_by("key", "locale", "-version")


def prompt_get(prompt_id: Any) -> PromptTemplate:
    return row_by_id(
        PromptTemplate.objects.all(), prompt_id, missing="No prompt version with this id."
    )


def prompt_key_exists(key: str) -> bool:
    """Whether some version of ``key`` is active (in any locale)."""
    return PromptTemplate.objects.filter(key=key, is_active=True).exists()


def prompt_for(key: str, locale: str) -> PromptTemplate | None:
    """The active version of ``key`` for a learner's locale: the exact locale, else its
    language, else English (one query)."""
    candidates = list(dict.fromkeys((locale, language_of(locale), LANGUAGES[0])))
    found = {
        prompt.locale: prompt
        for prompt in PromptTemplate.objects.filter(key=key, is_active=True, locale__in=candidates)
    }
    return next((found[name] for name in candidates if name in found), None)


# Writes ----------------------------------------------------------------------------------------


def prompt_version_create(
    *,
    key: str,
    locale: str,
    system_text: str,
    user_text: str,
    actor: Any,
    model: str = "",
    temperature: float = 0.4,
    max_tokens: int = 400,
    notes: str = "",
    activate: bool = False,
) -> PromptTemplate:
    """A new version of ``key`` in ``locale`` (the next number), refused when its text uses a
    placeholder outside the safe context; active at once when ``activate``. Audited."""
    refusals = _text_refusals(system_text=system_text, user_text=user_text)
    if refusals:
        raise ValidationFailed(detail=refusals)
    if not 0 <= temperature <= 2:
        raise ValidationFailed(detail={"temperature": ["Between 0 and 2."]})
    try:
        with transaction.atomic():
            latest = (
                PromptTemplate.objects.select_for_update()
                .filter(key=key, locale=locale)
                .aggregate(latest=Max("version"))["latest"]
            )
            prompt = PromptTemplate.objects.create(
                key=key,
                locale=locale,
                version=(latest or 0) + 1,
                system_text=system_text,
                user_text=user_text,
                model=model,
                temperature=temperature,
                max_tokens=max_tokens,
                notes=notes,
                created_by=actor if isinstance(actor, User) else None,
            )
            audit_record(
                actor=actor,
                action="prompt.create",
                target=prompt,
                changes={"key": key, "locale": locale, "version": prompt.version},
            )
            if activate:
                prompt_activate(prompt=prompt, actor=actor)
    except IntegrityError as exc:  # another version of the same key written at the same time
        raise Conflict("Another version of this prompt was just written; try again.") from exc
    return prompt


def prompt_activate(*, prompt: PromptTemplate, actor: Any) -> PromptTemplate:
    """Make ``prompt`` the active version of its key and locale (rollback: activate an older
    one). Deactivates first: the database allows one active version per key and locale."""
    with transaction.atomic():
        previous = (
            PromptTemplate.objects.select_for_update()
            .filter(key=prompt.key, locale=prompt.locale, is_active=True)
            .first()
        )
        if previous is not None and previous.pk == prompt.pk:
            return prompt
        now = timezone.now()
        PromptTemplate.objects.filter(key=prompt.key, locale=prompt.locale, is_active=True).update(
            is_active=False, updated_at=now
        )
        PromptTemplate.objects.filter(pk=prompt.pk).update(is_active=True, updated_at=now)
        prompt.is_active = True
        prompt.updated_at = now
        audit_record(
            actor=actor,
            action="prompt.activate",
            target=prompt,
            changes={
                "key": prompt.key,
                "locale": prompt.locale,
                "version": prompt.version,
                "previous": previous.version if previous else None,
            },
        )
    return prompt


def _text_refusals(*, system_text: str, user_text: str) -> dict[str, list[str]]:
    refusals: dict[str, list[str]] = {}
    for field, text in (("system_text", system_text), ("user_text", user_text)):
        try:
            template_check(text, CONTEXT_KEYS)
        except TemplateRefused as exc:
            refusals[field] = [f"{exc} Placeholders: {', '.join(CONTEXT_KEYS)}."]
    return refusals
