"""The Ed25519 key that signs checkpoints. It lives outside the database (a setting or a key
file), so someone who can rewrite the database cannot sign a checkpoint for a forged chain."""

import base64
import binascii
import functools
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

from auditlogs.conf import app_settings


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 over its raw bytes."""
    return hashlib.sha256(public_key_bytes(public_key)).hexdigest()[:16]


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key_bytes(public_key)).decode()


def decode_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error) as error:
        raise ImproperlyConfigured(f"Not a base64 Ed25519 public key: {text!r}") from error


@functools.cache
def signing_key() -> Ed25519PrivateKey:
    """The configured private key; cached for the life of the process."""
    if app_settings.SIGNING_KEY:
        return _parse_private_key(app_settings.SIGNING_KEY.encode(), "AUDITLOG_SIGNING_KEY")
    path = Path(app_settings.SIGNING_KEY_FILE or "")
    if not app_settings.SIGNING_KEY_FILE:
        raise ImproperlyConfigured("Set AUDITLOG_SIGNING_KEY or AUDITLOG_SIGNING_KEY_FILE.")
    if not path.exists() and app_settings.SIGNING_KEY_GENERATE:
        _generate_key_file(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"Cannot read the signing key file {path}: {error}") from error
    return _parse_private_key(data, str(path))


def verification_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key a checkpoint may be signed with, by key id: the current one and any
    retired ones still listed in AUDITLOG_RETIRED_PUBLIC_KEYS."""
    keys = [signing_key().public_key()]
    keys += [decode_public_key(text) for text in app_settings.RETIRED_PUBLIC_KEYS]
    return {key_id(key): key for key in keys}


def sign(message: bytes) -> tuple[str, str]:
    """(key id, base64 signature) of the message."""
    key = signing_key()
    return key_id(key.public_key()), base64.b64encode(key.sign(message)).decode()


def signature_is_valid(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def _parse_private_key(data: bytes, source: str) -> Ed25519PrivateKey:
    text = data.strip()
    try:
        if text.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(text, password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("the PEM key is not an Ed25519 key")
            return key
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error) as error:
        raise ImproperlyConfigured(
            f"{source} must hold an Ed25519 private key: the base64 of its 32 raw bytes or a PEM "
            f"block ({error})."
        ) from error


def _generate_key_file(path: Path) -> None:
    """Development only: write a new key where no process can see a half-written file, and let
    the first of several racing processes win."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as handle:
        handle.write(generate_private_key_text() + "\n")
    os.chmod(handle.name, 0o600)
    try:
        os.link(handle.name, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(handle.name)


def generate_private_key_text() -> str:
    """A new key as AUDITLOG_SIGNING_KEY expects it (for `checkpoint_audit_log --generate-key`)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()
