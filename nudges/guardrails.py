"""Checks on generated text before it can be sent (issue 13, §3).

Each rule has a name; :func:`guardrail_failures` returns the names of those a message breaks, in
the order below, so a rejected nudge says why (``fallback_reason = "guardrail:<first rule>"``):

- ``length``: subject and body present and within ``NUDGE_MAX_SUBJECT_CHARS`` /
  ``NUDGE_MAX_BODY_CHARS``;
- ``email`` and ``phone``: no contact details at all;
- ``other_name``: no name but the learner's first name: a greeting or an honorific naming
  someone else, the first name followed by a surname, or a two-word name mid-sentence that the
  learner's context does not contain (not in German, which capitalises every noun);
- ``link``: links only to ``NUDGE_ALLOWED_LINK_DOMAINS`` (and their subdomains);
- ``number``: every number appears in the learner's context (days inactive, progress, the
  factors' explanations, course code): anything else may contradict their data;
- ``tone``: no shaming or threatening words (English and French lists below, Spanish, German
  and Polish in ``nudges.guardrail_words``).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from nudges.guardrail_words import GREETINGS, HONORIFICS, NOUNS_CAPITALISED, SHAMING
from nudges.rendering import language_of

RULES = ("length", "email", "phone", "other_name", "link", "number", "tone")


def _in_every_language(words: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(word for language in sorted(words) for word in words[language])


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w.,])\+?\d[\d ().-]{5,}\d(?![\w])")
_PHONE_DIGITS = 7
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')]+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"\b((?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|co|info|biz|me|ly|fr|uk|de|eu|be|ch|ca|es|pl|at|app|"
    r"dev|ai))\b(?:/\S*)?",
    re.IGNORECASE,
)
_HOST = re.compile(r"^(?:https?://)?([^/:?#]+)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = r"[^\W\d_][\w'\u2019-]*"
_CAPITALISED = r"[^\W\d_a-zà-ÿ][\w'\u2019-]*"
_HONORIFICS = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Mme", "Mlle", "Madame", "Monsieur")
_HONORIFIC = re.compile(
    rf"\b(?:{'|'.join(_HONORIFICS + _in_every_language(HONORIFICS))})\.?\s+{_CAPITALISED}",
    re.UNICODE,
)
_GREETINGS = ("Hi", "Hello", "Hey", "Dear", "Bonjour", "Salut", "Cher", "Chère", "Coucou")
_GREETING = re.compile(
    rf"(?:^|\n)\s*(?:{'|'.join(_GREETINGS + _in_every_language(GREETINGS))}) +({_CAPITALISED})",
    re.UNICODE,
)
_TWO_NAMES = re.compile(rf"(?<=[\w,;:] )({_CAPITALISED}) +({_CAPITALISED})", re.UNICODE)
_SHAMING = re.compile(
    r"\b(?:lazy|laziness|shame\w*|ashamed|disgrace\w*|pathetic|useless|stupid|hopeless|"
    r"disappoint\w*|loser|failure|or else|last warning|final warning|expel\w*|kicked out|"
    r"you will fail|penalt\w*|consequences|paresseu\w*|honte\w*|honteu\w*|lamentable|"
    r"pathétique|nul|nulle|incapable|décevant\w*|déçu\w*|dernier avertissement|"
    rf"renvoy\w*|exclu\w*|sinon vous|{'|'.join(_in_every_language(SHAMING))})\b",
    re.IGNORECASE | re.UNICODE,
)


@dataclass(frozen=True, slots=True)
class GuardrailContext:
    """What a message may contain, from the learner's context (``nudges.prompts``)."""

    first_name: str
    numbers: frozenset[Decimal]
    words: frozenset[str]
    language: str = ""


def guardrail_context(context: Mapping[str, str]) -> GuardrailContext:
    """The numbers and words of every value of a learner's context."""
    text = "\n".join(context.values())
    return GuardrailContext(
        first_name=context.get("first_name", ""),
        numbers=frozenset(_numbers(text)),
        words=frozenset(word.lower() for word in re.findall(_WORD, text, re.UNICODE)),
        language=language_of(context.get("locale", "")),
    )


