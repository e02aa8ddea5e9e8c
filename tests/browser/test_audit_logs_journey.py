"""The Audit Logs page in a real browser, as the product document walks through it.

Signed in as an admin of Acme (Enterprise): Account → Settings → Audit Logs; the filters,
Refresh and Info work over HTMX without reloading the page, and every view is a URL.
"""

import re

import pytest
from playwright.sync_api import expect

from auditlogs import record
from projects import services as project_services
from tests.browser.pages import (
    assert_same_document,
    choose_severity,
    mark_document,
    open_audit_logs,
    query,
    row,
    rows,
    severity_box,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN = "admin@acme.test"


def test_admin_opens_audit_logs_from_the_dashboard(page, sign_in, timeline, console, live_server):
    sign_in(page, ADMIN)
    expect(page).to_have_url(f"{live_server.url}/orgs/acme/")

    open_audit_logs(page)

    expect(page.get_by_text("Times in Europe/Berlin")).to_be_visible()
    for label in ("Severity", "Project", "Date range"):
        expect(page.locator("#filters").get_by_text(label, exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Refresh")).to_be_visible()
    # Newest first.
    names = [n.strip() for n in rows(page).locator(".event-name").all_inner_texts()]
    assert names[:6] == [
        "Signed in", "Chatbot deleted", "Chatbot updated", "Plan changed", "Project viewed",
        timeline.yesterday_beta,  # 3 days ago
    ]
    expect(row(page, "Chatbot deleted").locator(".badge")).to_have_text("Critical")
    expect(row(page, "Plan changed").locator(".badge")).to_have_text("Warning")
    expect(row(page, "Project viewed").locator(".badge")).to_have_text("Info")
    expect(row(page, "Project viewed").locator(".event-project")).to_have_text("Beta")
    expect(row(page, "Plan changed").locator(".event-project")).to_have_count(0)
    # Each row names its exact UTC time in a <time datetime> element.
    expect(row(page, "Chatbot deleted").locator("time.event-time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
    )
    assert console.errors() == [], console.messages

    # The watch would see a violation of the strict CSP: an inline script is refused.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__inline = 1'; document.head.append(s); }"
        )
    assert page.evaluate("window.__inline") is None
    assert console.csp_violations(), console.messages


def test_the_first_visit_shows_the_last_7_days_it_names(page, open_log_as, timeline):
    """Regression: an unbound FilterSet on a plain visit used to show all time under a
    Date range select that said "Last 7 days"."""
    open_log_as(page, ADMIN)
    expect(page.locator("#filters select[name=range] option:checked")).to_have_text(
        "Last 7 days"
    )
    expect(row(page, timeline.yesterday_beta)).to_have_count(1)  # 3 days ago
    expect(row(page, timeline.old_alpha)).to_have_count(0)  # 20 days ago


def test_filter_by_critical_swaps_results_and_pushes_the_url(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    expect(row(page, "Plan changed")).to_have_count(1)
    mark_document(page)

    choose_severity(page, "Critical")

    expect(page).to_have_url(re.compile(r"[?&]severity=critical(&|$)"))
    expect(row(page, "Plan changed")).to_have_count(0)
    expect(rows(page)).to_have_count(1)
    expect(row(page, "Chatbot deleted").locator(".badge")).to_have_text("Critical")
    expect(rows(page).locator(".badge")).to_have_text(["Critical"])
    assert_same_document(page)

    # The pushed URL is a shareable view: opening it renders the same filtered list.
    page.reload()
    expect(severity_box(page, "Critical")).to_be_checked()
    expect(rows(page)).to_have_count(1)
    expect(row(page, "Chatbot deleted")).to_have_count(1)

    # Back to All.
    choose_severity(page, "All")
    expect(row(page, "Plan changed")).to_have_count(1)
    assert console.errors() == [], console.messages


def test_filter_by_project(page, open_log_as, timeline, alpha, console):
    open_log_as(page, ADMIN)
    project = page.locator("#filters select[name=project]")
    expect(project.locator("option")).to_have_text(["All projects", "Alpha", "Beta"])
    mark_document(page)

    project.select_option(label="Alpha")

    expect(page).to_have_url(re.compile(rf"[?&]project={alpha.pk}(&|$)"))
    expect(row(page, "Project viewed")).to_have_count(0)  # Beta's
    expect(row(page, "Plan changed")).to_have_count(0)  # organization-level
    expect(row(page, "Chatbot updated")).to_have_count(1)
    expect(rows(page).locator(".event-project")).to_have_text(["Alpha", "Alpha"])
    assert_same_document(page)

    project.select_option(label="All projects")
    expect(row(page, "Project viewed")).to_have_count(1)
    assert console.errors() == [], console.messages


def test_custom_date_range_and_presets(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    date_range = page.locator("#filters select[name=range]")
    expect(date_range).to_have_value("7d")
    expect(row(page, timeline.yesterday_beta)).to_have_count(1)  # 3 days ago
    mark_document(page)

    # A custom window of the day 20 days ago holds only the event of that day.
    page.locator("#filters input[name=start]").fill(timeline.old_day)
    page.locator("#filters input[name=end]").fill(timeline.old_day)

    expect(date_range).to_have_value("custom")
    expect(page).to_have_url(re.compile(rf"[?&]end={timeline.old_day}(&|$)"))
    assert query(page)["start"] == [timeline.old_day]
    expect(rows(page).locator(".event-name")).to_have_text([timeline.old_alpha])
    assert_same_document(page)

    # A preset clears the custom dates.
    date_range.select_option(label="Last 30 days")
    expect(page).to_have_url(re.compile(r"[?&]range=30d(&|$)"))
    expect(page.locator("#filters input[name=start]")).to_have_value("")
    expect(page.locator("#filters input[name=end]")).to_have_value("")
    expect(row(page, timeline.old_alpha)).to_have_count(1)
    expect(row(page, timeline.yesterday_beta)).to_have_count(1)
    expect(row(page, "Chatbot deleted")).to_have_count(1)

    date_range.select_option(label="Last 24 hours")
    expect(page).to_have_url(re.compile(r"[?&]range=24h(&|$)"))
    expect(row(page, timeline.old_alpha)).to_have_count(0)
    expect(row(page, timeline.yesterday_beta)).to_have_count(0)
    expect(row(page, "Chatbot deleted")).to_have_count(1)

    # An end before the start is explained next to the filters, with no rows.
    page.locator("#filters input[name=start]").fill("2026-02-10")
    page.locator("#filters input[name=end]").fill("2026-02-01")
    expect(page.locator("#results .filter-errors")).to_contain_text(
        "The end of the date range must be after its start."
    )
    expect(rows(page)).to_have_count(0)
    assert_same_document(page)
    assert console.errors() == [], console.messages


def test_refresh_shows_an_event_recorded_after_the_page_loaded(
    page, open_log_as, timeline, acme, member, console
):
    open_log_as(page, ADMIN)
    choose_severity(page, "Warning")
    expect(page).to_have_url(re.compile(r"severity=warning"))
    expect(row(page, "Member role changed")).to_have_count(0)
    updated = page.locator("#results .updated time").get_attribute("datetime")
    mark_document(page)

    record(
        "member.role_changed",
        organization=acme,
        target=member,
        changes={"role": ["member", "admin"]},
    )
    expect(row(page, "Member role changed")).to_have_count(0)  # nothing polls behind our back
    page.get_by_role("button", name="Refresh").click()

    expect(row(page, "Member role changed")).to_have_count(1)
    expect(rows(page).first.locator(".event-name")).to_have_text("Member role changed")
    expect(row(page, "Member role changed").locator(".badge")).to_have_text("Warning")
    expect(row(page, "Chatbot deleted")).to_have_count(0)  # the Warning filter still applies
    expect(page.locator("#results .updated time")).not_to_have_attribute("datetime", updated)
    assert_same_document(page)
    assert console.errors() == [], console.messages


def test_info_expands_details_in_place_and_collapses_on_a_second_click(
    page, open_log_as, timeline, console, screenshot
):
    open_log_as(page, ADMIN)
    mark_document(page)
    event = row(page, "Chatbot updated")
    info = event.get_by_role("button", name="Info")
    details = event.locator(".event-details")
    expect(info).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()

    info.click()

    expect(info).to_have_attribute("aria-expanded", "true")
    expect(details).to_be_visible()
    facts = details.locator("dl.facts")
    expect(facts).to_contain_text("admin@acme.test")
    expect(facts).to_contain_text("(User)")
    expect(facts).to_contain_text(timeline.ip)
    expect(facts).to_contain_text("Firefox/140.0")
    expect(facts).to_contain_text(timeline.request_id)
    changes = details.locator("table.changes")
    expect(changes.locator("thead th")).to_have_text(["Field", "Before", "After"])
    name_change = changes.locator("tbody tr", has=page.locator("th", has_text="name"))
    expect(name_change.locator("td")).to_have_text(["Helper", "Helper 2"])
    expect(details).not_to_contain_text("sk-new-secret-456")  # secrets are masked
    expect(details).not_to_contain_text("sk-secret-123")
    assert_same_document(page)
    expect(page).to_have_url(re.compile(r"/settings/audit-logs/$"))  # Info does not navigate
    shot = screenshot(page, "audit-logs-info-expanded")
    assert shot.stat().st_size > 10_000

    info.click()

    expect(info).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()

    # And it opens again.
    info.click()
    expect(info).to_have_attribute("aria-expanded", "true")
    expect(details.locator("dl.facts")).to_contain_text(timeline.request_id)
    assert_same_document(page)
    assert console.errors() == [], console.messages


def test_info_still_toggles_after_the_results_were_swapped(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    choose_severity(page, "Critical")
    expect(rows(page)).to_have_count(1)
    info = row(page, "Chatbot deleted").get_by_role("button", name="Info")
    details = row(page, "Chatbot deleted").locator(".event-details")

    info.click()
    expect(info).to_have_attribute("aria-expanded", "true")
    expect(details).to_contain_text(timeline.request_id)
    info.click()
    expect(info).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()
    assert console.errors() == [], console.messages


def test_a_deleted_projects_events_read_its_name_marked_deleted(
    page, open_log_as, timeline, beta, console
):
    project_services.project_delete(project=beta)
    open_log_as(page, ADMIN)

    viewed = row(page, "Project viewed")
    expect(viewed.locator(".event-project")).to_have_text("Beta (deleted)")
    deleted = row(page, "Project deleted")
    expect(deleted.locator(".badge")).to_have_text("Critical")
    expect(deleted.locator(".event-sentence")).to_contain_text("deleted project Beta (deleted)")
    # Alpha still exists; its name narrows the list to it.
    expect(row(page, "Chatbot updated").locator(".event-project a")).to_have_text("Alpha")
    # The deleted project stays a filter choice for an admin, apart from the live ones.
    expect(page.locator("#filters select[name=project] option")).to_have_text(
        ["All projects", "Alpha", "Beta (deleted)"]
    )
    page.locator("#filters select[name=project]").select_option(label="Beta (deleted)")
    expect(rows(page).locator(".event-name")).to_have_text(["Project deleted", "Project viewed",
                                                           "Project updated"])
    assert console.errors() == [], console.messages


def test_back_button_restores_the_previous_view_of_the_log(page, open_log_as, timeline, console):
    open_log_as(page, ADMIN)
    choose_severity(page, "Critical")
    expect(page).to_have_url(re.compile(r"severity=critical"))
    page.locator("#filters select[name=project]").select_option(label="Beta")
    expect(page).to_have_url(re.compile(r"project="))
    expect(page.locator("#results .empty")).to_contain_text("No events match these filters.")

    page.go_back()

    expect(page).to_have_url(re.compile(r"severity=critical"))
    expect(page).not_to_have_url(re.compile(r"project=\d"))
    # The whole page is back, not only the list: header, sidebar, filters and the rows.
    expect(page.get_by_role("button", name="Account")).to_have_count(0)  # it is a <summary>
    expect(page.locator("details.account-menu > summary")).to_be_visible()
    expect(page.get_by_role("navigation", name="Settings")).to_be_visible()
    expect(severity_box(page, "Critical")).to_be_checked()
    expect(page.locator("#filters select[name=project]")).to_have_value("")
    expect(rows(page).locator(".event-name")).to_have_text(["Chatbot deleted"])
    assert console.errors() == [], console.messages


def test_a_failed_request_is_reported_and_refresh_recovers(page, open_log_as, timeline):
    open_log_as(page, ADMIN)
    results = page.locator("#results")
    expect(row(page, "Plan changed")).to_have_count(1)

    def fail_htmx(route):
        headers = route.request.headers
        if headers.get("hx-target") == "results":
            route.fulfill(status=500, body="Server Error")  # the server fails
        elif headers.get("hx-request") == "true":
            route.abort("connectionrefused")  # the network fails
        else:
            route.continue_()

    page.route(re.compile(r"/settings/audit-logs/"), fail_htmx)
    choose_severity(page, "Critical")

    expect(results.get_by_role("alert")).to_contain_text("could not be loaded (error 500)")
    expect(results).to_have_attribute("aria-busy", "false")  # not dimmed forever
    info = row(page, "Plan changed").get_by_role("button", name="Info")
    info.click()
    expect(row(page, "Plan changed").get_by_role("alert")).to_have_text(
        "The details of this event could not be loaded. Check your connection and try again."
    )
    expect(info).to_have_attribute("aria-expanded", "true")
    info.click()  # and closes again
    expect(info).to_have_attribute("aria-expanded", "false")
    expect(row(page, "Plan changed").get_by_role("alert")).to_have_count(0)

    page.unroute(re.compile(r"/settings/audit-logs/"))
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page).locator(".event-name")).to_have_text(["Chatbot deleted"])
    expect(results.get_by_role("alert")).to_have_count(0)
    expect(results).to_have_attribute("aria-busy", "false")


def test_the_sidebar_marks_audit_logs_as_the_current_page(page, open_log_as, timeline):
    open_log_as(page, ADMIN)
    current = page.get_by_role("navigation", name="Settings").locator("[aria-current=page]")
    expect(current).to_have_text("Audit Logs", timeout=1000)


def test_severity_badges_sit_on_one_line(page, open_log_as, timeline):
    """Regression: "● CRITICAL" was wider than its column and wrapped onto two lines."""
    open_log_as(page, ADMIN)
    info = row(page, "Project viewed").locator(".badge").bounding_box()
    critical = row(page, "Chatbot deleted").locator(".badge").bounding_box()
    assert critical["height"] <= info["height"] + 1, (info, critical)
