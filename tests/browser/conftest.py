"""Real-browser tests: Playwright drives Debian's Chromium against Django's live server.

Chromium is expected at /usr/bin/chromium (`.ci/run` installs it from Debian). Where it is
missing the browser tests skip with a clear reason, unless REQUIRE_BROWSER=1 is set (CI sets
it): then they fail loudly, so a CI run can never pass without having driven a browser.
"""

import os
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from auditlogs.recording.context import Actor, AuditContext, using_context
from auditlogs.recording.recorder import append, build_event, record
from orgs.models import User
from projects import services as project_services
from tests.helpers.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WAIT_MS = 5_000


def _require_chromium() -> None:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return
    reason = (
        f"Chromium is not installed at {CHROMIUM}; install Debian's `chromium` package "
        "(`.ci/run` does) to run the real-browser tests."
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _django_allows_orm_beside_playwright():
    """Playwright's sync API runs an asyncio event loop in the test thread; Django refuses ORM
    calls from such a thread unless told it is safe (it is: the tests' ORM calls are plain
    synchronous code between browser steps). Set only once a browser test runs, and for the
    rest of the session, which Playwright's loop outlives."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _require_chromium()
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 900},
        "locale": "en-GB",
        "timezone_id": "Europe/Berlin",
    }


@pytest.fixture(autouse=True)
def _short_waits(page: Page):
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(10_000)
    expect.set_options(timeout=WAIT_MS)


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of a page, e.g. a CSP violation."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on(
            "console",
            lambda msg: self.messages.append(f"console.{msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))

    def errors(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("console.error", "pageerror"))]

    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m]


@pytest.fixture
def console(page: Page) -> ConsoleLog:
    log = ConsoleLog()
    log.watch(page)
    return log


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(live_server):
    """Sign in through the form, as a person would, and land on the dashboard."""

    def go(page: Page, email: str, password: str = PASSWORD, landing: str = "Projects") -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name=landing)).to_be_visible()

    return go


@pytest.fixture
def open_log_as(live_server):
    """A shortcut for tests about the page itself: a session cookie instead of the sign-in
    form, and the Audit Logs URL instead of the menus (the journey tests click through)."""

    def go(page: Page, email: str, org_slug: str = "acme") -> None:
        client = Client()
        client.force_login(User.objects.get(email=email))
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/orgs/{org_slug}/settings/audit-logs/")
        expect(page.get_by_role("heading", name="Audit Logs", exact=True)).to_be_visible()

    return go


@dataclass
class Timeline:
    """Known events in Acme's log, by the name shown in their row."""

    critical_alpha: str = "Chatbot deleted"  # critical, project Alpha, from the admin's request
    changed_alpha: str = "Chatbot updated"  # info, Alpha, with a changes table
    viewed_beta: str = "Project viewed"  # info, Beta
    org_level: str = "Plan changed"  # warning, organization-level
    old_alpha: str = "Project created"  # info, Alpha, 20 days ago
    yesterday_beta: str = "Project updated"  # info, Beta, 3 days ago
    request_id: str = "req-7f3c9a01"
    ip: str = "203.0.113.9"
    user_agent: str = "Mozilla/5.0 Firefox/140.0"
    old_day: str = ""  # the local date (YYYY-MM-DD) of the old event


@pytest.fixture
def timeline(acme, alpha, beta, admin, bot) -> Timeline:
    """Events in Acme's log: recent ones of both projects and the organization, and older ones
    for the date filters. Recorded through the same code paths as the product's."""
    t = Timeline()
    now = timezone.now()
    old = now - timedelta(days=20)
    t.old_day = timezone.localtime(old, zoneinfo.ZoneInfo(acme.timezone)).date().isoformat()
    append(acme.pk, [
        build_event("project.created", organization=acme, project=alpha,
                    target=alpha, occurred_at=old),
        build_event("project.updated", organization=acme, project=beta,
                    target=beta, occurred_at=now - timedelta(days=3),
                    changes={"description": ["", "Beta things"]}),
    ])
    record("project.viewed", organization=acme, project=beta, target=beta)
    record("organization.plan_changed", organization=acme, target=acme,
           changes={"plan": ["free", "enterprise"]})
    request = AuditContext(actor=Actor.for_user(admin), ip=t.ip,
                           user_agent=t.user_agent, request_id=t.request_id)
    with using_context(request):
        project_services.chatbot_update(chatbot=bot, name="Helper 2",
                                        api_key="sk-new-secret-456")
        project_services.chatbot_delete(chatbot=bot)
    return t

