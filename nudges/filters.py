"""The filters of the nudge list (``GET /api/v1/nudges/``)."""

import django_filters

from nudges.models import Nudge, NudgeSource, NudgeStatus


class NudgeFilter(django_filters.FilterSet):
    learner = django_filters.UUIDFilter(field_name="learner_id", help_text="A learner's id.")
    campaign = django_filters.UUIDFilter(field_name="campaign_id", help_text="A campaign's id.")
    status = django_filters.MultipleChoiceFilter(
        choices=NudgeStatus.choices, help_text="One or more statuses."
    )
    source = django_filters.MultipleChoiceFilter(
        choices=NudgeSource.choices, help_text="One or more sources."
    )

    class Meta:
        model = Nudge
        fields: list[str] = []
