"""Fixtures for getting events out: tokens, a history of events, and a real webhook receiver."""

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.utils import timezone

from auditlogs import record
from auditlogs.recording.context import Actor, acting_as
from integrations import services, ssrf
from tests.helpers.events import as_stored


@pytest.fixture(autouse=True)
def _fresh_rate_limits(db):
    """Each test starts with no rate-limit counters. (The cache is a database table unless
    CACHE_URL names Redis; a streamed export may have closed the connection by teardown.)"""
    cache.clear()


@pytest.fixture
def history(alpha, beta, admin, acme):
    """A dozen events over the last days: org-level ones and ones of Alpha and Beta."""
    now = timezone.now()
    made = []
    plan = [
        (timedelta(days=20), "organization.updated", None),
        (timedelta(days=3), "project.created", alpha),
        (timedelta(days=3, minutes=-5), "project.created", beta),
        (timedelta(days=2), "chatbot.created", alpha),
        (timedelta(days=1), "member.role_changed", None),
        (timedelta(hours=20), "chatbot.deleted", alpha),
        (timedelta(hours=10), "project.updated", beta),
        (timedelta(hours=5), "project.deleted", beta),
        (timedelta(hours=2), "project.viewed", alpha),
        (timedelta(hours=1), "project.viewed", beta),
        (timedelta(minutes=30), "organization.plan_changed", None),
        (timedelta(minutes=5), "project.viewed", alpha),
    ]
    for ago, action, project in plan:
        with acting_as(Actor.for_user(admin), at=now - ago):
            made.append(
                record(action, organization=acme, project=project, target=project,
                       changes={"name": ["old", "new"]} if action.endswith("updated") else None,
                       metadata={"note": "ünïcode, \"quotes\", commas"})
            )
    return as_stored(made)


@pytest.fixture
def public_dns(monkeypatch):
    """Every host resolves to a public address (documentation range is not global, so use a
    real public one); tests of refusals patch their own answers."""
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.215.14"])


@dataclass
class IssuedToken:
    token: object
    secret: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}


@pytest.fixture
def acme_token(acme, owner) -> IssuedToken:
    token, secret = services.api_token_create(
        organization=acme, name="SIEM import", created_by=owner, expires_in_days=None
    )
    return IssuedToken(token, secret)


@dataclass
class Receiver:
    """A real HTTP/1.1 server on 127.0.0.1 (keep-alive) recording every request; it can be told
    to fail, or to answer slowly, on every path or on some."""

    server: ThreadingHTTPServer
    requests: list = field(default_factory=list)
    fail_next: int = 0
    status_when_failing: int = 503
    failing_paths: set = field(default_factory=set)
    slow_paths: dict = field(default_factory=dict)  # path -> seconds before each answer

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://127.0.0.1:{port}/hook"

    @property
    def delivered(self) -> list[dict]:
        """The events of the successful deliveries, in arrival order."""
        return self.accepted("events")

    def accepted(self, items_key: str) -> list[dict]:
        """The events or checkpoints of the successful deliveries, in arrival order."""
        return [
            item
            for request in self.requests
            if request["status"] == 200
            for item in json.loads(request["body"]).get(items_key, [])
        ]


@pytest.fixture
def receiver(settings):
    settings.AUDITLOG_WEBHOOK_ALLOW_LOOPBACK = True
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            me = state["receiver"]
            if delay := me.slow_paths.get(self.path):
                time.sleep(delay)
            status = 200
            if me.fail_next > 0:
                me.fail_next -= 1
                status = me.status_when_failing
            if self.path in me.failing_paths:
                status = me.status_when_failing
            me.requests.append({"headers": dict(self.headers), "body": body, "status": status,
                                "path": self.path, "client": self.client_address})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()
