"""Accounts, API keys, audit log, jobs, outbox and token endpoints. Views only dispatch to services and selectors."""

from typing import Any, cast

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.tokens import Token

from engagement import accounts, api_keys, audit, auth_tokens, jobs, outbox
from engagement.api.index import api_index
from engagement.api.permissions import Access, staff_user
from engagement.api.responses import ERRORS, TOKEN_ERRORS
from engagement.api.serializers import (
    ApiKeyCreateSerializer,
    ApiKeyIssuedSerializer,
    ApiKeyOutputSerializer,
    AuditEventOutputSerializer,
    JobOutputSerializer,
    LogoutSerializer,
    OutboxMessageOutputSerializer,
    UserCreateSerializer,
    UserOutputSerializer,
    UserUpdateSerializer,
)
from engagement.filters import AuditEventFilter, JobFilter, OutboxFilter
from engagement.models import ApiKey, AuditEvent, Job, OutboxMessage, User
from engagement.roles import ADMIN, STAFF


class ApiRootView(APIView):
    """The API's index for staff: each route you may read that needs no path parameter, by name."""

    access = Access(read=STAFF)

    @extend_schema(
        summary="API index: the main endpoints",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Absolute URLs by route name."),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return Response(api_index(request, exclude="api-root"))


class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange a username and password for an access and a refresh token (throttled per IP)."""

    throttle_scope = "login"

    @extend_schema(
        summary="Obtain an access and a refresh token",
        responses={200: TokenObtainPairSerializer, **TOKEN_ERRORS},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = TokenObtainPairSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        # A valid serializer has authenticated its user.
        auth_tokens.user_token_login(request=request, user=cast(User, serializer.user))
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


@extend_schema(
    summary="Exchange a refresh token for a new pair",
    responses={200: TokenRefreshSerializer, **TOKEN_ERRORS},
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old one is blacklisted (one rotation per token)."""

    throttle_scope = "login"
    serializer_class = auth_tokens.SingleUseTokenRefreshSerializer


@extend_schema(
    summary="Check a token",
    responses={200: OpenApiResponse(description="The token is valid."), **TOKEN_ERRORS},
)
class TokenVerifyView(jwt_views.TokenVerifyView):
    """Check that a token is valid."""

    throttle_scope = "login"


class LogoutView(APIView):
    """Revoke the given refresh token and the access token of this request."""

    access = Access(write=STAFF)

    @extend_schema(
        summary="Log out (revoke tokens)", request=LogoutSerializer, responses={204: None, **ERRORS}
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auth_tokens.user_logout(
            user=staff_user(request),
            refresh=serializer.validated_data["refresh"],
            access=request.auth if isinstance(request.auth, Token) else None,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List staff users", responses={200: UserOutputSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="Get a staff user", responses={200: UserOutputSerializer, **ERRORS}
    ),
    create=extend_schema(
        summary="Create or invite a staff user",
        request=UserCreateSerializer,
        responses={201: UserOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change role, email, active flag or cohorts",
        request=UserUpdateSerializer,
        responses={200: UserOutputSerializer, **ERRORS},
    ),
    deactivate=extend_schema(
        summary="Deactivate a user", request=None, responses={200: UserOutputSerializer, **ERRORS}
    ),
)
class UserViewSet(viewsets.GenericViewSet):
    """Staff user management (programme admins only)."""

    access = Access(read=ADMIN, write=ADMIN)
    serializer_class = UserOutputSerializer

    def get_queryset(self) -> QuerySet[User]:
        return accounts.user_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(UserOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(UserOutputSerializer(accounts.user_get(user_id=pk)).data)

    def create(self, request: Request) -> Response:
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.user_create(actor=staff_user(request), **serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        user = accounts.user_get(user_id=pk)
        serializer = UserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = accounts.user_update(
            actor=staff_user(request), user=user, data=serializer.validated_data
        )
        return Response(UserOutputSerializer(user).data)

    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str) -> Response:
        user = accounts.user_deactivate(
            actor=staff_user(request), user=accounts.user_get(user_id=pk)
        )
        return Response(UserOutputSerializer(user).data)


@extend_schema_view(
    list=extend_schema(
        summary="List API keys", responses={200: ApiKeyOutputSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="Get an API key", responses={200: ApiKeyOutputSerializer, **ERRORS}
    ),
    create=extend_schema(
        summary="Create an API key (the secret is shown once)",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyIssuedSerializer, **ERRORS},
    ),
    revoke=extend_schema(
        summary="Revoke an API key", request=None, responses={200: ApiKeyOutputSerializer, **ERRORS}
    ),
)
class ApiKeyViewSet(viewsets.GenericViewSet):
    """Machine credentials (programme admins only)."""

    access = Access(read=ADMIN, write=ADMIN)
    serializer_class = ApiKeyOutputSerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return api_keys.api_key_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiKeyOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ApiKeyOutputSerializer(api_keys.api_key_get(key_id=pk)).data)

    def create(self, request: Request) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = api_keys.api_key_create(
            created_by=staff_user(request), **serializer.validated_data
        )
        body = {**ApiKeyOutputSerializer(issued.api_key).data, "key": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        api_key = api_keys.api_key_revoke(
            api_key=api_keys.api_key_get(key_id=pk), actor=staff_user(request)
        )
        return Response(ApiKeyOutputSerializer(api_key).data)


@extend_schema_view(
    list=extend_schema(
        summary="Search the audit log",
        responses={200: AuditEventOutputSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get an audit event", responses={200: AuditEventOutputSerializer, **ERRORS}
    ),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only audit log (programme admins only)."""

    access = Access(read=ADMIN)
    serializer_class = AuditEventOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit.audit_list()


@extend_schema_view(
    list=extend_schema(
        summary="List background jobs (your own; admins see all)",
        responses={200: JobOutputSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a background job and its progress",
        responses={200: JobOutputSerializer, **ERRORS},
    ),
    cancel=extend_schema(
        summary="Cancel a queued or running job",
        request=None,
        responses={
            200: JobOutputSerializer,
            409: OpenApiResponse(description="The job has already finished."),
            **ERRORS,
        },
    ),
)
class JobViewSet(viewsets.GenericViewSet):
    """Long operations (rescoring, training, imports, campaigns, simulations) and their progress."""

    access = Access(read=STAFF, write=STAFF)
    serializer_class = JobOutputSerializer
    filterset_class = JobFilter

    def get_queryset(self) -> QuerySet[Job]:
        return jobs.job_list(actor=self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(
            jobs.job_list(actor=request.user, filters=request.query_params)
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(jobs.job_get(actor=request.user, job_id=pk)).data)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        job = jobs.job_cancel(
            job=jobs.job_get(actor=request.user, job_id=pk), actor=staff_user(request)
        )
        return Response(self.get_serializer(job).data)


@extend_schema_view(
    list=extend_schema(
        summary="List outbox messages (mail and other side effects) and their delivery state",
        responses={200: OutboxMessageOutputSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get an outbox message's delivery state",
        responses={200: OutboxMessageOutputSerializer, **ERRORS},
    ),
)
class OutboxMessageViewSet(viewsets.GenericViewSet):
    """Side effects written after commit and their delivery (programme admins only)."""

    access = Access(read=ADMIN)
    serializer_class = OutboxMessageOutputSerializer
    filterset_class = OutboxFilter

    def get_queryset(self) -> QuerySet[OutboxMessage]:
        return outbox.outbox_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(outbox.outbox_list(filters=request.query_params))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(outbox.outbox_get(message_id=pk)).data)
