"""Test clients of people."""

from django.contrib.auth.signals import user_logged_in
from django.test import Client

from auditlogs.web.sign_in import on_logged_in


def signed_in(user) -> Client:
    """A client signed in as `user` (anonymous for None), without recording the sign-in, so
    tests see only the events of what they do."""
    client = Client()
    if user is not None:
        user_logged_in.disconnect(on_logged_in)
        try:
            client.force_login(user)
        finally:
            user_logged_in.connect(on_logged_in)
    return client
