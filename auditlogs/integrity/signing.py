"""The Ed25519 key that signs checkpoints. It lives outside the database (a setting or a key
file), so someone who can rewrite the database cannot sign a checkpoint for a forged chain.

Only the processes that sign (the checkpoint and retention commands, the worker) hold the
private key; web processes verify and publish with the public key alone
(AUDITLOG_PUBLIC_KEY or AUDITLOG_PUBLIC_KEY_FILE), so a compromised web tier cannot sign."""

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


class NoSigningKey(ImproperlyConfigured):
    """This process holds no private key, so it cannot sign (a web process, by design)."""


def has_signing_key() -> bool:
    return bool(app_settings.SIGNING_KEY or app_settings.SIGNING_KEY_FILE)


@functools.cache
def signing_key() -> Ed25519PrivateKey:
    """The configured private key; cached for the life of the process."""
    if app_settings.SIGNING_KEY:
        return _parse_private_key(app_settings.SIGNING_KEY.encode(), "AUDITLOG_SIGNING_KEY")
    if not app_settings.SIGNING_KEY_FILE:
        raise NoSigningKey(
            "This process has no signing key, so it cannot sign checkpoints. Checkpoints are "
            "signed by checkpoint_audit_log, apply_audit_retention and the worker, run with "
            "AUDITLOG_SIGNING_KEY or AUDITLOG_SIGNING_KEY_FILE; web processes need only "
            "AUDITLOG_PUBLIC_KEY. Make a first key with "
            "`python manage.py checkpoint_audit_log --generate-key`."
        )
    path = Path(app_settings.SIGNING_KEY_FILE)
    if not path.exists() and app_settings.SIGNING_KEY_GENERATE:
        _generate_key_file(path)
    return _parse_private_key(_read(path, "signing key"), str(path))


@functools.cache
def public_key() -> Ed25519PublicKey:
    """The current public key: AUDITLOG_PUBLIC_KEY, AUDITLOG_PUBLIC_KEY_FILE, or derived from
    the private key where this process holds one."""
    if app_settings.PUBLIC_KEY:
        return decode_public_key(app_settings.PUBLIC_KEY)
    if app_settings.PUBLIC_KEY_FILE:
        path = Path(app_settings.PUBLIC_KEY_FILE)
        return _parse_public_key(_read(path, "public key"), str(path))
    if has_signing_key():
        return signing_key().public_key()
    raise ImproperlyConfigured(
        "No key to verify checkpoints with: set AUDITLOG_PUBLIC_KEY (or "
        "AUDITLOG_PUBLIC_KEY_FILE) in web processes, and AUDITLOG_SIGNING_KEY (or "
        "AUDITLOG_SIGNING_KEY_FILE) where checkpoints are signed. "
        "`python manage.py checkpoint_audit_log --generate-key` makes a first key."
    )


def forget_keys() -> None:
    """Drop the cached keys (after the settings changed: tests, key rotation)."""
    signing_key.cache_clear()
    public_key.cache_clear()


def configuration_problems() -> list[str]:
    """What the system check reports: a key that does not load, or a public key that is not
    the signing key's."""
    try:
        current = public_key()
        if has_signing_key() and key_id(signing_key().public_key()) != key_id(current):
            return [
                "AUDITLOG_PUBLIC_KEY is not the public key of AUDITLOG_SIGNING_KEY: checkpoints "
                "signed here would not verify."
            ]
        verification_keys()
    except ImproperlyConfigured as error:
        return [str(error)]
    return []


def verification_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key a checkpoint may be signed with, by key id: the current one and any
    retired ones still listed in AUDITLOG_RETIRED_PUBLIC_KEYS."""
    keys = [public_key()]
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


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"Cannot read the {what} file {path}: {error}") from error


def _parse_public_key(data: bytes, source: str) -> Ed25519PublicKey:
    text = data.strip()
    if not text.startswith(b"-----BEGIN"):
        return decode_public_key(text.decode("ascii", "replace"))
    try:
        key = serialization.load_pem_public_key(text)
    except ValueError as error:
        raise ImproperlyConfigured(f"{source} is not a PEM public key ({error}).") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{source} holds a public key that is not an Ed25519 key.")
    return key


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
