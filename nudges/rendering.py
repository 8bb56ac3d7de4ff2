"""Filling a prompt or a message template from a learner's context, in a sandbox.

Templates are written by staff (prompt versions), so rendering must not become a way to reach
Python objects: ``{first_name.__class__}`` or ``{context[0]}`` would with ``str.format``. Here a
placeholder is a bare name looked up in a dict of strings, nothing else; a template naming an
unknown placeholder, or using attribute or index access, is refused when it is written.
"""

import string
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf.locale import LANG_INFO

#: Languages the deterministic templates and the advice are written in
#: (``nudges.fallback_templates``); a learner whose language is not among them gets the first.
LANGUAGES = ("en", "fr", "es", "de", "pl")


class TemplateRefused(ValueError):
    """A template this sandbox will not render; the message says why, for the person writing it."""


class _SandboxFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if not field_name.isidentifier():
            raise TemplateRefused(f"{{{field_name}}}: only plain names may be placed.")
        return self.get_value(field_name, args, kwargs), field_name

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        if not isinstance(key, str) or key not in kwargs:
            raise TemplateRefused(f"{{{key}}} is not a known placeholder.")
        return kwargs[key]

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            raise TemplateRefused("Placeholders take no format specification.")
        return str(value)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion:
            raise TemplateRefused("Placeholders take no conversion (!r, !s, !a).")
        return value


_FORMATTER = _SandboxFormatter()


def safe_format(template: str, context: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``context[name]`` (``{{`` for a brace)."""
    try:
        return _FORMATTER.vformat(template, (), dict(context))
    except (ValueError, IndexError) as exc:  # unbalanced braces, or refused above
        raise TemplateRefused(str(exc)) from exc


def template_check(template: str, allowed: Iterable[str]) -> None:
    """Refuse (``TemplateRefused``) a template that could not be rendered from a context with
    exactly the ``allowed`` names, whatever their values: a format specification or conversion
    is refused as written, so one nested in it (``{first_name:{first_name}}``) cannot pass the
    check empty and fail later on a learner's name."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:  # unbalanced braces
        raise TemplateRefused(str(exc)) from exc
    for _literal, name, format_spec, conversion in fields:
        if name is not None and format_spec:
            raise TemplateRefused("Placeholders take no format specification.")
        if name is not None and conversion:
            raise TemplateRefused("Placeholders take no conversion (!r, !s, !a).")
    safe_format(template, dict.fromkeys(allowed, ""))


def language_of(locale: str) -> str:
    """The shipped template language for a learner's locale (``fr-CA`` → ``fr``; one without
    templates, such as ``ja``, → ``en``)."""
    language = locale.replace("_", "-").split("-")[0].lower()
    return language if language in LANGUAGES else LANGUAGES[0]


def language_name(locale: str) -> str:
    """The English name of a learner's language, for any locale Django knows, so that a prompt
    asks the LLM to write in it even where no template or prompt is shipped in it: ``es`` →
    Spanish, ``pt-BR`` → Brazilian Portuguese, ``zh-Hant-TW`` → Traditional Chinese. A locale
    Django does not know (or none) → the name of the template language it gets (English)."""
    parts = locale.replace("_", "-").lower().split("-")
    for length in range(len(parts), 0, -1):
        info = LANG_INFO.get("-".join(parts[:length]))
        if info is not None:
            return str(
                LANG_INFO[info["fallback"][0]]["name"] if "name" not in info else info["name"]
            )
    return str(LANG_INFO[language_of(locale)]["name"])
