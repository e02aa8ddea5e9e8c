"""Every limit holds across processes: two real server processes share one Redis cache.

Two `runserver --noreload` processes on loopback ports serve one database of their own and
one Redis database; requests alternate between them. The API's per-token limit and the sign-in
throttle count together, so the second process refuses what the first one counted.
"""

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
REDIS_DB = 14  # this test's own Redis database, emptied before it runs
API_LIMIT = 10
PASSWORD = "correct-horse-battery"
SETUP = f"""
from integrations import services
from orgs.models import Membership, Organization, User
org = Organization.objects.create(name="Acme", slug="acme", plan="enterprise")
user = User.objects.create_user(email="owner@acme.test", password="{PASSWORD}")
Membership.objects.create(organization=org, user=user, role="owner")
_, secret = services.api_token_create(organization=org, name="t", created_by=user,
                                      expires_in_days=None)
print(secret)
"""
COUNT_EVENTS = """
from auditlogs.models import AuditEvent
print(",".join(AuditEvent.objects.filter(action__startswith="user.login")
                         .order_by("sequence").values_list("action", flat=True)))
"""


def _redis_or_skip():
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=2)
        client.flushdb()
    except Exception as error:  # noqa: BLE001 - any failure means no Redis to test with
        if os.environ.get("CI"):
            pytest.fail(f"Redis at 127.0.0.1:6379 is needed in CI: {error}")
        pytest.skip(f"Redis at 127.0.0.1:6379 is not reachable: {error}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(tmp_path) -> tuple[str, callable]:
    """A database of the servers' own, beside the test database, and how to drop it."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'servers.sqlite3'}", lambda: None
    name = f"{connection.settings_dict['NAME']}_servers"
    params = connection.settings_dict
    base = f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


@pytest.fixture(scope="module")
def servers(tmp_path_factory, django_db_blocker):
    _redis_or_skip()
    tmp_path = tmp_path_factory.mktemp("servers")
    with django_db_blocker.unblock():
        database_url, drop = _database_url(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "DEBUG": "true",
        "AUDITLOG_API_RATE_LIMIT": str(API_LIMIT),
        "AUDITLOG_API_RATE_WINDOW": "86400",
        "SIGN_IN_WINDOW_SECONDS": "86400",
        "AUDITLOG_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    for name in ("DJANGO_SETTINGS_MODULE", "AUDITLOG_SIGNING_KEY_FILE", "TEST_DATABASE_NAME"):
        env.pop(name, None)

    def manage(*args) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--no-input")
    secret = manage("shell", "-c", SETUP).strip().splitlines()[-1]
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                          f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            for _ in range(100):
                try:
                    requests.get(f"{url}/accounts/login/", timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
        yield urls, secret, lambda: manage("shell", "-c", COUNT_EVENTS).strip().splitlines()[-1]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        with django_db_blocker.unblock():
            drop()


def test_the_api_limit_holds_across_two_processes(servers):
    urls, secret, _ = servers
    statuses = [
        requests.get(f"{urls[n % 2]}/api/v1/orgs/acme/audit-events",
                     headers={"Authorization": f"Bearer {secret}"}, timeout=10).status_code
        for n in range(3 * API_LIMIT)
    ]
    assert statuses.count(200) == API_LIMIT, statuses
    assert statuses.count(429) == 2 * API_LIMIT


def test_thirty_wrong_passwords_across_two_processes_add_two_events(servers):
    urls, _, logged = servers
    sessions = [requests.Session() for _ in urls]
    for session, url in zip(sessions, urls, strict=True):
        session.get(f"{url}/accounts/login/", timeout=10)
    responses = []
    for n in range(30):
        session, url = sessions[n % 2], urls[n % 2]
        responses.append(session.post(
            f"{url}/accounts/login/",
            data={"username": "owner@acme.test", "password": f"guess-{n}",
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{url}/accounts/login/"}, timeout=10, allow_redirects=False,
        ))
    statuses = [response.status_code for response in responses]
    assert statuses == [200] * 5 + [429] * 25, statuses
    assert "Too many failed sign-ins" in responses[-1].text
    assert int(responses[-1].headers["Retry-After"]) > 0
    assert logged() == "user.login_failed,user.login_locked"
