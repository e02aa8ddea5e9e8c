"""Before/after diffs of model fields, with secrets masked before they reach the log, and
bounded lists for metadata that would otherwise grow with the data."""

import json
from datetime import date, time
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

MASK = "••••••••"
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "private_key")


def is_secret(field_name: str) -> bool:
    name = field_name.lower()
    return any(word in name for word in _SECRET_WORDS)


def mask_url(url: str) -> str:
    """A URL as the log may keep it for good: what can carry a credential (the user
    information before the host, every query value, as in an intake's `?dd-api-key=...`) is
    masked; the scheme, host, port, path and the query's names stay, so people still see where
    it points."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if at:  # a user name alone may be a token too
        user, colon, _ = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if colon else MASK
    netloc = f"{userinfo}{at}{host}"
    query = "&".join(
        f"{name}={MASK}" if value else name
        for name, _, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redacted(field_name: str, value):
    """A value as the log keeps it for good, decided by its field's name: a secret masked, a
    URL (`url`, `*_url`) with what can carry a credential masked (mask_url), anything else as
    it is. record() applies it to every key of an event's changes and metadata."""
    name = str(field_name)
    if is_secret(name):
        return mask(name, value)
    if (name == "url" or name.endswith("_url")) and isinstance(value, str):
        return mask_url(value)
    return value


def _plain(value):
    """A JSON-friendly form of a field value, as it will be shown to people."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(item) for item in value)
    return value


def mask(field_name: str, value):
    if is_secret(field_name):
        return MASK if value not in (None, "") else ""
    return _plain(value)


def snapshot(instance, fields) -> dict:
    return {field: getattr(instance, field) for field in fields}


def update_and_record(
    instance, fields, values: dict, action: str, *, organization, project=None, target=None
) -> bool:
    """Apply `values` (only `fields` are editable), save the changed fields and record `action`
    with their diff, in the caller's transaction. Nothing is saved or recorded when nothing
    changed."""
    from auditlogs import record  # the recorder uses this module's masking

    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    before = snapshot(instance, fields)
    for field, value in values.items():
        setattr(instance, field, value)
    changes = diff(before, snapshot(instance, fields))
    if not changes:
        return False
    instance.save(update_fields=list(changes))
    record(action, organization=organization, project=project,
           target=instance if target is None else target, changes=changes)
    return True


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value changed, secrets masked."""
    changed = {}
    for field in after:
        if before.get(field) != after[field]:
            changed[field] = [mask(field, before.get(field)), mask(field, after[field])]
    return changed


SAMPLE_BUDGET_BYTES = 2048


def listing(key: str, items) -> dict:
    """`{key: [a sample of items], key_count: how many}` for metadata naming many things (a
    project's chatbots, a member's projects): the count is exact, the sample keeps items in
    order while their JSON fits SAMPLE_BUDGET_BYTES, so the event always fits the metadata cap
    however much data the change touched."""
    items = [str(item) for item in items]
    sample, used = [], 0
    for item in items:
        used += len(json.dumps(item, ensure_ascii=False).encode()) + 1
        if used > SAMPLE_BUDGET_BYTES:
            break
        sample.append(item)
    return {key: sample, f"{key}_count": len(items)}
