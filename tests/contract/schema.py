"""Check Django test-client responses against our own OpenAPI document, as schemathesis does."""

import functools
import json

import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.response import Response
from schemathesis.specs.openapi.schemas import OpenApiSchema


@functools.cache
def api_schema() -> OpenApiSchema:
    """The document ``/api/schema/`` serves, loaded once per test run."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))


def assert_documented(response: Response, *, path: str, method: str) -> None:
    """Fail unless the schema documents this status code for the operation and the body fits it.

    ``path`` is the templated path of the schema, e.g. ``/api/v1/learners/{id}/``.
    """
    operation = api_schema()[path][method.upper()]
    documented = operation.responses.find_by_status_code(response.status_code)
    assert documented is not None, (
        f"{method.upper()} {path} answered an undocumented {response.status_code}: "
        f"{response.content[:300]!r}"
    )
    request = requests.Request(
        method.upper(), f"http://testserver{response.wsgi_request.get_full_path()}"
    ).prepare()
    operation.validate_response(
        schemathesis.Response(
            status_code=response.status_code,
            headers={name: [value] for name, value in response.items()},
            content=response.content,
            request=request,
            elapsed=0.0,
            verify=False,
        )
    )
