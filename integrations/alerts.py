"""E-mail alerts about Critical events, for the members who opted in.

The worker reads committed events only, so a mail is only ever about a change that committed.
Each subscription keeps a cursor (the last sequence considered); one pass sends each person one
mail listing every new Critical event they may see (members: their projects' events only),
up to AUDITLOG_ALERT_BATCH_SIZE events a mail.
"""

from django.core.mail import send_mail
from django.urls import reverse

from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording.catalogue import Severity
from auditlogs.recording.chain import format_time
from auditlogs.web.access import log_viewer_for
from integrations.models import AlertSubscription
from orgs.models import Plan

MAX_MAILS_PER_PASS = 10


def absolute_url(path: str) -> str:
    return app_settings.BASE_URL.rstrip("/") + path


def send_alerts() -> int:
    """One pass over every subscription; the number of mails sent."""
    subscriptions = (
        AlertSubscription.objects.filter(
            critical_events=True,
            membership__organization__plan=Plan.ENTERPRISE,
            membership__user__is_active=True,  # deactivated people are not mailed
        )
        .filter(ChainHead.behind("cursor", "membership__organization_id"))  # idle ones cost nothing
        .select_related("membership__user", "membership__organization")
    )
    return sum(_alert(subscription) for subscription in subscriptions)


def _alert(subscription: AlertSubscription) -> int:
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
            f"  {absolute_url(reverse('audit_event', args=[organization.slug, event.pk]))}",
        ]
    settings_link = absolute_url(reverse("settings_alerts", args=[organization.slug]))
    lines += ["", f"You get these mails because you chose to; change that at {settings_link}"]
    send_mail(subject, "\n".join(lines), None, [membership.user.email])
