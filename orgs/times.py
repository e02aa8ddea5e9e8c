"""How a person sees times: one zone per person, named on every page that shows a time.

The zone is UTC when the person chose UTC (the Local/UTC switch), else their own time zone
(the profile page), else the organization's, else UTC. Every page reads it from here: the Audit
Logs (rows, Info, the dates typed in the filters), the support page and the settings pages.
"""

import zoneinfo
from datetime import datetime, timedelta

from django.utils import timezone

UTC_NAME = "UTC"


def zone_name(user, organization=None) -> str:
    if getattr(user, "times_in_utc", False):
        return UTC_NAME
    own = getattr(user, "timezone", "")
    return own or getattr(organization, "timezone", "") or UTC_NAME


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(UTC_NAME)


def exact(moment: datetime, tzinfo) -> str:
    """To the second, with the zone's abbreviation: "27 Nov 2026, 14:05:09 CET"."""
    local = moment.astimezone(tzinfo)
    return f"{local.day} {local:%b %Y, %H:%M:%S} {local.tzname()}"


def relative(moment: datetime, tzinfo, now: datetime | None = None) -> str:
    """"just now", "3 min ago", "5 h ago", "2 days ago"; after a week the local date and time."""
    now = now or timezone.now()
    age = now - moment
    if age < timedelta(0):
        local = moment.astimezone(tzinfo)
        return f"{local.day} {local:%b %Y, %H:%M}"
    if age < timedelta(minutes=1):
        return "just now"
    if age < timedelta(hours=1):
        return f"{age // timedelta(minutes=1)} min ago"
    if age < timedelta(days=1):
        return f"{age // timedelta(hours=1)} h ago"
    if age < timedelta(days=7):
        days = age.days
        return "yesterday" if days == 1 else f"{days} days ago"
    local = moment.astimezone(tzinfo)
    return f"{local.day} {local:%b %Y, %H:%M}"
