"""The write path: what recording costs a change, many writers at once, and a held chain lock.

    createdb -h 127.0.0.1 -U postgres bench_writes     # or let the script create it
    .venv/bin/python bench/writes.py \\
        --database-url postgres://postgres@127.0.0.1:5432/bench_writes \\
        --processes 8 --events 2000 --peer-python /work/wt/peer-venv/bin/python

The peer (django-auditlog) runs in a dev-only environment of its own, never the product's:

    python3 -m venv /work/wt/peer-venv
    /work/wt/peer-venv/bin/pip install "django>=5.2,<5.3" django-auditlog "psycopg[binary]"

On PostgreSQL databases of their own (names starting with "bench"; the peer's is the same name
with "_peer"), DEBUG off. Every run writes into organizations of its own. Prints, with
`uptime`'s load at the start and the end:

1. The cost `auditlogs.record()` adds to a change (a Project rename in a transaction, in a
   request's context), as time(change + record()) - time(change), p50 and p95 of --repeat
   calls per round, rounds interleaved with the peer's (bench/peer_auditlog_writes.py: a
   tracked save minus the same save with django-auditlog disabled). The after-commit link
   (the time Django spends in on-commit hooks) is shown on its own and in the total.
2. --processes writer processes, each committing --events transactions, first all on one
   organization, then each on its own; twice: transactions that only record an event (what
   "writers recording to one organization" do), then such changes with record(). For each:
   events/s committed and linked (until every chain head reaches its total), p50/p99 of the
   whole transaction (commit and the hooks run after it in that process included) and of
   recording's own request-side time (in record() plus the on-commit hooks), the longest link
   delay (commit to the chain head passing the event, read by polling the heads), then each
   chain verified and checked gapless. Before each, the same writers run without the chain:
   recording with the sequencer's after-commit link turned off (inserts only), and the
   change without record(): the events/s and p99 the machine allows them, the ceiling of the
   figures after it; for recording only, also the database alone: the same INSERT sent by as
   many processes through the driver (psycopg) without Django's transaction or record(). By
   default each writer commits as fast as it can, so the p99s are those of a saturated
   machine; with --rate the writers offer that many events/s in all, each on a fixed
   schedule, which gives the p99 at that rate (the issue's target: 2,000 events/s, p99 <= 5
   ms). --writers record runs the first kind only; --sections picks sections.
3. A held chain lock: another connection holds an organization's ChainHead row for --hold
   seconds; during it a change with record() and a page-1 GET of the organization's Audit Logs
   page are timed (both must answer within 1 s), and after it, how soon the change's event is
   linked by the worker's sweep (its `link_audit_events` job, which repeats `sweep(wait=True)`,
   running in another process).

Before the sequencer (issue 11's starting commit) `record()` links the event under the chain
lock until commit; the script measures that too, so a run there gives the "before" figures.
"""

import argparse
import bisect
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harness import DATABASE_PREFIX, Table, ms, p50, p95, server_version, setup

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
OWNER = "owner@writes.bench.test"
LIMIT_S = 1.0  # a change and a page during a held lock must answer within this


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_writes"),
        help="A PostgreSQL database whose name starts with 'bench' (created when missing).",
    )
    parser.add_argument("--processes", type=int, default=8, help="Concurrent writers.")
    parser.add_argument("--events", type=int, default=2000, help="Transactions per writer.")
    parser.add_argument("--repeat", type=int, default=200, help="Calls per variant per round.")
    parser.add_argument("--rounds", type=int, default=10, help="Interleaved rounds (cost).")
    parser.add_argument("--hold", type=float, default=10.0, help="Seconds the lock is held.")
    parser.add_argument(
        "--sections", default="1,2,3",
        help="Which sections to run, comma-separated (default 1,2,3).",
    )
    parser.add_argument(
        "--rate", type=float, default=0.0,
        help="Section 2: events/s the writers offer in all, each on a fixed schedule "
        "(0: each as fast as it can, the default).",
    )
    parser.add_argument(
        "--writers", choices=("record", "change", "both"), default="both",
        help="Section 2: transactions that only record, changes with record(), or both.",
    )
    parser.add_argument(
        "--peer-python", metavar="PATH",
        help="A dev-only environment's python with django-auditlog installed "
        "(bench/peer_auditlog_writes.py runs in it).",
    )
    args = parser.parse_args()
    if not urlsplit(args.database_url).path.lstrip("/").startswith(DATABASE_PREFIX):
        parser.error(f"--database-url must name a database starting with {DATABASE_PREFIX!r}.")
    if args.processes < 1 or args.events < 1 or args.repeat < 2 or args.rounds < 1:
        parser.error("--processes, --events, --rounds must be at least 1, --repeat at least 2.")
    if args.rate < 0:
        parser.error("--rate must be 0 (as fast as possible) or more.")
    args.sections = {part.strip() for part in args.sections.split(",")}
    if not args.sections or not args.sections <= {"1", "2", "3"}:
        parser.error("--sections takes 1, 2 and 3, comma-separated.")
    return args


