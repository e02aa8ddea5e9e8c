"""The hashed form of an audit event, declared once: which fields, in which order, of which
kind, and how each is written as canonical text. docs/integrity.md describes the same form in
prose.

Everything that must agree byte for byte with the chain is derived from `HASHED` or checked
against it when it is imported:
- `chain.payload` (the reference form) and `chain.canonical_event` (its fast form, checked at
  import against the reference on awkward values);
- the bulk writer's COPY columns and template splicing (storage/bulk.py);
- the export's, API's and webhooks' field list, NDJSON and CSV writers
  (integrations/serializers.py) and PostgreSQL's own export query (integrations/postgresql.py);
- the verifier's window of events, and the SQL that reads it on PostgreSQL
  (storage/backends/postgresql.py, `canonical_sql` and `rendered_sql`, the latter for
  `chain.canonical_rendered`, the verifier's fast pass);
- the event table's columns (tests/auditlogs/test_event_form.py compares the model and the
  migrated table with this declaration).
The offline verifier (tools/verify_audit_export.py) re-implements the form on purpose and is
checked against the same fixtures.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Kind(StrEnum):
    """How a field's value is written in the canonical JSON."""

    INTEGER = "integer"  # a JSON number (the sequence, ids)
    TIME = "time"  # a string: UTC ISO 8601 with microseconds and a Z
    TEXT = "text"  # a JSON string
    SEVERITY = "severity"  # stored as a number, hashed by name ("info", "warning", ...)
    OBJECT = "object"  # a JSON object, keys sorted at every level
    ADDRESS = "address"  # an IP address as a string, without a mask


@dataclass(frozen=True)
class HashedField:
    name: str
    kind: Kind
    null: bool = False  # may be None (JSON null)

    @property
    def model_field(self) -> str:
        """The Django field class the event table declares for it."""
        return _MODEL_FIELDS[self.kind]


_MODEL_FIELDS = {
    Kind.INTEGER: "BigIntegerField",
    Kind.TIME: "DateTimeField",
    Kind.TEXT: "CharField",
    Kind.SEVERITY: "PositiveSmallIntegerField",
    Kind.OBJECT: "JSONField",
    Kind.ADDRESS: "GenericIPAddressField",
}

# The key of the organization's id in the payload; it is the row's `organization_id`.
ORGANIZATION_KEY = "organization"

# In the order of the table's columns and of every field list derived from it.
HASHED = (
    HashedField("sequence", Kind.INTEGER),
    HashedField("occurred_at", Kind.TIME),
    HashedField("action", Kind.TEXT),
    HashedField("severity", Kind.SEVERITY),
    HashedField("project_id", Kind.INTEGER, null=True),
    HashedField("project_name", Kind.TEXT),
    HashedField("actor_type", Kind.TEXT),
    HashedField("actor_id", Kind.INTEGER, null=True),
    HashedField("actor_label", Kind.TEXT),
    HashedField("target_type", Kind.TEXT),
    HashedField("target_id", Kind.TEXT),
    HashedField("target_label", Kind.TEXT),
    HashedField("changes", Kind.OBJECT),
    HashedField("metadata", Kind.OBJECT),
    HashedField("ip", Kind.ADDRESS, null=True),
    HashedField("user_agent", Kind.TEXT),
    HashedField("request_id", Kind.TEXT),
)
NAMES = tuple(field.name for field in HASHED)
BY_NAME = {field.name: field for field in HASHED}


def names_of(kind: Kind) -> tuple[str, ...]:
    return tuple(field.name for field in HASHED if field.kind is kind)


# Frozen as part of the canonical form; a test checks it matches catalogue.Severity.
SEVERITY_NAMES = {10: "info", 20: "warning", 30: "critical"}
_SEVERITY_BY_NAME = {name: number for number, name in SEVERITY_NAMES.items()}


def format_time(moment: datetime | str) -> str:
    """The canonical time; a str is taken as already canonical (PostgreSQL formats it for the
    verifier and the export, see backends/postgresql.py `canonical_sql`)."""
    if isinstance(moment, str):
        return moment
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value) -> str:
    """Keys sorted at every level, no whitespace, non-ASCII kept as UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_value(field: HashedField, value):
    """The value as it appears in the payload (before JSON): times as text, severity by name,
    objects decoded when they come as JSON text. Values may come as stored or as shipped
    (an export's or the API's time text and severity name)."""
    if value is None and field.null:
        return None
    if field.kind is Kind.TIME:
        return format_time(value)
    if field.kind is Kind.SEVERITY:
        return value if value in _SEVERITY_BY_NAME else SEVERITY_NAMES[int(value)]
    if field.kind is Kind.OBJECT and isinstance(value, str):
        return json.loads(value)
    if field.kind is Kind.INTEGER:
        return int(value)
    return value


# The verifier's fast pass (chain.canonical_rendered) reads an event rendered by the database
# (backends/postgresql.py `rendered_sql`): the fields that are not text one by one, as
# `rendered_value` says, then the text fields joined by TEXT_SEPARATOR into one value, which
# Python escapes in one call and splits (fewer values to read and escape: about 0.4 µs less per
# event). JSON leaves the separator (DEL, U+007F) as it is and writes no other character as
# it, so the escaped texts split exactly where they were joined whenever that gives one part
# per text field; otherwise (a text holding the separator) the exact pass decides.
TEXT_NAMES = names_of(Kind.TEXT)
RENDERED_NAMES = tuple(name for name in NAMES if name not in TEXT_NAMES)
TEXT_SEPARATOR = "\x7f"


def rendered_value(field: HashedField, value):
    """A field that is not text as the fast pass takes it: a nullable integer as its JSON text
    ("null" or its digits), the severity by name, the time as canonical text, the address as
    text or None; the sequence and objects as they come."""
    if field.kind is Kind.INTEGER and field.null:
        return "null" if value is None else str(int(value))
    if field.kind is Kind.ADDRESS:
        return None if value is None else str(value)
    if field.kind in (Kind.TIME, Kind.SEVERITY):
        return canonical_value(field, value)
    return value


def rendered(fields: dict) -> tuple:
    """An event rendered for the fast pass, from a dict holding at least NAMES: the values of
    RENDERED_NAMES, then its texts joined, None if one is None (what PostgreSQL's SQL hands
    over, in Python)."""
    texts = [fields[name] for name in TEXT_NAMES]
    return (
        *(rendered_value(BY_NAME[name], fields[name]) for name in RENDERED_NAMES),
        None if None in texts else TEXT_SEPARATOR.join(texts),
    )


def payload(organization_id: int, fields: dict) -> dict:
    """The hashed view of an event (the reference form), from a dict holding at least NAMES."""
    data = {field.name: canonical_value(field, fields[field.name]) for field in HASHED}
    data[ORGANIZATION_KEY] = int(organization_id)
    return data
