"""Encryption at rest with key rotation for new writes.

eventsourcing's `AESCipher` (AES-GCM, from the `cryptography` package) holds one key.
After a rotation ruswf encrypts with the new key (`CIPHER_KEY`) and still decrypts what
earlier keys encrypted (`CIPHER_PREVIOUS_KEYS`, comma-separated): AES-GCM authenticates
each ciphertext, so a wrong key fails cleanly and the next one is tried. Stored events
are never re-encrypted (that would rewrite the immutable log and its hash chains), so
an old key must be kept for as long as the events it encrypted are to be read.
"""

from __future__ import annotations

from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment


class RotatingAESCipher(AESCipher):
    """AES-GCM that writes with the current key and reads with any configured key."""

    CIPHER_PREVIOUS_KEYS = "CIPHER_PREVIOUS_KEYS"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.readers = [AESCipher(environment)]
        for key in (environment.get(self.CIPHER_PREVIOUS_KEYS) or "").split(","):
            if key.strip():
                self.readers.append(AESCipher(Environment(env={self.CIPHER_KEY: key.strip()})))

    def decrypt(self, ciphertext: bytes) -> bytes:
        failure: ValueError | None = None
        for reader in self.readers:
            try:
                return reader.decrypt(ciphertext)
            except ValueError as error:
                failure = error
        assert failure is not None
        raise failure
