"""Operators browse events in Django admin: one organization at a time, keyset-paged, read-only,
never counting more than a capped number of rows, and each day's reading recorded."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording.catalogue import Severity
from auditlogs.recording.context import Actor, AuditContext, using_context
from auditlogs.web import operators
from tests.helpers.clients import signed_in
from tests.helpers.factories import UserFactory

LIST = "/admin/auditlogs/auditevent/"
ROW = re.compile(r'<tr class="event">.*?/admin/auditlogs/auditevent/(\d+)/change/', re.S)


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in ROW.findall(response.text)]


def record_from(ip: str, request_id: str, action="project.viewed", **kwargs):
    with using_context(AuditContext(ip=ip, request_id=request_id)):
        return record(action, **kwargs)


WRITES = re.compile(r'\b(?:INSERT INTO|UPDATE|DELETE FROM) "')


def event_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "auditlogs_auditevent" in q["sql"]]


def test_the_list_starts_by_choosing_an_organization(ops):
    response = ops.get(LIST)
    assert response.status_code == 200
    assert "?org=acme" in response.text and "?org=globex" in response.text
    found = ops.get(LIST, {"find": "glob"})
    assert "?org=globex" in found.text and "?org=acme" not in found.text
    unknown = ops.get(LIST, {"org": "nope"})
    assert unknown.status_code == 200 and "No organization with the slug" in unknown.text


def test_an_organizations_events_newest_first_and_no_other_organizations(acme, alpha, globex, ops):
    first = record("project.viewed", organization=acme, project=alpha)
    second = record("organization.updated", organization=acme)
    other = record("organization.updated", organization=globex)
    ids = listed(ops.get(LIST, {"org": "acme"}))
    assert ids[:2] == [second.pk, first.pk] and other.pk not in ids


def test_the_pages_filters_and_free_text_search(acme, alpha, beta, ops):
    deleted = record("project.deleted", organization=acme, project=alpha,
                     target=alpha)
    viewed = record("project.viewed", organization=acme, project=beta,
                    target=beta)
    assert listed(ops.get(LIST, {"org": "acme", "severity": "critical"})) == [deleted.pk]
    assert listed(ops.get(LIST, {"org": "acme", "action": "project.viewed"})) == [viewed.pk]
    assert listed(ops.get(LIST, {"org": "acme", "project": beta.pk})) == [viewed.pk]
    assert listed(ops.get(LIST, {"org": "acme", "q": "Alpha"})) == [deleted.pk]


def test_exact_identifiers_find_their_events(acme, alpha, beta, owner, ops):
    wanted = record_from("203.0.113.9", "req-wanted-0001", organization=acme,
                         target=alpha)
    record_from("198.51.100.1", "req-other-00002", organization=acme, target=beta)
    query = {"org": "acme"}
    assert listed(ops.get(LIST, {**query, "event": wanted.pk})) == [wanted.pk]
    assert listed(ops.get(LIST, {**query, "request_id": "req-wanted-0001"})) == [wanted.pk]
    assert listed(ops.get(LIST, {**query, "ip": "203.0.113.9"})) == [wanted.pk]
    assert listed(ops.get(LIST, {**query, "target": str(alpha.pk)})) == [wanted.pk]
    with using_context(AuditContext()):
        by_owner = record("organization.updated", organization=acme,
                          actor=Actor.for_user(owner))
    assert listed(ops.get(LIST, {**query, "actor": "OWNER@acme.test"})) == [by_owner.pk]


@pytest.mark.parametrize("query", [
    {"ip": "not-an-ip"}, {"event": "abc"}, {"event": str(2**64)}, {"severity": "loud"},
    {"start": "yesterday"}, {"request_id": "x" * 65},
])
def test_bad_input_is_a_form_error_and_no_rows(acme, ops, query):
    record("organization.updated", organization=acme)
    response = ops.get(LIST, {"org": "acme", **query})
    assert listed(response) == [] and "errornote" in response.text


UPDATES = {"org": "acme", "action": "organization.updated"}


def test_keyset_paging_older_and_newer(acme, ops, settings):
    settings.AUDITLOG_PAGE_SIZE = 3
    made = [record("organization.updated", organization=acme).pk for _ in range(7)]
    newest_first = made[::-1]  # the day's support.admin_viewed is filtered out
    first = ops.get(LIST, {**UPDATES})
    assert listed(first) == newest_first[:3]
    older = first.context["page"].older.encode()
    second = ops.get(LIST, {**UPDATES, "cursor": older})
    assert listed(second) == newest_first[3:6]
    third = ops.get(LIST, {**UPDATES, "cursor": second.context["page"].older.encode()})
    assert listed(third) == newest_first[6:] and third.context["page"].older is None
    back = ops.get(LIST, {**UPDATES, "cursor": third.context["page"].newer.encode()})
    assert listed(back) == newest_first[3:6]
    assert "Newer events" in back.text and "Older events" in back.text
    mangled = ops.get(LIST, {**UPDATES, "cursor": "forged"})
    assert listed(mangled) == newest_first[:3] and "not valid" in mangled.text


def test_counts_are_capped(acme, ops, monkeypatch):
    monkeypatch.setattr(operators, "COUNT_CAP", 3)
    for _ in range(2):
        record("organization.updated", organization=acme)
    assert "2 matching events" in ops.get(LIST, {"org": "acme"}).text
    for _ in range(3):
        record("organization.updated", organization=acme)
    assert "3+ matching events" in ops.get(LIST, {"org": "acme"}).text
    searched = ops.get(LIST, {"org": "acme", "q": "updated"})
    assert "not counted for text searches" in searched.text


EVENT_PAGES = [
    {"org": "acme"},
    {"org": "acme", "severity": "critical"},
    {"org": "acme", "action": "project.deleted", "actor": "owner@acme.test"},
    {"org": "acme", "ip": "203.0.113.9"},
    {"org": "acme", "q": "Alpha"},
    {"org": "acme", "_facets": "True"},
    {"q": "acme", "_facets": "True"},
]


@pytest.mark.parametrize("query", EVENT_PAGES)
def test_no_event_page_counts_without_a_limit_or_reads_across_organizations(
    acme, alpha, ops, query
):
    for _ in range(3):
        record("project.deleted", organization=acme, project=alpha)
    with CaptureQueriesContext(connection) as queries:
        assert ops.get(LIST, query).status_code == 200
    for sql in event_queries(queries):
        # The page's reads; the day's audit_log.viewed is recorded and linked meanwhile (the
        # link's statement counts the rows it wrote).
        if "COUNT(" in sql.upper() and not WRITES.search(sql):
            assert "LIMIT" in sql.upper(), sql
        assert "organization_id" in sql, sql


@pytest.mark.parametrize("path", ["/admin/auditlogs/checkpoint/", "/admin/auditlogs/supportaccess/",
                                  "/admin/auditlogs/integrityjob/"])
def test_the_other_log_lists_never_count_or_facet_in_full(ops, path):
    with CaptureQueriesContext(connection) as queries:
        assert ops.get(path, {"_facets": "True"}).status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_events_cannot_be_added_changed_or_deleted(acme, ops):
    event = record("organization.updated", organization=acme)
    assert ops.get("/admin/auditlogs/auditevent/add/").status_code == 403
    detail = ops.get(f"/admin/auditlogs/auditevent/{event.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.text
    assert ops.post(f"/admin/auditlogs/auditevent/{event.pk}/delete/").status_code == 403
    ops.post(LIST, {"action": "delete_selected", "_selected_action": [event.pk]})
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_support_accesses_and_checkpoints_are_read_only(staff, ops):
    support = signed_in(staff)
    support.post("/support/", {"organization": "acme", "reason": "Ticket 7 of a customer"})
    access = staff.support_accesses.get()
    base = f"/admin/auditlogs/supportaccess/{access.pk}"
    assert ops.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert ops.post(f"{base}/change/", {"reason": "edited"}).status_code == 403
    access.refresh_from_db()
    assert access.reason == "Ticket 7 of a customer"
    assert ops.get("/admin/auditlogs/checkpoint/add/").status_code == 403


def test_reading_events_in_the_admin_is_recorded_once_a_day(acme, globex, ops, events):
    event = record("organization.updated", organization=acme)
    ops.get(LIST, {"org": "acme"})
    ops.get(LIST, {"org": "acme", "severity": "critical"})
    viewed = events(acme, action="support.admin_viewed")
    assert len(viewed) == 1
    assert viewed[0].actor_type == "staff" and viewed[0].actor_label == "ops@auditlogs.test"
    assert viewed[0].severity == Severity.WARNING
    assert events(globex, action="support.admin_viewed") == []

    other_operator = signed_in(UserFactory(email="ops2@auditlogs.test", is_staff=True,
                                            is_superuser=True))
    assert other_operator.get(f"/admin/auditlogs/auditevent/{event.pk}/change/").status_code == 200
    labels = [e.actor_label for e in events(acme, action="support.admin_viewed")]
    assert labels == ["ops@auditlogs.test", "ops2@auditlogs.test"]


def test_choosing_an_organization_records_nothing(ops, events):
    ops.get(LIST)
    assert events(action="support.admin_viewed") == []


def test_non_staff_cannot_reach_the_admin(admin):
    assert signed_in(admin).get(LIST, {"org": "acme"}).status_code == 302


@pytest.mark.parametrize("who", ["owner", "admin", "member", "outsider", "globex_owner"])
def test_people_of_organizations_never_reach_the_operators_pages(request, acme, who):
    client = signed_in(request.getfixturevalue(who))
    for path in (f"{LIST}?org=acme", f"/admin/orgs/organization/{acme.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response.url


def test_support_staff_without_admin_permissions_are_refused(acme, staff, events):
    support = signed_in(staff)  # is_staff, no model permissions
    assert support.get(LIST, {"org": "acme"}).status_code == 403
    refused = support.post(f"/admin/orgs/organization/{acme.pk}/integrity/verify/")
    assert refused.status_code == 403
    assert events(acme) == []


def test_the_other_log_lists_say_when_their_count_is_capped(staff, ops, monkeypatch):
    monkeypatch.setattr(operators, "COUNT_CAP", 2)
    support = signed_in(staff)
    reason = "Ticket 7 of a customer"
    for organization in ("acme", "globex"):
        support.post("/support/", {"organization": organization, "reason": reason})
    assert "2 support accesses" in ops.get("/admin/auditlogs/supportaccess/").text
    support.post("/support/", {"organization": "initech", "reason": reason})
    assert "2+ support accesses" in ops.get("/admin/auditlogs/supportaccess/").text
