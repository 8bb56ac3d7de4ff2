"""Routes of nudges themselves (owned by the lifecycle area)."""

urlpatterns: list = []
