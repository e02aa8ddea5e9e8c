"""Log pages, Info, downloads and API answers are never kept in a browser's or proxy's cache."""

from django.urls import reverse

from auditlogs import record


def test_the_page_info_and_enterprise_page_say_no_store(world):
    event = record("organization.updated", organization=world.acme)
    client = world.client(world.owner)
    for url in (
        reverse("audit_log", args=["acme"]),
        reverse("audit_event", args=["acme", event.pk]),
    ):
        assert "no-store" in client.get(url)["Cache-Control"], url
    free = world.client(world.globex_owner).get(reverse("audit_log", args=["globex"]))
    assert "no-store" in free["Cache-Control"]


def test_api_answers_say_no_store_even_when_refused(world, client):
    response = client.get("/api/v1/orgs/acme/audit-events")
    assert response.status_code == 401
    assert "no-store" in response["Cache-Control"]
