"""Info, richer: related events, word-level changes, the raw event, the browser, a permalink."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from auditlogs import record
from auditlogs.recording.context import Actor, AuditContext, using_context
from auditlogs.web.presenters import word_diff
from projects import services as project_services
from tests.helpers.clients import signed_in

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def info(client, event, **headers):
    return client.get(f"/orgs/acme/settings/audit-logs/events/{event.id}/", **headers)


@pytest.fixture
def request_of_admin(acme, alpha, beta, admin, owner, bot):
    """One request of the admin that changed and deleted a chatbot, the admin's other event
    five minutes later, one 30 minutes later, and the owner's event in between."""
    now = timezone.now()
    context = AuditContext(actor=Actor.for_user(admin), request_id="req-42", ip="203.0.113.9",
                           user_agent=FIREFOX, occurred_at=now - timedelta(minutes=40))
    with using_context(context):
        project_services.chatbot_update(chatbot=bot, instructions="Answers billing questions")
        project_services.chatbot_delete(chatbot=bot)
    made = {}
    for name, person, minutes in [("soon", admin, 35), ("later", admin, 10),
                                  ("other", owner, 38)]:
        with using_context(AuditContext(actor=Actor.for_user(person),
                                        occurred_at=now - timedelta(minutes=minutes))):
            made[name] = record("project.viewed", organization=acme, project=beta, target=beta)
    return made


def test_related_events_are_the_same_request_and_the_same_actor_within_ten_minutes(
    admin, request_of_admin
):
    from auditlogs.models import AuditEvent

    deleted = AuditEvent.objects.get(action="chatbot.deleted")
    details = info(signed_in(admin), deleted).context["details"]
    related = {(r.row.event.action, r.same_request) for r in details.related}
    assert related == {("chatbot.updated", True), ("project.viewed", False)}
    assert [r.row.event.id for r in details.related if not r.same_request] == [
        request_of_admin["soon"].id]


def test_a_member_sees_no_related_event_outside_their_projects(member, request_of_admin):
    from auditlogs.models import AuditEvent

    updated = AuditEvent.objects.get(action="chatbot.updated")
    details = info(signed_in(member), updated).context["details"]
    assert [r.row.event.action for r in details.related] == ["chatbot.deleted"]


def test_changes_are_highlighted_word_by_word(admin, request_of_admin):
    from auditlogs.models import AuditEvent

    updated = AuditEvent.objects.get(action="chatbot.updated")
    text = info(signed_in(admin), updated).text
    assert "<ins>Answers billing questions</ins>" in text
    before, after = word_diff(["Answers support questions", "Answers billing questions"])
    assert (str(before), str(after)) == ("Answers <del>support</del> questions",
                                         "Answers <ins>billing</ins> questions")


def test_instructions_changed_word_by_word_throughout_are_shown_whole_without_highlights(
    admin, bot
):
    """At the field's 4,000 characters, "x x x …" then "x y x y …": word by word this took
    minutes per opening of Info (difflib is cubic at worst), so Info shows both values whole."""
    from auditlogs.models import AuditEvent

    repeated, alternating = " ".join(["x"] * 2000), " ".join(["x", "y"] * 1000)
    with using_context(AuditContext(actor=Actor.for_user(admin))):
        project_services.chatbot_update(chatbot=bot, instructions=repeated)
        project_services.chatbot_update(chatbot=bot, instructions=alternating)
    updated = AuditEvent.objects.filter(action="chatbot.updated").order_by("-id").first()
    assert updated.changes["instructions"] == [repeated, alternating]
    text = info(signed_in(admin), updated).text
    assert f'<td class="diff-before">{repeated}</td>' in text
    assert f'<td class="diff-after">{alternating}</td>' in text
    assert "<del>" not in text and "<ins>" not in text


def test_a_small_edit_inside_long_instructions_is_still_highlighted_word_by_word():
    words = ["x"] * 2000
    edited = [*words[:1000], "y", *words[1001:]]
    before, after = word_diff([" ".join(words), " ".join(edited)])
    head, tail = " ".join(words[:1000]), " ".join(words[1001:])
    assert str(before) == f"{head} <del>x</del> {tail}"
    assert str(after) == f"{head} <ins>y</ins> {tail}"


def test_raw_json_browser_and_permalink(admin, request_of_admin):
    from auditlogs.models import AuditEvent

    deleted = AuditEvent.objects.get(action="chatbot.deleted")
    details = info(signed_in(admin), deleted).context["details"]
    response = info(signed_in(admin), deleted, HTTP_HX_REQUEST="true")  # the row's Info
    raw = json.loads(details.raw_json)
    assert raw["hash"] == deleted.hash and raw["action"] == "chatbot.deleted"
    assert raw["label"] == "Chatbot deleted" and raw["occurred_at"].endswith("Z")
    assert details.browser == "Firefox 140 on Linux"
    assert "Firefox 140 on Linux" in response.text
    assert details.permalink == f"http://testserver/orgs/acme/settings/audit-logs/events/{deleted.id}/"
    assert 'data-copy="raw-' in response.text and 'class="raw-json"' in response.text


@pytest.mark.parametrize("persona, status", [
    ("owner", 200), ("admin", 200), ("member", 404), ("outsider", 404),
])
def test_personas(persona, status, request, request_of_admin):
    event = request_of_admin["soon"]  # in Beta, which the member is not assigned to
    assert info(signed_in(request.getfixturevalue(persona)), event).status_code == status


def test_off_enterprise_info_is_refused(globex_owner, globex, globex_project):
    event = record("project.viewed", organization=globex, project=globex_project)
    response = signed_in(globex_owner).get(
        f"/orgs/globex/settings/audit-logs/events/{event.id}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
