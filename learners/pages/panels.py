"""Sections other apps add to the learner page (the nudges app: the learner's nudges).

An app registers a :class:`LearnerPanel` from its ``AppConfig.ready()`` through
``learners.contracts.learner_panel_add``; the page renders each panel the viewer's role may see,
after its own sections and before the activity timeline (which runs long), with the template and the context the panel's function returns for the
viewer and the learner. The function gets the learner's id only (scope was checked by the page)
and must keep its own query count constant; it must return no personal data to a viewer who
may not see it (``engagement.roles.sees_personal_data``).
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from engagement.roles import STAFF

PanelContext = Callable[[HttpRequest, uuid.UUID], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class LearnerPanel:
    """One section of the learner page: ``template`` rendered with ``panel`` set to what
    ``context`` returns, for the listed ``roles``, in ``order``."""

    key: str
    template: str
    context: PanelContext
    roles: frozenset[str] = STAFF
    order: int = 100


_panels: dict[str, LearnerPanel] = {}


def learner_panel_add(panel: LearnerPanel) -> None:
    """Add a section to the learner page (once per key: a second registration is a mistake)."""
    if panel.key in _panels:
        raise ImproperlyConfigured(f"Learner page panel {panel.key!r} is registered twice.")
    _panels[panel.key] = panel


def learner_panels(role: str | None) -> list[LearnerPanel]:
    """The panels ``role`` may see, in their order."""
    return sorted(
        (panel for panel in _panels.values() if role in panel.roles), key=lambda p: p.order
    )
