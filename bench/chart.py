"""The volume chart benchmark: the chart above the Audit Logs page at 10 million events.

On a PostgreSQL database of its own (its name must start with "bench"):

    createdb -h 127.0.0.1 -U postgres bench_chart
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_chart \\
        .venv/bin/python bench/chart.py --events 10000000

It migrates, generates the organization's events once (over 90 days; later runs reuse them),
counts them into the hourly rollups the way the worker does (timed), then prints one table: for
each filter shape, how the chart is made (from the rollups, from the list's own rows when every
match fits on one page: "events", or not at all: "unavailable"), its bars and events, and the
time to build it (p50/p95, queries and folding into bars, no rendering; for "events" shapes
the list page is read too), plus the whole page for a few shapes.
"""

import argparse
import os
import sys
import time
from datetime import timedelta

from harness import Table, p50, p95, server_version, setup, timed

setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from auditlogs.conf import app_settings  # noqa: E402
from auditlogs.models import AuditEvent, EventRollup  # noqa: E402
from auditlogs.storage import bulk, partitions, rollups  # noqa: E402
from auditlogs.web.access import log_viewer_for  # noqa: E402
from auditlogs.web.chart import needs_events, volume_chart  # noqa: E402
from auditlogs.web.filters import AuditEventFilter  # noqa: E402
from orgs.models import Membership, Organization, Plan, Role, User  # noqa: E402
from projects.models import Project  # noqa: E402

BENCH_ORG = "chart"
OWNER = "owner@chart.test"
MEMBER = "member@chart.test"
DAYS = 90
GOAL_MS = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=40, help="Builds per measurement.")
    options = parser.parse_args()
    organization = load(options.events)
    roll_up(organization)
    events = AuditEvent.objects.filter(organization=organization).count()
    hours = EventRollup.objects.filter(organization=organization).count()
    print(
        f"\nData: {events:,} events in organization '{BENCH_ORG}' over {DAYS} days; "
        f"{hours:,} rollup rows.\nMachine: {os.cpu_count() or 0} CPUs shared with other work; "
        f"PostgreSQL {server_version()}.\n"
    )
    chart_table(organization, options.repeat)


# Data ------------------------------------------------------------------------------------


def load(count: int) -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=BENCH_ORG, defaults={"name": "Chart", "plan": Plan.ENTERPRISE, "timezone": "UTC"}
    )
    owner = User.objects.filter(email=OWNER).first() or User.objects.create_user(OWNER, "x")
    Membership.objects.get_or_create(
        organization=organization, user=owner, defaults={"role": Role.OWNER}
    )
    if not AuditEvent.objects.filter(organization=organization).exists():
        print(f"Generating {count:,} events (once)...")
        started = time.perf_counter()
        with bulk.secondary_indexes_deferred():
            call_command(
                "generate_audit_events", org=BENCH_ORG, count=count, days=DAYS, projects=12,
                seed=15,
            )
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{partitions.TABLE}"')
        print(f"Loaded in {time.perf_counter() - started:.0f} s.")
    member = User.objects.filter(email=MEMBER).first() or User.objects.create_user(MEMBER, "x")
    membership, _ = Membership.objects.get_or_create(
        organization=organization, user=member, defaults={"role": Role.MEMBER}
    )
    membership.projects.set(_synthetic_projects(organization)[:3])
    return organization


def roll_up(organization) -> None:
    behind = rollups.progress(organization.pk).behind
    if not behind:
        return
    print(f"Counting {behind:,} events into the rollups (as the worker does)...")
    started = time.perf_counter()
    while rollups.roll_up_due(batches_per_organization=50):
        pass
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:  # as autovacuum would: index-only reads need it
        cursor.execute(f'VACUUM ANALYZE "{EventRollup._meta.db_table}"')
    print(f"Counted in {elapsed:.0f} s ({behind / elapsed:,.0f} events/s).")


def _synthetic_projects(organization) -> list[Project]:
    projects = Project.objects.filter(organization=organization, name__startswith="Synthetic ")
    return list(projects.order_by("id"))


# The chart -------------------------------------------------------------------------------


