"""E-mail alerts on Critical events: opt-in, after commit, batched, scoped like the page."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from auditlogs import record
from integrations import alerts, services
from projects import services as project_services
from tests.helpers.clients import signed_in


def opt_in(membership):
    return services.alert_preference_set(membership=membership, critical_events=True)


def membership_of(organization, user):
    return user.memberships.get(organization=organization)


def mails_to(address):
    return [message for message in mail.outbox if message.to == [address]]


def test_deleting_a_chatbot_mails_the_people_who_opted_in(acme, admin, bot):
    opt_in(membership_of(acme, admin))
    project_services.chatbot_delete(chatbot=bot)
    call_command("deliver_audit_events", stdout=open("/dev/null", "w"))  # noqa: SIM115
    (message,) = mail.outbox
    assert message.to == ["admin@acme.test"]
    assert message.subject == "[Acme] Critical: Chatbot deleted"
    assert "Chatbot deleted “Helper” in Alpha" in message.body
    event_id = message.body.split("/settings/audit-logs/events/")[1].split("/")[0]
    assert f"http://127.0.0.1:8000/orgs/acme/settings/audit-logs/events/{event_id}/" in message.body
    assert signed_in(admin).get(
        f"/orgs/acme/settings/audit-logs/events/{event_id}/").status_code == 200


def test_many_events_at_once_arrive_as_one_mail(acme, owner, beta):
    opt_in(membership_of(acme, owner))
    for _ in range(5):
        record("project.deleted", organization=acme, project=beta)
    assert alerts.send_alerts() == 1
    (message,) = mail.outbox
    assert message.subject == "[Acme] 5 critical events"
    assert message.body.count("- Project deleted") == 5
    assert alerts.send_alerts() == 0  # nothing new, nothing sent


def test_batches_are_bounded(acme, owner, beta, settings):
    settings.AUDITLOG_ALERT_BATCH_SIZE = 2
    opt_in(membership_of(acme, owner))
    for _ in range(5):
        record("project.deleted", organization=acme, project=beta)
    assert alerts.send_alerts() == 3
    assert [m.body.count("- Project deleted") for m in mail.outbox] == [2, 2, 1]


def test_members_are_told_only_about_their_projects(member_membership, acme, owner, alpha, beta):
    opt_in(member_membership)
    opt_in(membership_of(acme, owner))
    record("chatbot.deleted", organization=acme, project=alpha)
    record("project.deleted", organization=acme, project=beta)
    record("project.deleted", organization=acme)  # no project: organization-level
    alerts.send_alerts()
    (member_mail,) = mails_to("member@acme.test")
    assert "Chatbot deleted" in member_mail.body and "Project deleted" not in member_mail.body
    (owner_mail,) = mails_to("owner@acme.test")
    assert owner_mail.subject == "[Acme] 3 critical events"


def test_a_member_with_nothing_visible_gets_no_mail_and_moves_on(member_membership, acme, beta):
    subscription = opt_in(member_membership)
    last = record("project.deleted", organization=acme, project=beta)
    assert alerts.send_alerts() == 0 and mail.outbox == []
    subscription.refresh_from_db()
    last.refresh_from_db()
    assert subscription.cursor == last.sequence


def test_only_critical_events_and_only_for_those_who_opted_in(acme, owner, alpha, beta):
    opt_in(membership_of(acme, owner))
    record("member.role_changed", organization=acme)  # warning
    record("project.viewed", organization=acme, project=alpha)  # info
    assert alerts.send_alerts() == 0
    services.alert_preference_set(membership=membership_of(acme, owner),
                                  critical_events=False)
    record("project.deleted", organization=acme, project=beta)
    assert alerts.send_alerts() == 0 and mail.outbox == []


def test_alerts_cover_what_happens_after_opting_in(acme, beta, owner):
    record("project.deleted", organization=acme, project=beta)
    opt_in(membership_of(acme, owner))
    assert alerts.send_alerts() == 0


def test_a_rolled_back_change_sends_nothing(acme, owner, beta):
    opt_in(membership_of(acme, owner))
    with pytest.raises(RuntimeError), transaction.atomic():
        record("project.deleted", organization=acme, project=beta)
        raise RuntimeError("the deletion failed")
    assert alerts.send_alerts() == 0 and mail.outbox == []


def test_free_plan_organizations_get_no_alerts(globex_owner, globex, globex_project):
    membership = globex_owner.memberships.get()
    opt_in(membership)
    record("project.deleted", organization=globex, project=globex_project)
    assert alerts.send_alerts() == 0
