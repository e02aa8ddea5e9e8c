"""The peer: django-auditlog's own admin (its LogEntry changelist) at 1 million entries.

Runs in a dev-only environment of its own, never the product's (django-auditlog is not one of
the product's dependencies):

    python3 -m venv /work/wt/admin-peer-venv
    /work/wt/admin-peer-venv/bin/pip install "django>=5.2,<5.3" django-auditlog "psycopg[binary]"
    PEER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_admin_peer \\
        /work/wt/admin-peer-venv/bin/python bench/peer_auditlog_admin.py --rows 1000000

bench/admin.py runs it after its own table when given `--peer-python`. It configures a bare
Django project (admin, auth, auditlog) on its own PostgreSQL database (created when missing,
its name must start with "bench"), fills LogEntry once with SQL (500 people, five kinds of
object, 180 days), vacuums it, and times the changelist as a superuser through the Django test
client with DEBUG off. "Show counts" is timed once, under a statement timeout.
"""

import argparse
import os
import sys
import time

import django
from django.conf import settings
from harness import p50, p95, peer_database, timed  # not harness.setup(): the product's

PEOPLE = 500
FACETS_TIMEOUT_S = 120


def configure(url: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="peer-benchmark-only",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        DATABASES={"default": peer_database(url, "bench_admin_peer")},
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "auditlog",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
    )
    django.setup()


urlpatterns: list = []  # ROOT_URLCONF is this module; filled once Django is set up


def route_admin() -> None:
    from django.contrib import admin
    from django.urls import path

    urlpatterns.append(path("admin/", admin.site.urls))


def fill(rows: int) -> None:
    from auditlog.models import LogEntry
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    have = LogEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    if have >= rows:
        return
    print(f"Filling LogEntry with {rows - have:,} rows (once)...", flush=True)
    started = time.perf_counter()
    User.objects.bulk_create(
        [User(username=f"person{n:04d}", email=f"person{n:04d}@peer.test") for n in range(PEOPLE)],
        ignore_conflicts=True,
    )
    people = list(User.objects.order_by("id").values_list("id", flat=True)[:PEOPLE])
    types = [ct.pk for ct in ContentType.objects.all()[:5]]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auditlog_logentry (content_type_id, object_pk, object_id, object_repr,
                action, changes_text, changes, actor_id, remote_addr, timestamp, cid)
            SELECT (%(types)s::int[])[1 + n %% 5], (n %% 10000)::text, n %% 10000,
                   'Object ' || (n %% 10000), n %% 3, '',
                   jsonb_build_object('name', jsonb_build_array('Before', 'After ' || n)),
                   (%(people)s::int[])[1 + n %% %(count)s],
                   ('198.51.100.' || (1 + n %% 254))::inet,
                   now() - (n || ' seconds')::interval * (180 * 86400.0 / %(rows)s),
                   md5(n::text)
            FROM generate_series(%(first)s, %(rows)s) AS n
            """,
            {"types": types, "people": people, "count": len(people), "rows": rows,
             "first": have + 1},
        )
        cursor.execute("VACUUM ANALYZE auditlog_logentry")
    print(f"Filled in {time.perf_counter() - started:.0f} s.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    configure(os.environ.get(
        "PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin_peer"
    ))
    route_admin()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import OperationalError, connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    fill(args.rows)
    operator = User.objects.filter(username="ops").first() or User.objects.create_superuser(
        "ops", "ops@peer.test", "x"
    )
    client = Client()
    client.force_login(operator)
    url = "/admin/auditlog/logentry/"
    cases = [
        ("Page 1", {}),
        ("Page 50", {"p": "50"}),
        ("Action = update", {"action__exact": "1"}),
        ("Search 'person0042'", {"q": "person0042"}),
    ]
    print(f"\ndjango-auditlog {_version()} admin, {args.rows:,} LogEntry rows "
          f"(Django {django.get_version()}):")
    print(f"{'Peer admin view':32} | {'p50':>9} {'p95':>7}")
    print("-" * 52)
    for label, query in cases:
        if client.get(url, query).status_code != 200:
            sys.exit(f"{label}: the peer's admin did not answer 200")
        samples = timed(lambda q=query: client.get(url, q), args.repeat)
        print(f"{label:32} | {p50(samples):>9.1f} {p95(samples):>7.1f}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {FACETS_TIMEOUT_S * 1000}")
    started = time.perf_counter()
    try:
        client.get(url, {"_facets": "True"})
        print(f"{'Show counts (once)':32} | {(time.perf_counter() - started) * 1000:>9.0f}")
    except OperationalError:
        print(f"{'Show counts (once)':32} | over {FACETS_TIMEOUT_S} s (statement timeout)")


def _version() -> str:
    from importlib.metadata import version

    return version("django-auditlog")


if __name__ == "__main__":
    main()
