"""Password change and reset: Django's views in the product's pages, each an event."""

import re

from orgs.passwords import RESETS_PER_WINDOW
from tests.helpers.clients import signed_in
from tests.helpers.factories import PASSWORD

NEW = "another-long-password-9"


def test_a_person_changes_their_password(member, acme, events):
    client = signed_in(member)
    page = client.get("/accounts/password/change/")
    assert page.status_code == 200 and "Change your password" in page.text
    wrong = client.post("/accounts/password/change/", {
        "old_password": "nope", "new_password1": NEW, "new_password2": NEW})
    assert wrong.status_code == 200 and "incorrectly" in wrong.text
    done = client.post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW)
    (event,) = events(acme, action="user.password_changed")
    assert event.actor_label == "member@acme.test"
    assert event.metadata == {"how": "changed while signed in"}
    assert client.get("/orgs/acme/").status_code == 200  # still signed in


def test_a_forgotten_password_is_reset_by_e_mail(admin, acme, events, client, mailoutbox):
    page = client.get("/accounts/password/reset/")
    assert page.status_code == 200 and "Reset your password" in page.text
    response = client.post("/accounts/password/reset/", {"email": "Admin@acme.test"})
    assert response.status_code == 302
    assert "Check your e-mail" in client.get(response["Location"]).text
    (mail,) = mailoutbox
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.text
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password(NEW)
    requested, changed = events(acme)
    assert requested.action == "user.password_reset_requested"
    assert requested.actor_label == "unknown (tried Admin@acme.test)"
    assert (changed.action, changed.metadata) == ("user.password_changed", {"how": "reset link"})
    assert client.get(link, follow=True).context["validlink"] is False  # used up


def test_an_unknown_address_gets_the_same_answer_and_no_mail(db, client, mailoutbox, events):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302 and mailoutbox == [] and events() == []


def test_reset_mails_are_limited_per_address(acme, client, mailoutbox, events):
    for _ in range(RESETS_PER_WINDOW + 3):
        assert client.post("/accounts/password/reset/",
                           {"email": "owner@acme.test"}).status_code == 302
    assert len(mailoutbox) == RESETS_PER_WINDOW
    assert len(events(acme)) == RESETS_PER_WINDOW


def test_the_sign_in_page_links_to_the_reset(client, db):
    assert "/accounts/password/reset/" in client.get("/accounts/login/").text


def test_the_reset_link_points_at_the_base_url_whatever_host_the_request_named(
    admin, client, mailoutbox, settings
):
    """The link carries the reset token: it must not go to a host the requester chose."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.AUDITLOG_BASE_URL = "https://audit.example.test"
    client.post("/accounts/password/reset/", {"email": "admin@acme.test"},
                HTTP_HOST="evil.example")
    (mail,) = mailoutbox
    assert "evil.example" not in mail.body
    assert "https://audit.example.test/accounts/password/reset/" in mail.body
