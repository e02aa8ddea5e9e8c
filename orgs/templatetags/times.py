"""`{% moment value %}` and `{% times_note %}`: every page shows times the same way.

A time reads relative ("3 min ago"); its exact local time to the second is its title (the
hover) and its UTC instant its `datetime`. The zone is the person's (orgs/times.py), and
`times_note` names it with a link to change it.
"""

from datetime import UTC

from django import template
from django.urls import reverse
from django.utils.html import format_html

from orgs import times

register = template.Library()


def _zone_name(context) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    return times.zone_name(user, getattr(request, "organization", None))


@register.simple_tag(takes_context=True)
def moment(context, value, style: str = "relative"):
    """A <time> element; style "exact" prints the exact local time instead of a relative one."""
    if not value:
        return ""
    tzinfo = times.zone(_zone_name(context))
    exact = times.exact(value, tzinfo)
    shown = exact if style == "exact" else times.relative(value, tzinfo)
    utc = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return format_html('<time datetime="{}" title="{}">{}</time>', utc, exact, shown)


@register.simple_tag(takes_context=True)
def zone_name(context) -> str:
    return _zone_name(context)


@register.inclusion_tag("orgs/times_note.html", takes_context=True)
def times_note(context):
    request = context.get("request")
    return {
        "zone_name": _zone_name(context),
        "in_utc": getattr(getattr(request, "user", None), "times_in_utc", False),
        "next": request.get_full_path() if request else "",
        "switch_url": reverse("profile_times"),
        "csrf_token": context.get("csrf_token"),
    }