def create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ARGS = arguments()
create_database(ARGS.database_url)
os.environ["DATABASE_URL"] = ARGS.database_url
setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from auditlogs import record  # noqa: E402
from auditlogs.integrity.verification import verify  # noqa: E402
from auditlogs.models import AuditEvent, ChainHead  # noqa: E402
from auditlogs.recording.context import Actor, AuditContext, using_context  # noqa: E402
from orgs.models import Membership, Organization, Plan, Role, User  # noqa: E402
from projects.models import Project  # noqa: E402

try:
    from auditlogs.recording import sequencer  # noqa: E402
    from operations.jobs import link_audit_events  # noqa: E402  (the worker's sweep)
except ImportError:  # before issue 11: record() links under the chain lock until commit
    sequencer = link_audit_events = None
try:  # the statement record() sends (database_alone sends it through the driver alone)
    from auditlogs.recording.recorder import (  # noqa: E402
        _insert_statement,
        _insertable_fields,
        build_event,
    )
except ImportError:  # before issue 11: no such ceiling
    _insert_statement = None

RUN = uuid.uuid4().hex[:6]  # every run writes into organizations of its own


def main() -> None:
    logging.disable(logging.INFO)  # no request log line per page GET
    print(f"Load at start: {uptime()}")
    print(f"PostgreSQL {server_version()}, database {connection.settings_dict['NAME']}, "
          f"{os.cpu_count()} CPUs shared with other work; record() "
          f"{'links after commit (sequencer)' if sequencer else 'links under the chain lock'}.")
    owner = User.objects.filter(email=OWNER).first() or User.objects.create_user(OWNER, "x")
    sections = ARGS.sections
    if "1" in sections:
        cost_of_record(owner)
    if "2" in sections:
        kinds = {"record": (False,), "change": (True,), "both": (False, True)}[ARGS.writers]
        for changing in kinds:
            for organizations in (1, ARGS.processes):
                ceiling = without_the_chain(owner, organizations, changing)
                alone = (None if changing or _insert_statement is None
                         else database_alone(owner, organizations))
                concurrent_writers(owner, organizations, ceiling, changing, alone)
    if "3" in sections:
        held_lock(owner)
    print(f"\nLoad at end: {uptime()}")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# Writing ----------------------------------------------------------------------------------


class CommitHooks:
    """Times Django's on-commit hooks on this process's connection, where the sequencer links
    after commit: when they started (right after COMMIT) and how long they took."""

    started_at = 0.0
    seconds = 0.0

    def install(self) -> None:
        database = connections["default"]
        run_hooks = database.run_and_clear_commit_hooks
        if getattr(run_hooks, "timed", False):
            return

        def timed_hooks():
            self.started_at = time.time()
            started = time.perf_counter()
            try:
                run_hooks()
            finally:
                self.seconds = time.perf_counter() - started

        timed_hooks.timed = True
        database.run_and_clear_commit_hooks = timed_hooks


HOOKS = CommitHooks()


