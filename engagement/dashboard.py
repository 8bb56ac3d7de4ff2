"""The frame every dashboard page shares: who may open a page, and the navigation around it.

Apps add their pages under ``/dashboard/`` (``registry.add_site_urls``) and their links to the
navigation (``registry.add_dashboard_nav``); a page view is wrapped in :func:`staff_page`, which
sends anonymous visitors to the sign-in page and answers 403 to a signed-in user whose role may
not open it. Objects outside a coach's cohorts stay 404, as on the API: the selectors decide that.
A service's :class:`~engagement.errors.ApplicationError` becomes the matching error page (400
with its message, 404, 409), so page views call services and selectors as the API does.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy

from engagement.errors import ApplicationError, NotFound, ValidationFailed
from engagement.models import User
from engagement.registry import registry
from engagement.roles import STAFF, role_of

RowT = TypeVar("RowT")
ModelT = TypeVar("ModelT", bound=Model)
PAGE_PARAM = "page"

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
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except ApplicationError as exc:
                return application_error_page(request, exc)

        return guarded

    return decorate


def page_user(request: HttpRequest) -> User:
    """The signed-in staff user of a page view that :func:`staff_page` let through."""
    if not isinstance(request.user, User):
        raise PermissionDenied("Sign in as a member of staff.")
    return request.user


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


def _problems(detail: Any) -> list[str]:
    """A service error's ``{"field": ["why"]}`` detail as sentences to list on the page."""
    if isinstance(detail, dict):
        return [
            f"{field}: {why}" if field not in {"detail", "non_field_errors"} else str(why)
            for field, reasons in detail.items()
            for why in (reasons if isinstance(reasons, list | tuple) else [reasons])
        ]
    return [str(reason) for reason in detail] if isinstance(detail, list | tuple) else [str(detail)]


ERROR_HEADINGS = {
    400: gettext_lazy("This request could not be handled"),
    403: gettext_lazy("You cannot open this page"),
    404: gettext_lazy("Page not found"),
    409: gettext_lazy("This could not be done"),
}


def error_page(
    request: HttpRequest, status: int, message: str, problems: Sequence[str] = ()
) -> HttpResponse:
    """An error as a dashboard page (navigation and all), so the viewer can find their way on."""
    return render(
        request,
        "dashboard/error.html",
        {
            "heading": ERROR_HEADINGS.get(status, ERROR_HEADINGS[400]),
            "message": message,
            "problems": [problem for problem in problems if problem != message],
        },
        status=status,
    )


def application_error_page(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """A service's refusal (bad filter, conflicting state) with what was wrong."""
    return error_page(request, exc.status_code, exc.message, _problems(exc.detail))


def page_number(request: HttpRequest, param: str = PAGE_PARAM) -> int:
    """The requested page number (1 when absent); anything but a positive whole number is a 400."""
    raw = request.GET.get(param, "1")
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ValidationFailed(
            detail={param: [gettext("Give a page number of 1 or more.")]},
        )
    return int(raw)


def paginate(
    request: HttpRequest, rows: QuerySet[Any] | Sequence[Any], per_page: int = 25
) -> Page[Any]:
    """One page of ``rows`` with its total (``Page x of y``); a page past the last is a 404.

    The count is one query; for lists too large to count, use :func:`paginate_without_count`.
    """
    paginator: Paginator[Any] = Paginator(rows, per_page)
    try:
        return paginator.page(page_number(request))
    except EmptyPage as exc:
        raise Http404(gettext("There is no such page.")) from exc


@dataclass(frozen=True)
class CountlessPage(Sequence[RowT]):
    """A page of a list whose total is not counted: it knows only whether another page follows.

    It offers the part of Django's ``Page`` the ``pagination`` tag uses; ``paginator`` is
    ``None``, which tells the tag to show "Page x" without "of y".
    """

    object_list: list[RowT]
    number: int
    following: bool
    paginator: None = None

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index: Any) -> Any:
        return self.object_list[index]

    def has_next(self) -> bool:
        return self.following

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def paginate_without_count(
    request: HttpRequest, rows: QuerySet[ModelT], per_page: int = 25
) -> CountlessPage[ModelT]:
    """One page of ``rows`` read with one query of ``per_page + 1`` rows and no ``COUNT``;
    an empty page past the first is a 404."""
    number = page_number(request)
    start = (number - 1) * per_page
    fetched = list(rows[start : start + per_page + 1])
    if not fetched and number > 1:
        raise Http404(gettext("There is no such page."))
    return CountlessPage(fetched[:per_page], number, len(fetched) > per_page)
