"""Free-text search: what `q` matches, and how PostgreSQL should read one page of it.

`q` matches events whose target or actor label contains the text (case-insensitive), or whose
event type's label or key does. PostgreSQL has two ways to find a page of matches
(docs/scale.md): read the organization's events newest first and test each row until the page
is full, or collect every match from the trigram indexes and sort them. Which is faster depends
on how common the text is, and for `LIKE '%text%'` the planner can only guess; a text that is
rare as a whole but made of trigrams every label shares (an e-mail address: the domain and the
"person"-like parts are everywhere) is guessed rare, and collecting "every match" then means
intersecting posting lists that cover almost every event.

So the page looks before it reads: it tests the newest SAMPLE_ROWS events of the same filters
in Python. If matches are dense enough there that reading in order would test at most
SCAN_BUDGET rows for a page, the page query runs with bitmap scans (the trigram path), plain
sequential scans and sorts switched off for that one statement, which leaves the newest-first
index. Otherwise (no or few matches among the newest events) the planner chooses, and a rare
text goes through the trigram indexes. Both ways return the same rows; only the plan differs.
"""

from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Q

from auditlogs.catalogue import actions_matching

SAMPLE_ROWS = 1_000
SCAN_BUDGET = 100_000
_OTHER_WAYS = ("bitmapscan", "seqscan", "sort")


def condition(text: str) -> Q | None:
    """The events `q` matches, or None for an empty search."""
    text = text.strip()
    if not text:
        return None
    matches = Q(target_label__icontains=text) | Q(actor_label__icontains=text)
    actions = actions_matching(text)
    if actions:
        matches |= Q(action__in=actions)
    return matches


def reads_in_order(unsearched, text: str, page_size: int) -> bool:
    """Whether a page of `text` among `unsearched` (a filtered queryset of events) is found
    fastest by reading newest first, judged from its newest SAMPLE_ROWS events."""
    if connection.vendor != "postgresql" or not text.strip():
        return False
    needle, actions = text.strip().upper(), set(actions_matching(text.strip()))
    newest = unsearched.newest_first().values_list("target_label", "actor_label", "action")
    hits = sum(
        1
        for target, actor, action in newest[:SAMPLE_ROWS]
        if needle in target.upper() or needle in actor.upper() or action in actions
    )
    return hits > 0 and SAMPLE_ROWS * (page_size + 1) / hits <= SCAN_BUDGET


@contextmanager
def in_index_order():
    """Plan the statements inside newest-first from an index (PostgreSQL only)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for method in _OTHER_WAYS:
            cursor.execute(f"SET LOCAL enable_{method} = off")
        yield
        # Inside an outer transaction SET LOCAL would outlive this block; an error instead
        # rolls the block back, and the settings with it.
        for method in _OTHER_WAYS:
            cursor.execute(f"RESET enable_{method}")
