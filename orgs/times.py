"""How a person sees times: one zone per person, named on every page that shows a time.

The zone is UTC when the person chose UTC (the Local/UTC switch), else their own time zone
(the profile page), else the organization's, else UTC. Every page reads it from here: the Audit
Logs (rows, Info, the dates typed in the filters), the support page and the settings pages.
"""

import zoneinfo
from datetime import datetime, timedelta

from django.utils import timezone

UTC_NAME = "UTC"
DAYS_SHOWN_RELATIVE = 7  # a week of "N days ago"; older events show their date


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
    """How long ago, read on the calendar of the person's zone: within the hour by minutes
    ("just now", "3 min ago", even just after midnight), the rest of today by hours ("5 h
    ago"), an earlier day by the dates between ("yesterday" is the previous local date, "2
    days ago" two local dates back, whatever the hours between), from seven local dates back
    (and a time ahead of the clock) the local date and time. DST days have 23 or 25 hours, so
    only dates, never durations, count days."""
    now = now or timezone.now()
    local = moment.astimezone(tzinfo)
    age = now - moment
    days = (now.astimezone(tzinfo).date() - local.date()).days
    if age < timedelta(0) or days >= DAYS_SHOWN_RELATIVE:
        return f"{local.day} {local:%b %Y, %H:%M}"
    if age < timedelta(minutes=1):
        return "just now"
    if age < timedelta(hours=1):
        return f"{age // timedelta(minutes=1)} min ago"
    if days == 1:
        return "yesterday"
    if days > 1:
        return f"{days} days ago"
    return f"{age // timedelta(hours=1)} h ago"
