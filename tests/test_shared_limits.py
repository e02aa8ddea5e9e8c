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
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
REDIS_DB = 12  # keys under a prefix of each run's own (CACHE_KEY_PREFIX), removed after it
# (not 14: the earlier version of this test emptied database 14 at its start, under any run)
SERVER_START_SECONDS = 180  # a server start on a loaded 2-core machine can take long
REQUEST_SECONDS = 60
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


def _redis_or_skip(prefix: str):
    """A Redis client for cleaning this run's keys (prefix) afterwards. Other runs may share
    the Redis database at once (several checkouts on one machine): nothing is flushed."""
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5)
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means no Redis to test with
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis at 127.0.0.1:6379 is not reachable: {error}")
        pytest.skip(f"Redis at 127.0.0.1:6379 is not reachable: {error}")
    return lambda: [client.delete(key) for key in client.scan_iter(f"{prefix}:*")]


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


def _wait_until_serving(process, url: str, log: Path) -> None:
    """Until the server answers, however slow its start on a busy machine; a clear failure
    with its output if it exits or never answers."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server for {url} exited ({process.returncode}):\n"
                        f"{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/accounts/login/", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"the server for {url} did not answer within {SERVER_START_SECONDS} s:\n"
                f"{log.read_text()[-3000:]}")


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def servers(tmp_path_factory, django_db_blocker):
    prefix = f"shared-limits-{uuid.uuid4().hex}"
    forget_keys = _redis_or_skip(prefix)
    tmp_path = tmp_path_factory.mktemp("servers")
    with django_db_blocker.unblock():
        database_url, drop = _database_url(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CACHE_KEY_PREFIX": prefix,
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
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    processes = []
    try:
        manage("migrate", "--no-input")
        secret = manage("shell", "-c", SETUP).strip().splitlines()[-1]
        urls = []
        for port in (_free_port(), _free_port()):
            log = tmp_path / f"server-{port}.log"
            with log.open("w") as output:
                processes.append(subprocess.Popen(
                    [sys.executable, "manage.py", "runserver", "--noreload",
                     f"127.0.0.1:{port}"],
                    cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                ))
            urls.append(f"http://127.0.0.1:{port}")
            _wait_until_serving(processes[-1], urls[-1], log)
        yield urls, secret, lambda: manage("shell", "-c", COUNT_EVENTS).strip().splitlines()[-1]
    finally:
        for process in processes:
            _stop(process)
        forget_keys()
        with django_db_blocker.unblock():
            drop()


def test_the_api_limit_holds_across_two_processes(servers):
    urls, secret, _ = servers
    statuses = [
        requests.get(f"{urls[n % 2]}/api/v1/orgs/acme/audit-events",
                     headers={"Authorization": f"Bearer {secret}"},
                     timeout=REQUEST_SECONDS).status_code
        for n in range(3 * API_LIMIT)
    ]
    assert statuses.count(200) == API_LIMIT, statuses
    assert statuses.count(429) == 2 * API_LIMIT


def test_thirty_wrong_passwords_across_two_processes_add_two_events(servers):
    urls, _, logged = servers
    sessions = [requests.Session() for _ in urls]
    for session, url in zip(sessions, urls, strict=True):
        session.get(f"{url}/accounts/login/", timeout=REQUEST_SECONDS)
    responses = []
    for n in range(30):
        session, url = sessions[n % 2], urls[n % 2]
        responses.append(session.post(
            f"{url}/accounts/login/",
            data={"username": "owner@acme.test", "password": f"guess-{n}",
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{url}/accounts/login/"}, timeout=REQUEST_SECONDS,
            allow_redirects=False,
        ))
    statuses = [response.status_code for response in responses]
    assert statuses == [200] * 5 + [429] * 25, statuses
    assert "Too many failed sign-ins" in responses[-1].text
    assert int(responses[-1].headers["Retry-After"]) > 0
    assert logged() == "user.login_failed,user.login_locked"
