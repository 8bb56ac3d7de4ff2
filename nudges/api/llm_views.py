"""``GET /api/v1/llm/usage/``: what LLM generation used and cost (admins and analysts)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engagement.api.fields import BoundedDateField
from engagement.api.permissions import Access
from engagement.api.responses import ERRORS
from engagement.models import Role
from nudges.llm.selectors import llm_usage
from nudges.models import LLMOutcome

ADMIN_ANALYST = frozenset({Role.ADMIN.value, Role.ANALYST.value})


class UsageQuerySerializer(serializers.Serializer):
    since = BoundedDateField(required=False, help_text="First UTC day counted (default: all).")
    until = BoundedDateField(required=False, help_text="Last UTC day counted (default: today).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until < since:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return attrs


class UsageFiguresSerializer(serializers.Serializer):
    calls = serializers.IntegerField(help_text="Generation requests (retries included in one).")
    cache_hits = serializers.IntegerField(help_text="Requests the response cache answered.")
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    cost = serializers.DecimalField(
        max_digits=18, decimal_places=6, help_text="US dollars, from LLM_PRICES."
    )


class OutcomeUsageSerializer(UsageFiguresSerializer):
    outcome = serializers.ChoiceField(choices=LLMOutcome.choices)


class ModelUsageSerializer(UsageFiguresSerializer):
    model = serializers.CharField()


class PromptUsageSerializer(UsageFiguresSerializer):
    prompt = serializers.UUIDField(allow_null=True, help_text="Null: no stored prompt.")
    key = serializers.CharField(allow_null=True)
    locale = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)


class UsageSerializer(UsageFiguresSerializer):
    since = serializers.DateField(allow_null=True)
    until = serializers.DateField(allow_null=True)
    by_outcome = OutcomeUsageSerializer(many=True)
    by_model = ModelUsageSerializer(many=True)
    by_prompt_version = PromptUsageSerializer(many=True)


class UsageView(APIView):
    access = Access(read=ADMIN_ANALYST)

    @extend_schema(
        summary="LLM usage and cost",
        parameters=[UsageQuerySerializer],
        responses={200: UsageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Calls, cache hits, tokens and cost (Decimal, as a string) of LLM generation between
        two UTC days (both included): in total and by outcome, model and prompt version.
        Figures only, no message text: admins and analysts."""
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(UsageSerializer(llm_usage(**query.validated_data)).data)
