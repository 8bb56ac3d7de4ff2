"""The index served at ``/api/v1/``: every route of the API that needs no path parameter and
that the caller may read with ``GET``."""

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.request import Request

from engagement.roles import role_of

API_NAMESPACE_ROUTE = "api/v1/"


def _named_patterns(patterns: list) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names.extend(_named_patterns(pattern.url_patterns))
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(pattern.name)
    return names


def _readable(path: str, role: str) -> bool:
    """Whether the view at ``path`` answers ``GET`` and its access rule lets ``role`` read it."""
    view = resolve(path).func
    view_class = getattr(view, "cls", None)
    actions = getattr(view, "actions", None)
    action = actions.get("get") if actions is not None else None
    answers_get = action is not None if actions is not None else hasattr(view_class, "get")
    access = getattr(view_class, "access", None)
    return (
        answers_get
        and getattr(view_class, "listed_in_index", True)
        and access is not None
        and access.allows_role(role=role, safe=True, action=action)
    )


def api_index(request: Request, *, exclude: str) -> dict[str, str]:
    """Absolute URLs by route name (``-list`` dropped), found from the URL configuration.

    Apps add their routes under ``/api/v1/`` on their own, so the index is discovered rather
    than written down: it cannot drift from the routes. Only routes the caller can follow with
    ``GET`` are listed, as with DRF's API root: write-only routes (token, ingestion, training,
    rescoring) are documented in the schema, ``/api/schema/``, and routes the caller's role may
    not read are left out, as are routes that answer only with query parameters (a view sets
    ``listed_in_index = False``).
    """
    role = role_of(request.user)
    api = next(
        pattern
        for pattern in get_resolver().url_patterns
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == API_NAMESPACE_ROUTE
    )
    index: dict[str, str] = {}
    for name in _named_patterns(api.url_patterns):
        if name == exclude:
            continue
        try:
            path = reverse(name)
        except NoReverseMatch:  # a detail route: it needs an id
            continue
        if role is None or not _readable(path, role):
            continue
        index[name.removesuffix("-list")] = request.build_absolute_uri(path)
    return dict(sorted(index.items()))
