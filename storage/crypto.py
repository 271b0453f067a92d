"""Encryption at rest for the personal free text the bot stores.

Open answers and pupil codes are the data that could name a person; when the
operator sets ``QUICKSCAN_ENCRYPTION_KEY`` they are stored as Fernet tokens
(AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) instead of plain
text, so a copied database file or backup does not give them away.

Key rotation: the variable holds one or more comma-separated keys, newest
first. Values are always sealed with the first key and opened with any of them
(``MultiFernet``); :meth:`FieldCipher.rotate` re-seals a value with the first key,
after which the old key can be dropped from the variable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENCRYPTION_KEY_ENV = "QUICKSCAN_ENCRYPTION_KEY"
SEALED_PREFIX = "enc1:"
"""Marks a stored value as a Fernet token; unmarked values are plain text (no key set,
or stored before encryption was switched on)."""


class EncryptionKeyError(ValueError):
    """A key is malformed, or a sealed value cannot be opened with the configured keys."""


def generate_key() -> str:
    """A fresh key in the form the environment variable expects."""
    return Fernet.generate_key().decode("ascii")


class FieldCipher:
    """Seals and opens single text values; a no-op without keys.

    Stores hold one and call :meth:`seal` before writing and :meth:`open` after
    reading, so the rest of the bot only ever sees plain text.
    """

    def __init__(self, *, keys: Sequence[str] = ()) -> None:
        try:
            fernets = [Fernet(key.strip().encode("ascii")) for key in keys if key.strip()]
        except (ValueError, UnicodeEncodeError) as error:
            # The message names the variable, never the key itself.
            msg = f"{ENCRYPTION_KEY_ENV}: not a valid Fernet key (32 url-safe base64 bytes)"
            raise EncryptionKeyError(msg) from error
        self._fernet = MultiFernet(fernets) if fernets else None
        self._primary = fernets[0] if fernets else None
        # A stable secret for lookup keys (unique constraints on sealed values),
        # derived from the newest key so it never equals the encryption key itself.
        self._lookup_secret = (
            hashlib.sha256(b"quickscan-lookup:" + keys[0].strip().encode("ascii")).digest()
            if fernets
            else None
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FieldCipher:
        """The cipher the operator configured (comma-separated keys, newest first)."""
        raw = (environ if environ is not None else os.environ).get(ENCRYPTION_KEY_ENV, "")
        return cls(keys=[part for part in raw.split(",") if part.strip()])

    @property
    def enabled(self) -> bool:
        """Whether values are sealed (a key is configured)."""
        return self._fernet is not None

    def seal(self, value: str) -> str:
        """The value as it is stored: a marked token with a key, unchanged without."""
        if self._fernet is None:
            return value
        token = self._fernet.encrypt(value.encode("utf-8")).decode("ascii")
        return SEALED_PREFIX + token

    def open(self, stored: str) -> str:
        """The plain text of a stored value (sealed or not).

        Raises:
            EncryptionKeyError: a sealed value but no key, or none of the keys fits.
        """
        if not stored.startswith(SEALED_PREFIX):
            return stored
        if self._fernet is None:
            msg = f"encrypted data found but {ENCRYPTION_KEY_ENV} is not set"
            raise EncryptionKeyError(msg)
        try:
            return self._fernet.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii")).decode(
                "utf-8"
            )
        except InvalidToken as error:
            msg = f"encrypted data does not open with the keys in {ENCRYPTION_KEY_ENV}"
            raise EncryptionKeyError(msg) from error

    def rotate(self, stored: str) -> str:
        """The value re-sealed with the newest key (plain text gets sealed too)."""
        if self._fernet is None:
            return stored
        return self.seal(self.open(stored))

    def needs_rotation(self, stored: str) -> bool:
        """Whether :meth:`rotate` would change the stored value's key or sealing."""
        if self._primary is None:
            return False
        if not stored.startswith(SEALED_PREFIX):
            return True
        try:
            self._primary.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii"))
        except InvalidToken:
            return True
        return False

    def lookup_key(self, value: str) -> str:
        """A deterministic key for finding or de-duplicating a value without storing it.

        With encryption on it is a keyed hash (HMAC-SHA256) that reveals nothing
        without the key; without encryption it is the value itself.
        """
        if self._lookup_secret is None:
            return value
        digest = hmac.new(self._lookup_secret, value.encode("utf-8"), hashlib.sha256).digest()
        return "h1:" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
