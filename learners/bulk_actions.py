"""What a member of staff can do with learners selected in the caseload table.

A small registry: each :class:`BulkAction` names the roles that may use it and a handler. The
caseload page offers the actions of the viewer's role as buttons, checks every selected id is in
the viewer's scope (refusing the whole request otherwise) and only then calls the handler with
the ids. Apps add theirs from ``AppConfig.ready()`` through ``learners.contracts`` (the nudges
app's "Start a campaign" will be one), so the page never needs to know them.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django_stubs_ext import StrOrPromise

#: A handler gets the request (its user is the actor) and the selected ids, all in scope. It
#: answers a message to show on the list it returns to, or a response of its own (a download,
#: a redirect to another app's page).
BulkHandler = Callable[[HttpRequest, Sequence[uuid.UUID]], HttpResponseBase | str]


@dataclass(frozen=True, slots=True)
class BulkAction:
    name: str
    label: StrOrPromise
    roles: frozenset[str]
    handler: BulkHandler
    order: int = 100


_actions: dict[str, BulkAction] = {}


def bulk_action_register(action: BulkAction) -> None:
    """Offer ``action`` in the caseload table; a name is registered once."""
    if action.name in _actions and _actions[action.name] != action:
        raise ValueError(f"A bulk action named {action.name!r} is already registered.")
    _actions[action.name] = action


def bulk_actions_for(role: str | None) -> list[BulkAction]:
    """The actions ``role`` may use, in their display order."""
    return sorted(
        (action for action in _actions.values() if role in action.roles),
        key=lambda action: (action.order, action.name),
    )
