"""Signed ledger heads (Ed25519): what an auditor keeps outside the system.

A head file is JSON. Its `message` is the exact text that was signed:

    ruswf-ledger-head/1
    position=<last position sealed>
    count=<events sealed>
    ledger_hash=<ledger hash there>
    exported_at=<ISO 8601 UTC>

and `signature` holds the Ed25519 signature of those UTF-8 bytes and the public key
(both base64), so anyone can check it with `openssl pkeyutl -verify -rawin` or a few
lines of Python, and `ruswf audit check-head FILE` recomputes the ledger hash from the
events table.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ruswf.app.audit.ledger import FORMAT, Head


class SigningKeyError(ValueError):
    """The configured signing key (or a given public key) cannot be used."""


class HeadFileError(ValueError):
    """A head file is malformed or its signature does not check."""


def load_private_key(value: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from a file path or a value: PEM (PKCS#8), or the raw
    32-byte seed as base64 or hex."""
    return _load_key(
        value,
        Ed25519PrivateKey,
        lambda pem: serialization.load_pem_private_key(pem, password=None),
        Ed25519PrivateKey.from_private_bytes,
        not_ed25519="RUSWF_LEDGER_SIGNING_KEY: not an Ed25519 key",
        unreadable="RUSWF_LEDGER_SIGNING_KEY: expected a path to a PEM file, a PEM value, or a"
        " 32-byte Ed25519 seed as base64 or hex",
    )


def load_public_key(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a file path or a value: PEM, or 32 raw bytes as
    base64 or hex."""
    return _load_key(
        value,
        Ed25519PublicKey,
        serialization.load_pem_public_key,
        Ed25519PublicKey.from_public_bytes,
        not_ed25519="not an Ed25519 public key",
        unreadable="not an Ed25519 public key (PEM, base64 or hex)",
    )


Key = TypeVar("Key", Ed25519PrivateKey, Ed25519PublicKey)


def _load_key(
    value: str,
    kind: type[object],
    from_pem: Callable[[bytes], object],
    from_raw: Callable[[bytes], Key],
    *,
    not_ed25519: str,
    unreadable: str,
) -> Key:
    """A key of `kind` from a file path or a value: PEM, or 32 raw bytes as base64 or hex;
    a `SigningKeyError` with `not_ed25519` (a PEM key of another kind) or `unreadable`."""
    text = _file_or_value(value)
    try:
        if text.startswith("-----BEGIN"):
            key = from_pem(text.encode())
            if not isinstance(key, kind):
                raise SigningKeyError(not_ed25519)
            return cast(Key, key)  # `kind` is the class of `Key` (mypy cannot say so)
        return from_raw(_raw32(text))
    except (ValueError, TypeError) as error:
        if isinstance(error, SigningKeyError):
            raise
        raise SigningKeyError(unreadable) from None


def _file_or_value(value: str) -> str:
    """The contents of the file `value` names, if it names one; else `value` itself."""
    text = value.strip()
    path = Path(text).expanduser()
    if len(text) < 4096 and "\n" not in text and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return text


def _raw32(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("need 32 bytes")
    return raw


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of its SHA-256."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key_file(path: Path) -> Ed25519PublicKey:
    """Write a new Ed25519 private key (PEM, mode 0600) to `path`; its public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key.public_key()


def head_message(head: Head, exported_at: str) -> str:
    return (
        f"{FORMAT}\nposition={head.position}\ncount={head.count}\n"
        f"ledger_hash={head.ledger_hash}\nexported_at={exported_at}\n"
    )


def export_head(head: Head, key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """The head as a document to keep outside the system, signed when a key is given."""
    exported_at = datetime.now(UTC).isoformat(timespec="seconds")
    message = head_message(head, exported_at)
    document: dict[str, Any] = {
        "format": FORMAT,
        "position": head.position,
        "count": head.count,
        "ledger_hash": head.ledger_hash,
        "exported_at": exported_at,
        "message": message,
        "signature": None,
    }
    if key is not None:
        public = key.public_key()
        document["signature"] = {
            "algorithm": "Ed25519",
            "public_key": public_key_b64(public),
            "key_id": key_id(public),
            "value": base64.b64encode(key.sign(message.encode())).decode(),
        }
    return document


@dataclass(frozen=True)
class HeadFile:
    """A parsed head file: the head and whether (and by which key) it is signed."""

    head: Head
    signed_by: str | None


def read_head_file(document: dict[str, Any], trusted: Ed25519PublicKey | None = None) -> HeadFile:
    """Parse a head document; check its signature (against `trusted` when given, which
    must then be the signing key)."""
    try:
        if document["format"] != FORMAT:
            raise HeadFileError(f"not a {FORMAT} document")
        head = Head(int(document["position"]), int(document["count"]), str(document["ledger_hash"]))
        message = str(document["message"])
        exported_at = str(document["exported_at"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, HeadFileError):
            raise
        raise HeadFileError(f"malformed head file ({type(error).__name__}: {error})") from None
    if message != head_message(head, exported_at):
        raise HeadFileError("the signed message does not match the head's fields")
    signature = document.get("signature")
    if not signature:
        if trusted is not None:
            raise HeadFileError("the head is not signed, but a public key was given")
        return HeadFile(head, None)
    try:
        public = load_public_key(str(signature["public_key"]))
        value = base64.b64decode(str(signature["value"]), validate=True)
    except (KeyError, TypeError, ValueError) as error:
        raise HeadFileError(f"malformed signature ({type(error).__name__})") from None
    if trusted is not None and public_key_b64(trusted) != public_key_b64(public):
        raise HeadFileError(
            f"signed by key {key_id(public)}, not by the trusted key {key_id(trusted)}"
        )
    try:
        public.verify(value, message.encode())
    except InvalidSignature:
        raise HeadFileError("the signature does not match the head") from None
    return HeadFile(head, key_id(public))


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
