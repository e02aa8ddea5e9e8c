"""Production mode in a real browser: gunicorn and whitenoise with DEBUG off, started by the
test as `make serve` starts them (bench/production.py), on a database of its own with the demo
data. The page is styled (its hashed, compressed stylesheet applies), Refresh and Info work."""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, expect

from bench.production import (
    ProductionServer,
    drop_postgresql_database,
    recreate_postgresql_database,
)
from tests.browser.pages import assert_same_document, mark_document, open_audit_logs, rows

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "auditlogs-demo"


def own_database_url(workdir) -> str:
    """PostgreSQL when the suite runs on it (a database named after the test database),
    else an SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{workdir}/production.sqlite3"
    parts = urlsplit(url)
    name = os.environ.get("TEST_DATABASE_NAME") or f"test_{parts.path.lstrip('/')}"
    return urlunsplit(parts._replace(path=f"/{name}_serve"))


@pytest.fixture(scope="module")
def production():
    server = ProductionServer(database_url="")
    server.database_url = own_database_url(server.workdir)
    if server.database_url.startswith("postgres"):
        recreate_postgresql_database(server.database_url)
    try:
        server.prepare(seed=True)
        server.start()
        yield server
    finally:
        server.stop()
        if server.database_url.startswith("postgres"):
            drop_postgresql_database(server.database_url)


def sign_in(page, url, email):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def test_the_styled_page_with_refresh_and_info(page, browser: Browser, production, console):
    sign_in(page, production.url, "admin@acme.test")
    open_audit_logs(page)

    # Styled: the stylesheet's colours and spacing apply.
    assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == (
        "rgb(246, 247, 251)"
    )
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    expect(rows(page).first.locator(".badge")).to_have_css("border-radius", re.compile(r"^\d+px"))
    # ... from a hashed name, compressed, cached for a year or more.
    hrefs = page.locator("link[rel=stylesheet]").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    assert [re.sub(r"\.[0-9a-f]{12}\.css$", ".css", href) for href in hrefs] == [
        "/static/css/app.css", "/static/css/reading.css"], hrefs
    for href in hrefs:
        stylesheet = page.request.get(production.url + href, headers={"Accept-Encoding": "gzip"})
        assert stylesheet.ok and stylesheet.headers["content-encoding"] == "gzip"
        max_age = int(re.search(r"max-age=(\d+)", stylesheet.headers["cache-control"]).group(1))
        assert max_age >= 365 * 24 * 3600

    # Refresh: someone signs in elsewhere; the page shows it only when asked to.
    mark_document(page)
    newest = rows(page).first.get_attribute("id")
    elsewhere = browser.new_context()
    sign_in(elsewhere.new_page(), production.url, "owner@acme.test")
    elsewhere.close()
    expect(rows(page).first).to_have_attribute("id", newest)
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page).first).not_to_have_attribute("id", newest)
    top = rows(page).first
    expect(top.locator(".event-name")).to_have_text("Signed in")
    expect(top.locator(".event-actor")).to_have_text("owner@acme.test")

    # Info opens the details in place.
    info = top.get_by_role("button", name="Info")
    info.click()
    expect(info).to_have_attribute("aria-expanded", "true")
    expect(top.locator(".event-details dl.facts")).to_contain_text("owner@acme.test")
    assert_same_document(page)  # htmx, from its hashed static file, swapped both in place
    assert console.errors() == [], console.messages

    health = page.request.get(f"{production.url}/healthz")
    assert health.ok and health.json() == {"status": "ok"}


def test_the_web_process_holds_the_public_key_only(production):
    """The Procfile's web server verifies with the public key; only the worker may sign."""
    web = production.processes[0]  # the first spawned: web1 (`sh -c … exec gunicorn`)
    raw = Path(f"/proc/{web.pid}/environ").read_bytes().decode()
    environ = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
    assert "AUDITLOG_SIGNING_KEY" not in environ
    assert "AUDITLOG_SIGNING_KEY_FILE" not in environ
    assert len(environ["AUDITLOG_PUBLIC_KEY"]) == 44  # base64 of the 32-byte Ed25519 key