def guardrail_failures(*, subject: str, body: str, context: GuardrailContext) -> list[str]:
    """The rules (see :data:`RULES`) that the message breaks; empty when it may be sent."""
    text = f"{subject}\n{body}"
    without_emails = _EMAIL.sub(" ", text)
    links = [*_URL.findall(without_emails), *_BARE_DOMAIN.findall(_URL.sub(" ", without_emails))]
    plain = _BARE_DOMAIN.sub(" ", _URL.sub(" ", without_emails))
    phones = [match for match in _PHONE.findall(plain) if _digits(match) >= _PHONE_DIGITS]
    for phone in phones:
        plain = plain.replace(phone, " ")
    broken = {
        "length": _too_long(subject, body),
        "email": bool(_EMAIL.search(text)),
        "phone": bool(phones),
        "other_name": _names_someone_else(text, context),
        "link": any(not _allowed_link(link) for link in links),
        "number": any(number not in context.numbers for number in _numbers(plain)),
        "tone": bool(_SHAMING.search(text)),
    }
    return [rule for rule in RULES if broken[rule]]


def _too_long(subject: str, body: str) -> bool:
    return (
        not subject.strip()
        or not body.strip()
        or len(subject) > settings.NUDGE_MAX_SUBJECT_CHARS
        or len(body) > settings.NUDGE_MAX_BODY_CHARS
    )


def _digits(text: str) -> int:
    return sum(character.isdigit() for character in text)


def _numbers(text: str) -> Iterable[Decimal]:
    """Every number of ``text`` (a decimal comma read as a point), ``12.0`` the same as ``12``."""
    return (Decimal(match.replace(",", ".")).normalize() for match in _NUMBER.findall(text))


def _allowed_link(link: str) -> bool:
    match = _HOST.match(link)
    host = (match.group(1) if match else link).lower().removeprefix("www.")
    return any(
        host == domain or host.endswith(f".{domain}")
        for domain in (domain.lower() for domain in settings.NUDGE_ALLOWED_LINK_DOMAINS)
    )


def _names_someone_else(text: str, context: GuardrailContext) -> bool:
    first_name = context.first_name.lower()

    def unknown(word: str) -> bool:
        return word.lower() not in context.words

    if _HONORIFIC.search(text):
        return True
    if any(name.lower() != first_name for name in _GREETING.findall(text)):
        return True
    if first_name:
        surname = re.compile(rf"\b{re.escape(context.first_name)} +({_CAPITALISED})", re.UNICODE)
        if any(unknown(word) for word in surname.findall(text)):
            return True
    if context.language in NOUNS_CAPITALISED:
        return False  # two capitalised words side by side are ordinary there ("Sie Ihre Lektion")
    return any(unknown(first) and unknown(second) for first, second in _TWO_NAMES.findall(text))


#: The rules staff-written text (a manual nudge) must pass: those that protect the learner
#: whoever writes. ``other_name`` and ``number`` judge text against the learner's context to
#: catch what a model makes up; staff name a tutor or a deadline from what they know.
STAFF_RULES = ("length", "email", "phone", "link", "tone")
_NO_CONTEXT = GuardrailContext(first_name="", numbers=frozenset(), words=frozenset())


def staff_text_failures(*, subject: str, body: str) -> dict[str, list[str]]:
    """The :data:`STAFF_RULES` each field breaks (``{"subject": [...], "body": [...]}``, fields
    breaking none left out). ``length`` here is the same limit as for generated text; whether a
    field may be empty is the caller's to say (an in-app message has no subject)."""
    failures: dict[str, list[str]] = {}
    fields = (
        ("subject", subject, settings.NUDGE_MAX_SUBJECT_CHARS),
        ("body", body, settings.NUDGE_MAX_BODY_CHARS),
    )
    for field, text, limit in fields:
        # Checked as a body alone: the empty subject's "length" is not this field's failure.
        checked = guardrail_failures(subject="", body=text, context=_NO_CONTEXT)
        broken = [rule for rule in STAFF_RULES if rule != "length" and rule in checked]
        if len(text) > limit:
            broken.insert(0, "length")
        if broken:
            failures[field] = broken
    return failures
