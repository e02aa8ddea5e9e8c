"""Mail the integrations send: headers stay one line whatever the names in them hold, and
failures are told to the people who manage the organization."""

import logging
import re

from django.core.mail import EmailMessage, get_connection, send_mail

from auditlogs.conf import app_settings
from orgs.models import Membership

logger = logging.getLogger(__name__)

_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\s]+")


def absolute_url(path: str) -> str:
    return app_settings.BASE_URL.rstrip("/") + path


def one_line(text: str) -> str:
    """The text fit for a mail header: line breaks, tabs and other control characters (from an
    organization's or a destination's name) become single spaces."""
    return _BREAKS.sub(" ", text).strip()


def send(subject: str, body: str, recipients: list[str]) -> None:
    send_mail(one_line(subject), body, None, recipients)


def tell_managers(organization, subject: str, body: str) -> int:
    """Mail the active people who may manage the organization's integrations, each their own
    message, so that one address that cannot be mailed does not silence the others. The number
    of mails sent; failures are logged."""
    memberships = Membership.objects.active().filter(organization=organization)
    recipients = [
        m.user.email for m in memberships.select_related("user") if m.can_manage_organization
    ]
    sent = 0
    with get_connection() as connection:
        for recipient in recipients:
            try:
                sent += EmailMessage(
                    one_line(subject), body, None, [recipient], connection=connection
                ).send()
            except Exception:
                logger.exception("Could not tell %r about %s", recipient, one_line(subject))
    return sent
