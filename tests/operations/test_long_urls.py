"""A URL up to about 8 KB reaches the app, whose filter form says what is wrong with a huge
value (README, "The Audit Logs page"), instead of gunicorn's bare 414 at its default 4 KB. The
limits are the ones `make serve` runs with: gunicorn started with config/gunicorn.py."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOG_PAGE = "/orgs/acme/settings/audit-logs/"
TESTERS_URL = f"{LOG_PAGE}?actor=" + "x" * 5000
LONGEST_LINE = 8190  # gunicorn's largest limit_request_line


def app(environ, start_response):
    """What gunicorn hands requests to here instead of the product, so that no database is
    needed (gunicorn imports this module, so it imports nothing of Django's at the top)."""
    body = environ.get("QUERY_STRING", "").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "HOST": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py",
         f"{__name__}:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def get(port: int, url: str, **headers) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", url, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_testers_url_reaches_the_app(gunicorn):
    assert get(gunicorn, TESTERS_URL) == 200


def test_a_url_as_long_as_a_request_line_may_be_reaches_the_app_and_htmx_may_name_it(gunicorn):
    """htmx sends the page's whole URL in HX-Current-URL when its filter form changes: without
    room for it, fixing a filter on such a page would fail with a 431 that nobody sees."""
    framing = len("GET  HTTP/1.1")
    url = f"{LOG_PAGE}?actor=" + "x" * (LONGEST_LINE - framing - len(LOG_PAGE) - len("?actor="))
    assert get(gunicorn, url) == 200
    page = f"https://{'h' * 63}.{'o' * 63}.{'s' * 63}.example.com{url}"
    assert get(gunicorn, "/?actor=", **{"HX-Current-URL": page}) == 200
    assert get(gunicorn, url + "x") == 414  # gunicorn's own answer beyond that


@pytest.mark.django_db
def test_the_log_page_says_what_is_wrong_with_a_huge_filter_value(admin, acme):
    from tests.helpers.clients import signed_in  # here: see `app`

    response = signed_in(admin).get(TESTERS_URL)
    assert response.status_code == 200
    assert "Ensure this value has at most 254 characters (it has 5000)." in response.text
    assert 'class="filter-errors"' in response.text
    assert list(response.context["rows"]) == []
