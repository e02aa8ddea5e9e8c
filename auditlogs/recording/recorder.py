"""`record`, the one way to write audit events, and the bulk path that shares its chain logic.

record() inserts; recording/sequencer.py links. ChainLockTimeout and locked_head live there
(the one place that locks the chain) and are named here for the bulk paths' callers."""

import ipaddress
import json
from collections.abc import Iterable
from functools import cache

from django.db import connections, router, transaction
from django.utils import timezone

from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain, sequencer
from auditlogs.recording.catalogue import Severity, event_type
from auditlogs.recording.changes import redacted
from auditlogs.recording.context import Actor, current_context
from auditlogs.storage.backends import backend

ChainLockTimeout = sequencer.ChainLockTimeout
locked_head = sequencer.locked_head


class InvalidEventData(ValueError):
    pass


def record(
    action: str,
    *,
    organization,
    project=None,
    target=None,
    changes: dict | None = None,
    metadata: dict | None = None,
    severity: Severity | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Record one event in the organization's log, inside the caller's transaction.

    Call it inside the same `transaction.atomic()` block as the change it describes: the event
    is then committed if and only if the change is. It is one INSERT and takes no lock: the
    event is stored unlinked (no sequence or hashes yet) and the sequencer links it onto the
    organization's chain right after the commit (recording/sequencer.py).
    """
    event = build_event(
        action,
        organization=organization,
        project=project,
        target=target,
        changes=changes,
        metadata=metadata,
        severity=severity,
        actor=actor,
    )
    _insert_one(event)
    sequencer.link_after_this_commit(organization.pk, event.pk)
    return event


def record_once_a_day(action: str, *, organization, actor: Actor, tzinfo, target=None) -> bool:
    """Record a read (`audit_log.viewed`) once per actor per day in `tzinfo`, not per request:
    recording every page view or API call would flood the log. True when the day's record is
    in the log; False when another request is recording it right now: a read never waits, so
    the record is then left to a later read.

    Of two first requests at once, one records: each looks again while holding a claim on
    (organization, action, actor, day) that never waits and that nothing else takes (a
    transaction-scoped advisory lock on PostgreSQL; SQLite's write transactions are serialized
    already). The chain lock is not involved."""
    start_of_day = timezone.localtime(timezone=tzinfo).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    seen_today = AuditEvent.objects.filter(
        organization_id=organization.pk,
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        occurred_at__gte=start_of_day,
    )
    if seen_today.exists():
        return True
    claim = f"{organization.pk}:{action}:{actor.type}:{actor.id}:{start_of_day.isoformat()}"
    with transaction.atomic():
        if not backend().claim_for_transaction(claim):
            return False
        if not seen_today.exists():
            record(action, organization=organization, actor=actor, target=target)
    return True


def build_event(
    action, *, organization, project=None, target=None, changes=None, metadata=None,
    severity=None, actor=None, occurred_at=None,
) -> AuditEvent:
    """An unsaved event with every field but its place in the chain."""
    kind = event_type(action)
    context = current_context()
    actor = actor or context.current_actor()
    if project is not None and project.organization_id != organization.pk:
        raise InvalidEventData("The project belongs to another organization.")
    target_type, target_id, target_label = _describe_target(target)
    return AuditEvent(
        organization_id=organization.pk,
        occurred_at=occurred_at or context.occurred_at or timezone.now(),
        action=kind.key,
        severity=int(severity if severity is not None else kind.severity),
        project_id=project.pk if project is not None else None,
        project_name=project.name if project is not None else "",
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label[:254],
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        changes=_clean_changes(changes or {}),
        metadata=_clean_metadata(metadata or {}),
        ip=_clean_ip(context.ip),
        user_agent=context.user_agent[:512],
        request_id=context.request_id[:64],
    )


def append(organization_id: int, events: Iterable[AuditEvent], batch_size: int = 2000) -> int:
    """Link events onto the organization's chain and insert them, in one transaction (the
    bulk path of benchmarks and tests; the product records with `record`).

    Under the organization's chain lock (sequencer.locked_head, bounded: ChainLockTimeout),
    events recorded earlier and still unlinked are linked first, so the chain stays gapless
    and in order; then these are chained after them.
    """
    written = 0
    with transaction.atomic():
        head = sequencer.locked_head(organization_id)
        sequencer.link_locked(head)
        batch = []
        for event in events:
            head.sequence += 1
            event.sequence = head.sequence
            if event.occurred_at is None:
                event.occurred_at = timezone.now()
            event.prev_hash = head.hash
            event.hash = chain.link_hash(head.hash, organization_id, event.__dict__)
            head.hash = event.hash
            batch.append(event)
            if len(batch) >= batch_size:
                written += _insert(batch)
                batch = []
        if batch:
            written += _insert(batch)
        head.save(update_fields=ChainHead.MOVING_FIELDS)
    return written


def _insert_one(event: AuditEvent) -> None:
    """INSERT the event as Model.save(force_insert=True) would, without compiling the
    statement on every call: record() runs in every change, so its SQL is built once. (Audit
    events have no save signals; AuditEvent.save only refuses updates.)"""
    connection = connections[router.db_for_write(AuditEvent)]
    if not connection.features.can_return_columns_from_insert:
        event.save(force_insert=True)
        return
    fields = _insertable_fields()
    params = [field.get_db_prep_save(getattr(event, field.attname), connection)
              for field in fields]
    with backend(connection).prepared_cursor(connection) as cursor:
        cursor.execute(_insert_statement(), params)
        event.pk = cursor.fetchone()[0]
    event._state.adding, event._state.db = False, connection.alias


@cache
def _insertable_fields() -> tuple:
    return tuple(field for field in AuditEvent._meta.concrete_fields if not field.primary_key)


@cache
def _insert_statement() -> str:
    meta = AuditEvent._meta
    columns = ", ".join(f'"{field.column}"' for field in _insertable_fields())
    values = ", ".join(["%s"] * len(_insertable_fields()))
    return (f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({values}) '
            f'RETURNING "{meta.pk.column}"')


def _insert(batch: list[AuditEvent]) -> int:
    AuditEvent.objects.bulk_create(batch)
    return len(batch)


def _describe_target(target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    return target._meta.model_name, str(target.pk), str(target)[:200]


def _clean_changes(changes: dict) -> dict:
    cleaned = {}
    for field, values in changes.items():
        if not isinstance(values, list | tuple) or len(values) != 2:
            raise InvalidEventData(f"changes[{field!r}] must be a [before, after] pair.")
        before, after = values
        cleaned[str(field)] = [redacted(field, before), redacted(field, after)]
    _check_json(cleaned, "changes")
    return cleaned


def _clean_metadata(metadata: dict) -> dict:
    if not isinstance(metadata, dict):
        raise InvalidEventData("metadata must be a dict.")
    cleaned = {str(key): redacted(key, value) for key, value in metadata.items()}
    size = _check_json(cleaned, "metadata")
    if size > app_settings.METADATA_MAX_BYTES:
        raise InvalidEventData(
            f"metadata is {size} bytes; at most {app_settings.METADATA_MAX_BYTES} are kept."
        )
    return cleaned


def _check_json(value, name: str) -> int:
    try:
        text = chain.canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise InvalidEventData(f"{name} must be JSON-serializable: {exc}") from exc
    if "\\u0000" in text:  # json.dumps escapes NUL, so this is where it shows
        raise InvalidEventData(f"{name} must not contain NUL characters.")
    # The stored value must read back exactly as hashed.
    if json.loads(text) != value:
        raise InvalidEventData(f"{name} does not survive a JSON round trip.")
    return len(text.encode())


def _clean_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    return str(ipaddress.ip_address(ip))
