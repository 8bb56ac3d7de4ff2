"""Top-level routes: home, sign-in pages, admin, the platform's dashboard pages (account, jobs),
health probes, Prometheus metrics, the versioned API and its docs, plus the pages each app
registered (:mod:`engagement.registry`)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from engagement import health, metrics_http, pages, views
from engagement.registry import registry

urlpatterns = [
    path("", pages.home, name="home"),
    path("admin/login/", pages.admin_login),
    path("admin/", admin.site.urls),
    path("accounts/login/", pages.LoginView.as_view(), name="login"),
    path("accounts/logout/", pages.LogoutView.as_view(), name="sign-out"),
    path("accounts/password_reset/", pages.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_http.metrics_view, name="metrics"),
    path("dashboard/account/", views.account, name="dashboard-account"),
    path("dashboard/jobs/", views.job_list, name="dashboard-jobs"),
    path("dashboard/jobs/<uuid:job_id>/", views.job_detail, name="dashboard-job"),
    path("dashboard/jobs/<uuid:job_id>/cancel/", views.job_cancel, name="dashboard-job-cancel"),
    path("api/v1/", include("engagement.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    *[path(route, include(module)) for module, route in registry.site_urls().items()],
]

handler400 = "engagement.error_views.bad_request"
handler403 = "engagement.error_views.permission_denied"
handler404 = "engagement.error_views.page_not_found"
handler500 = "engagement.error_views.server_error"
