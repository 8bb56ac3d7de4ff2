"""The few server-rendered pages of the project shell: sign-in and where ``/`` leads."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from engagement.api.throttling import attempt_wait, login_attempt_wait
from engagement.outbox import EMAIL_CHANNEL, outbox_enqueue


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


#: At most one reset mail per account in each window of this many seconds, however often asked.
PASSWORD_RESET_MAIL_WINDOW = 15 * 60


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, mailing through the outbox like every other mail, with links to
    ``SITE_URL`` (never to the request's ``Host``, which the requester chooses)."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        site = urlsplit(settings.SITE_URL)
        context = {
            **context,
            "protocol": site.scheme,
            "domain": site.netloc,
            "site_name": site.netloc,
        }
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        # One message per account and window: a repeated request in the window sends nothing more.
        window = int(timezone.now().timestamp()) // PASSWORD_RESET_MAIL_WINDOW
        outbox_enqueue(
            channel=EMAIL_CHANNEL,
            payload={
                "to": to_email,
                "subject": subject,
                "body": loader.render_to_string(email_template_name, context),
            },
            idempotency_key=f"password-reset:{context['uid']}:{window}",
        )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page under a per-IP ``password-reset`` throttle (429 with ``Retry-After``);
    the per-account cap is the form's. The answer is the same whether the address exists or not."""

    form_class = PasswordResetForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = attempt_wait(request, "password-reset")
        if wait is None:
            return super().post(request, *args, **kwargs)
        unchecked = self.get_form_class()(initial={"email": request.POST.get("email")})
        context = self.get_context_data(form=unchecked, throttled=True, retry_after=wait)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


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
    """Signed-in staff go to the dashboard; everyone else to the sign-in page, then there."""
    dashboard = reverse("dashboard")
    if request.user.is_authenticated:
        return HttpResponseRedirect(dashboard)
    return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': dashboard})}")
