"""One JSON shape of an event, shared by the export, the API and the webhooks.

Rows are read with `values_list(*FIELDS)` rather than as model instances: an export of a
million rows spends its time here, and tuples are several times cheaper than models.
The fields are documented in docs/integrations.md; together with `organization_id` they are
exactly what the hash chain covers (auditlogs/recording/chain.py), so each row can be
verified offline.
"""

import json

from django.db.models import TextField
from django.db.models.functions import Cast

from auditlogs.recording.catalogue import label_for
from auditlogs.recording.chain import HASHED_FIELDS, SEVERITY_NAMES, format_time

# Exactly what the hash chain covers, with the row's id and its place in the chain.
FIELDS = ("id", "organization_id", *HASHED_FIELDS, "prev_hash", "hash")
# The JSON shape adds the human label of the action after it.
JSON_FIELDS = (*FIELDS[:5], "label", *FIELDS[5:])

_OCCURRED_AT = FIELDS.index("occurred_at")
_ACTION = FIELDS.index("action")
_SEVERITY = FIELDS.index("severity")
_CHANGES = FIELDS.index("changes")
_METADATA = FIELDS.index("metadata")
_RAW_JSON = ("changes", "metadata")


def plain_values(row: tuple) -> list:
    """The row with its time in UTC ISO 8601 and its severity by name."""
    values = list(row)
    values[_OCCURRED_AT] = format_time(values[_OCCURRED_AT])
    values[_SEVERITY] = SEVERITY_NAMES[values[_SEVERITY]]
    return values


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


_PLACEHOLDER = '"changes":null,"metadata":null'


def ndjson_line(row: tuple) -> str:
    """A row of `export_rows` as one line of JSON (the JSON shape, label included)."""
    values = plain_values(row)
    changes, metadata = values[_CHANGES], values[_METADATA]
    values[_CHANGES] = values[_METADATA] = None
    text = to_json(_labelled(values))
    # Keys are fixed and string values escape their quotes, so the placeholder is unique.
    return text.replace(_PLACEHOLDER, f'"changes":{changes},"metadata":{metadata}', 1) + "\n"
