"""Two-factor sign-in: set-up, the sign-in step, recovery codes, and an owner's requirement."""

import re
import time

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from orgs import two_factor
from tests.helpers.factories import PASSWORD


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    return f"{totp(device.bin_key, t0=-device.step * steps_ahead):06d}"


def turn_on(user) -> list[str]:
    device = two_factor.pending_device(user)
    return two_factor.enable(user, device, code_for(device))


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


class TestSetUp:
    def test_a_person_scans_confirms_and_gets_recovery_codes(self, world, events, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's pause after a wrong code
        client = world.client(world.member)
        page = client.get("/accounts/two-factor/")
        assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
        device = TOTPDevice.objects.get(user=world.member, confirmed=False)
        assert two_factor.secret(device) in page.text
        wrong = client.post("/accounts/two-factor/", {"code": "000000"})
        assert "That code is not right" in wrong.text
        done = client.post("/accounts/two-factor/", {"code": code_for(device)})
        codes = re.findall(r"<li><code>(\w+)</code></li>", done.text)
        assert len(codes) == two_factor.RECOVERY_CODES
        assert two_factor.has_two_factor(world.member)
        (event,) = events(world.acme, action="user.two_factor_enabled")
        assert event.actor_label == "member@acme.test"

    def test_recovery_codes_are_replaced_and_turning_off_needs_the_password(self, world,
                                                                            events):
        old = turn_on(world.admin)
        client = world.client(world.admin)
        page = client.post("/accounts/two-factor/", {"action": "codes"})
        new = re.findall(r"<li><code>(\w+)</code></li>", page.text)
        assert new and not set(new) & set(old)
        refused = client.post("/accounts/two-factor/", {"action": "off", "password": "nope"})
        assert "That is not your password" in refused.text
        client.post("/accounts/two-factor/", {"action": "off", "password": PASSWORD})
        assert not two_factor.has_two_factor(world.admin)
        assert [e.action for e in events(world.acme)] == [
            "user.two_factor_enabled", "user.recovery_codes_regenerated",
            "user.two_factor_disabled"]

    def test_the_page_needs_a_signed_in_person(self, client):
        assert client.get("/accounts/two-factor/").status_code == 302


class TestSignIn:
    def test_the_password_alone_does_not_sign_in(self, world, client, events):
        turn_on(world.owner)
        response = sign_in(client, "owner@acme.test")
        assert response.status_code == 302
        assert response["Location"] == reverse("sign_in_two_factor")
        assert client.get("/orgs/acme/").status_code == 302  # not signed in yet
        assert events(world.acme, action="user.logged_in") == []
        device = TOTPDevice.objects.get(user=world.owner)
        done = client.post(reverse("sign_in_two_factor"), {"code": code_for(device, 1)})
        assert done.status_code == 302 and done["Location"] == "/"
        assert client.get("/orgs/acme/").status_code == 200
        assert len(events(world.acme, action="user.logged_in")) == 1

    def test_a_recovery_code_works_once(self, world, client, events):
        codes = turn_on(world.owner)
        sign_in(client, "owner@acme.test")
        assert client.post(reverse("sign_in_two_factor"), {"code": codes[0]}).status_code == 302
        (used,) = events(world.acme, action="user.recovery_code_used")
        assert used.metadata == {"codes_left": len(codes) - 1}
        again = world.client(None)
        sign_in(again, "owner@acme.test")
        response = again.post(reverse("sign_in_two_factor"), {"code": codes[0]})
        assert response.status_code == 200 and "already used" in response.text

    def test_wrong_codes_count_like_wrong_passwords(self, world, client, events, settings):
        turn_on(world.owner)
        sign_in(client, "owner@acme.test")
        for _ in range(settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT):
            client.post(reverse("sign_in_two_factor"), {"code": "123456"})
        refused = client.post(reverse("sign_in_two_factor"), {"code": "123456"})
        assert refused.status_code == 429 and refused["Retry-After"]
        assert len(events(world.acme, action="user.login_locked")) == 1

    def test_the_second_step_must_follow_at_once(self, world, client, monkeypatch):
        turn_on(world.owner)
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

    def test_an_owner_requires_it_and_members_set_it_up_first(self, world, events):
        turn_on(world.owner)
        owner = world.client(world.owner)
        assert owner.post(self.URL, {"requires_two_factor": "on"}).status_code == 302
        world.acme.refresh_from_db()
        assert world.acme.requires_two_factor
        (event,) = events(world.acme, action="organization.two_factor_required")
        assert event.changes == {"requires_two_factor": [False, True]}
        member = world.client(world.member)
        for path in ("/orgs/acme/", "/orgs/acme/settings/audit-logs/",
                     "/orgs/acme/settings/members/"):
            response = member.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/two-factor/?next=")
        turn_on(world.member)
        assert member.get("/orgs/acme/").status_code == 200
        # Other organizations of the person, and outsiders, are not affected.
        assert world.client(world.outsider).get("/orgs/initech/").status_code == 200
        assert world.client(world.outsider).get("/orgs/acme/").status_code == 404

    def test_an_owner_without_it_cannot_require_it(self, world):
        response = world.client(world.owner).post(self.URL, {"requires_two_factor": "on"},
                                                  follow=True)
        assert "Turn on two-factor sign-in for yourself first" in response.text
        world.acme.refresh_from_db()
        assert not world.acme.requires_two_factor

    @pytest.mark.parametrize("persona, status", [("admin", 403), ("member", 403),
                                                 ("outsider", 404), ("staff", 404)])
    def test_only_owners_may_change_it(self, world, persona, status):
        response = world.client(getattr(world, persona)).post(
            self.URL, {"requires_two_factor": "on"})
        assert response.status_code == status
        world.acme.refresh_from_db()
        assert not world.acme.requires_two_factor

    def test_a_free_plan_owner_may_require_it(self, world):
        turn_on(world.globex_owner)
        response = world.client(world.globex_owner).post(
            "/orgs/globex/settings/two-factor/", {"requires_two_factor": "on"})
        assert response.status_code == 302
        world.globex.refresh_from_db()
        assert world.globex.requires_two_factor

    def test_it_cannot_be_turned_off_while_required(self, world):
        turn_on(world.member)
        world.acme.requires_two_factor = True
        world.acme.save()
        client = world.client(world.member)
        page = client.post("/accounts/two-factor/", {"action": "off", "password": PASSWORD})
        assert "requires two-factor sign-in" in page.text
        assert two_factor.has_two_factor(world.member)

    def test_the_general_page_shows_the_setting_to_owners_only(self, world):
        assert "Require two-factor sign-in" in world.client(world.owner).get(
            "/orgs/acme/settings/").text
        assert "Require two-factor sign-in" not in world.client(world.admin).get(
            "/orgs/acme/settings/").text
