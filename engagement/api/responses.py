"""Responses shared by the apps' endpoints."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.serializers import JobOutputSerializer
from engagement.models import Job

# The error answers every endpoint may give, for the OpenAPI descriptions.
ERRORS = {
    400: OpenApiResponse(description="Invalid input: {field: [reasons]}."),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(
        description="Your role does not allow this (an API key is told the scope it lacks)."
    ),
    404: OpenApiResponse(description="No such object (or not within your scope)."),
    414: OpenApiResponse(
        description="The URL (with its query string) is longer than the server accepts."
    ),
    429: OpenApiResponse(description="Too many requests: retry after Retry-After seconds."),
}

# What the token endpoints answer besides success: they take no bearer token, so no 403 or 404.
TOKEN_ERRORS = {
    400: ERRORS[400],
    401: OpenApiResponse(description="Wrong credentials, or an invalid or expired token."),
    414: ERRORS[414],
    429: ERRORS[429],
}


def accepted_response(job: Job, request: Request) -> Response:
    """``202 Accepted`` for work handed to a background job: the job's body, and its URL in
    ``Location`` for the client to poll."""
    url = request.build_absolute_uri(reverse("job-detail", kwargs={"pk": job.pk}))
    body = JobOutputSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
