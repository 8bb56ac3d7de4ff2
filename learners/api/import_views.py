"""CSV files uploaded for import: upload (a background job), list, read, refused lines."""

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.csv import CSVRenderer
from engagement.api.permissions import Access, staff_user
from engagement.api.renderers import JSONRenderer
from engagement.api.responses import ERRORS
from engagement.roles import ADMIN
from engagement.spreadsheets import csv_download
from learners import selectors
from learners.api.import_serializers import (
    ImportUploadInputSerializer,
    ImportUploadOutputSerializer,
)
from learners.imports import import_upload_request, upload_request_too_large
from learners.models import ImportUpload

UPLOAD_ERRORS = {
    **ERRORS,
    413: OpenApiResponse(description="The file is larger than IMPORT_UPLOAD_MAX_BYTES."),
    415: OpenApiResponse(description="Not multipart/form-data."),
}


@extend_schema_view(
    list=extend_schema(
        summary="List uploaded import files (admins)",
        responses={200: ImportUploadOutputSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="An uploaded import file: its job, status and counts (admins)",
        responses={200: ImportUploadOutputSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Upload a learners or activity CSV file to import (background job)",
        description="The file is checked (UTF-8, the kind's header columns, at least one row) and "
        "stored; a `learners.import` job imports it. The answer is `202` with the upload, its "
        "job, and the job's URL in `Location`. Refused rows are listed at `refused_url` once "
        "the job has finished.",
        request=ImportUploadInputSerializer,
        responses={202: ImportUploadOutputSerializer, **UPLOAD_ERRORS},
    ),
    refused=extend_schema(
        summary="The rows the import refused, as CSV (line, reasons)",
        responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS},
    ),
)
class ImportUploadViewSet(viewsets.GenericViewSet):
    """Learners and activity CSV files uploaded for import; admins only (no API key scope)."""

    access = Access(read=ADMIN, write=ADMIN)
    serializer_class = ImportUploadOutputSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> QuerySet[ImportUpload]:
        return selectors.import_upload_list(actor=self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        upload = selectors.import_upload_get(actor=request.user, upload_id=pk)
        return Response(self.get_serializer(upload).data)

    def create(self, request: Request) -> Response:
        # Refused on its declared length, before the body is read.
        upload_request_too_large(request.META.get("CONTENT_LENGTH"))
        serializer = ImportUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = import_upload_request(actor=staff_user(request), **serializer.validated_data)
        # Read again: where tasks run eagerly the job has already finished.
        upload = selectors.import_upload_get(actor=request.user, upload_id=created.pk)
        job_url = request.build_absolute_uri(reverse("job-detail", kwargs={"pk": upload.job_id}))
        return Response(
            self.get_serializer(upload).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": job_url},
        )

    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CSVRenderer])
    def refused(self, request: Request, pk: str) -> HttpResponse:
        upload = selectors.import_upload_get(actor=request.user, upload_id=pk)
        return csv_download(
            selectors.import_upload_refused(upload=upload), f"refused-{upload.pk}.csv"
        )
