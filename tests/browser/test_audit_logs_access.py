"""Who sees what on the Audit Logs page, in a real browser: a member, a free-plan owner, and
support staff whose access then shows up in the organization's own log."""

import re

import pytest
from playwright.sync_api import expect

from auditlogs.models import AuditEvent
from tests.browser.pages import open_audit_logs, row, rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_sees_only_their_projects_events(page, sign_in, timeline, beta, acme, console,
                                                   live_server):
    sign_in(page, "member@acme.test")
    open_audit_logs(page)

    scope_note = "You see the events of the projects you are assigned to."
    expect(page.get_by_text(scope_note)).to_be_visible()
    expect(row(page, "Chatbot deleted")).to_have_count(1)
    expect(row(page, "Chatbot updated")).to_have_count(1)
    expect(row(page, "Project viewed")).to_have_count(0)  # Beta's
    expect(row(page, "Plan changed")).to_have_count(0)  # organization-level
    expect(row(page, "Signed in")).to_have_count(0)  # organization-level
    for project in rows(page).locator(".event-project").all():
        expect(project).to_have_text("Alpha")
    project_filter = page.locator("#filters select[name=project] option")
    expect(project_filter).to_have_text(["All projects", "Alpha"])
    assert console.errors() == [], console.messages

    # Guessing Beta's id in the URL shows a message and no rows, never Beta's events.
    page.goto(f"{page.url}?project={beta.pk}")
    expect(page.locator("#results .filter-errors")).to_contain_text("Project")
    expect(rows(page)).to_have_count(0)
    # And Beta's event details are not found.
    beta_event = AuditEvent.objects.get(organization=acme, action="project.viewed")
    response = page.goto(f"{live_server.url}/orgs/acme/settings/audit-logs/events/{beta_event.pk}/")
    assert response.status == 404


def test_a_free_plan_owner_sees_the_enterprise_page(page, sign_in, personas, console):
    sign_in(page, "owner@globex.test")
    open_audit_logs(page)

    expect(page.get_by_role("heading", name="Enterprise feature")).to_be_visible()
    enterprise_only = "Audit Logs are available on the Enterprise plan only."
    expect(page.get_by_text(enterprise_only)).to_be_visible()
    expect(page.locator("#filters")).to_have_count(0)
    expect(page.locator("#results")).to_have_count(0)
    expect(page.locator("#results div.event")).to_have_count(0)
    # The owner can act on it.
    expect(page.get_by_role("link", name="Change plan")).to_be_visible()
    assert console.errors() == [], console.messages


def test_support_access_is_recorded_and_the_admin_sees_who_looked_and_why(
    browser, browser_context_args, page, sign_in, personas, console
):
    reason = "Ticket 4711: customer reports a missing chatbot"
    sign_in(page, "support@auditlogs.test", landing="You are not in an organization yet")
    page.locator("details.account-menu > summary").click()
    account = page.get_by_role("navigation", name="Account")
    account.get_by_role("link", name="Support access").click()
    expect(page.get_by_role("heading", name="Support access")).to_be_visible()
    page.get_by_label("Organization").select_option(label="Acme")
    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name="Open Audit Logs").click()

    expect(page).to_have_url(re.compile(r"/orgs/acme/settings/audit-logs/$"))
    banner = page.get_by_role("note")
    expect(banner).to_contain_text("Support access")
    expect(banner).to_contain_text(reason)
    assert console.errors() == [], console.messages

    # The admin, in a browser of their own, sees who looked and why.
    context = browser.new_context(**browser_context_args)
    try:
        admin_page = context.new_page()
        sign_in(admin_page, "admin@acme.test")
        open_audit_logs(admin_page)
        granted = row(admin_page, "Support access granted")
        expect(granted).to_have_count(1)
        expect(granted.locator(".badge")).to_have_text("Warning")
        expect(granted.locator(".event-actor")).to_have_text("support@auditlogs.test")
        granted.get_by_role("button", name="Info").click()
        details = granted.locator(".event-details")
        expect(details).to_contain_text("(Support staff)")
        expect(details.locator("table.metadata")).to_contain_text(reason)
    finally:
        context.close()
