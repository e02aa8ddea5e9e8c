"""Info: the details of one event, as an HTMX fragment and as a page of its own."""

from auditlogs import record
from auditlogs.recording.changes import MASK
from auditlogs.recording.context import AuditContext, using_context
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/events/{}/"


def detailed_event(acme, alpha, bot):
    context = AuditContext(ip="203.0.113.9", user_agent="Firefox/140.0", request_id="req-7f3c0001")
    with using_context(context):
        return record(
            "chatbot.updated", organization=acme, project=alpha, target=bot,
            changes={"temperature": [0.7, 0.9], "api_key": ["sk-a", "sk-b"]},
            metadata={"reason": "tuning"},
        )


def test_info_shows_who_where_request_target_changes_metadata_and_id(acme, alpha, bot, admin):
    event = detailed_event(acme, alpha, bot)
    event.refresh_from_db()  # linked after commit
    response = signed_in(admin).get(URL.format(event.id))
    assert response.status_code == 200
    html = response.text
    for expected in ["system", "203.0.113.9", "Firefox/140.0", "req-7f3c0001", "chatbot",
                     "Helper", "temperature", "0.7", "0.9", MASK, "reason", "tuning",
                     f"id {event.id}", event.hash, "Chatbot updated"]:
        assert expected in html, expected
    assert "sk-a" not in html and "sk-b" not in html


def test_the_htmx_fragment_has_the_same_details_without_the_page(acme, alpha, bot, admin):
    event = detailed_event(acme, alpha, bot)
    response = signed_in(admin).get(URL.format(event.id), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "req-7f3c0001" in response.text
    assert "HX-Request" in response["Vary"]


def test_a_member_sees_info_of_their_project_only(acme, alpha, bot, beta, member):
    alpha_event = detailed_event(acme, alpha, bot)
    beta_event = record("project.viewed", organization=acme, project=beta)
    org_event = record("organization.updated", organization=acme)
    client = signed_in(member)
    assert client.get(URL.format(alpha_event.id)).status_code == 200
    assert client.get(URL.format(beta_event.id)).status_code == 404
    assert client.get(URL.format(org_event.id)).status_code == 404


def test_unknown_ids_are_404(admin):
    client = signed_in(admin)
    assert client.get(URL.format(999999)).status_code == 404
    assert client.get("/orgs/acme/settings/audit-logs/events/abc/").status_code == 404
