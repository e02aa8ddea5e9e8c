"""One JSON shape of an event, shared by the export, the API and the webhooks.

Rows are read with `values_list(*FIELDS)` rather than as model instances: an export of a
million rows spends its time here, and tuples are several times cheaper than models.
The fields are documented in docs/integrations.md; together with `organization_id` they are
exactly what the hash chain covers (declared in auditlogs/recording/event_form.py), so each
row can be verified offline; every field list and text rule here is derived from it.
"""

import json
import re

from django.db.models import TextField
from django.db.models.functions import Cast

from auditlogs.recording.catalogue import label_for
from auditlogs.recording.event_form import NAMES, SEVERITY_NAMES, Kind, format_time, names_of

# Exactly what the hash chain covers, with the row's id and its place in the chain.
FIELDS = ("id", "organization_id", *NAMES, "prev_hash", "hash")
_ACTION = FIELDS.index("action")
# The JSON shape adds the human label of the action after it.
JSON_FIELDS = (*FIELDS[: _ACTION + 1], "label", *FIELDS[_ACTION + 1 :])

_TIMES = [FIELDS.index(name) for name in names_of(Kind.TIME)]
_SEVERITIES = [FIELDS.index(name) for name in names_of(Kind.SEVERITY)]
_RAW_JSON = names_of(Kind.OBJECT)
_OBJECTS = [FIELDS.index(name) for name in _RAW_JSON]


def plain_values(row: tuple) -> list:
    """The row with its time in UTC ISO 8601 and its severity by name."""
    values = list(row)
    for index in _TIMES:
        values[index] = format_time(values[index])
    for index in _SEVERITIES:
        values[index] = SEVERITY_NAMES[values[index]]
    return values


# Cells a spreadsheet would evaluate (OWASP, "CSV injection") start with one of these, also
# after spaces or line breaks that an import may trim, and the full-width forms that some
# spreadsheets read as the ASCII ones; such a cell is written with a leading apostrophe,
# which spreadsheets show as text. A cell that starts with a tab, a line break or an
# apostrophe gets one too (an apostrophe so that a reader undoes the rule exactly by dropping
# one leading apostrophe from every cell that has one, docs/integrations.md).
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULA_TRIGGERS = (*FORMULA_STARTS, "\t", "\r", "\n", "'")
NEUTRALISING_PREFIX = "'"
# The rule as one regular expression that Python's re and PostgreSQL's regexp_replace read
# alike (integrations/postgresql.py): escapes only, "-" last in its bracket.
FORMULA_PATTERN = (
    r"^([ \t\r\n\u3000]*["
    + "".join(f"\\u{ord(c):04x}" for c in FORMULA_STARTS if c != "-")
    + r"-]|[\t\r\n'])"
)
_FORMULA = re.compile(FORMULA_PATTERN)


def neutralised(value):
    if isinstance(value, str) and _FORMULA.match(value):
        return NEUTRALISING_PREFIX + value
    return value


def csv_values(row: tuple) -> list:
    """A row of `export_rows` as CSV cells: plain values, none a live formula."""
    return [neutralised(value) for value in plain_values(row)]


def event_dict(row: tuple) -> dict:
    return _labelled(plain_values(row))


def _labelled(values: list) -> dict:
    """The JSON shape: the values with the action's human label after the action."""
    values.insert(_ACTION + 1, label_for(values[_ACTION]))
    return dict(zip(JSON_FIELDS, values, strict=True))


def to_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def event_rows(queryset):
    """The queryset as value tuples in FIELDS order."""
    return queryset.values_list(*FIELDS)


def export_rows(queryset):
    """Like `event_rows`, but `changes` and `metadata` stay the database's JSON text: an
    export then never decodes and re-encodes them (half its time, measured)."""
    return queryset.annotate(
        changes_json=Cast("changes", TextField()), metadata_json=Cast("metadata", TextField())
    ).values_list(*[f"{name}_json" if name in _RAW_JSON else name for name in FIELDS])


# The objects are written as null, then their JSON text takes the place of the nulls. Keys are
# fixed and string values escape their quotes, so the placeholder is unique; the object fields
# must be neighbours in the JSON shape for it to be one piece.
_PLACEHOLDER = ",".join(f'"{name}":null' for name in _RAW_JSON)
if list(range(_OBJECTS[0], _OBJECTS[0] + len(_OBJECTS))) != _OBJECTS:
    raise AssertionError("The JSON fields of event_form.HASHED must be neighbours.")


def ndjson_line(row: tuple) -> str:
    """A row of `export_rows` as one line of JSON (the JSON shape, label included)."""
    values = plain_values(row)
    raw = [values[index] for index in _OBJECTS]
    for index in _OBJECTS:
        values[index] = None
    text = to_json(_labelled(values))
    filled = ",".join(f'"{name}":{value}' for name, value in zip(_RAW_JSON, raw, strict=True))
    return text.replace(_PLACEHOLDER, filled, 1) + "\n"
