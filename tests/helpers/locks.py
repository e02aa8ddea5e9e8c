"""Another connection's transaction that commits only once this one waits for its locks: how a
test puts two transactions into a race in one chosen order, without sleeping."""

import threading
import time
from collections.abc import Callable

from django.db import connection, transaction


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


class CommitsOnceWaitedFor:
    """`work()` in a transaction of another connection (a thread has its own), committed once
    the backend `waiter` waits for a lock (PostgreSQL's pg_locks), or after 30 s. Entering
    returns when `work()` has run; leaving waits for the commit."""

    def __init__(self, work: Callable[[], object], waiter: int):
        self.work, self.waiter = work, waiter
        self.worked, self.committed = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            with transaction.atomic():
                self.work()
                self.worked.set()
                deadline = time.monotonic() + 30
                while not self._waiter_waits() and time.monotonic() < deadline:
                    time.sleep(0.02)
            self.committed.set()
        finally:
            connection.close()

    def _waiter_waits(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [self.waiter]
            )
            return cursor.fetchone()[0] > 0

    def __enter__(self):
        self.thread.start()
        assert self.worked.wait(timeout=10), "the other transaction's work did not run"
        return self

    def __exit__(self, *exc):
        self.thread.join(timeout=30)
