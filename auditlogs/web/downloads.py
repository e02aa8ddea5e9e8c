"""The integrity download: an organization's signed checkpoints and events as JSON Lines, for
its admins to verify offline with tools/verify_audit_export.py (docs/integrity.md)."""

from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from auditlogs import record
from auditlogs.integrity import signing, verification
from auditlogs.integrity.checkpoints import signed_statements
from auditlogs.models import AuditEvent
from auditlogs.recording import chain
from auditlogs.web.viewing import log_view

EXPORT_TYPE = "auditlogs.export"
EXPORT_VERSION = 1
BATCH = 5000


@require_GET
@log_view()
def integrity_export(request, viewer):
    """Everything (`?part=checkpoints` for the checkpoints alone, small enough to keep)."""
    if not viewer.sees_whole_organization:
        raise PermissionDenied("Only owners and admins may download the whole log.")
    organization = viewer.organization
    with_events = request.GET.get("part") != "checkpoints"
    record(
        "audit_log.integrity_exported",
        organization=organization,
        actor=viewer.actor,  # support staff as staff, like their exports
        metadata={"part": "checkpoints and events" if with_events else "checkpoints"},
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"{organization.slug}-audit-{'export' if with_events else 'checkpoints'}-{stamp}"
    response = StreamingHttpResponse(
        export_lines(organization, with_events=with_events),
        content_type="application/x-ndjson; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.jsonl"'
    response["Cache-Control"] = "no-store"
    return response


def export_lines(organization, *, with_events: bool = True) -> Iterator[str]:
    """Header, checkpoints, then events in sequence order, read in bounded batches."""
    keys = signing.verification_keys()
    yield _line({
        "type": EXPORT_TYPE,
        "version": EXPORT_VERSION,
        "organization": organization.pk,
        "organization_slug": organization.slug,
        "exported_at": chain.format_time(timezone.now()),
        "public_keys": [
            {"key_id": key_id, "public_key": signing.encode_public_key(key)}
            for key_id, key in keys.items()
        ],
        "procedure": "docs/integrity.md",
    })
    for statement in signed_statements(organization.pk):
        yield _line(statement.as_json())
    if not with_events:
        return
    events = AuditEvent.objects.filter(organization_id=organization.pk).linked()
    last = None
    while True:
        batch = events.order_by("sequence", "id")
        if last is not None:
            batch = batch.filter(sequence__gte=last[0]).exclude(sequence=last[0], id__lte=last[1])
        rows = list(batch.values_list(*verification.COLUMNS)[:BATCH])
        if not rows:
            return
        for row in rows:
            fields = dict(zip(chain.HASHED_FIELDS, row[1:-2], strict=True))
            yield _line({
                "type": "event",
                "event": chain.payload(organization.pk, fields),
                "prev_hash": row[-2],
                "hash": row[-1],
            })
        last = (rows[-1][1], rows[-1][0])


def _line(data: dict) -> str:
    return chain.canonical_json(data) + "\n"
