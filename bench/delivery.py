"""Webhook catch-up: how fast the worker delivers a backlog to a local receiver.

    createdb -h 127.0.0.1 -U postgres bench_deliver
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_deliver \\
        .venv/bin/python bench/delivery.py --events 1000000

On a PostgreSQL database of its own (its name must start with "bench"; it is reused across
runs: the organization is topped up to --events with `generate_audit_events`, by COPY). A
receiver runs in a process of its own: an HTTP/1.1 server (keep-alive) on 127.0.0.1 that
parses every body, counts the events, checks that each destination's sequences arrive in
order with none twice, and verifies the signature of every tenth request.

For each batch size, a fresh destination whose cursor is --events behind the head is caught
up by the worker's own job (`operations.jobs.deliver_webhooks`, run back to back as the
minute's runs would follow one another), and the events per second are printed. In the same
run, the baseline: the delivery code of this issue's starting commit (--baseline-rev, taken
with `git archive` into a temporary directory and run in a process of its own on the same
database) catching up --baseline-events. Prints figures; asserts nothing about speed.
"""

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

from harness import ROOT, Table, server_version, setup

SECRET = "whsec_bench-delivery-secret"
ORGANIZATION = "bench-delivery"
BASELINE_REV = "933db79"
SIGNATURE_SAMPLE = 10  # every tenth request's signature is verified


# The receiver (a process of its own) --------------------------------------------------------


def serve(port_pipe) -> None:
    stats = {"requests": 0, "events": 0, "checkpoints": 0, "verified": 0, "bad_signatures": 0,
             "out_of_order": 0}
    last_sequence: dict[int, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            payload = json.loads(body)
            with lock:
                stats["requests"] += 1
                if stats["requests"] % SIGNATURE_SAMPLE == 1:
                    timestamp = self.headers["X-AuditLogs-Timestamp"]
                    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body,
                                   hashlib.sha256)
                    good = hmac.compare_digest("v1=" + mac.hexdigest(),
                                               self.headers["X-AuditLogs-Signature"])
                    stats["verified" if good else "bad_signatures"] += 1
                events = payload.get("events", [])
                stats["events"] += len(events)
                stats["checkpoints"] += len(payload.get("checkpoints", []))
                last = last_sequence.get(payload["destination"], 0)
                for event in events:
                    if event["sequence"] <= last:
                        stats["out_of_order"] += 1
                    last = event["sequence"]
                last_sequence[payload["destination"]] = last
            self._answer(b"")

        def do_GET(self):  # /stats, then counting starts afresh
            with lock:
                answer = json.dumps(stats).encode()
                for key in stats:
                    stats[key] = 0
            self._answer(answer)

        def _answer(self, body: bytes):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_pipe.send(server.server_address[1])
    server.serve_forever()


def receiver_stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as answer:
        return json.loads(answer.read())


# The backlog --------------------------------------------------------------------------------


