"""Support staff open an organization's log by stating a reason; the organization sees it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from auditlogs.models import SupportAccess
from auditlogs.recording.catalogue import Severity
from tests.helpers.clients import signed_in
from tests.orgs.test_two_factor import turn_on

LOG = "/orgs/acme/settings/audit-logs/"


def grant(staff, reason="Ticket #4411: customer asks who deleted Support Bot", org="acme"):
    return signed_in(staff).post("/support/", {"organization": org, "reason": reason})


def test_staff_state_a_reason_and_the_access_is_an_event_the_admins_see(staff, acme, admin, events):
    response = grant(staff)
    assert response.status_code == 302 and response["Location"] == LOG
    (event,) = events(acme, action="support.access_granted")
    assert event.severity == Severity.WARNING
    assert (event.actor_type, event.actor_label) == ("staff", "support@auditlogs.test")
    assert event.metadata["reason"].startswith("Ticket #4411")
    admin_view = signed_in(admin).get(LOG)
    assert "Support access granted" in admin_view.text
    assert "support@auditlogs.test" in admin_view.text


def test_with_access_staff_read_the_whole_log_read_only(staff):
    client = signed_in(staff)
    assert client.get(LOG).status_code == 404
    grant(staff)
    response = client.get(LOG)
    assert response.status_code == 200
    assert "Support access" in response.text and "read-only" in response.text
    assert 'href="/orgs/acme/settings/members/"' not in response.text
    assert client.get("/orgs/acme/settings/members/").status_code == 404
    assert client.get("/orgs/acme/").status_code == 404


def test_access_expires(staff):
    grant(staff)
    SupportAccess.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert signed_in(staff).get(LOG).status_code == 404


def test_access_is_for_one_organization_only(staff):
    grant(staff)
    assert signed_in(staff).get("/orgs/initech/settings/audit-logs/").status_code == 404


def test_the_support_page_is_invisible_to_everyone_else(owner, admin, member, outsider):
    for user in (owner, admin, member, outsider):
        client = signed_in(user)
        assert client.get("/support/").status_code == 404
        assert client.post("/support/", {"organization": "acme",
                                         "reason": "I would like to look"}).status_code == 404
    assert SupportAccess.objects.count() == 0


@pytest.mark.parametrize("data, message", [
    ({"organization": "acme", "reason": ""}, "This field is required"),
    ({"organization": "acme", "reason": "because"}, "at least 10 characters"),
    ({"organization": "acme", "reason": "r" * 501}, "at most 500 characters"),
    ({"organization": "nope", "reason": "A proper reason here"}, "Choose an organization"),
    ({"organization": "", "reason": "A proper reason here"}, "This field is required"),
])
def test_bad_support_input(staff, events, data, message):
    response = signed_in(staff).post("/support/", data)
    assert response.status_code == 200 and message in response.text
    assert SupportAccess.objects.count() == 0 and events() == []


class TestTwoFactorRequired:
    """An organization that requires two-factor sign-in of its people requires it of the staff
    reading its log: otherwise its requirement would end where support begins."""

    @pytest.fixture
    def acme_requires_it(self, acme):
        acme.requires_two_factor = True
        acme.save(update_fields=["requires_two_factor"])

    def test_staff_without_it_are_told_and_get_no_access(self, staff, acme, acme_requires_it,
                                                         events):
        response = grant(staff)
        assert response.status_code == 200
        assert "Acme requires two-factor sign-in" in response.text
        assert not SupportAccess.objects.exists()
        assert events(acme, action="support.access_granted") == []

    def test_staff_with_it_open_the_log(self, staff, acme_requires_it):
        turn_on(staff)
        client = signed_in(staff)
        assert grant(staff).status_code == 302
        assert client.get(LOG).status_code == 200

    def test_a_requirement_turned_on_during_an_access_sends_staff_to_set_it_up(
        self, staff, acme
    ):
        client = signed_in(staff)
        grant(staff)
        acme.requires_two_factor = True
        acme.save(update_fields=["requires_two_factor"])
        response = client.get(LOG)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/two-factor/")
