"""Page 1 of the Audit Logs page, served as in production, against an older commit in the
same run: server CPU per request and pages per second on the machine's cores.

    python bench/page_cpu.py --events 300000 --rounds 3 --seconds 15
    python bench/page_cpu.py --baseline 933db79 --clients 8

It makes the database `bench_page` once (migrate, the demo, --events synthetic events for Acme,
the volume rollups, a signed checkpoint; later runs reuse it, --fresh makes it anew), checks the
--baseline commit out into a temporary git worktree, and serves both checkouts side by side
from the same database, the same Redis cache and the same secret key, each as `make serve` does
(gunicorn, --web-concurrency workers of 4 threads, DEBUG off). The baseline runs against the
database migrated by this checkout: reading the page needs nothing newer.

Each round runs --clients threads that ask for page 1 as admin@acme.test (one signed-in
session, keep-alive connections) for --seconds against one server, then the other (the order
alternates by round). A server's CPU is the user + system time of its gunicorn processes
(/proc/<pid>/stat) over the round, divided by the pages it answered.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import DATABASE_PREFIX, Table  # noqa: E402
from bench.production import ROOT, ProductionServer, recreate_postgresql_database  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_page"
PAGE = "/orgs/acme/settings/audit-logs/"
PERSONA = "admin@acme.test"
ROW_MARK = b'<div class="event '  # one per event row, in both versions of the page
TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    options = parse_arguments()
    if not urlsplit(options.database_url).path.lstrip("/").startswith(DATABASE_PREFIX):
        sys.exit(f"Name a database that starts with {DATABASE_PREFIX!r}.")
    cache_env = {"CACHE_URL": options.cache_url, "CACHE_KEY_PREFIX": f"bench-page-{os.getpid()}",
                 "LOG_LEVEL": "WARNING"}
    current = ProductionServer(database_url=options.database_url, cache_url=options.cache_url,
                               workers=0, web_concurrency=options.web_concurrency,
                               extra_env=cache_env)
    prepare_database(current, options)
    baseline_root = Path(tempfile.mkdtemp(prefix="page-cpu-baseline-")) / "checkout"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline_root), options.baseline],
                   cwd=ROOT, check=True, capture_output=True)
    baseline = ProductionServer(database_url=options.database_url, cache_url=options.cache_url,
                                workers=0, web_concurrency=options.web_concurrency,
                                extra_env=cache_env, root=baseline_root)
    for name in ("secret-key", "signing-key"):  # one session serves both
        (baseline.workdir / name).write_text((current.workdir / name).read_text())
    servers = {"this checkout": current, f"baseline {options.baseline}": baseline}
    try:
        for server in servers.values():
            server.manage("collectstatic", "--no-input", "--verbosity", "0")
            server.start()
        cookie = session_cookie(current)
        results = measure(servers, cookie, options)
    finally:
        for server in servers.values():
            server.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline_root)], cwd=ROOT,
                       check=False, capture_output=True)
    report(results, options)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--baseline", default="933db79", help="The commit to compare with.")
    parser.add_argument("--events", type=int, default=300_000, help="Synthetic events of Acme.")
    parser.add_argument("--fresh", action="store_true", help="Make the database anew.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15, help="Per server and round.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent client threads.")
    parser.add_argument("--web-concurrency", type=int, default=2, help="gunicorn workers.")
    return parser.parse_args()


def prepare_database(server: ProductionServer, options) -> None:
    import psycopg

    exists = False
    if not options.fresh:
        try:
            with psycopg.connect(options.database_url) as connection:
                exists = bool(connection.execute(
                    "SELECT 1 FROM auditlogs_checkpoint LIMIT 1").fetchone())
        except psycopg.Error:
            exists = False
    if exists:
        server.manage("migrate", "--no-input")
        print(f"Reusing {options.database_url} (--fresh makes it anew).", flush=True)
        return
    print(f"Preparing {options.database_url}: the demo and {options.events:,} events...",
          flush=True)
    recreate_postgresql_database(options.database_url)
    server.prepare(seed=True)
    server.manage("generate_audit_events", "--org", "acme", "--count", str(options.events),
                  "--days", "90")
    server.manage("run_job", "roll_up_volumes")
    server.manage("checkpoint_audit_log", "--org", "acme", "--no-progress", timeout=1800)
    with psycopg.connect(options.database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def session_cookie(server: ProductionServer) -> str:
    """A signed-in session of the persona, made in the database both servers read."""
    os.environ.update(server.environment(), DJANGO_SETTINGS_MODULE="config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from orgs.models import User

    client = Client()
    client.force_login(User.objects.get(email=PERSONA))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@dataclass
class Reading:
    pages: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    rows: set = field(default_factory=set)

    @property
    def per_second(self) -> float:
        return self.pages / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds / self.pages * 1000


def measure(servers: dict, cookie: str, options) -> dict[str, list[Reading]]:
    results = {name: [] for name in servers}
    for server in servers.values():  # warm both: templates, connections, the day's view
        run_clients(server.url, cookie, options.clients, 3.0, server)
    for round_number in range(options.rounds):
        order = list(servers.items())
        if round_number % 2:
            order.reverse()
        for name, server in order:
            reading = run_clients(server.url, cookie, options.clients, options.seconds, server)
            results[name].append(reading)
            print(f"round {round_number + 1} {name:>20}: {reading.per_second:7.1f} pages/s, "
                  f"{reading.cpu_ms:5.2f} ms CPU a page", flush=True)
    return results


def run_clients(url: str, cookie: str, clients: int, seconds: float, server) -> Reading:
    address = urlsplit(url)
    stop = time.monotonic() + seconds
    counts, rows, errors = [0] * clients, set(), []

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        while time.monotonic() < stop:
            connection.request("GET", PAGE, headers={"Cookie": cookie})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {body[:200]!r}")
                return
            rows.add(body.count(ROW_MARK))
            counts[index] += 1
        connection.close()

    cpu_before = server_cpu_seconds(server)
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        sys.exit(f"{url}{PAGE} answered {errors[0]}")
    return Reading(sum(counts), elapsed, server_cpu_seconds(server) - cpu_before, rows)


def server_cpu_seconds(server: ProductionServer) -> float:
    """User + system CPU of every process of the server's web process groups (gunicorn's
    arbiter and workers; each web server was started as a session of its own)."""
    groups = {process.pid for process in server.processes}
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) in groups:  # the process group
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICKS


def report(results: dict[str, list[Reading]], options) -> None:
    print(f"\nPage 1 of {PAGE} as {PERSONA}, {options.clients} clients, gunicorn "
          f"{options.web_concurrency} workers x 4 threads, {os.cpu_count()} cores, "
          f"{options.rounds} rounds of {options.seconds:g} s each; "
          f"load average {os.getloadavg()[0]:.2f} (uptime)")
    table = Table(("server", 24, ""), ("pages/s", 9, ".1f"), ("CPU ms/page", 12, ".2f"),
                  ("rows", 6, ""))
    table.header()
    medians = {}
    for name, readings in results.items():
        rate = statistics.median(r.per_second for r in readings)
        cpu = statistics.median(r.cpu_ms for r in readings)
        shown = ",".join(str(n) for n in sorted(set().union(*(r.rows for r in readings))))
        medians[name] = (rate, cpu)
        table.row(name, rate, cpu, shown)
    (current_rate, current_cpu), (base_rate, base_cpu) = medians.values()
    print(f"\nratio (this checkout / baseline): {current_rate / base_rate:.2f}x pages/s, "
          f"{base_cpu / current_cpu:.2f}x less server CPU a page")


if __name__ == "__main__":
    main()