class Writer:
    """A request-like writer: one project of one organization renamed in a transaction, in a
    context built as the middleware builds it (the owner as actor, an IP, a user agent, a
    fresh request id), with or without `record()`. Each call times the transaction from its
    start to the end of the on-commit hooks (the sequencer's link runs there) and, on its own,
    the hooks."""

    def __init__(self, owner, organization, name: str) -> None:
        self.organization = organization
        self.project, _ = Project.objects.get_or_create(
            organization=organization, slug=name.lower().replace(" ", "-"),
            defaults={"name": name},
        )
        self.project.organization = organization
        self.actor = Actor.for_user(owner)
        self.calls = 0
        self.recording_seconds = 0.0  # the last call's time inside record()
        HOOKS.install()

    def change(self, *, recorded: bool, changing: bool = True
               ) -> tuple[float, float, AuditEvent | None]:
        """(seconds of the whole transaction, seconds of its on-commit hooks, the event).
        Without `changing` the transaction only records (the rename it describes is not
        saved)."""
        self.calls += 1
        before, after = self.project.name, f"{self.project.name.split(' #')[0]} #{self.calls}"
        context = AuditContext(actor=self.actor, ip="203.0.113.7", user_agent=UA)
        HOOKS.seconds = 0.0
        event = None
        with using_context(context):
            started = time.perf_counter()
            with transaction.atomic():
                self.project.name = after
                if changing:
                    self.project.save(update_fields=["name"])
                if recorded:
                    recording = time.perf_counter()
                    event = record(
                        "project.updated", organization=self.organization,
                        project=self.project, target=self.project,
                        changes={"name": [before, after]},
                    )
                    self.recording_seconds = time.perf_counter() - recording
            return time.perf_counter() - started, HOOKS.seconds, event


def organization(slug: str, owner) -> Organization:
    org, _ = Organization.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "plan": Plan.ENTERPRISE, "timezone": "UTC"}
    )
    Membership.objects.get_or_create(organization=org, user=owner, defaults={"role": Role.OWNER})
    return org


def linked_everything() -> None:
    """Whatever the after-commit links left (none expected) linked now, as the worker would."""
    if sequencer is not None:
        sequencer.sweep(wait=True)


# 1. The cost of record() --------------------------------------------------------------------


