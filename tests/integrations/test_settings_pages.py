"""Settings → API tokens, Log destinations and Alerts: who may do what, and what is recorded."""

import pytest
from django.urls import reverse

from auditlogs.recording.changes import MASK
from integrations import services
from integrations.models import AlertSubscription, ApiToken, Destination, hash_token
from tests.helpers.clients import signed_in


def url(name, *args, slug="acme"):
    return reverse(name, args=[slug, *args])


ADMIN_PAGES = ["settings_api_tokens", "settings_destinations"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_owners_and_admins_open_the_admin_pages(owner, admin, page):
    for user in (owner, admin):
        response = signed_in(user).get(url(page))
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_members_get_403_and_outsiders_404(member, outsider, staff, page):
    assert signed_in(member).get(url(page)).status_code == 403
    assert signed_in(member).post(url(page), {"name": "x"}).status_code == 403
    assert signed_in(outsider).get(url(page)).status_code == 404
    assert signed_in(staff).get(url(page)).status_code == 404
    assert signed_in(None).get(url(page)).status_code == 302


@pytest.mark.parametrize("page", [*ADMIN_PAGES, "settings_alerts"])
def test_free_plans_see_the_enterprise_page_and_cannot_change_anything(globex_owner, page):
    client = signed_in(globex_owner)
    response = client.get(url(page, slug="globex"))
    assert response.status_code == 200
    assert "Enterprise feature" in response.content.decode()
    assert client.post(url(page, slug="globex"), {"name": "x"}).status_code == 403


def test_the_sidebar_shows_the_new_pages_by_role(admin, member):
    admin_html = signed_in(admin).get(url("settings_alerts")).content.decode()
    assert "API tokens" in admin_html and "Log destinations" in admin_html
    member_html = signed_in(member).get(url("settings_alerts")).content.decode()
    assert "Alerts" in member_html and "API tokens" not in member_html


def test_a_created_token_is_shown_once_stored_as_a_hash_and_recorded(admin, acme, events):
    client = signed_in(admin)
    response = client.post(url("settings_api_tokens"), {"name": "Splunk", "expires_in": "30"},
                           follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get(organization=acme)
    html = response.content.decode()
    secret = html.split('<code class="new-secret">')[1].split("</code>")[0]
    assert token.token_hash == hash_token(secret) and secret not in token.token_hash
    assert token.created_by == admin and token.expires_at is not None
    assert secret not in signed_in(admin).get(url("settings_api_tokens")).content.decode()
    (event,) = events(acme, action="api_token.created")
    assert event.actor_label == "admin@acme.test" and event.metadata["name"] == "Splunk"
    assert secret not in str(event.metadata)


def test_a_token_needs_a_name(admin):
    response = signed_in(admin).post(url("settings_api_tokens"), {"name": "  "})
    assert "Give the token a name." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_is_recorded_and_only_within_the_org(
    acme, owner, initech, outsider, member, events
):
    token, _ = services.api_token_create(
        organization=acme, name="t", created_by=owner, expires_in_days=None
    )
    other, _ = services.api_token_create(
        organization=initech, name="t", created_by=outsider, expires_in_days=None
    )
    client = signed_in(owner)
    assert client.post(url("settings_api_token_revoke", other.pk)).status_code == 404
    member_client = signed_in(member)
    assert member_client.post(url("settings_api_token_revoke", token.pk)).status_code == 403
    response = client.post(url("settings_api_token_revoke", token.pk))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert len(events(acme, action="api_token.revoked")) == 1
    client.post(url("settings_api_token_revoke", token.pk))
    assert len(events(acme, action="api_token.revoked")) == 1


def test_destinations_are_created_edited_and_deleted_with_events(admin, acme, events, public_dns):
    client = signed_in(admin)
    response = client.post(
        url("settings_destinations"), {"name": "SIEM", "url": "https://siem.example.com/hook"}
    )
    assert response.status_code == 302 and response["Location"] == url("settings_destinations")
    destination = Destination.objects.get()
    assert destination.secret.startswith("whsec_")
    assert destination.secret in client.get(response["Location"]).text  # once, after creation
    assert destination.secret not in client.get(url("settings_destinations")).text
    (created,) = events(acme, action="destination.created")
    assert created.metadata["url"] == "https://siem.example.com/hook"

    edit = url("settings_destination_edit", destination.pk)
    assert destination.secret not in client.get(edit).content.decode()
    response = client.post(edit, {"name": "SIEM 2", "url": "https://siem.example.com/v2",
                                  "secret": "a-new-secret-of-enough-length", "paused": "on"})
    assert response.status_code == 302
    destination.refresh_from_db()
    assert (destination.name, destination.status) == ("SIEM 2", "paused")
    assert destination.secret == "a-new-secret-of-enough-length"
    (updated,) = events(acme, action="destination.updated")
    assert updated.changes["secret"] == [MASK, MASK]
    assert updated.changes["paused"] == [False, True]

    assert client.post(url("settings_destination_delete", destination.pk)).status_code == 302
    assert not Destination.objects.exists()
    assert len(events(acme, action="destination.deleted")) == 1



def test_a_destination_url_too_long_once_encoded_is_refused(admin, acme, events, public_dns):
    """2,000 characters as typed, but each é is stored as %C3%A9: the stored URL would not fit
    its column (PostgreSQL answered 500), so the form says so and nothing is saved."""
    client = signed_in(admin)
    response = client.post(url("settings_destinations"),
                           {"name": "Long", "url": "https://1.1.1.1/" + "é" * 1980})
    assert response.status_code == 200
    assert "The URL is too long: at most 2,000 characters once encoded" in response.text
    assert not Destination.objects.exists() and events(acme) == []

    fits = "https://1.1.1.1/" + "é" * 330  # 1,996 characters once encoded
    client.post(url("settings_destinations"), {"name": "Fits", "url": fits})
    assert len(Destination.objects.get().url) == 1996

    edit = url("settings_destination_edit", Destination.objects.get().pk)
    response = client.post(edit, {"name": "Fits", "url": fits + "é"})
    assert "The URL is too long" in response.text
    assert len(Destination.objects.get().url) == 1996


def test_a_key_in_a_destination_url_never_reaches_the_log(admin, acme, events, public_dns):
    """Intakes such as Datadog's take their API key in the query string; the log keeps events
    for good, so what it records of the URL masks every query value."""
    client = signed_in(admin)
    intake = "https://http-intake.logs.example.com/api/v2/logs?dd-api-key=KEY1&ddsource=audit"
    client.post(url("settings_destinations"), {"name": "Intake", "url": intake})
    destination = Destination.objects.get()
    assert destination.url == intake  # delivery still needs it
    client.post(url("settings_destination_edit", destination.pk),
                {"name": "Intake", "url": intake.replace("KEY1", "KEY2")})
    client.post(url("settings_destination_delete", destination.pk))

    masked = f"https://http-intake.logs.example.com/api/v2/logs?dd-api-key={MASK}&ddsource={MASK}"
    (created,) = events(acme, action="destination.created")
    (updated,) = events(acme, action="destination.updated")
    (deleted,) = events(acme, action="destination.deleted")
    assert created.metadata["url"] == deleted.metadata["url"] == masked
    assert updated.changes["url"] == [masked, masked]
    export = client.get(reverse("audit_log_export", args=["acme", "ndjson"]))
    assert export.status_code == 200
    assert b"KEY" not in b"".join(export.streaming_content)


def test_destination_pages_are_tenant_scoped(initech, outsider, owner, member, public_dns):
    theirs = services.destination_create(
        organization=initech, name="x", url="https://siem.example.com/", secret="",
        created_by=outsider,
    )
    client = signed_in(owner)
    assert client.get(url("settings_destination_edit", theirs.pk)).status_code == 404
    assert client.post(url("settings_destination_delete", theirs.pk)).status_code == 404
    assert signed_in(member).get(
        url("settings_destination_edit", theirs.pk)).status_code == 403


def test_renaming_a_destination_keeps_what_the_worker_saved_meanwhile(acme, owner, public_dns):
    destination = services.destination_create(
        organization=acme, name="SIEM", url="https://siem.example.com/", secret="",
        created_by=owner,
    )
    stale = Destination.objects.get(pk=destination.pk)  # the page loaded it first
    Destination.objects.filter(pk=destination.pk).update(cursor=42)  # then the worker sent
    services.destination_update(
        destination=stale, name="SIEM 2", url=stale.url, secret="", paused=False
    )
    destination.refresh_from_db()
    assert (destination.name, destination.cursor) == ("SIEM 2", 42)


def test_the_destination_list_shows_status_and_last_error(acme, owner, public_dns):
    destination = services.destination_create(
        organization=acme, name="SIEM", url="https://siem.example.com/", secret="",
        created_by=owner,
    )
    from django.utils import timezone

    destination.failed("The receiver answered HTTP 503 Service Unavailable.", timezone.now())
    html = signed_in(owner).get(url("settings_destinations")).content.decode()
    assert "Failing, retrying" in html and "HTTP 503 Service Unavailable" in html
    assert "X-AuditLogs-Timestamp" in html and "X-AuditLogs-Signature" in html


@pytest.mark.parametrize("who", ["owner", "admin", "member"])
def test_every_member_can_opt_in_to_alerts(personas, who):
    user = personas[who]
    client = signed_in(user)
    assert client.get(url("settings_alerts")).status_code == 200
    assert client.post(url("settings_alerts"), {"critical_events": "on"}).status_code == 302
    subscription = AlertSubscription.objects.get(membership__user=user)
    assert subscription.critical_events
    assert "Currently: on" in client.get(url("settings_alerts")).content.decode()
    client.post(url("settings_alerts"), {})
    subscription.refresh_from_db()
    assert not subscription.critical_events


def test_outsiders_cannot_reach_alerts(outsider, staff):
    assert signed_in(outsider).get(url("settings_alerts")).status_code == 404
    assert signed_in(staff).post(url("settings_alerts"), {}).status_code == 404


def test_a_token_whose_creator_left_is_marked_and_can_be_revoked(acme, admin, owner):
    from integrations import services as integration_services
    from orgs import services as org_services
    from orgs.models import Membership

    token, _ = integration_services.api_token_create(
        organization=acme, name="SIEM pull", created_by=admin, expires_in_days=None
    )
    client = signed_in(owner)
    assert "Creator left" not in client.get("/orgs/acme/settings/api-tokens/").text
    org_services.member_remove(
        membership=Membership.objects.get(user=admin, organization=acme))
    page = client.get("/orgs/acme/settings/api-tokens/").text
    assert "Creator left" in page and "SIEM pull" in page
    revoke = f"/orgs/acme/settings/api-tokens/{token.pk}/revoke/"
    assert client.post(revoke).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Creator left" not in client.get("/orgs/acme/settings/api-tokens/").text
