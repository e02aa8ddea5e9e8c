"""A new colleague, in a real browser: invited by the owner, accepts, chooses a password,
turns on two-factor sign-in and signs in with it. Every step shows in Acme's log. And a
colleague removed: the owner is asked first."""

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from auditlogs.models import AuditEvent
from orgs.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEWCOMER = "newcomer@acme.test"
NEW_PASSWORD = "a-long-new-password-42"


def account_menu(page: Page, item: str) -> None:
    page.locator("details.account-menu > summary").click()
    menu = page.get_by_role("navigation", name="Account")
    menu.get_by_role("link", name=item).or_(menu.get_by_role("button", name=item)).click()


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this key (optionally the next 30 s step's)."""
    return f"{totp(b32decode(secret), t0=-30 * steps_ahead):06d}"


def test_invited_accepts_sets_password_turns_on_two_factor_and_signs_in(
    page, sign_in, acme, live_server, mailoutbox, console, screenshot
):
    # The owner invites a colleague in Settings → Members.
    sign_in(page, "owner@acme.test")
    account_menu(page, "Settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    page.get_by_label("E-mail").fill(NEWCOMER)
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"An invitation was e-mailed to {NEWCOMER}.")).to_be_visible()
    pending = page.get_by_role("table").filter(has_text=NEWCOMER)
    expect(pending.get_by_role("button", name="Revoke")).to_be_visible()
    account_menu(page, "Sign out")

    # The colleague follows the e-mailed link and chooses a password.
    (mail,) = mailoutbox
    path = re.search(r"https?://[^/\s]+(/accounts/invitation/\S+/)", mail.body).group(1)
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name="Join Acme")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password and join").click()
    expect(page.get_by_text("Welcome to Acme.")).to_be_visible()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()

    # Two-factor sign-in: scan (here: read the key), confirm with a code, keep the codes.
    account_menu(page, "Two-factor sign-in")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    screenshot(page, "people-recovery-codes")
    page.get_by_role("link", name="Continue").click()
    account_menu(page, "Sign out")

    # Signing in now takes the password and then a code from the app.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(NEWCOMER)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label("Code").fill(app_code(secret, steps_ahead=1))  # a code not used yet
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    assert console.errors() == [], console.messages

    actions = list(AuditEvent.objects.filter(organization=acme).order_by("sequence")
                   .values_list("action", "actor_label"))
    assert ("member.invited", "owner@acme.test") in actions
    assert ("member.invitation_accepted", NEWCOMER) in actions
    assert ("user.two_factor_enabled", NEWCOMER) in actions
    assert actions[-1] == ("user.logged_in", NEWCOMER)


def test_removing_a_colleague_asks_first_and_cancel_keeps_them(
    page, sign_in, acme, member_membership, console, screenshot
):
    sign_in(page, "owner@acme.test")
    account_menu(page, "Settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    page.get_by_role("row").filter(has_text="member@acme.test").get_by_role(
        "link", name="Edit").click()

    # The first click only asks; Cancel goes back with nothing changed.
    page.get_by_role("link", name="Remove member@acme.test").click()
    expect(page.get_by_role("heading", name="Remove “member@acme.test” from Acme?")).to_be_visible()
    screenshot(page, "people-remove-confirmation")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="member@acme.test")).to_be_visible()
    assert Membership.objects.filter(pk=member_membership.pk).exists()

    # Confirming removes them, says so, and the log has it.
    page.get_by_role("link", name="Remove member@acme.test").click()
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.get_by_text("member@acme.test was removed.")).to_be_visible()
    expect(page.get_by_role("cell", name="member@acme.test", exact=True)).to_have_count(0)
    assert not Membership.objects.filter(pk=member_membership.pk).exists()
    assert console.errors() == [], console.messages
    removals = AuditEvent.objects.filter(organization=acme, action="member.removed")
    assert list(removals.values_list("actor_label", "target_label")) == [
        ("owner@acme.test", "member@acme.test")]
