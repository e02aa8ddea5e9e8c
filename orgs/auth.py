from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connection

from auditlogs.recording.context import client_ip
from orgs import sign_in_limits
from orgs.models import User


class EmailBackend(ModelBackend):
    """Sign in with an e-mail address (any letter case) and a password, unless the account or
    the client address is locked out (orgs/sign_in_limits.py): then no password is checked and
    `request.sign_in_lock` says for how long. The attempt is counted before the password is
    checked, and given back when it was right."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip()
        if not email or password is None:
            return None
        if request is None:  # code signing someone in (the test client): nothing to count yet
            lock = sign_in_limits.lock_for(email, None)
            if lock is not None:
                raise PermissionDenied(lock.message)
            return self._checked(email, password)
        ip = client_ip(request)
        attempt = sign_in_limits.begin_attempt(email, ip)
        if isinstance(attempt, sign_in_limits.Lock):
            request.sign_in_lock = attempt
            raise PermissionDenied(attempt.message)  # Django stops here and says it failed
        request.sign_in_attempt = attempt  # what the failure, if it is one, counted
        user = self._checked(email, password)
        if user is not None:
            sign_in_limits.give_back(email, ip)
        return user

    def _checked(self, email: str, password: str) -> User | None:
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
