"""The application's single error hierarchy: services raise these, the API maps them to HTTP."""

from typing import Any


class ApplicationError(Exception):
    """Base for every expected failure of a service; carries a structured, client-safe detail."""

    status_code = 400
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        self.message = message or self.default_message
        self.detail = detail if detail is not None else {"detail": self.message}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    """Input that breaks a rule; ``detail`` is a DRF-style ``{"field": ["why"]}`` mapping."""

    status_code = 400
    default_message = "Invalid input."


class NotFound(ApplicationError):
    status_code = 404
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    default_message = "The request conflicts with the current state."


class Forbidden(ApplicationError):
    """The caller may see the object but not do this to it."""

    status_code = 403
    default_message = "You may not do this."
