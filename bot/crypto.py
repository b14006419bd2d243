"""Encryption of stored secrets (PMP API tokens, Slack tokens) with Fernet keys.

Several keys can be configured: the first encrypts, every one of them decrypts. That makes key
rotation a two-step operation: put a new key first, keep the old one after it, re-encrypt
(`WorkspaceStore.reencrypt_all`), then drop the old key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidKeyError", "TokenCipher", "TokenDecryptionError"]


class InvalidKeyError(ValueError):
    """A configured key is not a Fernet key. The message never contains the key."""


class TokenDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class TokenCipher:
    """Encrypts and decrypts short secrets; the first key encrypts, all keys decrypt."""

    __slots__ = ("_fernet", "_key_count", "_primary")

    def __init__(self, fernets: Sequence[Fernet]) -> None:
        if not fernets:
            raise InvalidKeyError("At least one encryption key is needed.")
        self._primary = fernets[0]
        self._fernet = MultiFernet(list(fernets))
        self._key_count = len(fernets)

    @classmethod
    def from_keys(cls, keys: Sequence[str | bytes]) -> TokenCipher:
        """Build a cipher from url-safe base64 Fernet keys (first one encrypts).

        Raises InvalidKeyError naming the position (1-based) of a malformed key.
        """
        if isinstance(keys, str | bytes):
            # A lone string would otherwise be split into characters.
            raise TypeError("from_keys() takes a sequence of keys, not a single key")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip()))
            except (ValueError, TypeError):
                raise InvalidKeyError(
                    f"Key {position} is not a Fernet key (44 characters of url-safe base64)."
                ) from None
        return cls(fernets)

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key, as text."""
        return Fernet.generate_key().decode("ascii")

    @property
    def key_count(self) -> int:
        return self._key_count

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptionError(
                "A stored token cannot be decrypted with any key in PMP_BOT_SECRET_KEY. "
                "If the key was changed, list the new key first and the old key after it."
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the first key; the plaintext never leaves this method."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptionError(
                "A stored token cannot be re-encrypted: no key in PMP_BOT_SECRET_KEY opens it."
            ) from None

    def can_decrypt(self, ciphertext: str) -> bool:
        """True when some configured key opens this ciphertext (the plaintext is dropped)."""
        try:
            self._fernet.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def is_current(self, ciphertext: str) -> bool:
        """True when the first (encrypting) key opens this ciphertext."""
        try:
            self._primary.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def __repr__(self) -> str:
        return f"TokenCipher(keys={self._key_count})"
