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
from tests.helpers.clients import signed_in


def deactivate(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    "path",
    ["/orgs/acme/", "/orgs/acme/settings/", "/orgs/acme/settings/members/",
     "/orgs/acme/settings/audit-logs/", "/orgs/acme/settings/audit-logs/export.csv",
     "/orgs/acme/settings/alerts/"],
)
def test_a_signed_in_person_loses_the_pages_the_moment_they_are_deactivated(admin, path):
    client = signed_in(admin)
    assert client.get(path).status_code == 200
    deactivate(admin)
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_membership_checks_refuse_a_deactivated_person(admin):
    """Whatever path reaches them with the user object (a session, a job, the alert worker)."""
    deactivate(admin)
    with pytest.raises(Http404):
        membership_for(admin, "acme")
    with pytest.raises(Http404):
        log_viewer_for(admin, "acme")
    assert Membership.objects.filter(user=admin).exists()  # kept, for reactivation


def test_reactivating_restores_access(admin):
    deactivate(admin)
    admin.is_active = True
    admin.save(update_fields=["is_active"])
    assert membership_for(admin, "acme").user == admin


def test_a_deactivated_person_gets_no_alert_mails(acme, beta, owner, admin):
    for user in (owner, admin):
        services.alert_preference_set(
            membership=user.memberships.get(organization=acme), critical_events=True
        )
    deactivate(admin)
    record("project.deleted", organization=acme, project=beta)
    assert alerts.send_alerts() == 1
    assert [message.to for message in mail.outbox] == [["owner@acme.test"]]


def test_a_deactivated_admin_is_not_told_about_a_paused_destination(acme, admin):
    destination = Destination.objects.create(
        organization=acme, name="SIEM", url="https://siem.example.com/hook", secret="x" * 20,
        failing_since=timezone.now(), last_error="HTTP 503",
    )
    deactivate(admin)
    _mail_pause(destination)
    (message,) = mail.outbox
    assert message.to == ["owner@acme.test"]


def test_deactivated_support_staff_lose_their_open_access_at_once(acme, staff):
    SupportAccess.objects.create(
        user=staff, organization=acme, reason="Ticket 42: checking a deletion",
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    client = signed_in(staff)
    assert client.get("/orgs/acme/settings/audit-logs/").status_code == 200
    deactivate(staff)
    assert client.get("/orgs/acme/settings/audit-logs/").status_code == 302
    assert client.get("/support/").status_code == 302
    with pytest.raises(Http404):
        log_viewer_for(staff, "acme")
