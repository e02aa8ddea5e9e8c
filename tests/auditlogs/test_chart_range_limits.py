"""The volume chart at the edges of what it can draw, through the page: the calendar's first and
last hours in zones whose offsets are not whole hours (New York's historical -4:56:02, Kolkata's
+5:30, Kiritimati's -10:29:20 then +14:00), and ranges too long to draw bar by bar."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from auditlogs import record
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/"


def viewing_in(person, zone: str):
    person.timezone = zone
    person.save(update_fields=["timezone"])
    return signed_in(person)


@pytest.mark.parametrize(
    ("zone", "params", "hours", "first_day", "last_day"),
    [
        # Local midnight of 1 January, year 1, is 04:56:02 UTC: the UTC hour it falls in
        # began in year 0 there.
        ("America/New_York", {"start": "0001-01-01", "end": "0001-01-02"}, 48,
         date(1, 1, 1), date(1, 1, 2)),
        ("America/New_York", {"q": "created:0001-01-01"}, 24, date(1, 1, 1), date(1, 1, 1)),
        ("Pacific/Kiritimati", {"start": "0001-01-01", "end": "0001-01-02"}, 48,
         date(1, 1, 1), date(1, 1, 2)),
        # Ahead of UTC, the calendar ends before UTC's does: at 18:30 UTC in Kolkata, at 10:00
        # UTC in Kiritimati.
        ("Asia/Kolkata", {"start": "9999-12-31T00:00Z", "end": "9999-12-31T20:00Z"}, 19,
         date(9999, 12, 31), date(9999, 12, 31)),
        ("Pacific/Kiritimati", {"start": "9999-12-30T00:00Z", "end": "9999-12-31T20:00Z"}, 34,
         date(9999, 12, 30), date(9999, 12, 31)),
    ],
)
def test_the_calendars_edges_are_charted_by_hour_in_every_zone(
    acme, admin, zone, params, hours, first_day, last_day
):
    page = viewing_in(admin, zone).get(URL, {"range": "custom", **params})
    assert page.status_code == 200
    assert "Events per hour" in page.text and f"0 events in {hours} hours" in page.text
    chart = page.context["chart"]
    assert (chart.bars[0].start.date(), chart.bars[-1].start.date()) == (first_day, last_day)
    # Each bar links to its hour, which the filters read back (years written with 4 digits).
    for bar in (chart.bars[0], chart.bars[-1]):
        narrowed = signed_in(admin).get(URL + bar.url)
        assert narrowed.status_code == 200
        assert "<strong>From:</strong>" not in narrowed.text, bar.url
        assert "<strong>To:</strong>" not in narrowed.text, bar.url
        assert "Events per hour" in narrowed.text


def test_the_calendars_last_days_are_charted_by_day_ahead_of_utc(acme, admin):
    page = viewing_in(admin, "Asia/Kolkata").get(
        URL, {"range": "custom", "start": "9999-06-01", "end": "9999-12-31T20:00Z"}
    )
    assert page.status_code == 200
    assert "Events per day" in page.text and "0 events in 214 days" in page.text
    assert page.context["chart"].bars[-1].start.date() == date(9999, 12, 31)


@pytest.fixture
def today(acme):
    """An event now, which every range reaching today charts."""
    return record("organization.plan_changed", organization=acme, target=acme)


@pytest.mark.parametrize("search", [{}, {"q": "zzzzzz"}], ids=["rollups", "list"])
def test_a_range_of_thousands_of_years_charts_its_last_30_years_and_says_so(
    acme, admin, today, search
):
    page = signed_in(admin).get(
        URL, {"range": "custom", "start": "0002-01-01", "end": "9999-12-30", **search}
    )
    assert page.status_code == 200
    chart = page.context["chart"]
    # Month bars up to this month, not the 120,000 months to December 9999.
    assert chart.unit == "month" and len(chart.bars) in (360, 361)
    # The admin has no zone of their own: the organization's.
    this_month = timezone.localdate(timezone=ZoneInfo(acme.timezone)).replace(day=1)
    assert chart.bars[-1].start.date() == this_month
    assert this_month.year - 30 <= chart.bars[0].start.year <= this_month.year - 29
    assert "This range is too long to chart whole: the chart draws" in page.text
    assert "(30 years). Narrow the dates to chart another part." in page.text
    if not search:
        assert "Events per month" in page.text and chart.total >= 1  # today's event


def test_a_range_of_decades_is_charted_whole(acme, admin):
    page = signed_in(admin).get(URL, {"range": "custom", "start": "1999-01-01",
                                      "end": "2025-12-31"})
    assert page.status_code == 200
    chart = page.context["chart"]
    assert chart.unit == "month" and len(chart.bars) == 27 * 12
    assert (chart.first_label, chart.last_label) == ("Jan 1999", "Dec 2025")
    assert "too long to chart" not in page.text
