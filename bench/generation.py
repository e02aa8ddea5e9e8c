"""Generation by COPY against raw COPY of the same rows, in bulk-load mode and into indexes.

    createdb -h 127.0.0.1 -U postgres bench_generation
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_generation \\
        .venv/bin/python bench/generation.py --events 1000000

On a PostgreSQL database of its own (its name must start with "bench"). Prints, for the same
machine and run:
- Python alone: how fast the bulk path makes chained rows (draw, link, hash, COPY text), with
  nothing written;
- bulk-load mode: `generate_audit_events` with the secondary indexes dropped (built once
  afterwards; that build is timed too), and a raw COPY of its last batch's rows;
- into the indexed table: the same with every index in place.
Each generate line prints its own ratio to raw COPY. Prints figures; asserts nothing.
"""

import argparse
import random
import time
from datetime import timedelta
from io import StringIO

from harness import setup

setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from auditlogs.management.commands import generate_audit_events as generate  # noqa: E402
from auditlogs.recording import chain  # noqa: E402
from auditlogs.storage import bulk  # noqa: E402
from orgs.models import Organization, Plan  # noqa: E402


class _Head:
    sequence, hash = 0, chain.GENESIS_HASH


def python_alone(organization, count: int) -> float:
    """Rows per second of draw + link + COPY text, nothing sent."""
    rng = random.Random(1)
    projects = [(n, f"Synthetic {n:03d}") for n in range(1, 13)]
    templates = generate.synthetic_templates(organization, projects, 500, rng)
    end = timezone.now()
    started = time.perf_counter()
    draws = generate.draws(templates, count, end - timedelta(days=30), end, rng)
    rows = bulk._linked(organization.pk, _Head(), list(draws))
    for _ in bulk._copy_chunks(organization.pk, rows, None):
        pass
    return count / (time.perf_counter() - started)


def generate_into(slug: str, count: int) -> None:
    organization, _ = Organization.objects.get_or_create(
        slug=slug, defaults={"name": slug, "plan": Plan.ENTERPRISE, "timezone": "UTC"}
    )
    call_command(
        "generate_audit_events", org=organization.slug, count=count, days=30, seed=7,
        compare_raw_copy=True, stderr=StringIO(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    organization, _ = Organization.objects.get_or_create(
        slug="generation-python", defaults={"name": "Python alone", "plan": Plan.ENTERPRISE}
    )
    print(f"Python alone (draw, link, hash, COPY text; nothing sent): "
          f"{python_alone(organization, min(args.events, 200_000)):,.0f} rows/s")

    print(f"\nBulk-load mode ({args.events:,} events, secondary indexes dropped):")
    started = time.perf_counter()
    with bulk.secondary_indexes_deferred():
        generate_into(f"generation-bulk-{int(time.time())}", args.events)
        built = time.perf_counter()
    print(f"Index build afterwards: {time.perf_counter() - built:.1f} s "
          f"(whole load {time.perf_counter() - started:.1f} s).")

    indexed = max(args.events // 5, 50_000)
    print(f"\nInto the indexed table ({indexed:,} events, every index in place):")
    generate_into(f"generation-indexed-{int(time.time())}", indexed)


if __name__ == "__main__":
    main()
