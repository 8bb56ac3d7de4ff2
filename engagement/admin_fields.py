"""Admin form fields that keep any stored row viewable."""

import json
from typing import Any

from django import forms

from engagement.input_bounds import text_problem


class StoredJSONFormField(forms.JSONField):
    """Shows stored JSON, escaping what a page cannot carry (unpaired surrogates) as ``\\u`` codes.

    Input is refused such text now, but rows stored before must still open in the admin.
    """

    def prepare_value(self, value: Any) -> Any:
        text = super().prepare_value(value)
        if isinstance(value, forms.fields.InvalidJSONInput) or text_problem(text) is None:
            return text
        return json.dumps(value, ensure_ascii=True, cls=self.encoder)
