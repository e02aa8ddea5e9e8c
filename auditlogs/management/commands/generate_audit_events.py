"""Realistic synthetic events for one organization, through the bulk path (COPY on PostgreSQL).

    python manage.py generate_audit_events --org acme --count 1000000 --days 90 --projects 8

Events continue the organization's chain, are spread evenly over the last D days in time order,
and mix actions so that about 90% are Info, 8% Warning and 2% Critical. About a fifth of the
projects they name are deleted afterwards (their events then show "Project not found").

Made-up events would stay in a real organization's signed chain for ever, so the command runs
only for an organization marked for synthetic data (Organization.synthetic_data, set by an
operator in Django admin) or in a database whose name starts with `bench` (the benchmarks').
"""

import random
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from auditlogs.recording.catalogue import EVENT_TYPES, Severity
from auditlogs.recording.context import ActorType
from auditlogs.storage import bulk, partitions
from auditlogs.storage.backends import backend
from orgs.models import Organization
from projects.models import Project

SEVERITY_WEIGHTS = {Severity.INFO: 90, Severity.WARNING: 8, Severity.CRITICAL: 2}
PROJECT_PREFIXES = ("project.", "chatbot.")
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "auditlogs-cli/2.3 (python-httpx)",
)
CHATBOT_NAMES = ("Helper", "Support Bot", "Sales Assistant", "Onboarding", "Docs QA", "Triage")
TEMPLATES = 5000
BENCH_DATABASE_PREFIX = "bench"


def is_bench_database() -> bool:
    """A database of the benchmarks (`bench_…`; for SQLite the file's name)."""
    return Path(str(connection.settings_dict["NAME"])).name.startswith(BENCH_DATABASE_PREFIX)


def may_hold_synthetic_events(organization) -> bool:
    return organization.synthetic_data or is_bench_database()


class Command(BaseCommand):
    help = "Generate realistic, correctly chained audit events for one organization."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--days", type=int, default=90, help="Spread over the last D days.")
        parser.add_argument("--projects", type=int, default=8, help="Live projects to use.")
        parser.add_argument("--actors", type=int, default=500)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--batch-size", type=int, default=bulk.DEFAULT_BATCH)
        parser.add_argument(
            "--compare-raw-copy", action="store_true",
            help="On PostgreSQL, also time a raw COPY of the last batch's rows (rolled back).",
        )

    def handle(self, *args, org, count, days, projects, actors, seed, batch_size,
               compare_raw_copy, **options):
        if min(count, days, projects, actors, batch_size) < 1:
            raise CommandError(
                "--count, --days, --projects, --actors and --batch-size must be positive."
            )
        try:
            organization = Organization.objects.get(slug=org)
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with the slug “{org}”.") from None
        if not may_hold_synthetic_events(organization):
            raise CommandError(
                f"Refused: “{org}” is not marked for synthetic data, and made-up events would "
                "stay in its signed log for ever. Mark a demonstration organization in Django "
                "admin (Organizations → Synthetic data), or use a benchmark database whose "
                f"name starts with “{BENCH_DATABASE_PREFIX}”.",
                returncode=1,
            )
        rng = random.Random(seed)
        project_pool = synthetic_projects(organization, projects)
        templates = synthetic_templates(organization, project_pool, actors, rng)
        end = timezone.now()
        start = end - timedelta(days=days)
        partitions.ensure_partitions(start, end)  # every month gets its partition first

        progress = Progress(count, self.stderr)
        started = time.perf_counter()
        result = bulk.write(
            organization.pk,
            draws(templates, count, start, end, rng),
            batch_size=batch_size,
            on_batch=progress.update,
            keep_last_batch=compare_raw_copy,
        )
        elapsed = time.perf_counter() - started
        progress.finish()
        rate = result.written / elapsed
        self.stdout.write(
            f"Wrote {result.written:,} events for {organization.slug} in {elapsed:.1f} s "
            f"({rate:,.0f} events/s, {'COPY' if backend().bulk_writes_by_copy else 'INSERT'})."
        )
        self.generation_rate = rate
        self.raw_copy_rate = None
        if compare_raw_copy and result.last_batch_copy_text:
            raw_rate = raw_copy_rate(result.last_batch_copy_text)
            self.raw_copy_rate = raw_rate
            self.stdout.write(
                f"Raw COPY of the same rows (last batch, rolled back): {raw_rate:,.0f} rows/s; "
                f"generation reaches {rate / raw_rate:.0%} of it."
            )


