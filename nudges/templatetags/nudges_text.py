"""Template helpers for the nudges pages: ``{% load nudges_text %}``.

- ``{{ nudge.fallback_reason|fallback_reason }}``: why the template wrote a nudge, in words, in a
  ``<span>`` whose ``title`` keeps the code (``guardrail:link``) for staff who need it.
- ``{{ rule|guardrail_rule }}``: a guardrail rule a text failed, said the same way.
- ``{{ nudge.suppressed_rule|policy_rule }}``: the contact-policy rule that held a nudge back.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from nudges.generation import GUARDRAIL, fallback_reason_text
from nudges.policy import rule_text

register = template.Library()


@register.filter
def fallback_reason(reason: str) -> SafeString | str:
    """``<span title="flag_off" data-reason="flag_off">LLM writing is switched off …</span>``;
    empty for a nudge the template did not replace."""
    if not reason:
        return ""
    return format_html(
        '<span title="{}" data-reason="{}">{}</span>', reason, reason, fallback_reason_text(reason)
    )


@register.filter
def guardrail_rule(rule: str) -> SafeString:
    """A guardrail rule (``link``) as what the text did wrong, the rule's name in the title."""
    return format_html('<span title="{}">{}</span>', rule, fallback_reason_text(GUARDRAIL + rule))


@register.filter
def policy_rule(rule: str) -> SafeString:
    """A contact-policy rule (``min_gap``) in words, its code in the title."""
    return format_html('<span title="{}" data-rule="{}">{}</span>', rule, rule, rule_text(rule))
