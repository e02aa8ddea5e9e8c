"""The search box's query language: parsed into the FilterSet, the same on the page and in the
API, a syntax error next to the box (never a 500), fuzzed on both databases."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditlogs import record
from auditlogs.recording.context import Actor, AuditContext, using_context
from auditlogs.web.query_language import KEYS, term
from integrations.services import api_token_create
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/"


def search(client, q, **params):
    return client.get(f"{URL}?{urlencode({'q': q, **params})}")


def actions(response) -> list[str]:
    assert response.status_code == 200
    assert not response.context["form"].errors, response.context["form"].errors
    # The page's own "Audit Logs viewed" (once a day) is not what these tests are about.
    return [row.event.action for row in response.context["rows"]
            if row.event.action != "audit_log.viewed"]


def q_error(response) -> str:
    assert response.status_code == 200
    return " ".join(response.context["form"].errors.get("q", []))


@pytest.fixture
def happened(acme, alpha, beta, admin, owner, bot):
    """Events from two people and two addresses over three weeks."""
    now = timezone.now()
    made = {}
    for name, actor, ip, when, action, project in [
        ("deleted", admin, "10.1.2.3", now - timedelta(hours=1), "chatbot.deleted", alpha),
        ("created", admin, "10.9.9.9", now - timedelta(hours=2), "chatbot.created", alpha),
        ("viewed", owner, "203.0.113.9", now - timedelta(hours=3), "project.viewed", beta),
        ("role", owner, "203.0.113.9", now - timedelta(days=20), "member.role_changed", None),
    ]:
        context = AuditContext(actor=Actor.for_user(actor), ip=ip, occurred_at=when)
        with using_context(context):
            made[name] = record(action, organization=acme, project=project,
                                target=bot if project is alpha else None)
    return made


class TestThePage:
    def test_the_example_of_the_issue(self, admin, happened):
        q = ('actor:admin@acme.test action:chatbot.* -action:project.viewed '
             'severity:>=warning project:"Alpha" ip:10.0.0.0/8')
        assert actions(search(signed_in(admin), q)) == ["chatbot.deleted"]

    def test_each_key(self, admin, happened):
        client = signed_in(admin)
        assert set(actions(search(client, "actor:OWNER@", range="all"))) == {
            "project.viewed", "member.role_changed"}
        assert actions(search(client, "action:*.viewed")) == ["project.viewed"]
        assert actions(search(client, "-action:chatbot.* -action:*.viewed")) == []
        assert actions(search(client, "severity:critical")) == ["chatbot.deleted"]
        assert set(actions(search(client, "severity:info,critical"))) == {
            "chatbot.deleted", "chatbot.created", "project.viewed"}
        assert actions(search(client, "severity:<warning project:beta")) == ["project.viewed"]
        assert actions(search(client, "ip:203.0.113.9")) == ["project.viewed"]
        assert actions(search(client, "ip:10.9.0.0/16")) == ["chatbot.created"]
        assert actions(search(client, "-ip:10.0.0.0/8")) == ["project.viewed"]
        assert actions(search(client, 'target:"help"')) == ["chatbot.deleted", "chatbot.created"]
        assert actions(search(client, "actor_type:system")) == []

    def test_created_replaces_the_date_range(self, admin, acme, happened):
        client = signed_in(admin)
        old = timezone.localtime(happened["role"].occurred_at,
                                 response_zone(client)).date().isoformat()
        assert actions(search(client, f"created:{old}")) == ["member.role_changed"]
        assert actions(search(client, f"created:..{old}")) == ["member.role_changed"]
        assert "member.role_changed" not in actions(search(client, f"created:>{old}"))

    def test_free_words_stay_the_plain_search(self, admin, happened):
        client = signed_in(admin)
        assert actions(search(client, "Chatbot deleted")) == ["chatbot.deleted"]
        assert actions(search(client, 'severity:critical "Chatbot"')) == ["chatbot.deleted"]

    @pytest.mark.parametrize("q, message", [
        ("colour:red", "“colour:” is not a filter"),
        ("actor:", "“actor:” needs a value"),
        ('project:"Alpha', "quotes of project: are not closed"),
        ("severity:>=loud", "“loud” is not a severity"),
        ("severity:>info,warning", "Compare with one severity"),
        ("action:bots.*", "No event type matches"),
        ("project:Tps", "No project “Tps” that you can see"),
        ("ip:10.0.0.300", "is not an IP address"),
        ("created:2026-13-01", "created:"),
        ("created:2026-11-15..2026-11-01", "end of the range must be after"),
        ("-created:2026-11-01", "“-created:” is not supported"),
        ("actor_type:robot", "not an actor type"),
    ])
    def test_a_syntax_error_is_said_next_to_the_box(self, admin, happened, q, message):
        response = search(signed_in(admin), q)
        assert message in q_error(response)
        assert response.context["rows"] == []
        assert 'id="q-error" class="field-error">' in response.text

    def test_over_htmx_the_message_replaces_the_one_next_to_the_box(self, admin, happened):
        response = signed_in(admin).get(f"{URL}?q=colour:red", HTTP_HX_REQUEST="true")
        assert 'id="q-error" class="field-error" hx-swap-oob="true">' in response.text

    def test_a_member_cannot_name_a_project_they_do_not_see(self, member, happened):
        assert "No project “Beta”" in q_error(search(signed_in(member), "project:Beta"))

    def test_links_quote_what_needs_quotes(self):
        assert term("target", "Draft bot") == 'target:"Draft bot"'
        assert term("actor", "a@b.test") == "actor:a@b.test"
        assert term("target", 'say "hi"') == r'target:"say \"hi\""'

    def test_the_help_popover_names_every_key(self, admin):
        text = signed_in(admin).get(URL).text
        assert '<details class="query-help">' in text
        for key in KEYS:
            assert f"<code>{key}:" in text or f"<code>-{key}:" in text


def response_zone(client):
    return client.get(URL).context["viewer"].tzinfo


class TestTheApi:
    @pytest.fixture
    def token(self, acme, admin, happened):
        _, secret = api_token_create(organization=acme, name="ci", created_by=admin,
                                     expires_in_days=None)
        return secret

    def get(self, client, token, q):
        return client.get(f"/api/v1/orgs/acme/audit-events?{urlencode({'q': q})}",
                          HTTP_AUTHORIZATION=f"Bearer {token}")

    def test_the_api_reads_the_same_language(self, client, token):
        response = self.get(client, token, "action:chatbot.* severity:>=warning")
        assert [e["action"] for e in response.json()["events"]] == ["chatbot.deleted"]

    def test_a_syntax_error_is_a_400_naming_q(self, client, token):
        response = self.get(client, token, "colour:red")
        assert response.status_code == 400 and response.json()["parameter"] == "q"


QUERY_ALPHABET = st.sampled_from(
    [*(f"{k}:" for k in KEYS), "-", '"', " ", "..", ">=", "<", "*", "/", "\\", "\x00",
     "chatbot.", "warning", "10.0.0.0", "2026-11-01", "Alpha", "é", "9" * 30]
)


@pytest.mark.django_db(transaction=False)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(q=st.lists(QUERY_ALPHABET | st.text(max_size=6), max_size=12).map("".join))
def test_no_query_is_a_server_error(admin, happened, q):
    response = signed_in(admin).get(f"{URL}?{urlencode({'q': q[:200]})}")
    assert response.status_code == 200
