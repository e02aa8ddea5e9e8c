"""What a person does on the pages, shared by the browser tests."""

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect


def open_audit_logs(page: Page) -> None:
    """Dashboard → Account → Settings → Audit Logs, by clicking."""
    page.locator("details.account-menu > summary").click()
    page.locator("details.account-menu").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit Logs").click()
    expect(page.get_by_role("heading", name="Audit Logs", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/settings/audit-logs/$"))


def rows(page: Page):
    return page.locator("#results div.event")


def row(page: Page, name: str):
    """The rows whose event name is exactly `name`."""
    return rows(page).filter(
        has=page.locator(".event-name", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    )


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def mark_document(page: Page) -> None:
    """A marker that survives HTMX swaps but not a full page load."""
    page.evaluate("window.__sameDocument = 'yes'")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__sameDocument") == "yes", "the page was fully reloaded"


def severity_box(page: Page, label: str):
    return page.locator("#filters fieldset.severity-filter").get_by_label(label, exact=True)


def choose_severity(page: Page, *labels: str) -> None:
    """Tick exactly these severities ("All" or none: untick every box), box by box as a person
    would; each click narrows or widens the list at once."""
    wanted = set(labels) - {"All"}
    for label in ("Info", "Warning", "Critical"):
        box = severity_box(page, label)
        if box.is_checked() != (label in wanted):
            box.click()
            expect(box).to_be_checked(checked=label in wanted)
