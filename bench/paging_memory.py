"""Memory of one web process while paging through an organization's whole log by cursor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale \\
        .venv/bin/python bench/paging_memory.py --org bench --pages 1500

Follows the page's own "Older events" links through the Django test client, as a browser
would, and prints the resident memory after the first pages and at the end. Prints figures;
asserts nothing. Runs with DEBUG off, as the harness sets it (with DEBUG on, Django keeps the
last 9,000 queries, which looks like growth). Fill the database first with bench/scale.py.
"""

import argparse
import re
import sys
import time

from harness import resident_mib, setup

setup()

from django.test import Client  # noqa: E402

from orgs.models import Membership, Role  # noqa: E402

OLDER = re.compile(r'href="\?([^"]*cursor=[^"]*)" hx-get="[^"]*"[^>]*>Older events')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", default="bench")
    parser.add_argument("--pages", type=int, default=1500)
    options = parser.parse_args()
    admin = Membership.objects.select_related("user", "organization").filter(
        organization__slug=options.org, role__in=[Role.OWNER, Role.ADMIN]
    ).first()
    if admin is None:
        sys.exit(f"No owner or admin in organization {options.org!r}.")
    client = Client()
    client.force_login(admin.user)
    base = f"/orgs/{options.org}/settings/audit-logs/?"
    query, started, warm = "range=all", time.perf_counter(), None
    for page in range(1, options.pages + 1):
        body = client.get(base + query).content.decode()
        if page == 20:
            warm = resident_mib()
        found = OLDER.search(body)
        if not found:
            break
        query = found.group(1).replace("&amp;", "&")
    seconds = time.perf_counter() - started
    print(f"{page} pages ({page * 50:,} events) in {seconds:.0f} s; resident memory after "
          f"page 20: {warm or resident_mib():.1f} MB, after page {page}: {resident_mib():.1f} MB")


if __name__ == "__main__":
    main()
