"""Export benchmark: rows per second, time to first byte and peak memory for a large export.

    createdb -h 127.0.0.1 -U postgres bench_export
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_export \\
        .venv/bin/python bench/export_bench.py --rows 1000000 --format csv

On a PostgreSQL database of its own (its name must start with "bench"), it migrates it, fills
an organization "bench" up to --rows events through the recorder's bulk path (so the hash
chain is real), then downloads the export through the real view (Django's test client, a
signed-in owner) and reads it to the end, sampling the process's resident memory after every
chunk.
"""

import argparse
import time

from harness import resident_mib, setup

setup()


def fill(rows: int):
    from django.utils import timezone

    from auditlogs.models import AuditEvent
    from auditlogs.recording.catalogue import EVENT_TYPES
    from auditlogs.recording.context import Actor, acting_as
    from auditlogs.recording.recorder import append, build_event
    from auditlogs.storage import partitions
    from orgs.models import Membership, Organization, Plan, Role, User
    from projects.models import Project

    org, _ = Organization.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "plan": Plan.ENTERPRISE}
    )
    owner, created = User.objects.get_or_create(email="owner@bench.test")
    if created:
        owner.set_password("bench-password")
        owner.save()
    Membership.objects.get_or_create(user=owner, organization=org, defaults={"role": Role.OWNER})
    projects = [
        Project.objects.get_or_create(organization=org, slug=f"p{i}", defaults={"name": f"P{i}"})[0]
        for i in range(10)
    ]
    have = AuditEvent.objects.filter(organization=org).count()
    missing = rows - have
    if missing > 0:
        print(f"generating {missing} events (have {have}) ...", flush=True)
        started = time.perf_counter()
        actions = [t.key for t in EVENT_TYPES if not t.key.startswith("support.")]
        now = timezone.now()
        step = 86400 * 60 / max(rows, 1)  # spread over the last 60 days, oldest first
        partitions.ensure_partitions(now - timezone.timedelta(days=60), now)
        with acting_as(Actor.system("bench")):
            for offset in range(0, missing, 50_000):
                count = min(50_000, missing - offset)
                events = (
                    build_event(
                        actions[(have + offset + i) % len(actions)],
                        organization=org,
                        project=projects[(have + offset + i) % 10] if i % 4 else None,
                        metadata={"n": have + offset + i, "note": "bench, \"quoted\""},
                        changes={"name": ["before", "after"]} if i % 7 == 0 else None,
                        occurred_at=now - timezone.timedelta(
                            seconds=(rows - (have + offset + i)) * step
                        ),
                    )
                    for i in range(count)
                )
                append(org.pk, events)
                print(f"  {have + offset + count} rows", flush=True)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum keeps them in use
        cursor.execute("ANALYZE auditlogs_auditevent")
    return org, owner


def run(fmt: str, query: str, org, owner) -> None:
    from django.test import Client

    client = Client()
    client.force_login(owner)
    url = f"/orgs/{org.slug}/settings/audit-logs/export.{fmt}?{query}"
    baseline = peak = resident_mib()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    first_byte = None
    size = lines = 0
    for piece in response.streaming_content:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(piece)
        lines += piece.count(b"\n")
        peak = max(peak, resident_mib())
    response.close()
    elapsed = time.perf_counter() - started
    # Less the first line, and the column names in CSV (the bench rows hold no newlines).
    rows = lines - (2 if fmt == "csv" else 1)
    print(
        f"{fmt}: {rows} rows, {size / 1e6:.0f} MB in {elapsed:.2f} s"
        f" = {rows / elapsed:,.0f} rows/s;"
        f" first byte after {first_byte * 1000:.0f} ms;"
        f" RSS {baseline:.0f} MiB before, peak {peak:.0f} MiB"
        f" (+{peak - baseline:.1f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "ndjson", "both", "none"], default="both")
    parser.add_argument("--query", default="range=all")
    args = parser.parse_args()
    org, owner = fill(args.rows)
    formats = {"both": ["csv", "ndjson"], "none": []}.get(args.format, [args.format])
    for fmt in formats:
        run(fmt, args.query, org, owner)


if __name__ == "__main__":
    main()
