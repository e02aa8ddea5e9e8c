"""The checkpoint signing key comes from the environment, never from the database; without
one the server refuses to start unless DEBUG is on."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditlogs.integrity import signing
from auditlogs.integrity.checks import signing_key_loads

ROOT = Path(__file__).resolve().parents[2]


def settings_in_subprocess(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOG_SIGNING")}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT, env={**base, "SECRET_KEY": "x" * 50, **env}, capture_output=True, text=True,
    )


def test_without_a_key_the_server_refuses_to_start_when_debug_is_off():
    refused = settings_in_subprocess(DEBUG="false")
    assert refused.returncode != 0
    assert "AUDITLOG_SIGNING_KEY or AUDITLOG_SIGNING_KEY_FILE must be set" in refused.stderr
    assert settings_in_subprocess(
        DEBUG="false", AUDITLOG_SIGNING_KEY=signing.generate_private_key_text()
    ).returncode == 0


def test_keys_load_from_base64_or_a_pem_file(settings, tmp_path):
    signing.signing_key.cache_clear()
    try:
        text = signing.generate_private_key_text()
        settings.AUDITLOG_SIGNING_KEY = text
        from_env = signing.signing_key()
        assert signing.decode_public_key(signing.encode_public_key(from_env.public_key()))

        signing.signing_key.cache_clear()
        pem = tmp_path / "key.pem"
        pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
        settings.AUDITLOG_SIGNING_KEY, settings.AUDITLOG_SIGNING_KEY_FILE = "", str(pem)
        assert signing.key_id(signing.signing_key().public_key()) != signing.key_id(
            from_env.public_key()
        )

        signing.signing_key.cache_clear()
        settings.AUDITLOG_SIGNING_KEY = "not a key"
        (error,) = signing_key_loads()
        assert error.id == "auditlogs.E001" and "Ed25519 private key" in error.msg
    finally:
        signing.signing_key.cache_clear()


def test_a_missing_key_file_is_generated_only_in_debug(settings, tmp_path):
    signing.signing_key.cache_clear()
    try:
        settings.AUDITLOG_SIGNING_KEY = ""
        settings.AUDITLOG_SIGNING_KEY_FILE = str(tmp_path / "generated")
        settings.AUDITLOG_SIGNING_KEY_GENERATE = False
        (error,) = signing_key_loads()
        assert "Cannot read the signing key file" in error.msg
        signing.signing_key.cache_clear()
        settings.AUDITLOG_SIGNING_KEY_GENERATE = True
        assert signing_key_loads() == []
        assert (tmp_path / "generated").stat().st_mode & 0o777 == 0o600
    finally:
        signing.signing_key.cache_clear()
