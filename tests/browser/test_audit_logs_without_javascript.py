"""With JavaScript off the page still works: the filters are a plain GET form and Info is a
link to a page with the same details."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import choose_severity, open_audit_logs, query, row, rows, severity_box

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_js_page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(5_000)
    yield page
    context.close()


def test_filters_submit_as_a_form_and_info_is_a_link(no_js_page, sign_in, timeline, screenshot):
    page = no_js_page
    sign_in(page, "admin@acme.test")
    open_audit_logs(page)
    assert page.evaluate("1 + 1") == 2  # Playwright still evaluates; the page's scripts do not
    expect(row(page, "Plan changed")).to_have_count(1)

    choose_severity(page, "Critical")
    expect(row(page, "Plan changed")).to_have_count(1)  # nothing happens until submitted
    with page.expect_navigation():
        page.get_by_role("button", name="Refresh").click()

    assert query(page)["severity"] == ["critical"]
    expect(severity_box(page, "Critical")).to_be_checked()
    expect(rows(page).locator(".badge")).to_have_text(["Critical"])
    expect(row(page, "Chatbot deleted")).to_have_count(1)

    info = row(page, "Chatbot deleted").get_by_role("link", name="Info")
    with page.expect_navigation():
        info.click()

    expect(page).to_have_url(re.compile(r"/settings/audit-logs/events/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Chatbot deleted"))).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("admin@acme.test")
    expect(facts).to_contain_text(timeline.request_id)
    expect(facts).to_contain_text(timeline.ip)
    screenshot(page, "event-details-page-no-js")
    page.get_by_role("link", name="← Audit Logs").click()
    expect(page).to_have_url(re.compile(r"/settings/audit-logs/$"))
