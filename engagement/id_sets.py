"""A set of ids handed to SQL as one parameter, whatever its size.

Django writes ``field__in=ids`` as one placeholder per id: for the thousands of learners of an
ingested batch, building, interpolating and parsing that list costs more than the query.
"""

import json
import uuid
from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL


def id_subquery(ids: Iterable[uuid.UUID]) -> RawSQL:
    """``field__in=id_subquery(ids)``: the ids as one array parameter on PostgreSQL, one JSON
    array on SQLite (where a UUID is stored as its 32 hex digits)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::uuid[])", (list(ids),))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps([i.hex for i in ids]),))
