"""Responses shared by the apps' endpoints."""

from django.urls import reverse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.serializers import JobOutputSerializer
from engagement.models import Job


def accepted_response(job: Job, request: Request) -> Response:
    """``202 Accepted`` for work handed to a background job: the job's body, and its URL in
    ``Location`` for the client to poll."""
    url = request.build_absolute_uri(reverse("job-detail", kwargs={"pk": job.pk}))
    body = JobOutputSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
