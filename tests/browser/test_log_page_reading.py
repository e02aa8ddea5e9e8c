"""The log page as a person reads it: the volume chart and its bars, new events announced while
the page is open, paging that keeps the reader's place, dates typed without a request per digit,
Info as a real disclosure button, a skip link and a keyboard Account menu."""

import re

import pytest
from playwright.sync_api import expect

from auditlogs import record
from tests.browser.pages import assert_same_document, mark_document, query, row, rows
from tests.helpers.events import generate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN = "admin@acme.test"


def test_the_chart_counts_the_range_by_severity_and_a_bar_narrows_the_dates(
    page, open_log_as, timeline, console, screenshot
):
    open_log_as(page, ADMIN)
    chart = page.locator("figure.volume-chart")
    expect(chart.locator("figcaption")).to_contain_text("Events per day")
    bars = chart.locator("svg a.chart-bar")
    expect(bars.first).to_be_visible()
    # The critical deletion today is in a bar's accessible name, and in the table beside it.
    expect(chart.locator('a.chart-bar[aria-label*="1 Critical"]')).to_have_count(1)
    chart.get_by_text("Chart as a table").click()
    expect(chart.locator("table")).to_be_visible()
    expect(chart.locator("table tbody tr").first).to_be_visible()
    screenshot(page, "chart-desktop")

    page.locator("#filters select[name=range]").select_option(label="Last 30 days")
    old_bar = chart.locator(f'a.chart-bar[href*="start={timeline.old_day}"]')
    expect(old_bar).to_have_count(1)
    old_bar.click()

    expect(page).to_have_url(re.compile(rf"[?&]end={timeline.old_day}(&|$)"))
    assert query(page)["range"] == ["custom"]
    expect(page.locator("#filters input[name=start]")).to_have_value(timeline.old_day)
    expect(rows(page).locator(".event-name")).to_have_text([timeline.old_alpha])
    expect(page.locator("figure.volume-chart svg a.chart-bar")).to_have_count(1)
    assert console.errors() == [], console.messages


def test_a_new_event_is_announced_without_a_reload_while_the_page_is_visible(
    page, open_log_as, timeline, acme, settings, console
):
    settings.AUDITLOG_NEW_EVENTS_POLL_SECONDS = 1
    open_log_as(page, ADMIN)
    mark_document(page)
    announcement = page.locator("#new-events")
    expect(announcement).to_have_attribute("role", "status")

    # A hidden tab does not ask. (Events are recorded while it is hidden: the live server shares
    # the test's in-memory SQLite database, which one thread uses at a time.)
    visibility(page, "hidden")
    page.wait_for_timeout(1200)  # a check under way finishes
    record("organization.plan_changed", organization=acme, target=acme)
    page.wait_for_timeout(2500)
    expect(announcement.get_by_role("button")).to_have_count(0)

    # Visible again: it asks at once, and says how many arrived.
    visibility(page, "visible")
    expect(announcement.get_by_role("button", name="1 new event")).to_be_visible()
    visibility(page, "hidden")
    page.wait_for_timeout(1200)
    record("organization.plan_changed", organization=acme, target=acme)
    visibility(page, "visible")
    expect(announcement.get_by_role("button", name="2 new events")).to_be_visible()

    announcement.get_by_role("button", name="2 new events").click()
    expect(row(page, "Plan changed")).to_have_count(3)
    expect(page.locator("#new-events").get_by_role("button")).to_have_count(0)
    assert_same_document(page)
    assert console.errors() == [], console.messages
    visibility(page, "hidden")  # no check under way while the database is emptied
    page.wait_for_timeout(1200)


def visibility(page, state: str) -> None:
    """What the Page Visibility API reports, as when the tab is hidden or shown again."""
    page.evaluate(
        "state => { Object.defineProperty(document, 'visibilityState', "
        "{value: state, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        state,
    )


def test_older_and_newer_show_the_top_of_the_page_with_its_position_focused(
    page, open_log_as, acme, console
):
    generate(acme, 120, days=5)
    open_log_as(page, ADMIN)
    position = page.locator("#results-position")
    expect(position).to_have_text("Events 1–50")

    page.get_by_role("link", name="Older events").click()

    expect(position).to_have_text("Events 51–100")
    expect(position).to_be_focused()
    top = position.evaluate("el => el.getBoundingClientRect().top")
    assert -1 <= top < page.viewport_size["height"] / 2, top  # scrolled to it
    page.get_by_role("link", name="Older events").click()
    expect(position).to_have_text(re.compile(r"^Events 101–1\d\d$"))

    page.get_by_role("link", name="Newer events").click()
    expect(position).to_have_text("Events 51–100")
    expect(position).to_be_focused()
    page.get_by_role("link", name="Newer events").click()
    expect(position).to_have_text("Events 1–50")
    assert console.errors() == [], console.messages


def test_typing_a_date_sends_one_request_once_the_typing_pauses(page, open_log_as, timeline):
    open_log_as(page, ADMIN)
    sent = []
    page.on(
        "request",
        lambda r: sent.append(r.url) if r.headers.get("hx-request") and "start=" in r.url else None,
    )
    start = page.locator("#filters input[name=start]")
    start.focus()
    # The same digits for day and month, whichever order the browser's date field shows them:
    # each digit of the year changes the value (0002, 0020, 0202, 2026), once the field is whole.
    page.keyboard.type("11112026", delay=80)

    expect(page).to_have_url(re.compile(r"[?&]start=2026-11-11(&|$)"))
    page.wait_for_timeout(1000)
    assert len(sent) == 1, sent


def test_info_is_a_disclosure_button_named_for_its_row(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    buttons = page.locator("#results button.info-toggle")
    names = buttons.evaluate_all(
        "els => els.map(el => el.textContent.replace(/\\s+/g, ' ').trim())"
    )
    assert len(names) == len(set(names)) > 3, names
    assert all(name.startswith("Info about ") for name in names), names

    info = row(page, "Chatbot updated").get_by_role("button", name="Info")
    details = row(page, "Chatbot updated").locator(".event-details")
    info.focus()
    scrolled = page.evaluate("window.scrollY")
    page.keyboard.press(" ")
    expect(info).to_have_attribute("aria-expanded", "true")
    expect(details).to_contain_text(timeline.request_id)
    assert page.evaluate("window.scrollY") == scrolled  # Space opened it, it did not scroll
    page.keyboard.press("Enter")
    expect(info).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()
    assert console.errors() == [], console.messages


def test_a_skip_link_and_the_account_menu_work_from_the_keyboard(
    page, open_log_as, timeline, live_server
):
    open_log_as(page, ADMIN)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # The brand link is named by what it shows.
    expect(page.get_by_role("link", name="Acme", exact=True)).to_be_visible()
    page.locator("details.account-menu > summary").focus()
    page.keyboard.press("Enter")
    settings_link = page.get_by_role("navigation", name="Account").get_by_role(
        "link", name="Settings"
    )
    expect(settings_link).to_be_visible()
    page.keyboard.press("Escape")
    expect(settings_link).to_be_hidden()
    page.keyboard.press("Enter")
    while not page.evaluate("document.activeElement.textContent.trim() === 'Settings'"):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/orgs/acme/settings/")
