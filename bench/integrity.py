"""Integrity benchmark: prints figures, asserts nothing about speed.

    createdb -h 127.0.0.1 -U postgres bench_integrity
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_integrity \\
        .venv/bin/python bench/integrity.py --events 1000000 --seconds 5

Measures, on the database DATABASE_URL names (a PostgreSQL database whose name starts with
"bench"; it migrates it first):

1. chained bulk insert rate: `recorder.append` (the chain logic `record` uses) in batches;
2. verification throughput: `integrity.verify` over every event of that organization, one batch
   after the other against windows walked by worker processes (one per CPU and one more),
   alternately in the same run, with the machine's load before and after;
3. chained single-event transactions (`record` inside `transaction.atomic()`), with 1 and 4
   concurrent writer processes on one organization and on four organizations.

Importing this module does nothing: the verifier's worker processes import the main module
again (multiprocessing's rule), so Django is set up and the project imported in `main()`.
"""

import argparse
import multiprocessing
import os
import time
from datetime import timedelta

from harness import Table, server_version, setup

ACTIONS = [("project.viewed", 10), ("chatbot.updated", 10), ("member.role_changed", 20),
           ("chatbot.deleted", 30)]


def organization(slug: str):
    from orgs.models import Organization, Plan

    org, _ = Organization.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "plan": Plan.ENTERPRISE}
    )
    return org


def synthetic(org_id: int, count: int):
    from django.utils import timezone

    from auditlogs.models import AuditEvent

    start = timezone.now() - timedelta(seconds=count // 100)
    for n in range(count):
        action, severity = ACTIONS[n % len(ACTIONS)]
        yield AuditEvent(
            organization_id=org_id, occurred_at=start + timedelta(milliseconds=10 * n),
            action=action, severity=severity, project_id=n % 7 or None,
            project_name=f"Project {n % 7}" if n % 7 else "", actor_type="user",
            actor_id=n % 13, actor_label=f"user{n % 13}@bench.test", target_type="chatbot",
            target_id=str(n % 101), target_label=f"Bot {n % 101}",
            changes={"name": [f"old {n}", f"new {n}"]} if n % 5 == 0 else {},
            metadata={"n": n} if n % 3 == 0 else {}, ip="203.0.113.9",
            user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
            request_id=f"{n:032x}",
        )


def top_up(org, count: int) -> None:
    """Make sure the organization has `count` events (fill it faster beforehand with
    `manage.py generate_audit_events`, which uses COPY)."""
    from auditlogs.models import AuditEvent
    from auditlogs.recording.recorder import append

    missing = count - AuditEvent.objects.filter(organization=org).count()
    if missing > 0:
        append(org.pk, synthetic(org.pk, missing), batch_size=5000)


def bench_bulk(org, count: int) -> None:
    from auditlogs.recording.recorder import append

    missing = count
    started = time.perf_counter()
    written, chunk = 0, 100_000
    while written < missing:
        size = min(chunk, missing - written)
        written += append(org.pk, synthetic(org.pk, size), batch_size=5000)
    seconds = time.perf_counter() - started
    print(f"chained bulk insert (recorder.append, batches of 5000): {written:,} events in "
          f"{seconds:.1f}s = {written / seconds:,.0f} events/s")


def bench_verify(org, rounds: int, batch_size: int) -> None:
    """One batch after the other against windows in worker processes, alternately; the first
    windowed run also starts the fork server the workers come from."""
    from django.test import override_settings

    from auditlogs.integrity import windows
    from auditlogs.integrity.verification import verify

    ways = {
        "one batch after the other": {"AUDITLOG_VERIFY_PARALLEL_FROM": 2**62},
        f"windows, {windows.workers()} worker processes": {"AUDITLOG_VERIFY_PARALLEL_FROM": 1},
    }
    print(f"load before: {_load()}")
    table = Table(("verification", 44, ""), ("round", 5, "d"), ("events", 10, ",d"),
                  ("seconds", 7, ".2f"), ("events/s", 9, ",.0f"), ("windows", 7, "d"))
    table.header()
    best = dict.fromkeys(ways, 0.0)
    for round_ in range(1, rounds + 1):
        for way, overrides in ways.items():
            with override_settings(**overrides):
                started = time.perf_counter()
                report = verify(org, batch_size=batch_size)
                seconds = time.perf_counter() - started
            assert report.ok, report.problem
            rate = report.checked / seconds
            best[way] = max(best[way], rate)
            table.row(way, round_, report.checked, seconds, rate, report.windows)
    sequential, windowed = best.values()
    print(f"best of {rounds}: {windowed:,.0f} events/s in windows against {sequential:,.0f} "
          f"one batch after the other = {windowed / sequential:.2f}x")
    print(f"load after: {_load()}")


def _load() -> str:
    """`uptime`'s load averages (1, 5, 15 minutes) and the CPUs they share."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _writer(slug: str, start_at: float, seconds: float, results) -> None:
    from django.db import connections, transaction

    from auditlogs.recording.recorder import record
    from orgs.models import Organization

    connections.close_all()
    org = Organization.objects.get(slug=slug)
    while time.time() < start_at:
        time.sleep(0.001)
    done, deadline = 0, start_at + seconds
    while time.time() < deadline:
        with transaction.atomic():
            record("project.viewed", organization=org, metadata={"n": done})
        done += 1
    results.put(done)


def bench_writers(slugs: list[str], seconds: float) -> None:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0
    processes = [
        context.Process(target=_writer, args=(slug, start_at, seconds, results))
        for slug in slugs
    ]
    for process in processes:
        process.start()
    total = sum(results.get() for _ in processes)
    for process in processes:
        process.join()
    orgs = len(set(slugs))
    print(f"single-event transactions, {len(slugs)} writer(s) on {orgs} organization(s): "
          f"{total / seconds:,.0f} events/s ({total:,} in {seconds:.0f}s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events to verify (the organization is topped up to this)")
    parser.add_argument("--verify-org", default="bench-verify")
    parser.add_argument("--bulk-events", type=int, default=100_000)
    parser.add_argument("--verify-only", action="store_true")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="verifications each way, alternately")
    parser.add_argument("--batch-size", type=int, default=5000)
    options = parser.parse_args()
    setup()
    from django.db import connection

    name = connection.settings_dict["NAME"]
    print(f"PostgreSQL {server_version()}, database {name}, {os.cpu_count()} CPUs")

    if not options.verify_only:
        bench_bulk(organization("bench-bulk"), options.bulk_events)
    big = organization(options.verify_org)
    top_up(big, options.events)
    bench_verify(big, options.rounds, options.batch_size)
    if options.verify_only:
        return
    for slug in ("bench-w1", "bench-w2", "bench-w3", "bench-w4"):
        organization(slug)
    bench_writers(["bench-w1"], options.seconds)
    bench_writers(["bench-w1"] * 4, options.seconds)
    bench_writers(["bench-w1", "bench-w2", "bench-w3", "bench-w4"], options.seconds)


if __name__ == "__main__":
    main()
