"""Credentials stored encrypted (Fernet: AES-128-CBC with an HMAC-SHA256 tag) under FOLIO_ENCRYPTION_KEYS.

The first key encrypts and every key decrypts, so a key is rotated by putting a new one first, re-encrypting
(`rotate`) and then dropping the old one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CredentialUnreadable(Exception):
    """No configured key decrypts the token (it was written under a key no longer configured, or altered)."""


class CredentialCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise CredentialUnreadable() from exc

    def rotate(self, token: str) -> str:
        """The same secret encrypted under the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise CredentialUnreadable() from exc
