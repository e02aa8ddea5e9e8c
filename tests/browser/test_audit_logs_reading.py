"""Reading the log in a real browser: sentences, click-to-filter, several severities, the query
language and its help, saved views in the sidebar, Info's related events and raw JSON, the
Local/UTC switch; with screenshots at 1440 and 390 px wide (/tmp/ui-reading-*.png)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import choose_severity, query, row, rows, severity_box

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN = "admin@acme.test"


def shoot(page, name: str) -> None:
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"/tmp/ui-reading-{name}-{width}.png", full_page=width == 1440)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_rows_read_as_sentences_and_click_to_filter(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    deleted = row(page, "Chatbot deleted")
    expect(deleted.locator(".event-sentence")).to_have_text(
        "admin@acme.test deleted chatbot “Helper 2” in Alpha")
    time = deleted.locator("time.event-time")
    expect(time).to_have_text(re.compile(r"just now|\d+ min ago"))
    expect(time).to_have_attribute("title", re.compile(r"\d\d:\d\d:\d\d CET|CEST"))
    shoot(page, "log")

    deleted.locator(".event-actor").click()  # the actor narrows the list
    expect(page).to_have_url(re.compile(r"actor=admin%40acme.test"))
    expect(page.locator("#filters input[name=actor]")).to_have_value(ADMIN)
    expect(row(page, "Project viewed")).to_have_count(0)  # the system's
    assert set(rows(page).locator(".event-actor").all_inner_texts()) == {ADMIN}

    row(page, "Chatbot updated").locator(".event-name").click()  # then the event type
    assert query(page)["action"] == ["chatbot.updated"] and query(page)["actor"] == [ADMIN]
    expect(rows(page)).to_have_count(1)

    page.goto(page.url.split("?")[0])
    row(page, "Project viewed").locator(".event-project a").click()  # a project
    expect(page.locator("#filters select[name=project] option:checked")).to_have_text("Beta")
    page.goto(page.url.split("?")[0])
    row(page, "Chatbot updated").locator(".event-target").click()  # and what was acted on
    assert query(page)["q"] == ['target:"Helper 2"']
    expect(page.locator("#filters input[name=q]")).to_have_value('target:"Helper 2"')
    expect(rows(page).locator(".event-name")).to_have_text(["Chatbot deleted", "Chatbot updated"])
    assert console.errors() == [], console.messages


def test_several_severities_hide_views_and_partial_actor(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    choose_severity(page, "Warning", "Critical")
    expect(page).to_have_url(re.compile(r"severity=warning&severity=critical|"
                                        r"severity=critical&severity=warning"))
    expect(rows(page).locator(".badge")).to_have_text(["Critical", "Warning"])
    page.reload()
    expect(severity_box(page, "Warning")).to_be_checked()
    expect(severity_box(page, "Info")).not_to_be_checked()

    choose_severity(page, "All")
    page.locator("#filters").get_by_label("Hide views").check()
    expect(row(page, "Project viewed")).to_have_count(0)
    expect(row(page, "Chatbot deleted")).to_have_count(1)

    actor = page.locator("#filters input[name=actor]")
    expect(page.locator("#recent-actors option[value='admin@acme.test']")).to_have_count(1)
    actor.fill("ADMIN@")
    actor.press("Enter")
    expect(page).to_have_url(re.compile(r"actor=ADMIN%40"))
    expect(row(page, "Plan changed")).to_have_count(0)  # the system's
    assert set(rows(page).locator(".event-actor").all_inner_texts()) == {ADMIN}
    assert console.errors() == [], console.messages


def test_the_query_language_and_its_help(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    help_box = page.locator("details.query-help")
    help_box.locator("summary").click()
    expect(help_box).to_contain_text("severity:>=warning")
    shoot(page, "query-help")
    help_box.locator("summary").click()

    search = page.locator("#filters input[name=q]")
    search.fill('action:chatbot.* -action:chatbot.updated severity:>=warning project:"Alpha"')
    search.press("Enter")
    expect(rows(page).locator(".event-name")).to_have_text(["Chatbot deleted"])

    search.fill("colour:red")
    search.press("Enter")
    expect(page.locator("#q-error")).to_contain_text("“colour:” is not a filter")
    expect(page.locator("#results .filter-errors")).to_contain_text("Search:")
    expect(rows(page)).to_have_count(0)
    shoot(page, "query-error")
    search.fill("severity:critical")
    search.press("Enter")
    expect(page.locator("#q-error")).to_be_hidden()
    expect(rows(page)).to_have_count(1)
    assert console.errors() == [], console.messages


def test_saved_views_appear_in_the_sidebar(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    choose_severity(page, "Critical")
    expect(rows(page).locator(".badge")).to_have_text(["Critical"])  # the list swapped in
    page.locator("details.save-view > summary").click()
    page.get_by_label("Name of this view").fill("Critical only")
    page.get_by_label("Share with the organization").check()
    page.get_by_role("button", name="Save view").click()

    sidebar = page.get_by_role("navigation", name="Settings")
    link = sidebar.get_by_role("link", name=re.compile("Critical only"))
    expect(link).to_contain_text("(shared)")
    page.goto(page.url.split("?")[0])
    link.click()
    expect(severity_box(page, "Critical")).to_be_checked()
    expect(rows(page).locator(".badge")).to_have_text(["Critical"])
    expect(row(page, "View saved")).to_have_count(0)  # filtered out: Info
    choose_severity(page, "All")
    expect(row(page, "View shared").locator(".event-sentence")).to_have_text(
        "admin@acme.test shared the view “Critical only” with the organization")
    assert console.errors() == [], console.messages


def test_info_shows_related_events_changes_and_the_raw_event(
    page, open_log_as, timeline, console
):
    open_log_as(page, ADMIN)
    info = row(page, "Chatbot deleted").get_by_role("button", name="Info")
    info.click()
    details = row(page, "Chatbot deleted").locator(".event-details")
    related = details.locator(".related-events li", has_text="same request")
    expect(related).to_have_count(1)
    expect(related).to_contain_text("Chatbot updated")
    expect(details).to_contain_text("Firefox 140")
    expect(details.get_by_role("link", name="Permalink")).to_have_attribute(
        "href", re.compile(r"/settings/audit-logs/events/\d+/$"))
    details.locator("details.raw-event > summary").click()
    expect(details.locator("pre.raw-json")).to_contain_text('"action": "chatbot.deleted"')
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = details.locator("button.copy-button")  # its name changes once clicked
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert '"action": "chatbot.deleted"' in page.evaluate("navigator.clipboard.readText()")
    shoot(page, "info")

    page.goto(details.get_by_role("link", name="Permalink").get_attribute("href"))
    page.get_by_role("link", name="Chatbot updated").click()
    expect(page.locator("table.changes ins").first).to_be_visible()
    expect(page.locator("table.changes")).to_contain_text("Helper 2")
    assert console.errors() == [], console.messages


def test_the_utc_switch_is_remembered(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    expect(page.get_by_text("Times in Europe/Berlin")).to_be_visible()
    page.locator("form.times-switch").get_by_role("button", name="UTC").click()
    expect(page.get_by_text("Times in UTC")).to_be_visible()
    expect(row(page, "Chatbot deleted").locator("time.event-time")).to_have_attribute(
        "title", re.compile(r"UTC$"))
    page.goto(page.url)
    expect(page.locator("form.times-switch").get_by_role("button", name="UTC")).to_have_attribute(
        "aria-pressed", "true")
    page.locator("form.times-switch").get_by_role("button", name="Local").click()
    expect(page.get_by_text("Times in Europe/Berlin")).to_be_visible()

    # Filters change the address in place; the switch comes back to the filtered page.
    choose_severity(page, "Critical")
    expect(page).to_have_url(re.compile(r"severity=critical"))
    page.locator("form.times-switch").get_by_role("button", name="UTC").click()
    expect(page.get_by_text("Times in UTC")).to_be_visible()
    expect(page).to_have_url(re.compile(r"severity=critical"))
    expect(rows(page).locator(".badge")).to_have_text(["Critical"])
    assert console.errors() == [], console.messages