def synthetic_projects(organization, live: int) -> list[tuple[int, str]]:
    """`live` projects that exist and about a fifth as many that existed once (deleted)."""
    existing = list(
        Project.objects.filter(organization=organization, name__startswith="Synthetic ")
        .values_list("id", "name")
    )
    pool = list(existing)
    with transaction.atomic():
        for n in range(len(existing), live):
            name = f"Synthetic {n + 1:03d}"
            project = Project.objects.create(
                organization=organization, name=name, slug=Project.unique_slug(organization, name)
            )
            pool.append((project.pk, name))
        for n in range(max(1, live // 5)):
            name = f"Retired {n + 1:03d}"
            project = Project.objects.create(
                organization=organization, name=name, slug=Project.unique_slug(organization, name)
            )
            pool.append((project.pk, name))
            project.delete()
    return pool


def synthetic_templates(organization, projects, actors: int, rng: random.Random):
    by_severity = {
        severity: [t for t in EVENT_TYPES if t.severity == severity] for severity in Severity
    }
    domain = f"{organization.slug}.test"
    people = [(1_000_000 + n, f"person{n:04d}@{domain}") for n in range(actors)]
    templates = []
    for _ in range(TEMPLATES):
        severity = rng.choices(list(SEVERITY_WEIGHTS), list(SEVERITY_WEIGHTS.values()))[0]
        kind = rng.choice(by_severity[severity])
        project_id, project_name = None, ""
        target_type, target_id, target_label = "", "", ""
        if kind.key.startswith(PROJECT_PREFIXES):
            project_id, project_name = rng.choice(projects)
            if kind.key.startswith("chatbot."):
                target_type, target_id = "chatbot", str(rng.randrange(1, 10_000))
                target_label = rng.choice(CHATBOT_NAMES)
            else:
                target_type, target_id, target_label = "project", str(project_id), project_name
        roll = rng.random()
        if roll < 0.03:
            token = f"token …{rng.randrange(16**4):04x}"
            actor_type, actor_id, actor_label = ActorType.API, None, token
        elif roll < 0.05:
            actor_type, actor_id, actor_label = ActorType.SYSTEM, None, "system"
        else:
            actor_id, actor_label = rng.choice(people)
            actor_type = ActorType.USER
        if kind.key.startswith(("member.", "user.")) and not target_type:
            target_id, target_label = rng.choice(people)
            target_type, target_id = "user", str(target_id)
        changes = {}
        if kind.key.endswith(("updated", "role_changed")):
            changes = {"name": ["Before", "After"]} if "updated" in kind.key else {
                "role": ["member", rng.choice(["admin", "owner"])]
            }
        templates.append(
            bulk.Template(
                organization.pk,
                action=kind.key,
                severity=int(kind.severity),
                project_id=project_id,
                project_name=project_name,
                actor_type=actor_type,
                actor_id=actor_id,
                actor_label=actor_label,
                target_type=target_type,
                target_id=target_id,
                target_label=target_label,
                changes=changes,
                metadata={},
                ip=f"198.51.100.{rng.randrange(1, 255)}" if actor_type != "system" else None,
                user_agent=rng.choice(USER_AGENTS) if actor_type != "system" else "",
            )
        )
    return templates


def draws(templates, count: int, start, end, rng: random.Random) -> Iterator[bulk.Draw]:
    """`count` events evenly spread over [start, end), in time order, with random gaps."""
    first = bulk.Draw.at(templates[0], start, "").epoch_us
    step = (bulk.Draw.at(templates[0], end, "").epoch_us - first) / count
    choice, uniform, bits, draw = rng.choice, rng.random, rng.getrandbits, bulk.Draw
    for n in range(count):
        yield draw(choice(templates), first + int(step * (n + uniform())), f"{bits(128):032x}")


def raw_copy_rate(text: str) -> float:
    """Rows per second of a plain COPY of these rows into the event table, rolled back."""
    rows = text.count("\n")
    with transaction.atomic():
        started = time.perf_counter()
        bulk.copy_text(text)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return rows / elapsed


class Progress:
    def __init__(self, total: int, stream, width: int = 40):
        self.total, self.stream, self.width = total, stream, width
        self.started = time.perf_counter()
        self.interactive = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()

    def update(self, done: int) -> None:
        filled = int(self.width * done / self.total)
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{self.total:,} "
            f"({rate:,.0f}/s)"
        )
        if self.interactive:
            self.stream.write("\r" + line, ending="")
        else:
            self.stream.write(line)
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("")
