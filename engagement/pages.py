"""The few server-rendered pages of the project shell: sign-in and where ``/`` leads."""

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from engagement.api.throttling import login_attempt_wait


class LoginView(auth_views.LoginView):
    """Django's sign-in page, with the token endpoints' per-IP ``login`` throttle.

    Lockout after repeated failures comes from the authentication backend, as for every
    password login.
    """

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = login_attempt_wait(request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        unchecked = self.get_form_class()(
            request, initial={"username": request.POST.get("username")}
        )
        context = self.get_context_data(form=unchecked, throttled=True, retry_after=wait)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


class LogoutView(auth_views.LogoutView):
    """Signing out is a POST (Django refuses GET, which a link or a prefetch could trigger): a
    GET, from a typed or bookmarked address, shows the page with the button instead of 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "registration/logout_confirm.html")


def admin_login(request: HttpRequest) -> HttpResponse:
    """Django admin's sign-in, under the same per-IP ``login`` throttle."""
    wait = login_attempt_wait(request) if request.method == "POST" else None
    if wait is None:
        return admin.site.login(request)
    response = HttpResponse(
        f"Too many sign-in attempts from your address; try again in {wait} seconds.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(wait)
    return response


def home(request: HttpRequest) -> HttpResponseRedirect:
    """Signed-in staff go to the API index; everyone else to the sign-in page, then there."""
    api_root = reverse("api-root")
    if request.user.is_authenticated:
        return HttpResponseRedirect(api_root)
    return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': api_root})}")
