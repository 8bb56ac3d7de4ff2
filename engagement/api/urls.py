"""The ``/api/v1/`` namespace: authentication, accounts, keys, audit, jobs, outbox, plus the
routes each app registered (:mod:`engagement.registry`)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from engagement.api import views
from engagement.registry import registry

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register("jobs", views.JobViewSet, basename="job")
router.register("outbox", views.OutboxMessageViewSet, basename="outbox-message")

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/verify/", views.TokenVerifyView.as_view(), name="token-verify"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    *router.urls,
    *[path("", include(module)) for module in registry.api_url_modules()],
]
