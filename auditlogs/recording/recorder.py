"""`record`, the one way to write audit events, and the bulk path that shares its chain logic."""

import ipaddress
import json
from collections.abc import Iterable

from django.db import OperationalError, transaction
from django.utils import timezone

from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain
from auditlogs.recording.catalogue import Severity, event_type
from auditlogs.recording.changes import is_secret, mask
from auditlogs.recording.context import Actor, current_context
from auditlogs.storage.backends import backend


class InvalidEventData(ValueError):
    pass


class ChainLockTimeout(OperationalError):
    """Another writer held the organization's chain lock for longer than
    AUDITLOG_CHAIN_LOCK_TIMEOUT_MS: this write gave up rather than queue behind it, and its
    transaction (the change with its event) rolls back. Transient: try again in a moment."""


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
    is then committed if and only if the change is.
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
    append(organization.pk, [event])
    return event


def record_once_a_day(action: str, *, organization, actor: Actor, tzinfo, target=None) -> bool:
    """Record a read (`audit_log.viewed`) once per actor per day in `tzinfo`, not per request:
    recording every page view or API call would flood the log. True when the day's record is
    in the log; False when another writer holds the chain lock right now: a read never waits
    for a writer, so the record is left to a later read."""
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
    try:
        with transaction.atomic():
            # Looked at again under the chain lock: of two first requests at once, one records.
            locked_head(organization.pk, wait=False)
            if not seen_today.exists():
                record(action, organization=organization, actor=actor, target=target)
    except ChainLockTimeout:
        return False
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
        occurred_at=occurred_at or context.occurred_at,
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
    """Link events onto the organization's chain and insert them, in one transaction.

    The chain head's row lock serializes writers of one organization (never the whole table),
    so concurrent writers can neither fork the chain nor reuse a sequence number.
    """
    written = 0
    with transaction.atomic():
        head = locked_head(organization_id)
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
        head.save(update_fields=["sequence", "hash"])
    return written


def _insert(batch: list[AuditEvent]) -> int:
    AuditEvent.objects.bulk_create(batch)
    return len(batch)


def locked_head(organization_id: int, *, wait: bool = True) -> ChainHead:
    """The organization's chain head, locked until the transaction ends (created at genesis
    when missing). Every writer of the chain holds it while linking. A writer waits for it at
    most AUDITLOG_CHAIN_LOCK_TIMEOUT_MS (with `wait=False` not at all), then gets
    ChainLockTimeout: one long transaction must not queue every request behind it."""
    timeout_ms = app_settings.CHAIN_LOCK_TIMEOUT_MS if wait else 1
    heads = ChainHead.objects.select_for_update(nowait=not wait)
    if wait:
        heads = backend().bound_lock_wait(heads, timeout_ms)
    try:
        try:
            return heads.get(organization_id=organization_id)
        except ChainHead.DoesNotExist:
            # The organization's first event: the insert waits on a concurrent first writer's
            # uncommitted head, as boundedly as on a lock (at most 1 ms when not waiting).
            backend().bound_lock_waits_now(timeout_ms)
            ChainHead.objects.bulk_create(
                [ChainHead(organization_id=organization_id, sequence=0, hash=chain.GENESIS_HASH)],
                ignore_conflicts=True,
            )
            return heads.get(organization_id=organization_id)
    except OperationalError as error:
        if not backend().is_lock_timeout(error):
            raise
        waited = f"for {timeout_ms} ms" if wait else "right now"
        raise ChainLockTimeout(
            f"The audit log of organization {organization_id} is busy: another change held its "
            f"chain lock {waited}. Nothing was changed; try again in a moment."
        ) from error


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
        if is_secret(field):
            before, after = mask(field, before), mask(field, after)
        cleaned[str(field)] = [before, after]
    _check_json(cleaned, "changes")
    return cleaned


def _clean_metadata(metadata: dict) -> dict:
    if not isinstance(metadata, dict):
        raise InvalidEventData("metadata must be a dict.")
    cleaned = {
        str(key): (mask(key, value) if is_secret(str(key)) else value)
        for key, value in metadata.items()
    }
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
