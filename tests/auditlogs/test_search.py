"""Free-text search reads the same rows whichever way PostgreSQL is told to find them."""


import pytest
from django.db import connection

from auditlogs.models import AuditEvent
from auditlogs.storage import search
from auditlogs.web.access import log_viewer_for
from auditlogs.web.filters import AuditEventFilter
from auditlogs.web.paging import OLDER, Cursor
from tests.helpers.events import generate

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="plan choices are PostgreSQL's"
)


@pytest.fixture
def acme_log(acme):
    """Acme's log: 3,000 generated events."""
    generate(acme, 3000, days=60, projects=3, actors=40, seed=11)


def searched(owner, text, cursor=None):
    viewer = log_viewer_for(owner, "acme")
    filters = AuditEventFilter({"range": "all", "q": text}, viewer=viewer)
    assert filters.is_valid(), filters.form.errors
    return filters, filters.page(cursor, 50)


def expected(organization, text, below=None):
    """The newest 50 matches, found in Python from every event of the organization."""
    needle = text.upper()
    events = AuditEvent.objects.filter(organization=organization).order_by("-occurred_at", "-id")
    if below is not None:
        events = events.filter(occurred_at__lte=below.occurred_at).exclude(
            occurred_at=below.occurred_at, id__gte=below.id
        )
    return [
        e.id for e in events
        if needle in e.target_label.upper() or needle in e.actor_label.upper()
    ][:50]


@pytest.mark.parametrize("text", ["Support Bot", "person0007@acme.test", "no-such-thing", "son00"])
def test_a_search_page_holds_the_newest_matches(acme_log, owner, acme, text):
    filters, page = searched(owner, text)
    assert [e.id for e in page.rows] == expected(acme, text)
    if page.older:
        _, deeper = searched(owner, text, page.older)
        assert [e.id for e in deeper.rows] == expected(acme, text, below=page.rows[-1])


@postgresql_only
def test_matches_among_the_newest_events_are_read_in_index_order_others_by_the_planner(
    acme_log, owner
):
    filters, _ = searched(owner, "Support Bot")  # a chatbot name on many events
    assert search.worth_reading_in_order(filters.unsearched, "Support Bot")
    filters, _ = searched(owner, "no-such-thing")
    assert not search.worth_reading_in_order(filters.unsearched, "no-such-thing")


def settings_now() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_bitmapscan'), current_setting('statement_timeout')"
        )
        return cursor.fetchone()


@postgresql_only
def test_the_plan_settings_end_with_the_page_query_and_restore_what_was_set(acme_log, owner):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 4321")
    before = settings_now()
    searched(owner, "Support Bot")
    assert settings_now() == before == ("on", "4321ms")


@postgresql_only
def test_the_in_order_plan_reads_the_organization_index_without_sorting(acme_log, owner):
    filters, _ = searched(owner, "person0007@acme.test")
    sql, params = filters.qs.newest_first()[:51].query.sql_with_params()

    def explain():
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            return [row[0].strip().removeprefix("->  ") for row in cursor.fetchall()]

    plan = search.read_in_index_order(explain)
    nodes = [line.split("  (")[0] for line in plan if "(cost=" in line]
    assert not [n for n in nodes if n.startswith(("Bitmap", "Sort", "Seq Scan"))], plan
    assert any(n.startswith("Index Scan") for n in nodes), plan


@postgresql_only
def test_an_in_order_read_past_its_budget_gives_way_and_leaves_the_connection_usable(
    acme_log, owner, acme, monkeypatch
):
    monkeypatch.setattr(search, "IN_ORDER_BUDGET_MS", 20)

    def slow():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.5)")

    assert search.read_in_index_order(slow) is None
    assert settings_now() == ("on", "0")
    filters, page = searched(owner, "Support Bot")  # and the page still reads
    assert [e.id for e in page.rows] == expected(acme, "Support Bot")


def test_off_postgresql_nothing_is_hinted(acme_log, owner):
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite side of the rule")
    filters, _ = searched(owner, "Support Bot")
    assert not search.worth_reading_in_order(filters.unsearched, "Support Bot")


def test_a_cursor_from_another_search_still_pages_by_time(acme_log, acme, owner):
    edge = AuditEvent.objects.filter(organization=acme).order_by("-occurred_at", "-id")[40]
    cursor = Cursor(edge.occurred_at, edge.id, OLDER)
    _, page = searched(owner, "Support Bot", cursor)
    assert [e.id for e in page.rows] == expected(acme, "Support Bot", below=edge)


@postgresql_only
def test_a_page_whose_in_order_read_gave_way_is_read_the_planners_way(
    acme_log, owner, acme, monkeypatch
):
    gave_way = []
    monkeypatch.setattr(search, "read_in_index_order", lambda read: gave_way.append(read))
    _, page = searched(owner, "Support Bot")
    assert gave_way, "the in-order read was not tried"
    assert [e.id for e in page.rows] == expected(acme, "Support Bot")


@pytest.mark.parametrize("actor", ["PERSON0007@", "son00", "nobody-at-all"])
def test_part_of_an_actor_pages_the_newest_matches_either_way(acme_log, owner, acme, actor):
    """The Actor filter is searched like `q`: the same rows whichever way the page is read."""
    viewer = log_viewer_for(owner, "acme")
    filters = AuditEventFilter({"range": "all", "actor": actor}, viewer=viewer)
    assert filters.is_valid(), filters.form.errors
    page = filters.page(None, 50)
    events = AuditEvent.objects.filter(organization=acme).order_by("-occurred_at", "-id")
    assert [e.id for e in page.rows] == [
        e.id for e in events if actor.upper() in e.actor_label.upper()][:50]
    found = any(actor.upper() in e.actor_label.upper() for e in events[:search.SAMPLE_ROWS])
    in_order = search.worth_reading_in_order(filters.unsearched, "", filters.actors)
    assert in_order == (found and connection.vendor == "postgresql")
