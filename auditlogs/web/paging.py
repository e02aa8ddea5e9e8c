"""Keyset paging over (occurred_at DESC, id DESC): a cursor names the edge row of a page.

No OFFSET and no COUNT: a page at any depth costs the same. Cursors are signed so that a
forged or mangled one is refused with a clear message instead of being trusted. A cursor also
carries how many rows came before its edge row when it was made, so a page can say "Events
51–100" without counting (links made before positions existed still page, without one).
"""

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db.models import Q

OLDER, NEWER = "older", "newer"
_SALT = "auditlogs.cursor"


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    occurred_at: datetime
    id: int
    direction: str
    # Rows before the edge row (OLDER: the rows down to it, NEWER: the rows above it).
    position: int | None = None

    def encode(self) -> str:
        fields = [self.occurred_at.isoformat(), self.id, self.direction]
        if self.position is not None:
            fields.append(self.position)
        return signing.dumps(fields, salt=_SALT, compress=True)

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        try:
            when, event_id, direction, *position = signing.loads(token, salt=_SALT)
            if len(position) > 1:
                raise ValueError
            cursor = cls(
                datetime.fromisoformat(when), int(event_id), direction,
                max(int(position[0]), 0) if position else None,
            )
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidCursor("This page link is not valid; showing the newest events.") from None
        if direction not in (OLDER, NEWER) or cursor.occurred_at.tzinfo is None:
            raise InvalidCursor("This page link is not valid; showing the newest events.")
        return cursor


def cursor_from_query(token: str) -> tuple[Cursor | None, str]:
    """The cursor a page link carries, or (None, why not): a bad link shows the newest rows."""
    if not token:
        return None, ""
    try:
        return Cursor.decode(token), ""
    except InvalidCursor as error:
        return None, str(error)


def query_without_cursor(params) -> str:
    """The query string of a page's filters, for its Newer / Older links to extend."""
    query = params.copy()
    query.pop("cursor", None)
    return query.urlencode()


@dataclass(frozen=True)
class Page:
    rows: list
    older: Cursor | None
    newer: Cursor | None
    start: int | None = None  # rows before this page's first, when known

    @property
    def position(self) -> str:
        """"Events 51–100", or "" when the cursor carried no position."""
        if self.start is None or not self.rows:
            return ""
        return f"Events {self.start + 1:,}–{self.start + len(self.rows):,}"


def keyset_page(events, cursor: Cursor | None, size: int) -> Page:
    """One page of `events` (any filtered queryset of AuditEvent), newest first."""
    if cursor is None or cursor.direction == OLDER:
        if cursor is not None:
            events = events.filter(occurred_at__lte=cursor.occurred_at).filter(
                Q(occurred_at__lt=cursor.occurred_at) | Q(id__lt=cursor.id)
            )
        rows = list(events.newest_first()[: size + 1])
        has_older, has_newer = len(rows) > size, cursor is not None
        rows = rows[:size]
    else:
        rows = list(_newer_than(events, cursor).order_by("occurred_at", "id")[: size + 1])
        has_older, has_newer = True, len(rows) > size
        rows = rows[:size][::-1]
    if not rows:
        # Past either end: offer the way back to where rows are.
        return Page(rows, None, None)
    start = _start(cursor, len(rows), has_newer)
    after = None if start is None else start + len(rows)
    return Page(
        rows,
        older=Cursor(rows[-1].occurred_at, rows[-1].id, OLDER, after) if has_older else None,
        newer=Cursor(rows[0].occurred_at, rows[0].id, NEWER, start) if has_newer else None,
        start=start,
    )


def count_newer(events, edge: Cursor, cap: int) -> int:
    """How many of `events` are newer than `edge`, counting no further than cap + 1: one
    query on the same index as the page, over the few newest rows."""
    return len(_newer_than(events, edge).values_list("id", flat=True)[: cap + 1])


def _newer_than(events, edge: Cursor):
    return events.filter(occurred_at__gte=edge.occurred_at).filter(
        Q(occurred_at__gt=edge.occurred_at) | Q(id__gt=edge.id)
    )


def _start(cursor: Cursor | None, count: int, has_newer: bool) -> int | None:
    """Rows before the page's first: none on the newest page; else from the cursor."""
    if not has_newer:
        return 0
    if cursor is None or cursor.position is None:
        return None
    if cursor.direction == OLDER:
        return cursor.position
    return max(cursor.position - count, 0)
