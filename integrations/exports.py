"""Exports of exactly the filtered events a viewer sees, as CSV or NDJSON, streamed.

The rows come from one streaming cursor in the page's keyset order and are written a chunk at a
time, so memory stays flat however many rows there are and the download starts at once. On
PostgreSQL the database formats the rows itself (integrations/postgresql.py); elsewhere Python
does, from `iterator(chunk_size)`. Formats and offline verification: docs/integrations.md.
"""

import csv
import io
from collections.abc import Iterator
from itertools import islice
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.db import DataError, transaction

from auditlogs.conf import app_settings
from auditlogs.integrity import signing
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.models import Checkpoint
from auditlogs.recording.chain import format_time
from auditlogs.storage.backends import backend
from integrations import postgresql
from integrations.serializers import FIELDS, csv_values, export_rows, ndjson_line, to_json

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson; charset=utf-8",
}


def export_integrity_trailer(organization) -> dict | None:
    """The newest signed checkpoint of the organization's chain, to close an export with.

    Read at the end of the export, so it is the newest one when the last row was written. It
    is the signed statement of auditlogs/integrity/checkpoints.py (docs/integrity.md) plus the
    public key named by its key_id; None when no checkpoint has been signed yet.
    """
    newest = (
        Checkpoint.objects.filter(organization_id=organization.pk)
        .order_by("-sequence", "-signed_at")
        .first()
    )
    if newest is None:
        return None
    trailer = SignedStatement.of(newest).as_json()
    try:
        key = signing.verification_keys().get(newest.key_id)
    except ImproperlyConfigured:
        key = None
    trailer["public_key"] = signing.encode_public_key(key) if key is not None else None
    return trailer


def describe_filters(filterset) -> dict:
    """What was exported: the filters as given and the time window they resolved to, in UTC.

    Only the filters themselves, each value once: their fields bound every value's length, so
    the description (recorded as the export's metadata) stays small whatever else the URL
    carries."""
    data = filterset.data if filterset.is_bound else None
    query = [] if data is None else [
        (name, value)
        for name, values in data.lists()
        if name in filterset.filters
        for value in dict.fromkeys(values)
        if value != ""
    ]
    start, end = filterset.form.window if filterset.is_bound else (None, None)
    return {
        "query": urlencode(query),
        "from": format_time(start) if start else None,
        "to": format_time(end) if end else None,
    }


def planned(events) -> bool:
    """Whether the database accepts the export's query, asked before the first byte is sent
    (and before the export is recorded): it plans the query with its values bound, without
    reading a row. A refusal here is an answer; mid-stream it would be a cut-off file."""
    try:
        with transaction.atomic():  # a savepoint: a refusal leaves any outer transaction usable
            events.linked().newest_first().explain()
    except DataError:
        return False
    return True


def export_header(organization, filters: dict, exported_at) -> dict:
    """What an export holds: organization, filters, window and time (docs/integrations.md)."""
    return {
        "organization": organization.slug,
        "organization_id": organization.pk,
        "exported_at": format_time(exported_at),
        "filters": filters["query"],
        "from": filters["from"],
        "to": filters["to"],
    }


def export_manifest(organization, header: dict) -> dict:
    """The CSV's companion: its header and the newest signed checkpoint, which the offline
    verifier takes with `--manifest` (a CSV holds nothing but its header row and rows)."""
    return {"export": header, "checkpoint": export_integrity_trailer(organization)}


def export_chunks(fmt: str, *, organization, events, header: dict) -> Iterator[str | bytes]:
    """The export file, piece by piece.

    CSV: the column names, then the rows newest first, nothing else, so that it opens cleanly
    in a spreadsheet (the header travels in response headers and the manifest). NDJSON: a
    header line, the rows, then the newest signed checkpoint.
    """
    events = events.linked().newest_first()  # each row carries its place in the chain
    if fmt == "csv":
        yield ",".join(FIELDS) + "\n"
    else:
        yield to_json({"export": header}) + "\n"
    if backend().exports_by_copy:
        yield from (postgresql.csv_chunks if fmt == "csv" else postgresql.ndjson_chunks)(events)
    else:
        yield from (python_csv_chunks if fmt == "csv" else python_ndjson_chunks)(events)
    if fmt != "csv":
        checkpoint = export_integrity_trailer(organization)
        if checkpoint is not None:
            yield to_json({"checkpoint": checkpoint}) + "\n"


def _row_batches(events) -> Iterator[list]:
    """Rows of `export_rows`, a chunk at a time, from one streaming cursor."""
    size = app_settings.EXPORT_CHUNK_SIZE
    iterator = export_rows(events).iterator(chunk_size=size)
    while batch := list(islice(iterator, size)):
        yield batch


def python_csv_chunks(events) -> Iterator[str]:
    buffer = io.StringIO()
    rows = csv.writer(buffer, lineterminator="\n")
    for batch in _row_batches(events):
        rows.writerows(map(csv_values, batch))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def python_ndjson_chunks(events) -> Iterator[str]:
    for batch in _row_batches(events):
        yield "".join([ndjson_line(row) for row in batch])
