import json

from django import template

from auditlogs.recording.chain import format_time

register = template.Library()


@register.filter
def utc_iso(moment) -> str:
    """The exact instant in UTC, for <time datetime="...">."""
    return format_time(moment) if moment else ""


@register.filter
def as_json(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=None)


@register.simple_tag
def selected_if(value, current) -> str:
    """'selected' when value is the current choice (or among several)."""
    if isinstance(current, list | tuple):
        return "selected" if str(value) in [str(c) for c in current] else ""
    return "selected" if str(value) == str(current if current is not None else "") else ""
