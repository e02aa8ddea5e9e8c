"""Free-text search: what `q` matches, and how PostgreSQL should read one page of it.

`q` matches events whose target or actor label contains the text (case-insensitive), or whose
event type's label or key does; the Actor filter (and `actor:` in the search box) matches events
whose actor label contains its text, and is searched the same way.

PostgreSQL has two ways to find a page of matches (docs/scale.md): read the organization's
events newest first and test each row until the page is full, or collect every match from the
trigram indexes and sort them. Which is faster depends
on how common the text is, and for `LIKE '%text%'` the planner can only guess; a text that is
rare as a whole but made of trigrams every label shares (an e-mail address: the domain and the
"person"-like parts are everywhere) is guessed rare, and collecting "every match" then means
intersecting posting lists that cover almost every event (about a second at 2 million events).

So the page looks before it reads. If any of the newest SAMPLE_ROWS events of the same filters
match, matches are probably dense enough to fill a page soon reading newest first, and the page
query is planned that way (bitmap scans, sequential scans and sorts off for that statement).
Matches can still turn out to be few (a text found once, at the top), so that read has
IN_ORDER_BUDGET_MS; past it, PostgreSQL cancels it and the page is read the planner's way after
all. Without a match among the newest events the planner chooses from the start, and a rare
text goes through the trigram indexes. Either way the rows are the same; only the plan differs.
"""

import functools
import operator
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import OperationalError, connection, transaction
from django.db.models import CharField, Lookup, Q
from psycopg import errors

from auditlogs.recording.catalogue import actions_matching
from auditlogs.storage.backends import backend

SAMPLE_ROWS = 1_000
IN_ORDER_BUDGET_MS = 500

Result = TypeVar("Result")


@CharField.register_lookup
class ContainsAnyCase(Lookup):
    """`label__contains_any_case=text`: the label contains the text in any letter case, any
    alphabet; each database says how (storage/backends: `contains_any_case_sql`)."""

    lookup_name = "contains_any_case"

    def as_sql(self, compiler, connection):
        return backend(connection).contains_any_case_sql(self, compiler, connection)


def condition(text: str, actors: Sequence[str] = ()) -> Q | None:
    """The events `q` matches and whose actor contains each of `actors` (the Actor filter and
    `actor:` in the search box, searched the same way), or None when there is nothing to
    search for."""
    text, actors = text.strip(), [a.strip() for a in actors if a.strip()]
    parts = [Q(actor_label__contains_any_case=actor) for actor in actors]
    if text:
        matches = (Q(target_label__contains_any_case=text)
                   | Q(actor_label__contains_any_case=text))
        actions = actions_matching(text)
        if actions:
            matches |= Q(action__in=actions)
        parts.insert(0, matches)
    if not parts:
        return None
    return functools.reduce(operator.and_, parts)


def worth_reading_in_order(unsearched, text: str, actors: Sequence[str] = ()) -> bool:
    """Whether any of the newest SAMPLE_ROWS of `unsearched` (a filtered queryset of events)
    match `text` and `actors`, tested here in Python the way `condition` tests it in SQL."""
    text, actors = text.strip(), [a.strip().upper() for a in actors if a.strip()]
    if not backend().plans_in_index_order or not (text or actors):
        return False
    needle, actions = text.upper(), set(actions_matching(text)) if text else set()

    def matches(target: str, actor: str, action: str) -> bool:
        found = not text or needle in target.upper() or needle in actor.upper() or (
            action in actions)
        return found and all(part in actor.upper() for part in actors)

    newest = unsearched.newest_first().values_list("target_label", "actor_label", "action")
    return any(matches(*row) for row in newest[:SAMPLE_ROWS])


def read_in_index_order(read: Callable[[], Result]) -> Result | None:
    """`read()` with its statements planned newest-first from an index, or None when that
    takes longer than IN_ORDER_BUDGET_MS. The settings live in a savepoint that is rolled back
    afterwards (the block only reads), which restores whatever was set before."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {IN_ORDER_BUDGET_MS}")
                for method in ("bitmapscan", "seqscan", "sort"):
                    cursor.execute(f"SET LOCAL enable_{method} = off")
            result = read()
            transaction.set_rollback(True)
        return result
    except OperationalError as error:
        if isinstance(error.__cause__, errors.QueryCanceled):
            return None
        raise
