"""The load test: production mode on PostgreSQL under the mixed load of bench/locustfile.py,
then a reconciliation.

    python bench/load.py --seconds 90 --users 30
    python bench/load.py --seconds 90 --users 30 --web 2 --workers 2 --kill-worker

It makes the database `bench_production` anew (any --database-url must name a database whose
name starts with `bench`), seeds the demo, adds --events synthetic events to Acme, points a
webhook destination at a receiver of its own on 127.0.0.1, starts --web web servers (gunicorn,
as `make serve` does) and --workers workers (django-q2) on 127.0.0.1 only, and runs locust
headless for --seconds. It prints throughput, error rate and p50/p95/p99 per endpoint, then
checks: every successful action has exactly one event (matched by its request id), the chain
verifies, and the worker delivered every event to the receiver (with --kill-worker, one worker
is killed with SIGKILL halfway through and nothing is lost).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import DATABASE_PREFIX, require_bench_database  # noqa: E402
from bench.production import (  # noqa: E402
    BIN,
    ROOT,
    ProductionServer,
    recreate_postgresql_database,
)

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_production"


class Receiver:
    """A SIEM stand-in on 127.0.0.1 that accepts every delivery and counts the events'
    sequences."""

    def __init__(self):
        self.sequences: Counter = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                # Event batches; signed checkpoints come too (payload type auditlogs.checkpoints).
                receiver.sequences.update(event["sequence"] for event in body.get("events", []))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def main() -> None:
    options = parse_arguments()
    if not urlsplit(options.database_url).path.lstrip("/").startswith(DATABASE_PREFIX):
        sys.exit(f"The load test recreates its database: name one that starts with "
                 f"{DATABASE_PREFIX!r}.")
    receiver = Receiver()
    server = ProductionServer(
        database_url=options.database_url, cache_url=options.cache_url,
        web_servers=options.web, workers=options.workers,
        web_concurrency=options.web_concurrency,
        # The load generator stands where the load balancer would: its X-Request-IDs are
        # accepted (and stored on the events), as a trusted proxy's are.
        extra_env={"AUDITLOG_WEBHOOK_ALLOW_LOOPBACK": "true", "LOG_LEVEL": "WARNING",
                   "AUDITLOG_TRUSTED_PROXIES": "127.0.0.1/32"},
    )
    print(f"Preparing {options.database_url} (migrate, static files, demo, "
          f"{options.events:,} more events)...", flush=True)
    recreate_postgresql_database(options.database_url)
    server.prepare(seed=True)
    if options.events:
        server.manage("generate_audit_events", "--org", "acme", "--count", str(options.events),
                      "--days", "90")
    os.environ.update(server.environment(), DJANGO_SETTINGS_MODULE="config.settings")
    import django

    django.setup()
    require_bench_database()
    first_sequence = add_destination(receiver.url)

    server.start()
    print(f"{options.web} web server(s) at {', '.join(server.urls)}, "
          f"{options.workers} worker(s); cache {options.cache_url}", flush=True)
    try:
        report(run_locust(server, options))
        problems = reconcile(server)
        problems += check_delivery(receiver, first_sequence)
        problems += check_ready(server)
    finally:
        server.stop()
    if problems:
        print("\nRECONCILIATION FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nReconciled: every successful action has exactly one event, the chains verify, "
          "every event reached the receiver.")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--web", type=int, default=1, help="web servers (gunicorn masters)")
    parser.add_argument("--web-concurrency", type=int, default=2, help="processes per server")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (qcluster)")
    parser.add_argument("--kill-worker", action="store_true",
                        help="SIGKILL the first worker halfway through")
    parser.add_argument("--events", type=int, default=100_000,
                        help="synthetic events added to Acme before the run")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/9")
    return parser.parse_args()


def add_destination(url: str) -> int:
    """A destination for the receiver; the sequence of the first event it is to get."""
    from integrations import services
    from orgs.models import Organization, Role

    acme = Organization.objects.get(slug="acme")
    owner = acme.memberships.filter(role=Role.OWNER).first().user
    destination = services.destination_create(
        organization=acme, name="Load receiver", url=url, secret="load-test-secret",
        created_by=owner,
    )
    return destination.cursor + 1


def run_locust(server: ProductionServer, options) -> Path:
    prefix = server.workdir / "locust"
    env = dict(os.environ, LOAD_HOSTS=",".join(server.urls),
               ACTIONS_FILE=str(server.workdir / "actions.jsonl"))
    command = [
        str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "--users", str(options.users), "--spawn-rate", str(options.spawn_rate),
        "--run-time", f"{options.seconds}s", "--host", server.url, "--csv", str(prefix),
        "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]
    print(f"Running {options.users} simulated people for {options.seconds} s...", flush=True)
    locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=open(server.workdir / "locust.log", "w"))  # noqa: SIM115
    if options.kill_worker:
        time.sleep(options.seconds / 2)
        server.kill_worker(0)
        print("Killed worker 1 with SIGKILL.", flush=True)
    locust.wait(timeout=options.seconds + 120)
    return Path(f"{prefix}_stats.csv")


def report(stats: Path) -> None:
    rows = list(csv.DictReader(stats.open()))
    print(f"\n{'endpoint':<34} {'requests':>8} {'req/s':>7} {'errors':>7} "
          f"{'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
    for row in rows:
        name = "ALL" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        count, failures = int(row["Request Count"]), int(row["Failure Count"])
        error_rate = f"{failures / count:.1%}" if count else "-"
        print(f"{name:<34} {count:>8} {float(row['Requests/s']):>7.1f} {error_rate:>7} "
              f"{row['50%']:>6} {row['95%']:>6} {row['99%']:>6}")


def reconcile(server: ProductionServer) -> list[str]:
    from auditlogs.models import AuditEvent

    actions = [json.loads(line) for line in (server.workdir / "actions.jsonl").open()]
    expected = {action["request_id"]: action["action"] for action in actions}
    found: dict[str, list[str]] = {}
    ids = list(expected)
    for start in range(0, len(ids), 1000):
        for request_id, action in AuditEvent.objects.filter(
            request_id__in=ids[start:start + 1000]
        ).values_list("request_id", "action"):
            found.setdefault(request_id, []).append(action)
    problems = [
        f"{request_id}: {action} has events {found.get(request_id, [])}"
        for request_id, action in expected.items()
        if found.get(request_id) != [action]
    ]
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(Counter(expected.values()).items()))
    print(f"\n{len(expected):,} successful actions ({kinds}); "
          f"{len(expected) - len(problems):,} have exactly one event.")
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_audit_log", "--no-progress"],
        cwd=ROOT, env=os.environ, capture_output=True, text=True,
    )
    verdicts = result.stdout.strip().splitlines()
    verified = sum(line.split(": ", 1)[1].startswith("OK") for line in verdicts if ": " in line)
    print(f"verify_audit_log: {verified} of {len(verdicts)} organizations' chains verify "
          f"(exit {result.returncode}).")
    if result.returncode != 0:
        problems.append(f"verify_audit_log failed: {result.stdout[-500:]}{result.stderr[-500:]}")
    return problems


def check_delivery(receiver: Receiver, first_sequence: int) -> list[str]:
    """The workers deliver the rest after the load; every event must reach the receiver."""
    from auditlogs.models import ChainHead
    from integrations.models import Destination

    destination = Destination.objects.get(name="Load receiver")
    head = ChainHead.sequence_for(destination.organization_id)
    deadline = time.monotonic() + 180
    while destination.cursor < head and time.monotonic() < deadline:
        time.sleep(1)
        destination.refresh_from_db()
    missing = sorted(set(range(first_sequence, head + 1)) - set(receiver.sequences))
    twice = sum(count - 1 for count in receiver.sequences.values())
    print(f"Webhook delivery: events #{first_sequence:,}-#{head:,} "
          f"({head - first_sequence + 1:,}), {len(missing)} missing, "
          f"{twice} delivered more than once (at least once).")
    return [f"{len(missing)} events never delivered (first {missing[:5]})"] if missing else []


def check_ready(server: ProductionServer) -> list[str]:
    """After the load, every web server's /readyz must pass (the workers kept up)."""
    problems = []
    for url in server.urls:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            body = json.load(error)
        failing = [name for name, check in body["checks"].items() if not check["ok"]]
        print(f"{url}/readyz: {body['status']}"
              + (f" ({', '.join(failing)})" if failing else "")
              + f", worker heartbeat {body['checks']['worker']['heartbeat_age_seconds']} s ago")
        if failing:
            problems.append(f"{url}/readyz fails: {failing}")
    return problems


if __name__ == "__main__":
    main()
