"""Invitation links: signed, expiring, single-use.

The token signs the invitation's id and the moment it was sent. It is refused when the
signature is wrong, when it is older than INVITATION_MAX_AGE_DAYS, when the invitation was
accepted or revoked, and when the invitation was sent again since (a new `sent_at`), so only
the newest link of a pending invitation works, and only once.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse

from auditlogs.conf import app_settings
from orgs.models import Invitation

SALT = "orgs.invitation"


def token_for(invitation: Invitation) -> str:
    return signing.dumps(
        {"invitation": invitation.pk, "sent": invitation.sent_at.timestamp()}, salt=SALT
    )


def invitation_for(token: str) -> Invitation | None:
    """The pending invitation the token opens, or None however it fails."""
    try:
        data = signing.loads(
            token, salt=SALT, max_age=settings.INVITATION_MAX_AGE_DAYS * 24 * 3600
        )
        invitation = Invitation.objects.select_related("organization").get(
            pk=data["invitation"]
        )
    except (signing.BadSignature, KeyError, TypeError, Invitation.DoesNotExist):
        return None
    if not invitation.is_pending or data.get("sent") != invitation.sent_at.timestamp():
        return None
    return invitation


def link_for(invitation: Invitation) -> str:
    path = reverse("invitation_accept", args=[token_for(invitation)])
    return app_settings.BASE_URL.rstrip("/") + path


def send(invitation: Invitation) -> None:
    organization = invitation.organization
    inviter = invitation.invited_by.email if invitation.invited_by else "An administrator"
    days = settings.INVITATION_MAX_AGE_DAYS
    send_mail(
        subject=f"You are invited to join {organization.name}",
        message=(
            f"{inviter} invited you to join {organization.name} as "
            f"{invitation.get_role_display().lower()}.\n\n"
            f"Accept the invitation and choose your password here:\n{link_for(invitation)}\n\n"
            f"The link works once and expires in {days} days. If you did not expect this "
            "invitation, ignore this e-mail.\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
