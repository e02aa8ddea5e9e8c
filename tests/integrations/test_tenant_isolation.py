"""One organization's bad data never stops another's deliveries or alerts: a delivery pass and
an alert pass over organizations whose data was poisoned behind the forms' back (written
straight to the database) deliver and alert every other organization, and mark the poisoned
destination or subscription failing, with backoff, pause and the admins told."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from auditlogs import record
from integrations import alerts, services, webhooks
from integrations.models import AlertSubscription, Destination
from orgs.models import Organization, Role, User
from tests.helpers.clients import signed_in
from tests.helpers.factories import (
    MembershipFactory,
    OrganizationFactory,
    ProjectFactory,
    UserFactory,
)


def tenant(slug: str, receiver) -> dict:
    """An Enterprise organization with an owner who wants alerts and a destination."""
    organization = OrganizationFactory(slug=slug)
    owner = UserFactory(email=f"owner@{slug}.test")
    membership = MembershipFactory(organization=organization, user=owner, role=Role.OWNER)
    services.alert_preference_set(membership=membership, critical_events=True)
    destination = services.destination_create(
        organization=organization, name="SIEM", url=f"{receiver.url}/{slug}", secret="s" * 20,
        created_by=owner,
    )
    return {"organization": organization, "owner": owner, "destination": destination,
            "project": ProjectFactory(organization=organization, name="Main")}


@pytest.fixture
def tenants(db, receiver):
    """Poisoned first, so a pass that stopped at them would reach nobody after them."""
    unicode_path = tenant("unicodepath", receiver)
    bad_url = tenant("badurl", receiver)
    bad_name = tenant("badname", receiver)
    bad_address = tenant("badaddress", receiver)
    good = [tenant(slug, receiver) for slug in ("umbrella", "hooli", "wonka")]
    # A path an HTTP request line cannot carry as written (it used to end every pass): sent
    # percent-encoded, as the form now stores it.
    Destination.objects.filter(pk=unicode_path["destination"].pk).update(
        url=f"{receiver.url}/bäd"
    )
    # A control character: never what an admin meant, so the destination fails.
    Destination.objects.filter(pk=bad_url["destination"].pk).update(
        url=f"{receiver.url}/bad\x01path"
    )
    # A name with a line break (it used to make every alert mail's header invalid).
    Organization.objects.filter(pk=bad_name["organization"].pk).update(
        name="Bad\r\nBcc: victim@example.com"
    )
    # An address no mail can go to.
    User.objects.filter(pk=bad_address["owner"].pk).update(email="owner\n@badaddress.test")
    for each in [unicode_path, bad_url, bad_name, bad_address, *good]:
        each["organization"].refresh_from_db()
        record("project.deleted", organization=each["organization"], project=each["project"])
    return {"unicode_path": unicode_path, "bad_url": bad_url, "bad_name": bad_name,
            "bad_address": bad_address, "good": good}


def delivered_paths(receiver) -> set[str]:
    return {request["path"] for request in receiver.requests if request["status"] == 200}


def test_a_delivery_pass_delivers_every_other_organization(tenants, receiver):
    webhooks.deliver_due()
    everyone_else = [tenants["bad_name"], tenants["bad_address"], *tenants["good"]]
    assert delivered_paths(receiver) == {"/hook/b%C3%A4d"} | {
        f"/hook/{each['organization'].slug}" for each in everyone_else
    }
    poisoned = Destination.objects.get(pk=tenants["bad_url"]["destination"].pk)
    assert poisoned.status == "failing" and poisoned.failed_attempts == 1
    assert "control characters" in poisoned.last_error
    assert poisoned.next_attempt_at > timezone.now()


def test_an_alert_pass_alerts_every_other_organization(tenants):
    alerts.send_alerts()
    everyone_else = [tenants["unicode_path"], tenants["bad_url"], tenants["bad_name"],
                     *tenants["good"]]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e["owner"].email for e in everyone_else)
    (to_bad_name,) = [m for m in mail.outbox if m.to == ["owner@badname.test"]]
    assert to_bad_name.subject == "[Bad Bcc: victim@example.com] Critical: Project deleted"
    assert "victim@example.com" not in to_bad_name.message().get("Bcc", "")
    failing = AlertSubscription.objects.get(membership__user__email="owner\n@badaddress.test")
    assert failing.status == "failing" and failing.failed_attempts == 1 and failing.last_error


def test_any_error_while_sending_is_a_failure_of_that_destination_alone(
    db, receiver, monkeypatch
):
    first = tenant("umbrella", receiver)
    second = tenant("hooli", receiver)
    for each in (first, second):
        record("project.created", organization=each["organization"], project=each["project"])
    real_payload = webhooks.payload

    def payload(destination, *items):
        if destination.pk == first["destination"].pk:
            raise RuntimeError("the serializer choked")
        return real_payload(destination, *items)

    monkeypatch.setattr(webhooks, "payload", payload)
    webhooks.deliver_due()
    assert delivered_paths(receiver) == {"/hook/hooli"}
    failing = Destination.objects.get(pk=first["destination"].pk)
    assert failing.status == "failing"
    assert failing.last_error == "RuntimeError: the serializer choked"


def test_alerts_that_keep_failing_are_paused_the_admins_told_and_resumed_by_the_person(
    tenants, settings, events
):
    settings.AUDITLOG_WEBHOOK_BACKOFF_BASE = 0
    settings.AUDITLOG_WEBHOOK_PAUSE_AFTER = 3600
    organization = tenants["bad_address"]["organization"]
    admin = UserFactory(email="admin@badaddress.test")
    MembershipFactory(organization=organization, user=admin, role=Role.ADMIN)
    start = timezone.now()
    alerts.send_alerts(now=start)
    subscription = AlertSubscription.objects.get(membership__organization=organization)
    assert subscription.status == "failing"
    mail.outbox.clear()

    alerts.send_alerts(now=start + timedelta(hours=1))
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    (told,) = mail.outbox
    assert told.to == ["admin@badaddress.test"]
    assert "alerts to owner @badaddress.test were paused" in told.subject
    (paused,) = events(organization, action="alerts.paused")
    assert paused.actor_type == "system"

    mail.outbox.clear()
    alerts.send_alerts(now=start + timedelta(hours=5))
    assert mail.outbox == []  # paused: left alone

    User.objects.filter(pk=tenants["bad_address"]["owner"].pk).update(
        email="owner@badaddress.test"
    )
    services.alert_preference_set(membership=subscription.membership, critical_events=True)
    alerts.send_alerts(now=start + timedelta(hours=5))
    assert [m.to for m in mail.outbox] == [["owner@badaddress.test"]]
    subscription.refresh_from_db()
    assert subscription.status == "active" and subscription.failed_attempts == 0


def test_the_person_sees_that_their_alert_mails_are_failing(tenants):
    alerts.send_alerts()
    owner = User.objects.get(pk=tenants["bad_address"]["owner"].pk)
    page = signed_in(owner).get("/orgs/badaddress/settings/alerts/")
    assert "Your alert mails are failing, retrying" in page.text
