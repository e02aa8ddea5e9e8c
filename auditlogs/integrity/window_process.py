"""A verification worker process's entry points (windows.py).

Workers come from a fork server that preloads this module, so Django is set up once there and
every worker starts with it ready (a process that imports this module with Django already set
up, like the verifier's, is left alone). No app code is imported at import time: Django is not
set up yet when the fork server imports it.
"""

import gc

import django
from django.apps import apps

if not apps.ready:
    django.setup()


# Young collections every this many new container objects, not every 700: a worker reads a
# tuple per event (5,000 a batch), none of them in a reference cycle, and the default made
# collections cost ~4% of its time.
YOUNG_COLLECTION_EVERY = 50_000


def start(database_name: str) -> None:
    """A new worker process reads the verifier's database (in tests, the test database) and
    collects garbage less often."""
    from django.db import connections

    connections["default"].settings_dict["NAME"] = database_name
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def walk_window(window):
    from auditlogs.integrity.windows import walk_window

    return walk_window(window)
