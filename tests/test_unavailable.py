"""The database out of reach is a branded 503 with Retry-After, never a generic 500: for pages
(HTML that needs no database), the API (JSON), and failures outside any view."""

from contextlib import ExitStack
from unittest.mock import patch

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory

from auditlogs.storage.backends import is_postgresql
from config.unavailable import server_error
from tests.helpers.clients import signed_in


@pytest.fixture
def database_down(personas):
    """Every new cursor fails the way a refused connection does; undone before the test's
    own transaction is rolled back."""

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: '
                               "Connection refused")

    with ExitStack() as patches:
        yield lambda: [
            patches.enter_context(patch.object(connection, name, refuse))
            for name in ("ensure_connection", "cursor")
        ]


@pytest.mark.parametrize(
    "path", ["/orgs/acme/", "/orgs/acme/settings/audit-logs/", "/orgs/acme/settings/members/"]
)
def test_pages_answer_a_branded_503_with_retry_after(owner, database_down, path):
    client = signed_in(owner)
    # Where the error comes from a middleware (the session read for two-factor), Django answers
    # through handler500; the test client would re-raise the exception instead of answering.
    client.raise_request_exception = False
    database_down()
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert "Audit Logs is briefly unavailable" in response.text
    assert 'class="brand"' in response.text and "/static/css/app.css" in response.text
    assert response["Cache-Control"] == "no-store"


def test_the_api_answers_json_503_with_retry_after(personas, database_down):
    database_down()
    response = signed_in(None).get(
        "/api/v1/orgs/acme/audit-events", headers={"Authorization": "Bearer alk_x"}
    )
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "briefly unavailable" in response.json()["detail"]


def handler500_answer(error: Exception):
    """What handler500 answers while `error` is being handled (a middleware met it)."""
    try:
        raise error
    except Exception:
        return server_error(RequestFactory().get("/orgs/acme/"))


def test_a_failure_outside_the_views_is_a_503_too():
    response = handler500_answer(OperationalError("server closed the connection unexpectedly"))
    assert response.status_code == 503 and response["Retry-After"] == "30"


@pytest.mark.skipif(is_postgresql(), reason="SQLite's writers wait on the whole database")
def test_sqlite_busy_past_its_timeout_is_a_busy_503():
    response = handler500_answer(OperationalError("database is locked"))
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert "Nothing was changed" in response.content.decode()


def test_other_errors_stay_a_500():
    assert handler500_answer(ValueError("a bug")).status_code == 500
