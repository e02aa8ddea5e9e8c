"""A verification worker process's entry points (windows.py).

Workers come from a fork server that preloads this module, so Django is set up once there and
every worker starts with it ready (a process that imports this module with Django already set
up, like the verifier's, is left alone). No app code is imported at import time: Django is not
set up yet when the fork server imports it.
"""

import django
from django.apps import apps

if not apps.ready:
    django.setup()


def start(database_name: str) -> None:
    """A new worker process reads the verifier's database (in tests, the test database)."""
    from django.db import connections

    connections["default"].settings_dict["NAME"] = database_name


def walk_window(window):
    from auditlogs.integrity.windows import walk_window

    return walk_window(window)
