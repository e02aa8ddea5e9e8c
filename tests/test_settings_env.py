"""Settings come from the environment; production refuses to start without a secret."""

import base64
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    inherited = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in inherited}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=120,
    )


def test_without_debug_a_secret_key_is_required():
    result = run_manage("check", DEBUG="false", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECRET_KEY="x" * 60 + "-production-secret-value-1234567890",
        ALLOWED_HOSTS="auditlogs.example.com", AUDITLOG_SIGNING_KEY=a_signing_key(),
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_without_debug_a_signing_key_is_required():
    result = run_manage("check", DEBUG="false", SECRET_KEY="s" * 60,
                        ALLOWED_HOSTS="example.com", AUDITLOG_SIGNING_KEY="")
    assert result.returncode != 0 and "AUDITLOG_SIGNING_KEY" in result.stderr


def a_signing_key() -> str:
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(key).decode()


def test_a_malformed_boolean_is_a_clear_error():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG must be a boolean" in result.stderr


def test_the_smtp_server_comes_from_the_environment():
    result = run_manage(
        "shell", "-c",
        "from django.conf import settings as s; "
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_USE_TLS, s.EMAIL_TIMEOUT)",
        EMAIL_HOST="smtp.example.com", EMAIL_PORT="587", EMAIL_HOST_USER="audit",
        EMAIL_HOST_PASSWORD="pw", EMAIL_USE_TLS="true",
    )
    printed = result.stdout.strip().splitlines()[-1]  # after the shell's own notice
    assert printed.split() == ["smtp.example.com", "587", "audit", "True", "10"]


def test_every_variable_of_the_example_environment_is_read():
    """.env.example once offered AUDITLOG_TRUST_X_FORWARDED_FOR, which nothing read: an
    operator setting it believed the app trusted their proxy."""
    readers = '"DATABASE_URL"' + "".join(  # dj-database-url reads DATABASE_URL itself
        (ROOT / name).read_text()
        for name in ("config/settings.py", "config/gunicorn.py", "auditlogs/conf.py", "Procfile")
    )
    names = [line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    assert names and [name for name in names if f'"{name}"' not in readers and
                      f"${name}" not in readers and f"${{{name}" not in readers] == []
