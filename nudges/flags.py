"""Feature flags of the nudges app (interface; the experiments area replaces this file)."""

import uuid

LLM_GENERATION = "nudges_llm_generation"
AUTO_APPROVAL = "nudges_auto_approval"
AUTOMATIONS = "nudges_automations"


def flag_enabled(name: str, cohort_id: uuid.UUID | None = None) -> bool:
    raise NotImplementedError
