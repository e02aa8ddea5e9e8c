"""PostgreSQL writes export rows itself: `COPY (<the filtered query>) TO STDOUT`.

The same ORM queryset (viewer scope and filters) is compiled to SQL; the database formats each
row exactly as Python would (UTC time with microseconds and a Z, severity by name, the
catalogue label, the address without a mask) and streams the result, which this module passes
on in blocks of about 256 KiB. No Python work per field is what makes a million rows fast,
and COPY needs neither a transaction nor a cursor held open on the server.
"""

import functools
from collections.abc import Iterator

from django.db import connection
from django.db.models import Case, CharField, F, Func, TextField, Value, When
from django.db.models.functions import Cast

from auditlogs.models import AuditEvent
from auditlogs.recording.catalogue import EVENT_TYPES
from auditlogs.recording.event_form import HASHED, SEVERITY_NAMES, Kind, names_of
from auditlogs.storage.backends.postgresql import canonical_sql
from integrations.serializers import (
    FIELDS,
    FORMULA_PATTERN,
    JSON_FIELDS,
    NEUTRALISING_PREFIX,
)

BLOCK_BYTES = 256 * 1024


def _canonical(field, output_field):
    """The field as the same canonical text the verifier reads (times, addresses, JSON)."""
    return Func(
        F(field.name), template=canonical_sql(field, "%(expressions)s"), output_field=output_field
    )


def _expressions(raw_json: bool) -> dict:
    """The columns PostgreSQL formats itself; every other field is written as stored."""
    special = {
        "label": Case(
            *[When(action=kind.key, then=Value(kind.label)) for kind in EVENT_TYPES],
            default=F("action"),
            output_field=CharField(),
        ),
    }
    for field in HASHED:
        if field.kind in (Kind.TIME, Kind.ADDRESS):
            special[field.name] = _canonical(field, CharField())
        elif field.kind is Kind.OBJECT and raw_json:
            special[field.name] = _canonical(field, TextField())
        elif field.kind is Kind.SEVERITY:
            special[field.name] = Case(
                *[
                    When(**{field.name: number}, then=Value(name))
                    for number, name in SEVERITY_NAMES.items()
                ],
                output_field=CharField(),
            )
    return special


def _copy(sql: str, params, unescape: bool = False) -> Iterator[bytes]:
    with connection.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        pending, size = [], 0
        for data in copy:
            # COPY's text format doubles backslashes (JSON escapes every other control
            # character, so nothing else is escaped): undone per message, never across two.
            pending.append(bytes(data).replace(b"\\\\", b"\\") if unescape else bytes(data))
            size += len(data)
            if size >= BLOCK_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)


# Columns that hold numbers in the CSV; every other cell is text and may need neutralising.
_NUMBER_COLUMNS = {"id", "organization_id", *names_of(Kind.INTEGER)}


def _neutralised(expression):
    """serializers.neutralised, in SQL: the same apostrophe before the same cells."""
    return Func(
        expression, Value(FORMULA_PATTERN), Value(NEUTRALISING_PREFIX + "\\1"),
        function="regexp_replace", output_field=TextField(),
    )


def csv_chunks(events) -> Iterator[bytes]:
    special = _expressions(raw_json=True)
    columns = {
        f"export_{name}": (
            special.get(name, F(name)) if name in _NUMBER_COLUMNS
            else _neutralised(special.get(name, F(name)))
        )
        for name in FIELDS
    }
    query = events.annotate(**columns).values_list(*columns)
    sql, params = query.query.sql_with_params()
    yield from _copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)


def json_line():
    """The event in the JSON shape (serializers.JSON_FIELDS), as text the database writes."""
    special = _expressions(raw_json=False)
    pairs = []
    for name in JSON_FIELDS:
        pairs += [Cast(Value(name), TextField()), special.get(name, F(name))]
    return Cast(Func(*pairs, function="json_build_object", output_field=TextField()), TextField())


def ndjson_chunks(events) -> Iterator[bytes]:
    query = events.annotate(export_line=json_line()).values_list("export_line")
    sql, params = query.query.sql_with_params()
    yield from _copy(f"COPY ({sql}) TO STDOUT", params, unescape=True)


def event_lines(organization_id: int, after: int, through: int, limit: int) -> list:
    """[(sequence, the event in the JSON shape as text)] of the organization's events with a
    sequence after `after` up to `through`, in sequence order, at most `limit` (a webhook
    batch: integrations/webhooks.py)."""
    sql, params = _event_lines_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, organization_id, after, through, limit])
        return cursor.fetchall()


@functools.cache
def _event_lines_sql() -> tuple[str, list]:
    """The query of `event_lines`, compiled once: compiling its expression (a CASE over the
    catalogue, a JSON object of every field) takes longer than the database takes to read and
    write a batch of a thousand events."""
    query = (
        AuditEvent.objects.filter(organization_id=0, sequence__gt=0, sequence__lte=0)
        .order_by("sequence")
        .annotate(webhook_line=json_line())
        .values_list("sequence", "webhook_line")
    )
    sql, params = query.query.sql_with_params()
    if list(params[-3:]) != [0, 0, 0] or not sql.endswith(" ORDER BY 1 ASC"):
        raise AssertionError(f"Unexpected form of the webhook batch query: {sql}")
    return f"{sql} LIMIT %s", list(params[:-3])
