"""Two requests at the same moment, made deterministic: the first is held inside its
transaction (with its locks) right after a chosen call, while the second runs into it.

PostgreSQL only: there transactions run side by side; SQLite runs one writing transaction
after the other. Tests using these need `django_db(transaction=True)`, so that what a thread
commits is seen by the others.
"""

import threading
import time

import pytest
from django.db import connection

from auditlogs.storage.backends import is_postgresql

only_on_postgresql = pytest.mark.skipif(
    not is_postgresql(), reason="SQLite runs one writing transaction at a time"
)


class InThread(threading.Thread):
    """`send()` (a test client's request) in a thread of its own, so on a connection of its
    own; `result()` is its response, or raises what it raised."""

    def __init__(self, send):
        super().__init__(daemon=True)
        self.send = send
        self.response = self.error = None
        self.start()

    def run(self):
        try:
            self.response = self.send()
        except BaseException as error:  # re-raised in the test's thread by result()
            self.error = error
        finally:
            connection.close()

    def result(self, timeout: float = 30):
        self.join(timeout)
        assert not self.is_alive(), "the request did not finish"
        if self.error is not None:
            raise self.error
        return self.response


class HeldAfterFirstCall:
    """Inside its `with` block, `module.name` is patched so that its first call, once done,
    holds its thread (and so the transaction around it) until the block ends; later calls
    run straight through."""

    def __init__(self, monkeypatch, module, name: str):
        original = getattr(module, name)
        self.held, self.released = threading.Event(), threading.Event()
        first = threading.Lock()

        def held_once(*args, **kwargs):
            result = original(*args, **kwargs)
            if first.acquire(blocking=False):
                self.held.set()
                self.released.wait(timeout=60)
            return result

        monkeypatch.setattr(module, name, held_once)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.released.set()

    def wait(self, timeout: float = 10) -> None:
        """Until the first call is made and held."""
        assert self.held.wait(timeout), "the first call never came"


def wait_until_blocked(request: InThread, timeout: float = 10) -> None:
    """Return once another connection waits for a lock (`request`, held up by the held one),
    or `request` has finished without waiting: the race the tests reproduce."""
    deadline = time.monotonic() + timeout
    while request.is_alive():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "the request neither waited for a lock nor ended"
        time.sleep(0.01)
