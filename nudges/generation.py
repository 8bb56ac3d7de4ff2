"""Writing a nudge (interface; the generation area replaces this file)."""

import uuid
from typing import Any

from nudges.models import Campaign, Category, Experiment, ExperimentVariant, Nudge, PromptTemplate


def nudge_generate(
    *,
    learner_id: uuid.UUID,
    channel: str,
    actor: Any,
    prompt_key: str | None = None,
    prompt: PromptTemplate | None = None,
    use_template: bool = False,
    category: str = Category.REENGAGEMENT,
    campaign: Campaign | None = None,
    occurrence: str = "",
    experiment: Experiment | None = None,
    variant: ExperimentVariant | None = None,
) -> Nudge:
    """A stored draft nudge for the learner: LLM-written, or the template with its
    ``fallback_reason``. Never raises for an LLM fault."""
    raise NotImplementedError
