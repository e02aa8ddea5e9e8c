"""Query counts that must not depend on how many events there are or how many are shown."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditlogs import record
from auditlogs.storage import rollups
from projects.models import Project
from tests.helpers.clients import signed_in
from tests.helpers.events import generate

# The session (a cache read: the tests' cache is the database's; a Redis get in production),
# the user, the person's memberships (the two-factor check, the viewer's membership and the
# account menu), a member's projects instead of the deleted projects for an owner, the events,
# the projects, the chart (its cursor, its first hour, its counts), the saved views (the
# sidebar's and the person's own), the integrity line's versions and its cached evidence (a
# query here, a Redis get in production), the recent actors.
PAGE_QUERIES = 13


def page(client, query=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/orgs/acme/settings/audit-logs/", query or {"range": "all"})
    assert response.status_code == 200
    return len(response.context["rows"]), len(queries.captured_queries)


@pytest.mark.parametrize("who", ["owner", "member"])
def test_queries_per_page_do_not_grow_with_the_rows_shown(acme, member_membership, personas, who):
    generate(acme, 5, days=20, projects=4, seed=1)  # projects live and deleted, many actors
    # One event in a live project, so that even the few events chart something for a member
    # (which of the random events fall in projects depends on the catalogue).
    live_project = Project.objects.filter(organization=acme)[0]
    record("project.viewed", organization=acme, project=live_project)
    if who == "member":
        member_membership.projects.set(Project.objects.filter(organization=acme))
    client = signed_in(personas[who])
    client.get("/orgs/acme/settings/audit-logs/")  # today's "viewed" event, recorded once

    few_rows, few_queries = page(client)
    generate(acme, 600, days=20, projects=4, seed=2)
    rollups.roll_up_due()  # the worker's pass; a page only counts what it has not reached
    many_rows, many_queries = page(client)
    info_rows, info_queries = page(client, {"range": "all", "severity": "info"})

    assert few_rows <= 7 and many_rows == info_rows == 50
    assert many_queries == few_queries == info_queries == PAGE_QUERIES


@pytest.mark.parametrize(
    "query",
    ["?org=acme", "?org=acme&severity=critical", "?org=acme&action=project.deleted",
     "?org=acme&actor=person0001@acme.test", "?org=acme&range=30d&_facets=True"],
)
def test_the_admin_list_never_counts_without_a_limit(acme, ops, query):
    generate(acme, 400, days=20, projects=4, seed=3)
    with CaptureQueriesContext(connection) as queries:
        response = ops.get(f"/admin/auditlogs/auditevent/{query}")
    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if re.search(r"COUNT\(", q["sql"])]
    assert counts, "the list counts (up to its cap)"
    unbounded = [sql for sql in counts if "auditlogs_auditevent" in sql and "LIMIT" not in sql]
    assert not unbounded
