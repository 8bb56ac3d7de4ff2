"""Routes of the pages a nudge email links to (``/nudges/...``, no sign-in)."""

from django.urls import path

from nudges import public_views

urlpatterns = [
    path("unsubscribe/<str:token>/", public_views.unsubscribe_page, name="nudge-unsubscribe"),
    path("open/<str:token>/", public_views.open_pixel, name="nudge-open"),
    path("click/<str:token>/", public_views.click, name="nudge-click"),
]
