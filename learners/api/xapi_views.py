"""The xAPI (Experience API 1.0.3) resources a learning record provider needs to send statements.

Only the write side of an LRS: ``statements`` (POST, PUT) and ``about``. Off-the-shelf xAPI
clients authenticate with HTTP Basic, so that is accepted here (an API key as the password, or a
staff user's password) besides the project's own schemes.
"""

from collections.abc import Sequence
from typing import Any, cast

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication, BasicAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from engagement.api.authentication import ApiKeyBasicAuthentication
from engagement.api.parsers import JSONParser
from engagement.api.permissions import Access
from engagement.api.responses import ERRORS as API_ERRORS
from engagement.errors import ValidationFailed
from engagement.roles import ADMIN, STAFF
from learners.ingestion.xapi import XAPI_VERSION, version_supported
from learners.ingestion.xapi_statements import statements_in_body, xapi_statements_ingest
from learners.scopes import ApiKeyScope

VERSION_HEADER = "X-Experience-API-Version"
# Typed as import strings by the stubs; by the time views load, DRF has imported the classes.
PROJECT_AUTHENTICATION = cast(
    Sequence[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES
)

STATEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An xAPI 1.0.3 statement (see docs/xapi.md for what is read from it).",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "actor": {"type": "object", "description": "An Agent with account or mbox."},
        "verb": {
            "type": "object",
            "description": (
                "Its id must be an IRI; verbs outside the table in docs/xapi.md are stored as "
                "activity of kind `other`."
            ),
        },
        "object": {"type": "object"},
        "result": {"type": "object"},
        "context": {"type": "object"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
    "required": ["actor", "verb", "object"],
}
ID_LIST_SCHEMA: dict[str, Any] = {"type": "array", "items": {"type": "string", "format": "uuid"}}
ABOUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"version": {"type": "array", "items": {"type": "string"}}},
    "required": ["version"],
}

VERSION_REQUIRED = OpenApiParameter(
    VERSION_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The xAPI version the client speaks; must be 1.0.x.",
)
VERSION_ANSWERED = OpenApiParameter(
    VERSION_HEADER,
    str,
    OpenApiParameter.HEADER,
    response=True,
    description=f"Always {XAPI_VERSION}.",
)
ERRORS = {
    403: API_ERRORS[403],
    429: API_ERRORS[429],
    400: OpenApiResponse(
        description=(
            "Invalid request or statements: {field: [reasons]}, or "
            '{"rejected": [{"index": i, "errors": {field: [reasons]}}]}; nothing is stored.'
        )
    ),
    401: OpenApiResponse(description="Not authenticated."),
    409: OpenApiResponse(
        description="A statement id is already stored for a genuinely different statement."
    ),
}


class XapiView(APIView):
    """What all xAPI resources share: Basic auth for LRS clients and the version response header."""

    # An API key in Basic's password slot is tried before a user's password; a Basic challenge
    # comes first so that unauthenticated xAPI clients are told to use Basic.
    authentication_classes = [
        ApiKeyBasicAuthentication,
        BasicAuthentication,
        *PROJECT_AUTHENTICATION,
    ]
    parser_classes = [JSONParser]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response[VERSION_HEADER] = XAPI_VERSION
        return response


class XapiStatementsView(XapiView):
    """The xAPI statements resource: store statements as learner activity."""

    access = Access(write=ADMIN, write_scope=ApiKeyScope.XAPI_WRITE)
    throttle_scope = "ingest"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After authentication, refuse clients that do not speak xAPI 1.0.x (the spec's 400).

        A method this resource lacks is left to ``dispatch``, whose answer is 405 whatever the
        version header says.
        """
        super().initial(request, *args, **kwargs)
        if not hasattr(self, str(request.method).lower()):
            return
        version = request.headers.get(VERSION_HEADER)
        if not version_supported(version):
            raise ValidationFailed(
                detail={
                    VERSION_HEADER: [
                        f"This header is required and must name a 1.0.x version "
                        f"(this LRS speaks {XAPI_VERSION}); got '{version or ''}'."
                    ]
                }
            )

    @extend_schema(
        summary="Store xAPI statements",
        description=(
            "One statement object or an array of them. Answers the statement ids in order "
            "(generated where a statement has none). The batch is stored whole or not at all, "
            "and may hold each id once; re-sending a stored statement (compared by xAPI 1.0.3's "
            "rules, see docs/xapi.md) changes nothing."
        ),
        parameters=[VERSION_REQUIRED, VERSION_ANSWERED],
        request={
            "application/json": {
                "oneOf": [STATEMENT_SCHEMA, {"type": "array", "items": STATEMENT_SCHEMA}]
            }
        },
        responses={
            200: OpenApiResponse(response=ID_LIST_SCHEMA, description="The statement ids."),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        return Response(xapi_statements_ingest(statements=statements_in_body(request.data)))

    @extend_schema(
        summary="Store one xAPI statement under a given id",
        parameters=[
            OpenApiParameter(
                "statementId",
                str,
                OpenApiParameter.QUERY,
                required=True,
                description="The statement's UUID; an id in the body must equal it.",
            ),
            VERSION_REQUIRED,
            VERSION_ANSWERED,
        ],
        request={"application/json": STATEMENT_SCHEMA},
        responses={204: OpenApiResponse(description="Stored (or already stored)."), **ERRORS},
    )
    def put(self, request: Request) -> Response:
        xapi_statements_ingest(
            statements=[request.data], statement_id=request.query_params.get("statementId", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class XapiAboutView(XapiView):
    """The xAPI about resource: which versions this LRS speaks."""

    access = Access(read=STAFF, read_scope=ApiKeyScope.XAPI_WRITE)

    @extend_schema(
        summary="xAPI versions supported",
        parameters=[VERSION_ANSWERED],
        responses={
            200: OpenApiResponse(response=ABOUT_SCHEMA, description="Supported versions."),
            401: ERRORS[401],
            403: ERRORS[403],
            429: ERRORS[429],
        },
    )
    def get(self, request: Request) -> Response:
        return Response({"version": [XAPI_VERSION]})
