"""E-mail alerts about Critical events, for the members who opted in.

The worker reads committed events only, so a mail is only ever about a change that committed.
Each subscription keeps a cursor (the last sequence considered); one pass sends each person one
mail listing every new Critical event they may see (members: their projects' events only),
up to AUDITLOG_ALERT_BATCH_SIZE events a mail.
"""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from auditlogs import record
from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording.catalogue import Severity
from auditlogs.recording.chain import format_time
from auditlogs.recording.context import Actor, acting_as
from auditlogs.web.access import log_viewer_for
from integrations import mailing
from integrations.claiming import claimed
from integrations.models import AlertSubscription
from orgs.models import Plan

logger = logging.getLogger(__name__)

MAX_MAILS_PER_PASS = 10


def send_alerts(now=None) -> int:
    """One pass over every due subscription; the number of mails sent."""
    now = now or timezone.now()
    subscriptions = (
        AlertSubscription.objects.due(now)
        .filter(
            critical_events=True,
            membership__organization__plan=Plan.ENTERPRISE,
            membership__user__is_active=True,  # deactivated people are not mailed
        )
        .filter(ChainHead.behind("cursor", "membership__organization_id"))  # idle ones cost nothing
        .select_related("membership__user", "membership__organization")
    )
    return sum(alert(subscription, now) for subscription in subscriptions)


def alert(subscription: AlertSubscription, now) -> int:
    """Mail one person their new Critical events. Whatever goes wrong (their address, a name
    in the mail, the mail server) is a failed attempt on this subscription, with backoff and in
    time a pause that the organization's admins are told about; never the end of the pass."""
    try:
        # Claimed: a worker that finds another holding it skips it, so no two workers mail the
        # same events. A failure (or a crash) before the commit leaves the cursor where it was:
        # that pass's mails go again with the next attempt (at least once).
        with claimed(_subscriptions(), subscription.pk) as held:
            if held is None:
                return 0
            sent = _mail_new_events(held)
    except Exception as error:
        logger.exception("Alert mail for subscription %s failed", subscription.pk)
        _note_failure(subscription, f"{type(error).__name__}: {error}", now)
        return 0
    subscription.succeeded()
    return sent


def _subscriptions():
    return AlertSubscription.objects.select_related("membership__user", "membership__organization")


def _mail_new_events(subscription: AlertSubscription) -> int:
    membership = subscription.membership
    viewer = None  # built only when there is something to send
    sent = 0
    batch_size = app_settings.ALERT_BATCH_SIZE
    # Read first: every event up to the head has committed (writers commit in chain order).
    head = ChainHead.sequence_for(membership.organization_id)
    for _ in range(MAX_MAILS_PER_PASS):
        critical = AuditEvent.objects.filter(
            organization_id=membership.organization_id,
            severity=Severity.CRITICAL,
            sequence__gt=subscription.cursor,
            sequence__lte=head,
        ).order_by("sequence")
        # The cursor moves past every critical event, seen or not; the mail lists those this
        # person may see (the same rule as the page).
        considered = list(critical.values_list("id", "sequence")[:batch_size])
        if not considered:
            # Nothing critical up to the head: the next pass starts there (or skips this
            # subscription altogether until the organization records something new).
            subscription.cursor = head
            subscription.save(update_fields=["cursor", "updated_at"])
            break
        viewer = viewer or log_viewer_for(membership.user, membership.organization.slug)
        visible = list(
            viewer.events().filter(id__in=[pk for pk, _ in considered]).order_by("sequence")
        )
        if visible:
            _mail(membership, visible)
            sent += 1
        subscription.cursor = considered[-1][1]
        subscription.save(update_fields=["cursor", "updated_at"])
        if len(considered) < batch_size:
            break
    return sent


def _note_failure(subscription: AlertSubscription, reason: str, now) -> None:
    try:
        with transaction.atomic():
            paused = subscription.failed(reason, now)
            if paused:
                with acting_as(Actor.system("alert mails")):
                    record(
                        "alerts.paused",
                        organization=subscription.membership.organization,
                        target=subscription.membership.user,
                        metadata={"last_error": subscription.last_error[:500]},
                    )
        if paused:
            _mail_pause(subscription)
    except Exception:  # even noting the failure failed (the database?): the pass goes on
        logger.exception("Could not note the failure of alert subscription %s", subscription.pk)


def _mail_pause(subscription: AlertSubscription) -> None:
    """Tell the organization's owners and admins that one person's alerts were paused."""
    organization = subscription.membership.organization
    person = subscription.membership.user.email
    link = mailing.absolute_url(reverse("settings_alerts", args=[organization.slug]))
    mailing.tell_managers(
        organization,
        f"[{organization.name}] Critical-event alerts to {person} were paused",
        (
            f"E-mails about Critical events to {person} have failed since "
            f"{subscription.failing_since:%Y-%m-%d %H:%M} UTC, so they were paused.\n\n"
            f"Last error: {subscription.last_error}\n\n"
            f"They start again, from where they stopped, when {person} saves their alert "
            f"settings: {link}\n"
        ),
    )


def _mail(membership, events: list[AuditEvent]) -> None:
    organization = membership.organization
    if len(events) == 1:
        subject = f"[{organization.name}] Critical: {events[0].label}"
    else:
        subject = f"[{organization.name}] {len(events)} critical events"
    lines = [
        f"{len(events)} critical event{'s' if len(events) > 1 else ''} in the Audit Logs of "
        f"{organization.name}:",
        "",
    ]
    for event in events:
        where = f" in {event.project_name}" if event.project_name else ""
        what = f" “{event.target_label}”" if event.target_label else ""
        lines += [
            f"- {event.label}{what}{where}",
            f"  by {event.actor_label or event.actor_type} at {format_time(event.occurred_at)}",
            f"  {mailing.absolute_url(reverse('audit_event', args=[organization.slug, event.pk]))}",
        ]
    settings_link = mailing.absolute_url(reverse("settings_alerts", args=[organization.slug]))
    lines += ["", f"You get these mails because you chose to; change that at {settings_link}"]
    mailing.send(subject, "\n".join(lines), [membership.user.email])
