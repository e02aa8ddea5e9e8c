"""What every benchmark in bench/ shares: Django set up on a database of its own with DEBUG off,
timing and memory readings, and figures printed as aligned tables.

A benchmark script starts with

    from harness import setup   # bench/ is on sys.path when a script in it runs
    setup()

then imports the project's code. `setup()` refuses to run unless DATABASE_URL names a
PostgreSQL database whose name starts with "bench" (benchmarks write millions of rows and drop
months), turns DEBUG off before anything builds a template engine (pages are timed as
production serves them: no SQL logging, no template debug data) and migrates the database.
"""

import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The same prefix as generate_audit_events.BENCH_DATABASE_PREFIX (imported before Django is set up).
DATABASE_PREFIX = "bench"


def setup() -> None:
    """Set Django up for a benchmark; exit with a clear message on the wrong database."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    require_bench_database()
    production_like(settings)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def require_bench_database() -> None:
    from django.db import connection

    from auditlogs.storage.backends import is_postgresql

    name = str(connection.settings_dict["NAME"])
    if not (is_postgresql() and name.startswith(DATABASE_PREFIX)):
        sys.exit(
            f"Refusing to run on {connection.display_name} database {name!r}: point "
            "DATABASE_URL at a PostgreSQL database of its own whose name starts with "
            f"{DATABASE_PREFIX!r}, e.g. `createdb -h 127.0.0.1 -U postgres bench_scale` and "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale"
        )


def production_like(settings) -> None:
    """DEBUG off, set before the template engines are built (they read it once), and the test
    client's host allowed."""
    from django.template import engines

    settings.DEBUG = False
    if engines._engines:
        sys.exit("The template engines were built before DEBUG was turned off.")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


# Readings ----------------------------------------------------------------------------------


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of `repeat` calls, after one untimed warm-up call."""
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def ms(samples: Sequence[float], percentile: int) -> float:
    """The given percentile of `samples` (seconds), in milliseconds."""
    if percentile == 50:
        return statistics.median(samples) * 1000
    return statistics.quantiles(samples, n=100, method="inclusive")[percentile - 1] * 1000


def p50(samples: Sequence[float]) -> float:
    return ms(samples, 50)


def p95(samples: Sequence[float]) -> float:
    return ms(samples, 95)


def resident_mib() -> float:
    """This process's resident memory (VmRSS), in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


# Output ------------------------------------------------------------------------------------


class Table:
    """Rows printed as they come, in columns aligned under a header: the first column left,
    the others right. A column is (title, width, format), e.g. ("p50", 6, ".1f"); "|" between
    columns draws a divider."""

    def __init__(self, *columns: tuple[str, int, str] | str) -> None:
        self.columns = columns

    def header(self) -> None:
        line = self._line([c if c == "|" else c[0] for c in self.columns], titles=True)
        print(line)
        print("-" * len(line))

    def row(self, *values) -> None:
        values = iter(values)
        print(self._line([c if c == "|" else next(values) for c in self.columns]))

    def _line(self, cells: list, titles: bool = False) -> str:
        out = []
        for n, (cell, column) in enumerate(zip(cells, self.columns, strict=True)):
            if column == "|":
                out.append("|")
                continue
            _, width, spec = column
            align = "<" if n == 0 else ">"
            out.append(f"{cell:{align}{width}}" if titles else f"{cell:{align}{width}{spec}}")
        return " ".join(out)


def peer_database(url: str, example: str) -> dict:
    """For the peer's scripts (django-auditlog in its own environment): the DATABASES entry of a
    PostgreSQL database whose name starts with "bench", created when missing; exit with a clear
    message on any other name."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith(DATABASE_PREFIX):
        sys.exit(f"Refusing to write into {name!r}: use a database of its own, e.g. {example}.")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return {
        "ENGINE": "django.db.backends.postgresql", "NAME": name,
        "USER": parts.username or "postgres", "HOST": parts.hostname or "127.0.0.1",
        "PORT": parts.port or 5432, "CONN_MAX_AGE": 60,
    }
