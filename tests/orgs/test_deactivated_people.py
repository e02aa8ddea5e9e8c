"""A deactivated person (is_active off) loses, at once, every organization's pages, the Audit
Logs, alerts, the mails to admins, and support access, while their membership stays."""

from datetime import timedelta

import pytest
from django.core import mail
from django.http import Http404
from django.utils import timezone

from auditlogs import record
from auditlogs.models import SupportAccess
from auditlogs.web.access import log_viewer_for
from integrations import alerts, services
from integrations.models import Destination
from integrations.webhooks import _mail_pause
from orgs.models import Membership
from orgs.tenancy import membership_for


def deactivate(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    "path",
    ["/orgs/acme/", "/orgs/acme/settings/", "/orgs/acme/settings/members/",
     "/orgs/acme/settings/audit-logs/", "/orgs/acme/settings/audit-logs/export.csv",
     "/orgs/acme/settings/alerts/"],
)
def test_a_signed_in_person_loses_the_pages_the_moment_they_are_deactivated(world, path):
    client = world.client(world.admin)
    assert client.get(path).status_code == 200
    deactivate(world.admin)
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_membership_checks_refuse_a_deactivated_person(world):
    """Whatever path reaches them with the user object (a session, a job, the alert worker)."""
    deactivate(world.admin)
    with pytest.raises(Http404):
        membership_for(world.admin, "acme")
    with pytest.raises(Http404):
        log_viewer_for(world.admin, "acme")
    assert Membership.objects.filter(user=world.admin).exists()  # kept, for reactivation


def test_reactivating_restores_access(world):
    deactivate(world.admin)
    world.admin.is_active = True
    world.admin.save(update_fields=["is_active"])
    assert membership_for(world.admin, "acme").user == world.admin


def test_a_deactivated_person_gets_no_alert_mails(world):
    for user in (world.owner, world.admin):
        services.alert_preference_set(
            membership=user.memberships.get(organization=world.acme), critical_events=True
        )
    deactivate(world.admin)
    record("project.deleted", organization=world.acme, project=world.beta)
    assert alerts.send_alerts() == 1
    assert [message.to for message in mail.outbox] == [["owner@acme.test"]]


def test_a_deactivated_admin_is_not_told_about_a_paused_destination(world):
    destination = Destination.objects.create(
        organization=world.acme, name="SIEM", url="https://siem.example.com/hook", secret="x" * 20,
        failing_since=timezone.now(), last_error="HTTP 503",
    )
    deactivate(world.admin)
    _mail_pause(destination)
    (message,) = mail.outbox
    assert message.to == ["owner@acme.test"]


def test_deactivated_support_staff_lose_their_open_access_at_once(world):
    SupportAccess.objects.create(
        user=world.staff, organization=world.acme, reason="Ticket 42: checking a deletion",
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    client = world.client(world.staff)
    assert client.get("/orgs/acme/settings/audit-logs/").status_code == 200
    deactivate(world.staff)
    assert client.get("/orgs/acme/settings/audit-logs/").status_code == 302
    assert client.get("/support/").status_code == 302
    with pytest.raises(Http404):
        log_viewer_for(world.staff, "acme")
