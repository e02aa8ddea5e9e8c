"""The operators' admin at scale, beside the Audit Logs page on the same data.

    createdb -h 127.0.0.1 -U postgres bench_admin
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_admin \\
        .venv/bin/python bench/admin.py --events 10000000 --org-events 2000000

On a PostgreSQL database of its own (its name must start with "bench"). It migrates, generates
the scale benchmark's data once (the same organizations: "bench" with --org-events, the rest
spread over filler organizations; later runs reuse it), then times every event view of the
Django admin as a signed-in superuser through the Django test client with DEBUG off: p50 and
p95 of --repeat requests each, the queries each request makes, and, where the Audit Logs page
answers the same question, the page's own p50 and p95 beside it. It also checks that no
admin request counted events without a LIMIT. With --peer-python it then times
django-auditlog's admin at a million entries (bench/peer_auditlog_admin.py, its own environment
and database). Prints figures; asserts nothing about speed.
"""

import argparse
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from harness import Table, p50, p95, server_version, setup, timed

setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from scale import BENCH_ORG, load  # noqa: E402  (the scale benchmark's data, made once)

from auditlogs.models import AuditEvent  # noqa: E402
from auditlogs.web.paging import OLDER, Cursor  # noqa: E402
from orgs.models import User  # noqa: E402
from projects.models import Project  # noqa: E402

ADMIN_LIST = "/admin/auditlogs/auditevent/"
OPERATOR = "ops@bench.test"
DEEP_ROWS = 100_000  # 2,000 pages of 50 in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--org-events", type=int, default=2_000_000)
    parser.add_argument("--filler-orgs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20, help="Timed requests per view.")
    parser.add_argument(
        "--peer-python", metavar="PATH",
        help="A dev-only environment's python with django-auditlog installed: its admin is "
        "timed afterwards at --peer-rows entries (bench/peer_auditlog_admin.py).",
    )
    parser.add_argument("--peer-rows", type=int, default=1_000_000)
    args = parser.parse_args()

    organization, owner = load(args.events, args.org_events, args.filler_orgs)
    operator = User.objects.filter(email=OPERATOR).first() or User.objects.create_superuser(
        OPERATOR, "x"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                       ["auditlogs_auditevent"])
        (estimate,) = cursor.fetchone()
    in_org = args.org_events
    print(f"\nData: about {estimate:,} events (planner estimate; never counted); "
          f"{in_org:,} in organization '{BENCH_ORG}'.")
    print(f"Machine: {os.cpu_count()} CPUs shared with other work; PostgreSQL "
          f"{server_version()}.\n")

    admin, page = Client(), Client()
    admin.force_login(operator)
    page.force_login(owner)
    table(cases(organization), admin, page, args.repeat)
    if args.peer_python:
        peer = [args.peer_python, str(Path(__file__).with_name("peer_auditlog_admin.py")),
                "--rows", str(args.peer_rows), "--repeat", str(min(args.repeat, 10))]
        subprocess.run(peer, check=True)


def cases(organization):
    """(label, admin URL, admin query, Audit Logs page query or None)."""
    events = AuditEvent.objects.filter(organization=organization)
    newest = events.newest_first()
    deep_edge = newest.only("id", "occurred_at")[DEEP_ROWS]  # OFFSET once, to place a cursor
    deep = Cursor(deep_edge.occurred_at, deep_edge.id, OLDER).encode()
    sample = newest.exclude(ip=None).exclude(target_id="")[5000]
    project = (Project.objects.filter(organization=organization, name__startswith="Synthetic")
               .order_by("id").first())
    day = (timezone.now() - timedelta(days=60)).date().isoformat()
    actor = f"person0042@{BENCH_ORG}.test"
    org = {"org": BENCH_ORG}
    every = {"range": "all"}
    return [
        ("Choose an organization", ADMIN_LIST, {}, None),
        ("Page 1", ADMIN_LIST, org, every),
        (f"{DEEP_ROWS:,} rows deep (cursor)", ADMIN_LIST, {**org, "cursor": deep},
         {**every, "cursor": deep}),
        ("Severity Critical", ADMIN_LIST, {**org, "severity": "critical"},
         {**every, "severity": "critical"}),
        ("Event type project.deleted", ADMIN_LIST, {**org, "action": "project.deleted"},
         {**every, "action": "project.deleted"}),
        ("One project", ADMIN_LIST, {**org, "project": project.pk},
         {**every, "project": project.pk}),
        ("Project + Critical", ADMIN_LIST,
         {**org, "project": project.pk, "severity": "critical"},
         {**every, "project": project.pk, "severity": "critical"}),
        ("Actor e-mail (exact)", ADMIN_LIST, {**org, "actor": actor}, {**every, "actor": actor}),
        ("1-day window 60 days ago", ADMIN_LIST, {**org, "start": day, "end": day},
         {"start": day, "end": day}),
        ("Event id (exact)", ADMIN_LIST, {**org, "event": sample.pk}, None),
        ("Request id (exact)", ADMIN_LIST, {**org, "request_id": sample.request_id}, None),
        ("IP address (exact)", ADMIN_LIST, {**org, "ip": sample.ip}, None),
        ("Target id (exact)", ADMIN_LIST, {**org, "target": sample.target_id}, None),
        ("Search 'Support Bot'", ADMIN_LIST, {**org, "q": "Support Bot"},
         {**every, "q": "Support Bot"}),
        ("Search 'person0042'", ADMIN_LIST, {**org, "q": "person0042"},
         {**every, "q": "person0042"}),
        ("Search 'no-such-thing'", ADMIN_LIST, {**org, "q": "no-such-thing"},
         {**every, "q": "no-such-thing"}),
        ("'Show counts' (?_facets=True)", ADMIN_LIST, {**org, "_facets": "True"}, None),
        ("One event's page", f"{ADMIN_LIST}{sample.pk}/change/", {}, None),
        ("The organization's page", f"/admin/orgs/organization/{organization.pk}/change/",
         {}, None),
    ]


def table(rows, admin: Client, page: Client, repeat: int) -> None:
    page_url = f"/orgs/{BENCH_ORG}/settings/audit-logs/"
    out = Table(("Admin view", 32, ""), "|", ("admin p50", 9, ".1f"), ("p95", 7, ".1f"),
                ("queries", 7, "d"), "|", ("page p50", 8, ""), ("p95", 7, ""))
    out.header()
    unbounded = []
    for label, url, query, page_query in rows:
        response = admin.get(url, query)
        if response.status_code != 200:
            sys.exit(f"{label}: HTTP {response.status_code}")
        reset_queries()  # each request starts by resetting the log the capture reads
        with CaptureQueriesContext(connection) as capture:
            admin.get(url, query)
        queries = list(capture)  # read now: the next request resets the log it reads from
        unbounded += [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()
                      and "auditlogs_auditevent" in q["sql"] and "LIMIT" not in q["sql"].upper()]
        ours = timed(lambda u=url, q=query: admin.get(u, q), repeat)
        theirs = ("—", "—")
        if page_query is not None:
            samples = timed(lambda q=page_query: page.get(page_url, q), repeat)
            theirs = (f"{p50(samples):.1f}", f"{p95(samples):.1f}")
        out.row(label, p50(ours), p95(ours), len(queries), *theirs)
        sys.stdout.flush()
    print(f"\nEvent counts without a LIMIT issued by the admin: {len(unbounded)}.")
    print("admin: the whole request through the Django test client as a superuser (session, "
          "admin site, filters, keyset page or lookup, capped count, template). page: the "
          "Audit Logs page for the same question as the organization's owner. — : the page "
          "has no such view.")


if __name__ == "__main__":
    main()
