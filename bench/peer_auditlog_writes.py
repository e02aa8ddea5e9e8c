"""The peer's write cost: what django-auditlog's tracking adds to a model save.

Runs in a dev-only environment of its own, never the product's (django-auditlog is not one of
the product's dependencies):

    python3 -m venv /work/wt/peer-venv
    /work/wt/peer-venv/bin/pip install "django>=5.2,<5.3" django-auditlog "psycopg[binary]"

bench/writes.py starts it with `--peer-python /work/wt/peer-venv/bin/python` and interleaves
its rounds with its own: on each line "round" read from stdin this script times --repeat saves
of a registered model (django.contrib.auth's Group, a one-field rename in a transaction, as an
actor with an IP address set the way django-auditlog's middleware sets them) and as many with
tracking off (`disable_auditlog()`), alternating one of each, and writes their durations in
seconds as one JSON line. It uses a bare Django project (auth, contenttypes, auditlog) on a
PostgreSQL database of its own (created when missing, its name must start with "bench"), DEBUG
off.
"""

import argparse
import json
import sys
import time
import uuid
from importlib.metadata import version

import django
from django.conf import settings
from harness import peer_database  # not harness.setup(): the product's

IP = "203.0.113.7"


def configure(url: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="peer-benchmark-only",
        USE_TZ=True,
        DATABASES={"default": peer_database(url, "bench_writes_peer")},
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "auditlog"],
    )
    django.setup()


class Saves:
    """One Group renamed in a transaction each call, tracked or not."""

    def __init__(self) -> None:
        from auditlog.registry import auditlog
        from django.contrib.auth.models import Group, User

        auditlog.register(Group)
        self.name = f"peer-bench {uuid.uuid4().hex[:8]}"  # group names are unique
        self.group = Group.objects.create(name=self.name)
        self.actor = User.objects.filter(username="actor").first() or User.objects.create_user(
            "actor", "actor@peer.test"
        )
        self.calls = 0

    def save(self) -> float:
        from django.db import transaction

        self.calls += 1
        started = time.perf_counter()
        with transaction.atomic():
            self.group.name = f"{self.name} #{self.calls}"
            self.group.save(update_fields=["name"])
        return time.perf_counter() - started

    def tracked(self) -> float:
        from auditlog.context import set_actor

        with set_actor(self.actor, remote_addr=IP):  # what its middleware does per request
            return self.save()

    def untracked(self) -> float:
        from auditlog.context import disable_auditlog

        with disable_auditlog():
            return self.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=200, help="Saves of each kind per round.")
    args = parser.parse_args()
    configure(args.database_url)
    from auditlog.models import LogEntry
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    saves = Saves()
    saves.tracked(), saves.untracked()  # warm-up
    if not LogEntry.objects.filter(object_pk=str(saves.group.pk)).exists():
        sys.exit("django-auditlog recorded nothing for the tracked save.")
    print(json.dumps({"peer": f"django-auditlog {version('django-auditlog')}, "
                              f"Django {django.get_version()}"}), flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        tracked, untracked = [], []
        for n in range(args.repeat):
            if n % 2:  # alternate which goes first
                untracked.append(saves.untracked())
                tracked.append(saves.tracked())
            else:
                tracked.append(saves.tracked())
                untracked.append(saves.untracked())
        print(json.dumps({"tracked": tracked, "untracked": untracked}), flush=True)


if __name__ == "__main__":
    main()