def chart_table(organization, repeat: int) -> None:
    owner_viewer = log_viewer_for(User.objects.get(email=OWNER), BENCH_ORG)
    member_viewer = log_viewer_for(User.objects.get(email=MEMBER), BENCH_ORG)
    project = _synthetic_projects(organization)[0].pk
    day = (timezone.now() - timedelta(days=60)).date().isoformat()
    cases = [
        ("No filter, last 24 hours", owner_viewer, {"range": "24h"}),
        ("No filter, last 7 days (default)", owner_viewer, {}),
        ("No filter, last 30 days", owner_viewer, {"range": "30d"}),
        ("No filter, last 90 days", owner_viewer, {"range": "90d"}),
        ("No filter, all time", owner_viewer, {"range": "all"}),
        ("Critical, 90 days", owner_viewer, {"range": "90d", "severity": "critical"}),
        ("Warning + Critical, all time", owner_viewer,
         {"range": "all", "severity": ["warning", "critical"]}),
        ("One project, 90 days", owner_viewer, {"range": "90d", "project": project}),
        ("Project + Critical, 30 days", owner_viewer,
         {"range": "30d", "project": project, "severity": "critical"}),
        ("Event type chatbot.deleted, 90 days", owner_viewer,
         {"range": "90d", "action": "chatbot.deleted"}),
        ("One day, 60 days ago (by hour)", owner_viewer, {"start": day, "end": day}),
        ("Member (3 projects), 90 days", member_viewer, {"range": "90d"}),
        ("Search 'person0042', 7 days", owner_viewer, {"q": "person0042"}),
        ("Search 'person0042', 2 hours", owner_viewer,
         {"q": "person0042", "start": f"{day}T10:00", "end": f"{day}T12:00"}),
        ("Actor person0042@chart.test, 90 days", owner_viewer,
         {"range": "90d", "actor": "person0042@chart.test"}),
        ("Search 'Support Bot', 7 days", owner_viewer, {"q": "Support Bot"}),
    ]
    table = Table(
        ("Filter shape", 38, ""), ("made from", 11, ""), ("bars", 5, ""), ("events", 11, ""),
        "|", ("p50 ms", 7, ".1f"), ("p95 ms", 7, ".1f"), ("", 4, ""),
    )
    table.header()
    scanned = []
    for label, viewer, params in cases:
        query = _query(params)
        chart = _build(viewer, query)
        samples = timed(lambda v=viewer, q=query: _build(v, q), repeat)
        made_from = "unavailable" if chart.unavailable else chart.source
        if chart.source != "rollup":
            scanned.append(f"{label} ({made_from})")
        goal = "" if chart.source != "rollup" else ("ok" if p95(samples) <= GOAL_MS else "SLOW")
        table.row(label, made_from, len(chart.bars), f"{chart.total:,}", p50(samples),
                  p95(samples), goal)
    print(
        f"\nTimes: building the chart (catch-up check, rollup or event queries, folding into "
        f"bars), no rendering; {repeat} builds after one warm-up. Goal for shapes the rollups "
        f"serve: p95 <= {GOAL_MS} ms."
    )
    print("Shapes the rollups cannot serve: " + ("; ".join(scanned) or "none") + ".")
    page_times(organization, repeat // 2)


def page_times(organization, repeat: int) -> None:
    client = Client()
    client.force_login(User.objects.get(email=OWNER))
    url = f"/orgs/{organization.slug}/settings/audit-logs/"
    print("\nThe whole page with its chart (Django test client):")
    for label, params in [("Last 7 days", {}), ("Last 90 days", {"range": "90d"}),
                          ("All time, Critical", {"range": "all", "severity": "critical"})]:
        if client.get(url, params).status_code != 200:
            sys.exit(f"{label}: the page failed")
        samples = timed(lambda p=params: client.get(url, p), repeat)
        print(f"  {label:<22} p50 {p50(samples):6.1f} ms   p95 {p95(samples):6.1f} ms")


def _query(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return query


def _build(viewer, query):
    filters = AuditEventFilter(query, viewer=viewer)
    if not filters.is_valid():
        sys.exit(f"Invalid filters {query.urlencode()}: {filters.form.errors}")
    page = filters.page(None, app_settings.PAGE_SIZE) if needs_events(filters) else None
    return volume_chart(filters, viewer, query, page)


if __name__ == "__main__":
    main()
