"""One exception handler: application errors and Django validation errors become 4xx bodies."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from engagement.errors import ApplicationError
from engagement.wording import counted


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map application errors, Django validation errors and oversized bodies onto JSON responses."""
    if isinstance(exc, ApplicationError):
        return Response(exc.detail, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request body is larger than {counted(limit, 'byte')}."}, status=413
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