class Peer:
    """bench/peer_auditlog_writes.py in the peer's environment, one round per `round()`."""

    def __init__(self, python: str) -> None:
        parts = urlsplit(ARGS.database_url)
        url = urlunsplit(parts._replace(path=parts.path + "_peer"))
        script = Path(__file__).with_name("peer_auditlog_writes.py")
        self.process = subprocess.Popen(
            [python, str(script), "--database-url", url, "--repeat", str(ARGS.repeat)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.name = self._read()["peer"]
        self.tracked: list[float] = []
        self.untracked: list[float] = []

    def round(self) -> None:
        self.process.stdin.write("round\n")
        self.process.stdin.flush()
        samples = self._read()
        self.tracked += samples["tracked"]
        self.untracked += samples["untracked"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            sys.exit("The peer benchmark stopped (see its error above).")
        return json.loads(line)


def cost_of_record(owner) -> None:
    writer = Writer(owner, organization(f"writes-{RUN}-cost", owner), "Cost")
    peer = Peer(ARGS.peer_python) if ARGS.peer_python else None
    bare, recorded, linking = [], [], []
    writer.change(recorded=True), writer.change(recorded=False)  # warm-up
    for _ in range(ARGS.rounds):
        for n in range(ARGS.repeat):
            order = (False, True) if n % 2 else (True, False)  # alternate which goes first
            for with_record in order:
                seconds, hooks, _ = writer.change(recorded=with_record)
                if with_record:
                    recorded.append(seconds)
                    linking.append(hooks)
                else:
                    bare.append(seconds)
        if peer:
            peer.round()
    if peer:
        peer.close()
    in_transaction = [total - hooks for total, hooks in zip(recorded, linking, strict=True)]

    print(f"\n1. Cost added to a change ({ARGS.rounds} interleaved rounds of {ARGS.repeat} "
          "calls of each; ms per call):")
    table = Table(("", 44, ""), ("p50", 7, ".3f"), ("p95", 7, ".3f"))
    table.header()
    table.row("ours: change alone (Project rename, txn)", p50(bare), p95(bare))
    table.row("ours: change + record(), whole transaction", p50(recorded), p95(recorded))
    table.row("  of which after-commit link (on-commit)", p50(linking), p95(linking))
    ours_in = (p50(in_transaction) - p50(bare), p95(in_transaction) - p95(bare))
    ours_total = (p50(recorded) - p50(bare), p95(recorded) - p95(bare))
    table.row("record() cost inside the transaction", *ours_in)
    table.row("record() cost incl. the after-commit link", *ours_total)
    if not peer:
        print("(the peer was not measured: give --peer-python)")
        return
    theirs = (p50(peer.tracked) - p50(peer.untracked), p95(peer.tracked) - p95(peer.untracked))
    table.row("peer: save, auditlog disabled (Group)", p50(peer.untracked), p95(peer.untracked))
    table.row("peer: tracked save", p50(peer.tracked), p95(peer.tracked))
    table.row(f"peer: tracking cost ({peer.name.split(',')[0]})", *theirs)
    ratio = Table(("", 44, ""), ("p50", 7, ""), ("p95", 7, ""))
    ratio.row("ratio ours/peer, inside the transaction", *ratios(ours_in, theirs))
    ratio.row("ratio ours/peer, incl. the link", *ratios(ours_total, theirs))
    print(f"Peer: {peer.name}. Target: ours <= peer (ratio <= 1).")


def ratios(ours, theirs) -> list[str]:
    return [f"{a / b:.2f}" if b > 0 else "n/a" for a, b in zip(ours, theirs, strict=True)]


# 2. Concurrent writers ----------------------------------------------------------------------


def _write(owner_id: int, org_id: int, name: str, start_at: float, results,
           recorded: bool, changing: bool, linking: bool) -> None:
    connections.close_all()
    if not linking and sequencer is not None:
        # The ceiling of recording: inserts only, nothing links them (this forked process).
        sequencer.link_after_this_commit = lambda organization_id, event_id: None
    owner = User.objects.get(pk=owner_id)
    writer = Writer(owner, Organization.objects.get(pk=org_id), name)
    wait_until(start_at)
    durations, recording, events = [], [], []
    for n in range(ARGS.events):
        keep_to_schedule(start_at, n)
        seconds, hooks, event = writer.change(recorded=recorded, changing=changing)
        durations.append(seconds)
        recording.append(writer.recording_seconds + hooks)
        events.append((event.pk if event else None, HOOKS.started_at))
    if sequencer is not None and hasattr(sequencer, "background"):
        # What atexit does when a web process exits (a forked child ends with os._exit).
        sequencer.background.stop()
    connections.close_all()
    results.put((org_id, durations, recording, events))


def wait_until(start_at: float) -> None:
    """Wait for the moment every process of a run starts at."""
    while time.time() < start_at:
        time.sleep(0.001)


def start_processes(target, arguments: list[tuple]) -> list:
    """A forked process running `target` for each tuple of arguments, started."""
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=target, args=args) for args in arguments]
    for process in processes:
        process.start()
    return processes


def collect(processes, results) -> list:
    """What each process put on `results`, once all have ended."""
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return outcomes


def keep_to_schedule(start_at: float, n: int) -> None:
    """With --rate, wait until this writer's transaction #n is due (each writer offers its
    share of the rate); without, go on at once."""
    each = ARGS.rate / ARGS.processes
    if each and (wait := start_at + n / each - time.time()) > 0:
        time.sleep(wait)


def _insert_alone(org_id: int, start_at: float, results) -> None:
    """One writer of the database-alone ceiling: the INSERT that record() sends, its
    parameters made once, in a transaction of the driver's own (no Django transaction, no
    record(), no chain); the time of each transaction."""
    connections.close_all()
    connection.ensure_connection()
    driver = connection.connection  # psycopg, with Django's adapters
    with using_context(AuditContext(actor=Actor.system(), ip="203.0.113.7", user_agent=UA)):
        event = build_event("project.updated", organization=Organization.objects.get(pk=org_id),
                            changes={"name": ["before", "after"]})
    params = [field.get_db_prep_save(getattr(event, field.attname), connection)
              for field in _insertable_fields()]
    statement = _insert_statement()
    wait_until(start_at)
    durations = []
    for n in range(ARGS.events):
        keep_to_schedule(start_at, n)
        started = time.perf_counter()
        with driver.transaction():
            driver.execute(statement, params, prepare=True).fetchone()
        durations.append(time.perf_counter() - started)
    results.put((durations, time.time()))
    connections.close_all()


def database_alone(owner, organizations: int) -> tuple[float, float]:
    """The database's own ceiling for recording only: the same number of processes, each
    sending record()'s INSERT through the driver alone (_insert_alone): (events/s, p99
    seconds of the transaction). What separates it from the recording ceiling is the writers'
    Python (Django's transaction, record() making the event)."""
    orgs = [organization(f"writes-{RUN}-driver{organizations}o-{n}", owner)
            for n in range(organizations)]
    connections.close_all()
    results = multiprocessing.get_context("fork").Queue()
    start_at = time.time() + 1.0
    outcomes = collect(start_processes(_insert_alone, [
        (orgs[n % organizations].pk, start_at, results) for n in range(ARGS.processes)
    ]), results)
    durations = [seconds for ds, _ in outcomes for seconds in ds]
    ended = max(at for _, at in outcomes)
    linked_everything()
    return len(durations) / (ended - start_at), ms(durations, 99) / 1000


def _writers(owner, orgs, start_at: float, results, *, recorded: bool, changing: bool,
             linking: bool = True) -> list:
    return start_processes(_write, [
        (owner.pk, orgs[n % len(orgs)].pk, f"Writer {n}", start_at, results, recorded, changing,
         linking)
        for n in range(ARGS.processes)
    ])


def without_the_chain(owner, organizations: int, changing: bool) -> tuple[float, float, float]:
    """The same writers without the chain, the ceiling of section 2's figures: (events/s,
    p99 seconds of the transaction, p99 seconds of recording's request-side time). Changes:
    the change alone, without record(). Recording only: record() with the sequencer's
    after-commit link turned off (inserts only; linked afterwards, untimed)."""
    kind = "change" if changing else "record"
    orgs = [organization(f"writes-{RUN}-{kind}-alone{organizations}o-{n}", owner)
            for n in range(organizations)]
    connections.close_all()
    results = multiprocessing.get_context("fork").Queue()
    start_at = time.time() + 1.0
    workers = _writers(owner, orgs, start_at, results, recorded=not changing, changing=changing,
                       linking=False)
    outcomes = collect(workers, results)
    durations = [seconds for _, ds, _, _ in outcomes for seconds in ds]
    recording = [seconds for _, _, rs, _ in outcomes for seconds in rs]
    ended = max(at for _, _, _, events in outcomes for _, at in events)
    linked_everything()
    return len(durations) / (ended - start_at), ms(durations, 99) / 1000, ms(recording, 99) / 1000


def concurrent_writers(owner, organizations: int, ceiling: tuple[float, float, float],
                       changing: bool, alone: tuple[float, float] | None = None) -> None:
    processes = ARGS.processes
    kind = "change" if changing else "record"
    orgs = [organization(f"writes-{RUN}-{kind}-{processes}p{organizations}o-{n}", owner)
            for n in range(organizations)]
    for org in orgs:  # the chain head exists before the writers start (genesis is not timed)
        Writer(owner, org, "Warm-up").change(recorded=True)
    linked_everything()
    start_sequence = {org.pk: ChainHead.sequence_for(org.pk) for org in orgs}
    target = {org.pk: start_sequence[org.pk] for org in orgs}
    for n in range(processes):
        target[orgs[n % organizations].pk] += ARGS.events
    connections.close_all()
    results = multiprocessing.get_context("fork").Queue()
    start_at = time.time() + 1.0
    workers = _writers(owner, orgs, start_at, results, recorded=True, changing=changing)
    timeline = heads_until(target, workers, start_at)
    outcomes = collect(workers, results)

    total = processes * ARGS.events
    durations = [seconds for _, ds, _, _ in outcomes for seconds in ds]
    recording = [seconds for _, _, rs, _ in outcomes for seconds in rs]
    commits = [(org_id, pk, at) for org_id, _, _, events in outcomes for pk, at in events]
    committed_s = max(at for _, _, at in commits) - start_at
    reached = timeline[-1][1] == target
    linked_s = timeline[-1][0] - start_at
    delays = link_delays(commits, timeline)
    what, without = (("a change + record()", "the change alone (no record())") if changing
                     else ("record() only", "recording, never linked"))
    pace = (f"offered at {ARGS.rate:,.0f} events/s in all" if ARGS.rate
            else "each writer as fast as it can")
    print(f"\n2. {processes} processes x {ARGS.events:,} transactions ({what} each) on "
          f"{organizations} organization(s), {pace}:")
    table = Table(("", 44, ""), ("value", 12, ""))
    table.row("events/s committed", f"{total / committed_s:,.0f}")
    linked = f"{total / linked_s:,.0f}" if reached else "not reached"
    table.row("events/s linked (chain heads at the total)", linked)
    table.row(f"  {without}, events/s", f"{ceiling[0]:,.0f}")
    if alone is not None:
        table.row("  the database alone (driver), events/s", f"{alone[0]:,.0f}")
    table.row("transaction p50 / p99 (ms)", f"{p50(durations):.2f} / {ms(durations, 99):.2f}")
    table.row(f"  {without}, p99 (ms)", f"{ceiling[1] * 1000:.2f}")
    if alone is not None:
        table.row("  the database alone, p99 (ms)", f"{alone[1] * 1000:.2f}")
    table.row("recording's request-side time p50 / p99 (ms)",
              f"{p50(recording):.2f} / {ms(recording, 99):.2f}")
    if not changing:
        table.row(f"  {without}, p99 (ms)", f"{ceiling[2] * 1000:.2f}")
    table.row("link delay p50 (ms, commit to head)", f"{p50(delays):.1f}")
    table.row("longest link delay (ms)", f"{max(delays) * 1000:.1f}")
    poll = linked_s / max(len(timeline) - 1, 1) * 1000
    print(f"   (link delays read by polling the chain heads every {poll:.1f} ms on average; "
          "targets: >= 2,000 events/s linked, p99 <= 5 ms. Recording's request-side time is "
          "the time in record() plus the on-commit hooks; the lines under a figure are the "
          "same writers without the chain, run just before: the machine's ceiling for it.)")
    if not reached:
        print(f"   Chain heads stopped at {timeline[-1][1]} of {target}; swept now.")
        linked_everything()
    print(f"   {chains_checked(orgs, start_sequence, target)}")


def heads_until(target: dict[int, int], workers, start_at: float) -> list[tuple[float, dict]]:
    """(time, {organization: head sequence}) polled until every head reaches its target, or
    the writers are done and the heads stood still for 10 s."""
    heads = ChainHead.objects.filter(organization_id__in=list(target))
    timeline, still_since = [], None
    wait_until(start_at)
    while True:
        now = dict(heads.values_list("organization_id", "sequence"))
        at = time.time()
        standing = timeline and now == timeline[-1][1]
        still_since = (still_since or at) if standing else None
        timeline.append((at, now))
        if now == target:
            return timeline
        if still_since and at - still_since > 10 and not any(w.is_alive() for w in workers):
            return timeline
        time.sleep(0.002)


def link_delays(commits, timeline) -> list[float]:
    """Per event: from its commit to the first poll that saw its organization's head at or
    past its sequence."""
    sequences = dict(
        AuditEvent.objects.filter(pk__in=[pk for _, pk, _ in commits])
        .values_list("pk", "sequence")
    )
    times = [at for at, _ in timeline]
    heads = {org_id: [seen.get(org_id, 0) for _, seen in timeline] for org_id, _, _ in commits}
    delays = []
    for org_id, pk, committed_at in commits:
        sequence = sequences.get(pk)
        poll = bisect.bisect_left(heads[org_id], sequence) if sequence is not None else None
        if poll is not None and poll < len(times):
            delays.append(max(times[poll] - committed_at, 0.0))
    return delays or [float("nan")]


def chains_checked(orgs, start_sequence: dict[int, int], target: dict[int, int]) -> str:
    """Each chain verified (`verify`, as verify_audit_log does) and its sequences checked
    gapless: every event linked, 1..head once each."""
    checked, problems = 0, []
    for org in orgs:
        report = verify(org)
        events = AuditEvent.objects.filter(organization=org)
        unlinked = events.filter(sequence__isnull=True).count()
        sequences = list(events.exclude(sequence=None).values_list("sequence", flat=True))
        expected = target[org.pk]
        checked += report.checked
        if not report.ok:
            problems.append(f"{org.slug}: {report.problem}")
        if unlinked or sorted(sequences) != list(range(1, expected + 1)):
            problems.append(f"{org.slug}: NOT gapless: {len(sequences):,} linked (1..{expected:,} "
                            f"expected), {unlinked:,} unlinked")
    written = sum(target[org.pk] - start_sequence[org.pk] for org in orgs)
    verdict = "; ".join(problems) or "every chain verifies, gapless, nothing unlinked"
    return (f"{len(orgs)} chain(s), {checked:,} events verified ({written:,} written by this "
            f"section): {verdict}")


# 3. A held chain lock -----------------------------------------------------------------------


def _worker_sweeping(seconds: float) -> None:
    connections.close_all()
    link_audit_events(seconds=seconds)  # sweep(wait=True), again and again, as the worker
    connections.close_all()


def held_lock(owner) -> None:
    org = organization(f"writes-{RUN}-held", owner)
    writer = Writer(owner, org, "Held")
    writer.change(recorded=True)
    linked_everything()
    client = Client()
    client.force_login(owner)
    page = f"/orgs/{org.slug}/settings/audit-logs/"
    client.get(page)  # warm-up (and the day's audit_log.viewed)

    sweeper = None
    if link_audit_events is not None:
        connections.close_all()
        sweeper = multiprocessing.get_context("fork").Process(
            target=_worker_sweeping, args=(ARGS.hold + 3,)
        )
        sweeper.start()
    locked, release = threading.Event(), threading.Event()
    released_at = []

    def hold() -> None:
        with transaction.atomic():
            ChainHead.objects.select_for_update().get(organization_id=org.pk)
            locked.set()
            release.wait(ARGS.hold)
        released_at.append(time.perf_counter())
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()
    held_from = time.perf_counter()
    print(f"\n3. Another connection holds the chain lock of {org.slug} for {ARGS.hold:.0f} s:")
    table = Table(("", 44, ""), ("ms", 9, ""), ("", 30, ""))
    event, outcome = None, ""
    started = time.perf_counter()
    try:
        _, _, event = writer.change(recorded=True)
        outcome = "committed"
    except Exception as error:  # noqa: BLE001  (what a request would see, reported)
        outcome = type(error).__name__
    change_s = time.perf_counter() - started
    table.row("change + record() during the hold", f"{change_s * 1000:,.1f}",
              f"{outcome}, {'OK' if change_s <= LIMIT_S else 'OVER 1 s'}")
    started = time.perf_counter()
    status = client.get(page).status_code
    page_s = time.perf_counter() - started
    table.row("Audit Logs page 1 GET during the hold", f"{page_s * 1000:,.1f}",
              f"HTTP {status}, {'OK' if page_s <= LIMIT_S else 'OVER 1 s'}")
    if event is not None:
        event.refresh_from_db()
        table.row("the change's event during the hold", "",
                  "unlinked" if event.sequence is None else f"linked #{event.sequence}")
    still_held = time.perf_counter() - held_from < ARGS.hold
    holder.join()
    if event is None:
        table.row("linked after the release", "", "no event: the change rolled back")
    else:
        while AuditEvent.objects.filter(pk=event.pk, sequence__isnull=True).exists():
            if time.perf_counter() - released_at[0] > 30:
                break
            time.sleep(0.002)
        event.refresh_from_db()
        after = (time.perf_counter() - released_at[0]) * 1000
        table.row("linked after the release", f"{after:,.1f}",
                  "unlinked after 30 s" if event.sequence is None else f"#{event.sequence}")
    if sweeper is not None:
        print("   (meanwhile the worker's link_audit_events job swept in another process)")
        sweeper.join()
    if not still_held:
        print("   (the measurements outlasted the hold: they did not all run during it)")
    head = ChainHead.sequence_for(org.pk)
    print(f"   {chains_checked([org], {org.pk: 0}, {org.pk: head})}")


if __name__ == "__main__":
    main()
