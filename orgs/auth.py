from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connection

from auditlogs.recording.context import client_ip
from orgs import sign_in_limits
from orgs.models import User


class EmailBackend(ModelBackend):
    """Sign in with an e-mail address (any letter case) and a password, unless the account or
    the client address is locked out (orgs/sign_in_limits.py): then no password is checked and
    `request.sign_in_lock` says for how long."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip()
        if not email or password is None:
            return None
        lock = sign_in_limits.lock_for(email, client_ip(request) if request else None)
        if lock is not None:
            if request is not None:
                request.sign_in_lock = lock
            raise PermissionDenied(lock.message)  # Django stops here and says it failed
        user = User.objects.by_email(email)
        if user is None:
            User().set_password(password)  # same work as a real check, so timing tells nothing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The person of a signed-in session, read on every page: ModelBackend's rule (an
        account turned off is nobody), the row read by one plain statement, which costs less
        than the ORM compiling the same query."""
        user = next(iter(User._default_manager.raw(_USER_BY_ID, [user_id])), None)
        return user if user is not None and self.user_can_authenticate(user) else None


_USER_BY_ID = "SELECT {} FROM {} WHERE {} = %s".format(
    ", ".join(connection.ops.quote_name(field.column) for field in User._meta.concrete_fields),
    connection.ops.quote_name(User._meta.db_table),
    connection.ops.quote_name(User._meta.pk.column),
)