def organization_with(events: int):
    from django.core.management import call_command
    from django.db import connection

    from auditlogs.models import ChainHead
    from orgs.models import Organization, Plan

    organization, _ = Organization.objects.get_or_create(
        slug=ORGANIZATION, defaults={"name": "Bench delivery", "plan": Plan.ENTERPRISE}
    )
    missing = events - ChainHead.sequence_for(organization.pk)
    if missing > 0:
        print(f"Generating {missing:,} events (COPY) ...", flush=True)
        started = time.perf_counter()
        call_command("generate_audit_events", org=ORGANIZATION, count=missing, days=30, seed=11,
                     stdout=StringIO(), stderr=StringIO())
        print(f"  {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:  # the statistics a live table has (autovacuum)
        cursor.execute("ANALYZE auditlogs_auditevent")
    return organization


def fresh_destination(organization, port: int, backlog: int, batch_size: int = 100):
    """The organization's only destination, `backlog` events behind the head."""
    from auditlogs.models import ChainHead
    from integrations.models import Destination

    Destination.objects.filter(organization=organization).delete()
    head = ChainHead.sequence_for(organization.pk)
    return Destination.objects.create(
        organization=organization, name=f"bench {batch_size}", secret=SECRET,
        url=f"http://127.0.0.1:{port}/hook", batch_size=batch_size, cursor=head - backlog,
        checkpoint_cursor=2**62,  # events only
    )


def catch_up(destination, head: int) -> float:
    """Seconds for the worker's job to bring the destination to the head."""
    from operations import jobs

    started = time.perf_counter()
    while True:
        jobs.deliver_webhooks()
        destination.refresh_from_db()
        if destination.cursor >= head or destination.failed_attempts:
            break
    if destination.failed_attempts:
        sys.exit(f"Delivery failed: {destination.last_error}")
    return time.perf_counter() - started


# The baseline: the starting commit's code, on the same database -----------------------------

BASELINE_SCRIPT = """
import os, sys, time
import django
django.setup()
from django.conf import settings
settings.DEBUG = False  # no query log, as in the measured runs of this branch
from integrations import webhooks
from integrations.models import Destination
target, destination_id = int(sys.argv[1]), int(sys.argv[2])
started = time.perf_counter()
while Destination.objects.get(pk=destination_id).cursor < target:
    if not webhooks.deliver_due():
        sys.exit("the baseline delivered nothing")
print(time.perf_counter() - started)
"""


def baseline_seconds(rev: str, destination, events: int) -> float:
    """Seconds the starting commit's `deliver_due`, pass after pass (its jobs ran passes back
    to back), takes to deliver `events` of the destination's backlog."""
    with tempfile.TemporaryDirectory(prefix="bench-delivery-baseline-") as tree:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
                       "AUDITLOG_WEBHOOK_ALLOW_LOOPBACK": "true", "LOG_LEVEL": "WARNING"}
        done = subprocess.run(
            [sys.executable, "-c", BASELINE_SCRIPT, str(destination.cursor + events),
             str(destination.pk)],
            cwd=tree, env=environment, check=True, capture_output=True, text=True,
        )
        return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="the backlog to catch up")
    parser.add_argument("--batch-sizes", default="100,1000",
                        help="destinations' batch sizes to measure, comma-separated")
    parser.add_argument("--baseline-events", type=int, default=20_000,
                        help="events the starting commit's code delivers (it is slow)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    options = parser.parse_args()

    from django.conf import settings
    from django.db import connection

    settings.AUDITLOG_WEBHOOK_ALLOW_LOOPBACK = True
    os.environ["AUDITLOG_WEBHOOK_ALLOW_LOOPBACK"] = "true"
    organization = organization_with(options.events)
    from auditlogs.models import ChainHead

    head = ChainHead.sequence_for(organization.pk)
    connection.close()  # not shared with the receiver's process
    pipe, child_pipe = multiprocessing.Pipe()
    receiver = multiprocessing.get_context("fork").Process(target=serve, args=(child_pipe,),
                                                           daemon=True)
    receiver.start()
    port = pipe.recv()
    print(f"PostgreSQL {server_version()}, database {connection.settings_dict['NAME']}, "
          f"{os.cpu_count()} CPUs; {head:,} events in the organization; receiver on port {port}")

    table = Table(("delivery", 40, ""), ("events", 10, ","), ("seconds", 8, ".1f"),
                  ("events/s", 9, ",.0f"), ("requests", 9, ","), ("vs baseline", 12, ""))
    table.header()
    baseline_events = min(options.baseline_events, options.events)
    destination = fresh_destination(organization, port, baseline_events)
    seconds = baseline_seconds(options.baseline_rev, destination, baseline_events)
    stats = receiver_stats(port)
    base_rate = stats["events"] / seconds
    table.row(f"baseline: {options.baseline_rev} (100 per POST)", stats["events"], seconds,
              base_rate, stats["requests"], "1.0×")
    checks = [stats]
    for batch_size in map(int, options.batch_sizes.split(",")):
        destination = fresh_destination(organization, port, options.events, batch_size)
        seconds = catch_up(destination, head)
        stats = receiver_stats(port)
        checks.append(stats)
        rate = stats["events"] / seconds
        table.row(f"this branch: batch size {batch_size}", stats["events"], seconds, rate,
                  stats["requests"], f"{rate / base_rate:.1f}×")
        if stats["events"] != options.events:
            print(f"  the receiver counted {stats['events']:,} events, not {options.events:,}")
    print(f"Receiver: {sum(s['verified'] for s in checks):,} signatures verified (every "
          f"{SIGNATURE_SAMPLE}th request), {sum(s['bad_signatures'] for s in checks)} bad, "
          f"{sum(s['out_of_order'] for s in checks)} events out of order or repeated.")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    receiver.terminate()


if __name__ == "__main__":
    setup()
    main()
