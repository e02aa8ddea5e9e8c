"""Every page of the product at 1440 px and on a 390 px phone, checked with axe-core (zero
violations) and for sideways scrolling; the log's phone layout; the branded error pages."""

import re
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from orgs.models import User
from tests.browser.axe import assert_clean
from tests.browser.pages import choose_severity, row, rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN = "admin@acme.test"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def signed_in_as(page: Page, live_server, email: str) -> None:
    client = Client()
    client.force_login(User.objects.get(email=email))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )


def product_pages(alpha, bot) -> dict[str, str]:
    """Every page an admin of Acme opens, by a short name."""
    project = f"/orgs/acme/projects/{alpha.slug}/"
    return {
        "dashboard": "/orgs/acme/",
        "project": project,
        "project-edit": f"{project}edit/",
        "chatbot-new": f"{project}chatbots/new/",
        "chatbot-edit": f"{project}chatbots/{bot.pk}/edit/",
        "general": "/orgs/acme/settings/",
        "members": "/orgs/acme/settings/members/",
        "plan": "/orgs/acme/settings/plan/",
        "api-tokens": "/orgs/acme/settings/api-tokens/",
        "destinations": "/orgs/acme/settings/destinations/",
        "alerts": "/orgs/acme/settings/alerts/",
        "log": "/orgs/acme/settings/audit-logs/",
        "password-change": "/accounts/password/change/",
        "two-factor": "/accounts/two-factor/",
    }


def checked(page: Page, where: str) -> None:
    """axe finds nothing, and the page is no wider than the window."""
    assert_clean(page, where)
    no_sideways_scroll(page, where)


