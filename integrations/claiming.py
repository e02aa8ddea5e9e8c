"""One worker at a time per destination and per alert subscription.

A worker claims the row it works on: on PostgreSQL a row lock held until its transaction
ends, skipped (None) when another worker holds it, so several workers share the rows without
sending anything twice. SQLite runs one worker (settings.WORKER_PROCESSES) and takes no lock:
there a transaction would hold the whole database while a receiver or a mail server answers.
"""

from contextlib import contextmanager

from django.db import transaction

from auditlogs.storage.backends import backend


@contextmanager
def claimed(queryset, pk):
    """The row `pk` of `queryset`, claimed for the block; None if it is gone or taken."""
    if not backend().skips_locked_rows:
        yield queryset.filter(pk=pk).first()
        return
    with transaction.atomic():
        yield queryset.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()
