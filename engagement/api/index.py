"""The index served at ``/api/v1/``: every route of the API that needs no path parameter and
answers ``GET``."""

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.request import Request

API_NAMESPACE_ROUTE = "api/v1/"


def _named_patterns(patterns: list) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names.extend(_named_patterns(pattern.url_patterns))
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(pattern.name)
    return names


def _answers_get(path: str) -> bool:
    """Whether the view at ``path`` has a ``GET`` handler (viewset actions or an APIView method)."""
    view = resolve(path).func
    actions = getattr(view, "actions", None)
    if actions is not None:
        return "get" in actions
    return hasattr(getattr(view, "view_class", None), "get")


def api_index(request: Request, *, exclude: str) -> dict[str, str]:
    """Absolute URLs by route name (``-list`` dropped), found from the URL configuration.

    Apps add their routes under ``/api/v1/`` on their own, so the index is discovered rather
    than written down: it cannot drift from the routes. Only routes a client can follow with
    ``GET`` are listed, as with DRF's API root: write-only routes (token, ingestion, training,
    rescoring) are documented in the schema, ``/api/schema/``.
    """
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
        if not _answers_get(path):
            continue
        index[name.removesuffix("-list")] = request.build_absolute_uri(path)
    return dict(sorted(index.items()))
