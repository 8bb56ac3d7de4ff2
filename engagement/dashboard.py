"""The frame every dashboard page shares: who may open a page, and the navigation around it.

Apps add their pages under ``/dashboard/`` (``registry.add_site_urls``) and their links to the
navigation (``registry.add_dashboard_nav``); a page view is wrapped in :func:`staff_page`, which
sends anonymous visitors to the sign-in page and answers 403 to a signed-in user whose role may
not open it. Objects outside a coach's cohorts stay 404, as on the API: the selectors decide that.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from engagement.registry import registry
from engagement.roles import STAFF, role_of

PageView = Callable[..., HttpResponseBase]  # a page, or a download streamed from one


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One link of the dashboard navigation, shown to the listed roles, in ``order``."""

    key: str
    label: str
    url_name: str
    roles: frozenset[str] = STAFF
    order: int = 100


def staff_page(roles: Collection[str] = STAFF) -> Callable[[PageView], PageView]:
    """Decorate a page view: sign-in required, then one of ``roles`` (403 page otherwise)."""

    def decorate(view: PageView) -> PageView:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            if role_of(request.user) not in roles:
                raise PermissionDenied("Your role does not open this page.")
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: the navigation links the signed-in user's role may follow.

    ``active`` marks the entry whose URL is the longest prefix of the current path.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"dashboard_nav": []}
    role = role_of(user)
    links = [
        {"key": entry.key, "label": entry.label, "url": reverse(entry.url_name)}
        for entry in registry.dashboard_nav()
        if role in entry.roles
    ]
    matching = [link for link in links if request.path.startswith(link["url"])]
    active = max(matching, key=lambda link: len(link["url"]))["key"] if matching else None
    return {
        "dashboard_nav": [{**link, "active": link["key"] == active} for link in links],
    }
