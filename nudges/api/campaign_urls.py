"""Routes of campaigns (``/api/v1/campaigns/``)."""

from rest_framework.routers import SimpleRouter

from nudges.api.campaign_views import CampaignViewSet

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = router.urls
