"""Two-factor sign-in: set-up, the sign-in step, recovery codes, and an owner's requirement."""

import re
import time

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from orgs import two_factor
from tests.helpers.clients import signed_in
from tests.helpers.factories import PASSWORD


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    return f"{totp(device.bin_key, t0=-device.step * steps_ahead):06d}"


def turn_on(user) -> list[str]:
    device = two_factor.pending_device(user)
    return two_factor.enable(user, device, code_for(device))


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


class TestSetUp:
    def test_a_person_scans_confirms_and_gets_recovery_codes(self, member, acme, events, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's pause after a wrong code
        client = signed_in(member)
        page = client.get("/accounts/two-factor/")
        assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
        device = TOTPDevice.objects.get(user=member, confirmed=False)
        assert two_factor.secret(device) in page.text
        wrong = client.post("/accounts/two-factor/", {"code": "000000"})
        assert "That code is not right" in wrong.text
        done = client.post("/accounts/two-factor/", {"code": code_for(device)})
        codes = re.findall(r"<li><code>(\w+)</code></li>", done.text)
        assert len(codes) == two_factor.RECOVERY_CODES
        assert two_factor.has_two_factor(member)
        (event,) = events(acme, action="user.two_factor_enabled")
        assert event.actor_label == "member@acme.test"

    def test_recovery_codes_are_replaced_and_turning_off_needs_the_password(
        self, admin, acme, events
    ):
        old = turn_on(admin)
        client = signed_in(admin)
        page = client.post("/accounts/two-factor/", {"action": "codes"})
        new = re.findall(r"<li><code>(\w+)</code></li>", page.text)
        assert new and not set(new) & set(old)
        refused = client.post("/accounts/two-factor/", {"action": "off", "password": "nope"})
        assert "That is not your password" in refused.text
        client.post("/accounts/two-factor/", {"action": "off", "password": PASSWORD})
        assert not two_factor.has_two_factor(admin)
        assert [e.action for e in events(acme)] == [
            "user.two_factor_enabled", "user.recovery_codes_regenerated",
            "user.two_factor_disabled"]

    def test_the_page_needs_a_signed_in_person(self, client):
        assert client.get("/accounts/two-factor/").status_code == 302


class TestSignIn:
    def test_the_password_alone_does_not_sign_in(self, owner, acme, client, events):
        turn_on(owner)
        response = sign_in(client, "owner@acme.test")
        assert response.status_code == 302
        assert response["Location"] == reverse("sign_in_two_factor")
        assert client.get("/orgs/acme/").status_code == 302  # not signed in yet
        assert events(acme, action="user.logged_in") == []
        device = TOTPDevice.objects.get(user=owner)
        done = client.post(reverse("sign_in_two_factor"), {"code": code_for(device, 1)})
        assert done.status_code == 302 and done["Location"] == "/"
        assert client.get("/orgs/acme/").status_code == 200
        assert len(events(acme, action="user.logged_in")) == 1

    def test_between_the_two_steps_nothing_is_open(self, owner, acme, client):
        """The password alone signs in nobody: no organization page, no admin, no support
        page, no API (which takes only tokens)."""
        owner.is_staff = owner.is_superuser = True
        owner.save()
        turn_on(owner)
        sign_in(client, "owner@acme.test")
        for path in ("/orgs/acme/", "/orgs/acme/settings/audit-logs/", "/admin/",
                     "/admin/orgs/organization/", "/support/", "/accounts/two-factor/"):
            response = client.get(path)
            assert response.status_code == 302, path
            assert response["Location"].startswith(("/accounts/login/", "/admin/login/")), path
        assert client.get("/api/v1/orgs/acme/audit-events").status_code == 401
        assert "_auth_user_id" not in client.session

    def test_a_recovery_code_works_once(self, owner, acme, client, events):
        codes = turn_on(owner)
        sign_in(client, "owner@acme.test")
        assert client.post(reverse("sign_in_two_factor"), {"code": codes[0]}).status_code == 302
        (used,) = events(acme, action="user.recovery_code_used")
        assert used.metadata == {"codes_left": len(codes) - 1}
        again = signed_in(None)
        sign_in(again, "owner@acme.test")
        response = again.post(reverse("sign_in_two_factor"), {"code": codes[0]})
        assert response.status_code == 200 and "already used" in response.text

    def test_wrong_codes_count_like_wrong_passwords(self, owner, acme, client, events, settings):
        turn_on(owner)
        sign_in(client, "owner@acme.test")
        for _ in range(settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT):
            client.post(reverse("sign_in_two_factor"), {"code": "123456"})
        refused = client.post(reverse("sign_in_two_factor"), {"code": "123456"})
        assert refused.status_code == 429 and refused["Retry-After"]
        assert len(events(acme, action="user.login_locked")) == 1

    def test_the_second_step_must_follow_at_once(self, owner, client, monkeypatch):
        turn_on(owner)
        sign_in(client, "owner@acme.test")
        later = time.time() + 301
        monkeypatch.setattr(time, "time", lambda: later)
        response = client.post(reverse("sign_in_two_factor"), {"code": "123456"})
        assert response.status_code == 302 and response["Location"] == "/accounts/login/"

    def test_without_a_password_first_there_is_no_second_step(self, client):
        response = client.get(reverse("sign_in_two_factor"))
        assert response.status_code == 302 and response["Location"] == "/accounts/login/"


class TestRequirement:
    URL = "/orgs/acme/settings/two-factor/"

    def test_an_owner_requires_it_and_members_set_it_up_first(
        self, owner, acme, member, outsider, events
    ):
        turn_on(owner)
        owner_client = signed_in(owner)
        assert owner_client.post(self.URL, {"requires_two_factor": "on"}).status_code == 302
        acme.refresh_from_db()
        assert acme.requires_two_factor
        (event,) = events(acme, action="organization.two_factor_required")
        assert event.changes == {"requires_two_factor": [False, True]}
        member_client = signed_in(member)
        for path in ("/orgs/acme/", "/orgs/acme/settings/audit-logs/",
                     "/orgs/acme/settings/members/"):
            response = member_client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/two-factor/?next=")
        turn_on(member)
        assert member_client.get("/orgs/acme/").status_code == 200
        # Other organizations of the person, and outsiders, are not affected.
        assert signed_in(outsider).get("/orgs/initech/").status_code == 200
        assert signed_in(outsider).get("/orgs/acme/").status_code == 404

    def test_an_owner_without_it_cannot_require_it(self, owner, acme):
        response = signed_in(owner).post(self.URL, {"requires_two_factor": "on"},
                                                  follow=True)
        assert "Turn on two-factor sign-in for yourself first" in response.text
        acme.refresh_from_db()
        assert not acme.requires_two_factor

    @pytest.mark.parametrize("persona, status", [("admin", 403), ("member", 403),
                                                 ("outsider", 404), ("staff", 404)])
    def test_only_owners_may_change_it(self, request, acme, persona, status):
        response = signed_in(request.getfixturevalue(persona)).post(
            self.URL, {"requires_two_factor": "on"})
        assert response.status_code == status
        acme.refresh_from_db()
        assert not acme.requires_two_factor

    def test_a_free_plan_owner_may_require_it(self, globex_owner, globex):
        turn_on(globex_owner)
        response = signed_in(globex_owner).post(
            "/orgs/globex/settings/two-factor/", {"requires_two_factor": "on"})
        assert response.status_code == 302
        globex.refresh_from_db()
        assert globex.requires_two_factor

    def test_it_cannot_be_turned_off_while_required(self, member, acme):
        turn_on(member)
        acme.requires_two_factor = True
        acme.save()
        client = signed_in(member)
        page = client.post("/accounts/two-factor/", {"action": "off", "password": PASSWORD})
        assert "requires two-factor sign-in" in page.text
        assert two_factor.has_two_factor(member)

    def test_the_general_page_shows_the_setting_to_owners_only(self, owner, admin):
        assert "Require two-factor sign-in" in signed_in(owner).get(
            "/orgs/acme/settings/").text
        assert "Require two-factor sign-in" not in signed_in(admin).get(
            "/orgs/acme/settings/").text
