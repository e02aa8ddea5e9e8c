"""JSON log lines carry the request id (the one stored on the events recorded), the
organization and the actor, for requests and for the worker's jobs alike."""

import io
import json
import logging

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from auditlogs import record
from auditlogs.models import AuditEvent
from operations import jobs, logs
from tests.helpers.clients import signed_in


@pytest.fixture
def log_lines():
    """The lines the configured JSON handler writes, parsed, as they are written."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestContextFilter())
    options = dict(settings.LOGGING["formatters"]["json"])
    handler.setFormatter(import_string(options.pop("()"))(**options))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.setLevel(previous)
    root.removeHandler(handler)


def test_a_requests_log_line_shares_its_request_id_with_the_event_it_recorded(admin, log_lines):
    response = signed_in(admin).get("/orgs/acme/settings/audit-logs/")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="audit_log.viewed")
    (line,) = [line for line in log_lines() if line["logger"] == "auditlogs.requests"]
    assert line["request_id"] == event.request_id == response["X-Request-ID"]
    assert len(line["request_id"]) == 32
    assert line["organization"] == "acme"
    assert line["actor"] == "user:admin@acme.test"
    assert (line["method"], line["path"], line["status"], line["view"]) == (
        "GET", "/orgs/acme/settings/audit-logs/", 200, "audit_log"
    )
    assert line["level"] == "INFO" and line["duration_ms"] > 0 and "time" in line


def test_an_anonymous_request_names_no_actor_and_gets_a_fresh_id(db, client, log_lines):
    response = client.get("/accounts/login/")
    (line,) = [line for line in log_lines() if line["logger"] == "auditlogs.requests"]
    assert line["actor"] is None and line["organization"] is None
    assert line["request_id"] == response["X-Request-ID"] and len(line["request_id"]) == 32


def test_a_jobs_log_lines_share_its_request_id_with_the_events_it_recorded(
    acme, alpha, log_lines
):
    def work():
        with logs.about(acme.slug):
            logging.getLogger("auditlogs.jobs").warning("working on acme")
            record("project.viewed", organization=acme, project=alpha)
        return {}

    jobs.run("example-job", work)

    event = AuditEvent.objects.get(action="project.viewed")
    working, finished = [line for line in log_lines() if line["logger"] == "auditlogs.jobs"]
    assert working["request_id"] == finished["request_id"] == event.request_id
    assert working["organization"] == "acme" and finished["organization"] is None
    assert working["actor"] == finished["actor"] == "system:example-job"
    assert (event.actor_type, event.actor_label) == ("system", "example-job")
    assert finished["message"] == "Job example-job finished" and finished["job"] == "example-job"
