"""The scale benchmark: the Audit Logs page at millions of events, beside a naive implementation.

On a PostgreSQL database of its own (its name must start with "bench"):

    createdb -h 127.0.0.1 -U postgres bench_scale
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale \\
        .venv/bin/python bench/scale.py --events 10000000 --org-events 2000000

It migrates, generates its data once (later runs reuse it), then prints one table: server time
(p50/p95) of the page through the Django test client for each query shape, the same question
answered naively (a full COUNT plus OFFSET paging) on the same data, and the ratio; then the
cost of `auditlogs.record` inside a request, the generation rate against raw COPY, and the time
to drop a month partition (that last step deletes the two oldest months of the bench data).
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

from harness import Table, p50, p95, server_version, setup, timed

setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from auditlogs.conf import app_settings  # noqa: E402
from auditlogs.models import AuditEvent  # noqa: E402
from auditlogs.storage import bulk, partitions  # noqa: E402
from auditlogs.web.access import log_viewer_for  # noqa: E402
from auditlogs.web.filters import AuditEventFilter  # noqa: E402
from auditlogs.web.paging import OLDER, Cursor  # noqa: E402
from auditlogs.web.presenters import present  # noqa: E402
from orgs.models import Membership, Organization, Plan, Role, User  # noqa: E402
from projects.models import Project  # noqa: E402

BENCH_ORG = "bench"
OWNER = "owner@bench.test"
DAYS = 180
DEEP_PAGES = 1000
PAGE = app_settings.PAGE_SIZE
ROW_MARK = b'<div class="event '  # one per event row (auditlogs/web/presenters.py row_html)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="Events in total.")
    parser.add_argument(
        "--org-events", type=int, default=2_000_000, help="Events of the benchmarked org."
    )
    parser.add_argument("--filler-orgs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20, help="Requests per measurement.")
    parser.add_argument("--skip-drop", action="store_true", help="Keep every month.")
    options = parser.parse_args()
    if options.org_events > options.events:
        parser.error("--org-events cannot exceed --events.")
    organization, owner = load(options.events, options.org_events, options.filler_orgs)
    total = AuditEvent.objects.count()
    in_org = AuditEvent.objects.filter(organization=organization).count()
    print(f"\nData: {total:,} events; {in_org:,} in organization '{BENCH_ORG}'.")
    print(
        f"Machine: {os.cpu_count() or 0} CPUs shared with other work; PostgreSQL "
        f"{server_version()}.\n"
    )
    page_table(organization, owner, min(DEEP_PAGES, in_org // PAGE - 1), options.repeat)
    record_cost(organization, owner, options.repeat)
    generation_rate()
    if not options.skip_drop:
        drop_month()


# Data ------------------------------------------------------------------------------------


def load(events, org_events, filler_orgs):
    organization = _organization(BENCH_ORG)
    owner = _owner(organization)
    plan = [(BENCH_ORG, org_events)]
    rest = events - org_events
    for n in range(filler_orgs):
        share = rest // filler_orgs + (1 if n < rest % filler_orgs else 0)
        plan.append((f"filler-{n + 1:02d}", share))
    todo = [
        (slug, count) for slug, count in plan
        if count and not AuditEvent.objects.filter(organization__slug=slug).exists()
    ]
    if todo:
        print(f"Generating {sum(c for _, c in todo):,} events (once)...")
        started = time.perf_counter()
        with bulk.secondary_indexes_deferred():
            for slug, count in todo:
                _organization(slug)
                call_command(
                    "generate_audit_events", org=slug, count=count, days=DAYS,
                    projects=12, seed=len(slug) + count,
                )
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{partitions.TABLE}"')
        print(f"Loaded in {time.perf_counter() - started:.0f} s.")
    return organization, owner


# The page --------------------------------------------------------------------------------


def page_table(organization, owner, deep_pages: int, repeat: int):
    client = Client()
    client.force_login(owner)
    url = f"/orgs/{organization.slug}/settings/audit-logs/"
    viewer = log_viewer_for(owner, organization.slug)
    project = (
        Project.objects.filter(organization=organization, name__startswith="Synthetic")
        .order_by("id").first()
    )
    day = (timezone.now() - timedelta(days=60)).date().isoformat()
    deep = _cursor_at(viewer, deep_pages * PAGE)
    cases = [
        ("Page 1, no filter", {"range": "all"}, 0),
        (f"{deep_pages:,} pages deep (cursor)", {"range": "all", "cursor": deep}, deep_pages),
        ("Critical only", {"range": "all", "severity": "critical"}, 0),
        ("One project", {"range": "all", "project": project.pk}, 0),
        ("Project + Critical, 30 days",
         {"range": "30d", "project": project.pk, "severity": "critical"}, 0),
        ("1-day window 60 days ago", {"start": day, "end": day}, 0),
        # Search: a common label, a person's name part, a whole e-mail (rare, but made of
        # trigrams every synthetic address shares) and a term that matches nothing.
        ("Search 'Support Bot'", {"range": "all", "q": "Support Bot"}, 0),
        ("Search 'person0042'", {"range": "all", "q": "person0042"}, 0),
        (f"Search 'person0042@{BENCH_ORG}.test'",
         {"range": "all", "q": f"person0042@{BENCH_ORG}.test"}, 0),
        ("Search 'no-such-thing'", {"range": "all", "q": "no-such-thing"}, 0),
        # The reading filters: part of an actor, the query language, reads left out.
        ("Actor contains 'person0042'", {"range": "all", "actor": "person0042"}, 0),
        ("Query 'action:chatbot.* severity:>=warning'",
         {"range": "all", "q": "action:chatbot.* severity:>=warning"}, 0),
        ("Hide views", {"range": "all", "hide_views": "1"}, 0),
    ]
    client.get(url, {"range": "all"})  # records today's audit_log.viewed once
    table = Table(
        ("Request", 34, ""), ("rows", 4, ""), "|", ("page p50", 8, ".1f"), ("p95", 6, ".1f"),
        "|", ("queries p50", 11, ".1f"), ("p95", 6, ".1f"), "|", ("naive p50", 9, ".1f"),
        ("p95", 6, ".1f"), "|", ("naive/ours", 10, ""),
    )
    table.header()
    for label, query, pages_deep in cases:
        response = client.get(url, query)
        if response.status_code != 200:
            sys.exit(f"{label}: HTTP {response.status_code}")
        rows = response.content.count(ROW_MARK)
        page = timed(lambda q=query: client.get(url, q), repeat)
        ours = timed(lambda q=query: _keyset_page(viewer, q), repeat)
        naive_query = {k: v for k, v in query.items() if k != "cursor"}
        offset = pages_deep * PAGE
        naive = timed(lambda q=naive_query, o=offset: _naive_page(viewer, q, o), repeat)
        table.row(
            label, rows, p50(page), p95(page), p50(ours), p95(ours), p50(naive), p95(naive),
            f"{p50(naive) / p50(ours):.0f}x",
        )
    print(
        "\npage: the whole request through the Django test client (session, auth, filters, "
        "keyset page, presenter, integrity summary, template). queries: the same filters, "
        "keyset page and presenter without rendering. naive: the same filters answered with "
        "a COUNT of all matching rows and OFFSET/LIMIT, plus the presenter, no rendering. "
        "naive/ours compares the p50 of the last two."
    )


# Writes ----------------------------------------------------------------------------------


def record_cost(organization, owner, repeat: int):
    project = Project.objects.filter(organization=organization).order_by("id").first()
    client = Client()
    client.force_login(owner)
    url = project.get_absolute_url()
    with_record = timed(lambda: client.get(url), repeat)
    with mock.patch("projects.services.record"):
        without = timed(lambda: client.get(url), repeat)
    print(
        f"\nauditlogs.record inside a request (project page, which records project.viewed):"
        f"\n  with record p50 {p50(with_record):.1f} ms, without {p50(without):.1f} "
        f"ms: {p50(with_record) - p50(without):.2f} ms per event "
        f"(chain-head lock, hash, INSERT into the month partition)."
    )


def generation_rate():
    organization = _organization("bench-generation")
    print("\nGeneration into the full, indexed table (200,000 events):")
    call_command(
        "generate_audit_events", org=organization.slug, count=200_000, days=30, seed=7,
        compare_raw_copy=True,
    )


def drop_month():
    """Drop the two oldest months: the data starts DAYS ago, so the oldest partition holds
    a few days and the second a whole month."""
    for oldest in partitions.month_partitions()[:2]:
        start = datetime.combine(oldest, datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(
            partitions.add_months(oldest, 1), datetime.min.time(), tzinfo=UTC
        )
        rows = AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()
        started = time.perf_counter()
        partitions.drop_partitions_before(partitions.add_months(oldest, 1))
        elapsed = time.perf_counter() - started
        print(
            f"\nRetention: dropped month {oldest:%Y-%m} ({rows:,} events, every "
            f"organization) in {elapsed * 1000:.0f} ms."
        )


def _organization(slug: str) -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "plan": Plan.ENTERPRISE, "timezone": "UTC"}
    )
    return organization


def _owner(organization) -> User:
    user = User.objects.filter(email=OWNER).first() or User.objects.create_user(OWNER, "x")
    Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": Role.OWNER}
    )
    return user


def _cursor_at(viewer, offset: int) -> str:
    edge = viewer.events().order_by("-occurred_at", "-id").only("id", "occurred_at")[offset]
    return Cursor(edge.occurred_at, edge.id, OLDER).encode()


def _keyset_page(viewer, query: dict):
    """The view's reads without rendering: filters, one keyset page, the presenter."""
    filters = AuditEventFilter(
        {k: str(v) for k, v in query.items() if k != "cursor"}, viewer=viewer
    )
    filters.is_valid()
    cursor = Cursor.decode(query["cursor"]) if query.get("cursor") else None
    page = filters.page(cursor, PAGE)
    return present(page.rows, viewer)


def _naive_page(viewer, query: dict, offset: int):
    """What the libraries we compete with do: count everything, then OFFSET."""
    filters = AuditEventFilter({k: str(v) for k, v in query.items()}, viewer=viewer)
    filters.is_valid()
    events = filters.qs.order_by("-occurred_at", "-id")
    total = events.count()
    rows = list(events[offset : offset + PAGE])
    return total, present(rows, viewer)


if __name__ == "__main__":
    main()
