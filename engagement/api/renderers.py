"""The project's JSON renderer: DRF's, readable whatever text a stored row holds."""

from collections.abc import Mapping
from typing import Any

from rest_framework import renderers


class _AsciiJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


class JSONRenderer(renderers.JSONRenderer):
    """UTF-8 JSON, falling back to ``\\u`` escapes when the data holds unpaired surrogates.

    Ingestion refuses such text now, but rows stored before (e.g. event metadata) must stay
    readable: an unpaired surrogate cannot be encoded as UTF-8, while its escape is valid JSON.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)
