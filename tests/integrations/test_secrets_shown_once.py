"""A secret shown once on creation (a new API token's, a new log destination's) is on the page the
form redirects to: reloading that page creates nothing more and no longer shows the secret."""

import logging
import re

import pytest

from integrations.models import ApiToken, Destination, hash_token
from orgs.models import Role
from tests.helpers.clients import signed_in
from tests.helpers.factories import MembershipFactory

TOKENS = "/orgs/acme/settings/api-tokens/"
DESTINATIONS = "/orgs/acme/settings/destinations/"
NEW_SECRET = re.compile(r'<code class="new-secret">([^<]*)</code>')


def secrets_shown(response) -> list[str]:
    return NEW_SECRET.findall(response.text)


def session_text(client) -> str:
    return repr(dict(client.session.items()))


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_reloading_after_creating_a_token_creates_no_second_token(admin, acme, events, logs):
    client = signed_in(admin)
    created = client.post(TOKENS, {"name": "Splunk", "expires_in": "30"})
    assert created.status_code == 302 and created["Location"] == TOKENS

    shown = client.get(created["Location"])
    (secret,) = secrets_shown(shown)
    assert shown.text.count(secret) == 1
    assert "Copy your new token now" in shown.text
    assert "It is shown only this once; we keep only a hash of it." in shown.text
    assert shown["Cache-Control"] == "no-store"
    assert secret not in session_text(client)  # kept for that one page only

    for _reload in range(2):
        reloaded = client.get(TOKENS)
        assert reloaded.status_code == 200 and "Splunk" in reloaded.text
        assert secrets_shown(reloaded) == [] and secret not in reloaded.text
        assert "Copy your new token now" not in reloaded.text
    (token,) = ApiToken.objects.filter(organization=acme)
    assert token.token_hash == hash_token(secret)
    assert len(events(acme, action="api_token.created")) == 1
    assert secret not in logs.text


def test_each_new_token_is_shown_after_its_own_creation(admin, acme):
    client = signed_in(admin)
    first = secrets_shown(client.post(TOKENS, {"name": "One"}, follow=True))
    second = secrets_shown(client.post(TOKENS, {"name": "Two"}, follow=True))
    assert len(first) == len(second) == 1 and first != second
    assert sorted(ApiToken.objects.values_list("token_hash", flat=True)) == sorted(
        [hash_token(first[0]), hash_token(second[0])]
    )


def test_a_new_token_is_shown_only_on_its_own_organizations_page(admin, acme, initech):
    MembershipFactory(organization=initech, user=admin, role=Role.ADMIN)
    client = signed_in(admin)
    client.post(TOKENS, {"name": "Splunk"})
    assert secrets_shown(client.get("/orgs/initech/settings/api-tokens/")) == []
    (secret,) = secrets_shown(client.get(TOKENS))
    assert ApiToken.objects.get(organization=acme).token_hash == hash_token(secret)


def test_a_refused_token_form_keeps_nothing_for_later(admin):
    client = signed_in(admin)
    refused = client.post(TOKENS, {"name": "  "})
    assert refused.status_code == 200 and "Give the token a name." in refused.text
    assert secrets_shown(client.get(TOKENS)) == [] and not ApiToken.objects.exists()


def test_reloading_after_adding_a_destination_adds_no_second_one(
    admin, acme, events, public_dns, logs
):
    client = signed_in(admin)
    created = client.post(DESTINATIONS, {"name": "SIEM", "url": "https://siem.example.com/hook"})
    assert created.status_code == 302 and created["Location"] == DESTINATIONS
    destination = Destination.objects.get(organization=acme)
    assert destination.secret not in session_text(client)  # only its id waits there

    shown = client.get(created["Location"])
    assert secrets_shown(shown) == [destination.secret]
    assert "“SIEM” was added" in shown.text and "Its signing secret, shown only now:" in shown.text
    assert shown["Cache-Control"] == "no-store"

    reloaded = client.get(DESTINATIONS)
    assert destination.secret not in reloaded.text and "was added" not in reloaded.text
    assert "https://siem.example.com/hook" in reloaded.text
    assert Destination.objects.count() == 1
    assert len(events(acme, action="destination.created")) == 1
    assert destination.secret not in logs.text


def test_a_destination_deleted_before_its_page_shows_no_secret(admin, public_dns):
    client = signed_in(admin)
    client.post(DESTINATIONS, {"name": "SIEM", "url": "https://siem.example.com/hook"})
    Destination.objects.get().delete()
    page = client.get(DESTINATIONS)
    assert page.status_code == 200 and secrets_shown(page) == []
