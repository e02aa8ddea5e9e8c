"""Relative times follow the calendar of the person's zone: "yesterday" is the previous local
date, "N days ago" the number of local dates between, whatever the hours between them; only
today's events read by the minute or hour. The exact local time stays on hover."""

from datetime import UTC, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from orgs import times

BERLIN = ZoneInfo("Europe/Berlin")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11


def at(zone, text: str) -> datetime:
    """A wall-clock time in a zone, "2026-12-01 14:37", in UTC as the database returns it
    (Python subtracts two times of one zone by their wall clocks, ignoring a DST change)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def reads(zone, moment: str, now: str) -> str:
    return times.relative(at(zone, moment), zone, now=at(zone, now))


def test_the_testers_example_reads_by_the_calendar():
    now = "2026-12-01 14:37"
    assert reads(BERLIN, "2026-11-29 16:17", now) == "2 days ago"
    # Two events of the same day read the same, early or late in it.
    assert reads(BERLIN, "2026-11-27 09:00", now) == "4 days ago"
    assert reads(BERLIN, "2026-11-27 20:00", now) == "4 days ago"


@pytest.mark.parametrize(
    ("moment", "now", "shown"),
    [
        # Today, by its age.
        ("2026-12-01 14:36:30", "2026-12-01 14:37", "just now"),
        ("2026-12-01 14:05", "2026-12-01 14:37", "32 min ago"),
        ("2026-12-01 00:10", "2026-12-01 23:30", "23 h ago"),
        ("2026-12-02 00:01", "2026-12-02 00:05", "4 min ago"),
        # Just after local midnight, the evening before is yesterday once an hour has passed.
        ("2026-12-01 23:50", "2026-12-02 00:05", "15 min ago"),  # within the hour: minutes
        ("2026-12-01 22:50", "2026-12-02 00:05", "yesterday"),
        ("2026-12-01 00:00", "2026-12-02 00:05", "yesterday"),
        ("2026-11-30 23:59", "2026-12-02 00:05", "2 days ago"),
        # ... and late in the day, the whole previous date still is.
        ("2026-11-30 00:01", "2026-12-01 23:59", "yesterday"),
        # A week: six dates back reads in days, the seventh is a date and a time.
        ("2026-12-02 23:00", "2026-12-08 10:00", "6 days ago"),
        ("2026-12-01 23:00", "2026-12-08 10:00", "1 Dec 2026, 23:00"),
        ("2026-12-01 01:00", "2026-12-08 23:00", "1 Dec 2026, 01:00"),
        # A time ahead of the clock (another machine's) is not "ago".
        ("2026-12-01 14:38", "2026-12-01 14:37", "1 Dec 2026, 14:38"),
    ],
)
def test_day_boundaries_in_berlin(moment, now, shown):
    assert reads(BERLIN, moment, now) == shown


@pytest.mark.parametrize(
    ("moment", "now", "shown"),
    [
        # 29 Mar 2026 has 23 hours (02:00 CET -> 03:00 CEST).
        ("2026-03-29 00:00", "2026-03-29 23:59", "22 h ago"),
        ("2026-03-29 00:30", "2026-03-30 00:30", "yesterday"),  # 23 h before
        ("2026-03-28 23:45", "2026-03-30 00:30", "2 days ago"),  # 23 h 45 min before
        # 25 Oct 2026 has 25 hours (03:00 CEST -> 02:00 CET).
        ("2026-10-25 00:10", "2026-10-25 23:50", "24 h ago"),  # still today
        ("2026-10-24 23:30", "2026-10-26 00:10", "2 days ago"),  # 25 h 40 min before
        ("2026-10-25 00:05", "2026-10-26 00:10", "yesterday"),  # 25 h 5 min before
    ],
)
def test_the_days_when_berlin_changes_its_clocks(moment, now, shown):
    assert reads(BERLIN, moment, now) == shown


def test_a_zone_far_ahead_of_utc_counts_its_own_dates():
    # 1 Dec 09:00 in Kiritimati is 30 Nov 19:00 UTC: an event of 30 Nov 23:00 there (09:00
    # UTC, the same UTC date) was yesterday for the person.
    assert reads(KIRITIMATI, "2026-11-30 23:00", "2026-12-01 09:00") == "yesterday"
    assert reads(KIRITIMATI, "2026-12-01 00:30", "2026-12-01 09:00") == "8 h ago"


def test_a_zone_far_behind_utc_counts_its_own_dates():
    # 1 Dec 20:00 in Pago Pago is 2 Dec 07:00 UTC; both events are of 1 Dec in UTC.
    assert reads(PAGO_PAGO, "2026-12-01 01:00", "2026-12-01 20:00") == "19 h ago"
    assert reads(PAGO_PAGO, "2026-11-30 23:00", "2026-12-01 20:00") == "yesterday"


def test_the_page_shows_the_calendar_wording_with_the_exact_time_on_hover():
    request = RequestFactory().get("/")
    request.user = mock.Mock(times_in_utc=False, timezone="Pacific/Kiritimati")
    moment = at(KIRITIMATI, "2026-11-30 23:00")
    with mock.patch("django.utils.timezone.now", return_value=at(KIRITIMATI, "2026-12-01 09:00")):
        html = Template("{% load times %}{% moment value %}").render(
            Context({"request": request, "value": moment})
        )
    assert html == (
        '<time datetime="2026-11-30T09:00:00.000000Z" '
        'title="30 Nov 2026, 23:00:00 +14">yesterday</time>'
    )
