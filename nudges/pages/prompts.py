"""``/dashboard/prompts/``: every prompt version by key and locale, which one is active, how many
nudges each wrote; admins activate a version (or roll back to an older one) with one button.

Activation goes through :func:`nudges.prompts.prompt_activate` (audited, as from the API and
the admin). Prompts name no learner: every role reads the page.
"""

import uuid
from itertools import groupby

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from engagement.dashboard import page_user, staff_page
from engagement.roles import ADMIN, role_of
from nudges import prompts, selectors


@staff_page()
def prompt_list(request: HttpRequest) -> HttpResponse:
    """The versions of each key and locale, newest first, the active one marked."""
    versions = list(selectors.prompt_versions())
    groups = [
        {"key": key, "locale": locale, "versions": list(rows)}
        for (key, locale), rows in groupby(versions, key=lambda prompt: (prompt.key, prompt.locale))
    ]
    context = {"groups": groups, "may_activate": role_of(request.user) in ADMIN}
    return render(request, "nudges/prompts.html", context)


@staff_page(ADMIN, methods=("POST",))
def prompt_activate_page(request: HttpRequest, prompt_id: uuid.UUID) -> HttpResponseRedirect:
    """Make this version the active one of its key and locale (audited), then back to the list."""

    prompt = prompts.prompt_get(prompt_id)
    prompts.prompt_activate(prompt=prompt, actor=page_user(request))
    messages.success(request, _("%(prompt)s is active.") % {"prompt": prompt})
    return redirect("dashboard-prompts")
