"""Sign-in, sign-out and failed sign-in, recorded in each organization of the person."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from auditlogs import record
from auditlogs.recording.context import Actor, ActorType
from orgs.models import Organization, User


def _record_in_each_organization(action: str, user, actor: Actor, metadata=None) -> None:
    with transaction.atomic():
        for organization in Organization.objects.filter(memberships__user=user):
            record(action, organization=organization, actor=actor, target=user, metadata=metadata)


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    _record_in_each_organization("user.logged_in", user, Actor.for_user(user))


@receiver(user_logged_out)
def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        _record_in_each_organization("user.logged_out", user, Actor.for_user(user))


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:254]
    user = User.objects.filter(email__iexact=attempted).first() if attempted else None
    if user is None:
        return  # no organization to tell
    # Nobody proved who they are, so the actor is the claimed address, without an id.
    actor = Actor(type=ActorType.USER, id=None, label=attempted)
    _record_in_each_organization(
        "user.login_failed", user, actor, metadata={"attempted_email": attempted}
    )
