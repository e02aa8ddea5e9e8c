"""Log pages, Info, downloads and API answers are never kept in a browser's or proxy's cache."""

from django.urls import reverse

from auditlogs import record
from tests.helpers.clients import signed_in


def test_the_page_info_and_enterprise_page_say_no_store(acme, owner, globex_owner):
    event = record("organization.updated", organization=acme)
    client = signed_in(owner)
    for url in (
        reverse("audit_log", args=["acme"]),
        reverse("audit_event", args=["acme", event.pk]),
    ):
        assert "no-store" in client.get(url)["Cache-Control"], url
    free = signed_in(globex_owner).get(reverse("audit_log", args=["globex"]))
    assert "no-store" in free["Cache-Control"]


def test_api_answers_say_no_store_even_when_refused(client):
    response = client.get("/api/v1/orgs/acme/audit-events")
    assert response.status_code == 401
    assert "no-store" in response["Cache-Control"]
