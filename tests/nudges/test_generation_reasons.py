"""Every reason a nudge came from the template has words: the pages never show a bare code."""

from nudges.generation import FALLBACK_REASONS, GUARDRAIL, fallback_reason_text
from nudges.guardrails import RULES
from nudges.models import LLMOutcome


def test_every_guardrail_rule_and_llm_failure_is_said_in_words() -> None:
    codes = {GUARDRAIL + rule for rule in RULES} | {
        outcome for outcome in LLMOutcome.values if outcome != LLMOutcome.OK
    }
    assert codes <= set(FALLBACK_REASONS)
    for code in codes:
        assert fallback_reason_text(code) != code


def test_an_unknown_reason_is_shown_as_it_is() -> None:
    assert fallback_reason_text("something_new") == "something_new"
