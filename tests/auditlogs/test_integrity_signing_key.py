"""The checkpoint signing key comes from the environment, never from the database. Only the
processes that sign hold it: a web process starts and serves with the public key alone, and
`checkpoint_audit_log --generate-key` makes the first key on a fresh production configuration.
"""

import base64
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import override_settings

from auditlogs.integrity import signing
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.integrity.checks import signing_key_loads
from tests.helpers.clients import signed_in
from tests.helpers.integrity import fill

ROOT = Path(__file__).resolve().parents[2]


def manage_in_production(*args, **env) -> subprocess.CompletedProcess:
    """manage.py with DEBUG off, a secret key and no AUDITLOG key unless given."""
    base = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("AUDITLOG_SIGNING", "AUDITLOG_PUBLIC")) and k != "DEBUG"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
        env={**base, "DEBUG": "false", "SECRET_KEY": "x" * 50,
             "ALLOWED_HOSTS": "audit.example.com", **env},
        timeout=120,
    )


def test_generate_key_works_on_a_fresh_production_configuration():
    made = manage_in_production("checkpoint_audit_log", "--generate-key")
    assert made.returncode == 0, made.stderr
    assert public_of(made.stdout.strip())  # a valid Ed25519 private key


def test_a_web_process_needs_only_the_public_key():
    private = signing.generate_private_key_text()
    public = public_of(private)
    assert manage_in_production("check", AUDITLOG_PUBLIC_KEY=public).returncode == 0
    printed = manage_in_production("checkpoint_audit_log", "--public-key",
                                   AUDITLOG_PUBLIC_KEY=public)
    assert printed.returncode == 0 and printed.stdout.startswith(public)
    refused = manage_in_production("check")
    assert refused.returncode != 0 and "AUDITLOG_PUBLIC_KEY" in refused.stderr
    mismatched = manage_in_production(
        "check", AUDITLOG_PUBLIC_KEY=public,
        AUDITLOG_SIGNING_KEY=signing.generate_private_key_text(),
    )
    assert mismatched.returncode != 0 and "is not the public key" in mismatched.stderr


@contextmanager
def web_process():
    """This process configured like a web process: the current key's public half only."""
    public = signing.encode_public_key(signing.signing_key().public_key())
    only_public = override_settings(
        AUDITLOG_SIGNING_KEY="", AUDITLOG_SIGNING_KEY_FILE="", AUDITLOG_SIGNING_KEY_GENERATE=False,
        AUDITLOG_PUBLIC_KEY=public,
    )
    signing.forget_keys()
    try:
        with only_public:
            yield public
    finally:
        signing.forget_keys()


def test_with_only_the_public_key_the_page_serves_and_nothing_signs(owner, acme):
    fill(acme, 3)
    checkpoint(acme)  # signed where the private key is, as the checkpoint command does
    with web_process() as public:
        client = signed_in(owner)
        page = client.get("/orgs/acme/settings/audit-logs/")
        assert page.status_code == 200 and b"Verified through event #3" in page.content
        download = client.get("/orgs/acme/settings/audit-logs/integrity/export/")
        assert download.status_code == 200
        assert public in b"".join(download.streaming_content).decode()
        fill(acme, 1)
        with pytest.raises(signing.NoSigningKey, match="web processes need only"):
            checkpoint(acme)
        with pytest.raises(CommandError, match="has no signing key"):
            call_command("checkpoint_audit_log", "--no-progress")


def public_of(private_text: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_text, validate=True))
    return signing.encode_public_key(key.public_key())


def test_keys_load_from_base64_or_a_pem_file(settings, tmp_path):
    signing.forget_keys()
    try:
        text = signing.generate_private_key_text()
        settings.AUDITLOG_SIGNING_KEY = text
        from_env = signing.signing_key()
        assert signing.decode_public_key(signing.encode_public_key(from_env.public_key()))

        signing.forget_keys()
        pem = tmp_path / "key.pem"
        pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
        settings.AUDITLOG_SIGNING_KEY, settings.AUDITLOG_SIGNING_KEY_FILE = "", str(pem)
        assert signing.key_id(signing.signing_key().public_key()) != signing.key_id(
            from_env.public_key()
        )

        signing.forget_keys()
        settings.AUDITLOG_SIGNING_KEY = "not a key"
        (error,) = signing_key_loads()
        assert error.id == "auditlogs.E001" and "Ed25519 private key" in error.msg
    finally:
        signing.forget_keys()


def test_a_missing_key_file_is_generated_only_in_debug(settings, tmp_path):
    signing.forget_keys()
    try:
        settings.AUDITLOG_SIGNING_KEY = ""
        settings.AUDITLOG_SIGNING_KEY_FILE = str(tmp_path / "generated")
        settings.AUDITLOG_SIGNING_KEY_GENERATE = False
        (error,) = signing_key_loads()
        assert "Cannot read the signing key file" in error.msg
        signing.forget_keys()
        settings.AUDITLOG_SIGNING_KEY_GENERATE = True
        assert signing_key_loads() == []
        assert (tmp_path / "generated").stat().st_mode & 0o777 == 0o600
    finally:
        signing.forget_keys()
