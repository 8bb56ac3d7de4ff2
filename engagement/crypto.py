"""Personal data at rest: Fernet encryption with rotating keys, and keyed hashes for lookups.

``FIELD_ENCRYPTION_KEYS`` lists Fernet keys, newest first: new values are encrypted with the
first, every listed key can decrypt, so keys rotate by prepending a new one and running
``manage.py rotate_encryption_keys`` before dropping the old. ``FIELD_HASH_KEY`` keys the
HMACs that let us find a learner by email, or by a word of their name, without storing either
in clear; it must stay stable (changing it means recomputing every hash).
"""

import hashlib
import hmac
import re
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

_WORD = re.compile(r"\w+", re.UNICODE)


class DecryptionFailed(Exception):
    """Stored personal data that no configured key decrypts: a key misconfiguration (a server
    error), deliberately not a ``ValueError`` so that no input-parsing ``except`` can mistake it
    for a malformed request. The message names the field only, never the data."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys() -> tuple[str, ...]:
    return tuple(settings.FIELD_ENCRYPTION_KEYS)


def encrypt(value: str) -> str:
    """Ciphertext of ``value`` under the primary key; the empty string stays empty."""
    return _fernet(_keys()).encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    return _fernet(_keys()).decrypt(token.encode()).decode() if token else ""


def reencrypt(token: str) -> str:
    """The same plaintext under the primary key (no-op cost for values already there)."""
    return _fernet(_keys()).rotate(token.encode()).decode() if token else ""


def keyed_hash(value: str) -> str:
    """Stable HMAC-SHA256 of a normalised value, for equality lookups on encrypted data."""
    normalised = value.strip().lower()
    if not normalised:
        return ""
    return hmac.new(
        settings.FIELD_HASH_KEY.encode(), normalised.encode(), hashlib.sha256
    ).hexdigest()


def word_tokens(text: str) -> list[str]:
    """Short keyed hashes of each word, so a whole word can be searched without the text."""
    return sorted({keyed_hash(word)[:16] for word in _WORD.findall(text.lower())})


class EncryptedTextField(models.TextField):
    """Text stored as Fernet ciphertext; reads decrypt, writes encrypt. No lookups but isnull."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return value
        try:
            return decrypt(value)
        except InvalidToken as exc:
            raise DecryptionFailed(
                f"{self.model.__name__}.{self.name} cannot be decrypted with the configured keys "
                "(check FIELD_ENCRYPTION_KEYS)."
            ) from exc

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if isinstance(value, str) else value
