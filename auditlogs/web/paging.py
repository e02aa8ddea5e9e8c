"""Keyset paging over (occurred_at DESC, id DESC): a cursor names the edge row of a page.

No OFFSET and no COUNT: a page at any depth costs the same. Cursors are signed so that a
forged or mangled one is refused with a clear message instead of being trusted.
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

    def encode(self) -> str:
        return signing.dumps(
            [self.occurred_at.isoformat(), self.id, self.direction], salt=_SALT, compress=True
        )

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        try:
            when, event_id, direction = signing.loads(token, salt=_SALT)
            cursor = cls(datetime.fromisoformat(when), int(event_id), direction)
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
        events = events.filter(occurred_at__gte=cursor.occurred_at).filter(
            Q(occurred_at__gt=cursor.occurred_at) | Q(id__gt=cursor.id)
        )
        rows = list(events.order_by("occurred_at", "id")[: size + 1])
        has_older, has_newer = True, len(rows) > size
        rows = rows[:size][::-1]
    if not rows:
        # Past either end: offer the way back to where rows are.
        return Page(rows, None, None)
    return Page(
        rows,
        older=Cursor(rows[-1].occurred_at, rows[-1].id, OLDER) if has_older else None,
        newer=Cursor(rows[0].occurred_at, rows[0].id, NEWER) if has_newer else None,
    )
