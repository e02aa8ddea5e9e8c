"""The Django admin in a real browser, as an operator (a superuser) uses it: under the same
Content-Security-Policy as the product, its widgets work without a console error (no blocked
inline style or script), and its pages carry the product's icon (no /favicon.ico 404)."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from tests.helpers.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_as_operator(page: Page, live_server):
    operator = UserFactory(email="ops@auditlogs.test", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    return operator


def assert_quiet(page: Page, console, where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert console.csp_violations() == [], f"{where}: {console.messages}"
    assert console.errors() == [], f"{where}: {console.messages}"


def test_an_organization_change_page_and_its_widgets_raise_no_console_error(
    page, live_server, acme, console
):
    signed_in_as_operator(page, live_server)
    page.goto(f"{live_server.url}/admin/orgs/organization/{acme.pk}/change/")
    expect(page.get_by_role("heading", name="Audit log chain")).to_be_visible()

    # The product's icon, served.
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_attribute("href", "/static/img/favicon.svg")
    assert page.request.get(live_server.url + icon.get_attribute("href")).ok

    # The members' autocompletes (select2 sizes and places its boxes from script) open and
    # search; a new member row gets its own autocomplete.
    members = page.locator(".select2-selection")
    expect(members).to_have_count(3)
    members.first.click()
    expect(page.locator(".select2-search__field")).to_be_visible()
    page.keyboard.type("acme")
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Add another Membership").click()
    expect(members).to_have_count(4)
    assert_quiet(page, console, "organization change page")


def test_a_person_change_page_with_date_pickers_and_choosers_raises_no_console_error(
    page, live_server, console
):
    operator = signed_in_as_operator(page, live_server)
    page.goto(f"{live_server.url}/admin/orgs/user/{operator.pk}/change/")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()
    page.locator("#clocklink0").click()
    expect(page.locator("#clockbox0")).to_be_visible()
    expect(page.locator(".selector")).to_have_count(2)  # groups and permissions, by script
    assert_quiet(page, console, "person change page")
