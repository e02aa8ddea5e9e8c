"""Sign-in, sign-out and failed sign-in, recorded in each organization of the person.

Failed sign-ins are throttled (orgs/sign_in_limits.py) and aggregated: per account and window,
the first failure is one `user.login_failed` and the lock-out one `user.login_locked`, each
with the count; attempts refused while locked are counted and not recorded. Nobody proved who
they are, so the actor is "unknown (tried <e-mail>)", never the person. Failures for an
address with no organization go to the operators' security log (the Django admin).
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from auditlogs.recording.context import Actor, current_context
from orgs import sign_in_limits
from orgs.models import SecurityLogEntry, User
from orgs.services import record_for_person, unknown_actor


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    sign_in_limits.note_success(user.email)
    record_for_person("user.logged_in", user, Actor.for_user(user))


@receiver(user_logged_out)
def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        record_for_person("user.logged_out", user, Actor.for_user(user))


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None and getattr(request, "sign_in_lock", None):
        return  # refused while locked out: no password was checked, nothing more to say
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:254]
    if not attempted:
        return
    context = current_context()
    # Counted when it began (orgs/auth.py, the two-factor step), or now when nothing did.
    failure = getattr(request, "sign_in_attempt", None) or sign_in_limits.note_failure(
        attempted, context.ip
    )
    counted = {
        "attempted_email": attempted,
        "failures": failure.account_failures,
        "window_minutes": settings.SIGN_IN_WINDOW_SECONDS // 60,
    }
    user = User.objects.by_email(attempted)
    has_organization = user is not None and user.memberships.exists()
    if has_organization:
        if failure.first_in_window:
            record_for_person(
                "user.login_failed", user, unknown_actor(attempted), metadata=counted
            )
        if failure.locks_account:
            record_for_person(
                "user.login_locked", user, unknown_actor(attempted), metadata=counted
            )
    else:  # one row per address and window, counting the attempts
        _note_for_operators(SecurityLogEntry.Kind.SIGN_IN_FAILED, attempted, context)
        if failure.locks_account:
            _note_for_operators(SecurityLogEntry.Kind.ACCOUNT_LOCKED, attempted, context)
    if failure.locks_address:
        _note_for_operators(SecurityLogEntry.Kind.ADDRESS_LOCKED, "", context)


def _note_for_operators(kind: str, attempted: str, context) -> None:
    SecurityLogEntry.objects.note(
        kind, attempted_email=attempted, ip=context.ip, user_agent=context.user_agent,
        window_start=sign_in_limits.window_start(),
    )