def no_sideways_scroll(page: Page, where: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_every_page_is_axe_clean_and_never_scrolls_sideways(
    page, live_server, timeline, alpha, bot, viewport, screenshot
):
    page.set_viewport_size(viewport)
    signed_in_as(page, live_server, ADMIN)
    for name, path in product_pages(alpha, bot).items():
        page.goto(live_server.url + path)
        checked(page, f"{name} at {viewport['width']} px")
        if name in ("log", "project", "members", "api-tokens"):
            screenshot(page, f"{name}-{viewport['width']}")


def test_every_state_of_the_log_is_axe_clean(page, live_server, timeline, screenshot):
    page.set_viewport_size(DESKTOP)
    signed_in_as(page, live_server, ADMIN)
    log = f"{live_server.url}/orgs/acme/settings/audit-logs/"
    page.goto(log)
    assert_clean(page, "the log")

    row(page, "Chatbot updated").get_by_role("button", name="Info").click()
    expect(row(page, "Chatbot updated").locator(".event-details dl")).to_be_visible()
    page.get_by_text("Chart as a table").click()
    assert_clean(page, "the log with Info and the chart's table open")
    screenshot(page, "log-info-open-1440")

    page.goto(f"{log}?q=no-such-thing")
    expect(page.get_by_text("No events match these filters.")).to_be_visible()
    assert_clean(page, "the empty log")

    page.goto(f"{log}?start=not-a-date")
    expect(page.locator(".filter-errors")).to_be_visible()
    assert_clean(page, "the log with a filter error")

    page.goto(f"{log}?q=viewed&range=all")
    assert_clean(page, "the log charted from events")

    page.goto(log)
    event_id = rows(page).first.get_attribute("id").removeprefix("event-")
    page.goto(f"{log}events/{event_id}/")
    assert_clean(page, "an event's own page")


def test_on_a_phone_the_first_screen_shows_events_in_rows_of_two_lines(
    page, live_server, timeline, screenshot
):
    page.set_viewport_size(PHONE)
    signed_in_as(page, live_server, ADMIN)
    page.goto(f"{live_server.url}/orgs/acme/settings/audit-logs/")

    filters = page.locator("#filters")
    expect(filters).to_be_hidden()  # folded behind "Filters"
    first = rows(page).first
    expect(first).to_be_in_viewport()
    assert first.bounding_box()["y"] + first.bounding_box()["height"] <= PHONE["height"]
    for index in range(rows(page).count()):
        # Cells whose middles lie more than 12 px apart are on different lines.
        lines = rows(page).nth(index).locator(".event-line > *").evaluate_all(
            """cells => cells.filter(c => c.offsetParent)
                .map(c => { const r = c.getBoundingClientRect(); return r.top + r.height / 2; })
                .sort((a, b) => a - b)
                .reduce((lines, y) => (!lines.length || y - lines[lines.length - 1] > 12)
                    ? [...lines, y] : lines, []).length"""
        )
        assert lines <= 2, f"row {index} takes {lines} lines"
    no_sideways_scroll(page, "the log on a phone")
    assert_clean(page, "the log on a phone")
    screenshot(page, "log-390")

    page.get_by_text("Filters", exact=True).click()
    expect(filters).to_be_visible()
    choose_severity(page, "Critical")
    expect(rows(page)).to_have_count(1)
    no_sideways_scroll(page, "the log on a phone, filters open")
    assert_clean(page, "the log on a phone, filters open")

    row(page, "Chatbot deleted").get_by_role("button", name="Info").click()
    expect(row(page, "Chatbot deleted").locator(".event-details dl")).to_be_visible()
    no_sideways_scroll(page, "Info open on a phone")
    assert_clean(page, "Info open on a phone")
    screenshot(page, "log-info-open-390")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_error_pages_are_branded_say_what_to_do_and_are_axe_clean(
    page, live_server, timeline, viewport, screenshot
):
    page.set_viewport_size(viewport)
    signed_in_as(page, live_server, "member@acme.test")
    response = page.goto(f"{live_server.url}/orgs/acme/settings/api-tokens/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You can't open this page")).to_be_visible()
    expect(page.get_by_role("link", name="Back to Acme's projects")).to_be_visible()
    checked(page, "403")
    screenshot(page, f"error-403-{viewport['width']}")

    response = page.goto(f"{live_server.url}/orgs/no-such-org/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    checked(page, "404")

    with mock.patch("orgs.views.Organization.objects.for_user", side_effect=RuntimeError):
        response = page.goto(f"{live_server.url}/")
    assert response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    checked(page, "500")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_sign_in_the_enterprise_page_and_support_access_are_axe_clean(
    page, live_server, globex, staff, viewport
):
    page.set_viewport_size(viewport)
    for path, name in [("/accounts/login/", "sign-in"), ("/accounts/password/reset/", "reset")]:
        page.goto(live_server.url + path)
        checked(page, name)
    signed_in_as(page, live_server, "owner@globex.test")
    page.goto(f"{live_server.url}/orgs/globex/settings/audit-logs/")
    expect(page.get_by_role("heading", name="Audit Logs", exact=True)).to_be_visible()
    checked(page, "the Enterprise page")
    page.context.clear_cookies()
    signed_in_as(page, live_server, staff.email)
    for path, name in [("/", "no organization yet"), ("/support/", "support access")]:
        page.goto(live_server.url + path)
        checked(page, name)


def test_settings_tables_fold_into_cards_on_a_phone(
    page, live_server, timeline, acme, admin, screenshot
):
    """Six narrow columns broke names and statuses letter by letter ("SIE M", "Failin g") and
    pushed the Edit button off the card; on a phone each row is a card, each value under its
    column's name."""
    from integrations import services
    from integrations.models import DeliveryStatus, Destination

    destination = services.destination_create(
        organization=acme, name="Production SIEM", secret="", created_by=admin,
        url="https://http-intake.logs.example.com/api/v2/logs?dd-api-key=0123456789abcdef",
    )
    Destination.objects.filter(pk=destination.pk).update(
        status=DeliveryStatus.FAILING, failed_attempts=3,
        last_error="Could not deliver: the receiver answered 503 Service Unavailable",
    )
    services.api_token_create(organization=acme, name="Security information tool",
                              created_by=admin, expires_in_days=90)
    page.set_viewport_size(PHONE)
    signed_in_as(page, live_server, ADMIN)
    for name in ("destinations", "api-tokens", "members"):
        page.goto(f"{live_server.url}/orgs/acme/settings/{name}/")
        checked(page, f"{name} at 390 px")
        card = page.locator("section.card").first.bounding_box()
        for button in page.locator("section.card").first.locator(".actions .button").all():
            box = button.bounding_box()
            assert box["x"] + box["width"] <= card["x"] + card["width"], f"{name}: {box}"
        screenshot(page, f"{name}-cards-390")
    expect(page.locator("td[data-label=Role]").first).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_the_states_added_to_settings_and_support_pages_are_axe_clean(
    page, live_server, timeline, acme, admin, staff, member_membership, viewport, screenshot
):
    """The member's page and its removal confirmation, a destination that retention left a gap
    before, a range too long to chart whole, and the support form refusing an organization
    that requires two-factor sign-in."""
    from integrations import services
    from integrations.models import Destination

    destination = services.destination_create(
        organization=acme, name="Archive SIEM", url="https://siem.example.com/hook",
        secret="", created_by=admin,
    )
    Destination.objects.filter(pk=destination.pk).update(
        gap_first_sequence=4, gap_through_sequence=8,
        gap_removed_at=destination.created_at, gap_reported_at=destination.created_at,
    )
    page.set_viewport_size(viewport)
    width = viewport["width"]
    signed_in_as(page, live_server, ADMIN)
    member = f"/orgs/acme/settings/members/{member_membership.pk}/"
    for name, path in {
        "member": member,
        "member-remove": f"{member}remove/",
        "destination-gap": "/orgs/acme/settings/destinations/",
        "log-long-range": "/orgs/acme/settings/audit-logs/?start=0002-01-01&end=9999-12-30",
    }.items():
        page.goto(live_server.url + path)
        checked(page, f"{name} at {width} px")
        screenshot(page, f"{name}-{width}")
    expect(page.get_by_text("too long to chart whole")).to_be_visible()

    acme.requires_two_factor = True
    acme.save(update_fields=["requires_two_factor"])
    page.context.clear_cookies()
    signed_in_as(page, live_server, staff.email)
    page.goto(f"{live_server.url}/support/")
    page.get_by_label("Organization").select_option("acme")
    page.get_by_label("Reason").fill("Ticket #4411: who deleted Support Bot?")
    page.get_by_role("button", name=re.compile("Open")).click()
    expect(page.get_by_text("requires two-factor sign-in")).to_be_visible()
    checked(page, f"support refused at {width} px")
    screenshot(page, f"support-refused-{width}")
