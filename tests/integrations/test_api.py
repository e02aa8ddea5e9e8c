"""The read API: token auth, tenancy, the page's filters, stable cursors, errors and limits."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording.context import ActorType
from integrations import services
from integrations.models import ApiToken
from orgs.models import Plan

URL = "/api/v1/orgs/{}/audit-events"


def get(token, slug="acme", **params):
    headers = token.headers if hasattr(token, "headers") else token
    return Client().get(URL.format(slug), params, headers=headers)


def test_it_lists_events_newest_first_with_documented_fields(acme_token, history):
    response = get(acme_token, range="all")
    assert response.status_code == 200
    body = response.json()
    ids = [event["id"] for event in body["events"]]
    # The token's own creation is the newest event; the history follows, newest first.
    assert body["events"][0]["action"] == "api_token.created"
    assert ids[1:] == [event.pk for event in reversed(history)]
    first = body["events"][1]
    assert first["action"] == "project.viewed" and first["label"] == "Project viewed"
    assert first["severity"] == "info" and first["occurred_at"].endswith("Z")
    assert first["sequence"] == history[-1].sequence and len(first["hash"]) == 64
    assert first["prev_hash"] == history[-2].hash
    assert body["next"] is None


def test_missing_or_bad_tokens_get_401_json(acme_token):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + acme_token.secret + "x"}):
        response = get(headers)
        assert response.status_code == 401
        assert "API token is required" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_tokens_get_401(acme, owner, acme_token):
    services.api_token_revoke(token=acme_token.token)
    assert get(acme_token).status_code == 401
    token, secret = services.api_token_create(
        organization=acme, name="old", created_by=owner, expires_in_days=1
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert get({"Authorization": f"Bearer {secret}"}).status_code == 401


def test_a_token_sees_only_its_own_organization(acme_token):
    for slug in ("initech", "globex", "no-such-org"):
        response = get(acme_token, slug=slug)
        assert response.status_code == 404
        assert response.json() == {"detail": "No such organization."}


def test_free_plan_organizations_get_403(globex, globex_owner):
    _, secret = services.api_token_create(
        organization=globex, name="t", created_by=globex_owner, expires_in_days=None
    )
    response = get({"Authorization": f"Bearer {secret}"}, slug="globex")
    assert response.status_code == 403
    assert "Enterprise" in response.json()["detail"]


def test_a_token_stops_working_when_the_plan_is_downgraded(acme, acme_token):
    acme.plan = Plan.FREE
    acme.save()
    assert get(acme_token).status_code == 403


def test_it_applies_the_page_filters(alpha, history, acme_token):
    critical = get(acme_token, severity="critical", range="all").json()["events"]
    assert {e["action"] for e in critical} == {"chatbot.deleted", "project.deleted"}
    both = get(acme_token, severity=["critical", "warning"], range="all").json()["events"]
    assert {e["severity"] for e in both} == {"critical", "warning"}
    of_alpha = get(acme_token, project=str(alpha.pk), range="all").json()["events"]
    assert of_alpha and {e["project_id"] for e in of_alpha} == {alpha.pk}
    recent = get(acme_token, range="24h", actor="admin@acme.test").json()["events"]
    day_ago = timezone.now() - timedelta(hours=24)
    expected = [h.pk for h in reversed(history) if h.occurred_at >= day_ago]
    assert [e["id"] for e in recent] == expected
    start = (timezone.now() - timedelta(days=4)).date().isoformat()
    windowed = get(acme_token, start=start).json()["events"]
    assert "organization.updated" not in {e["action"] for e in windowed}
    assert get(acme_token, action="chatbot.deleted", range="all").json()["events"][0][
        "target_type"] == "project"
    assert get(acme_token, q="beta", range="all").json()["events"]


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"severity": "loud"}, "severity", "is not a severity"),
        ({"start": "yesterday"}, "start", "is not a date"),
        ({"end": "2026-13-45"}, "end", "is not a date"),
        ({"range": "forever"}, "range", "Choose a date range"),
        ({"action": "nope.nope"}, "action", "is not an event type"),
        ({"project": "999999"}, "project", "project"),
        ({"limit": "0"}, "limit", "greater than or equal to 1"),
        ({"limit": "ten"}, "limit", "integer"),
        ({"limit": "501"}, "limit", "less than or equal to 500"),
        ({"cursor": "forged"}, "cursor", "not a cursor"),
        ({"start": "2026-11-02", "end": "2026-11-01"}, "end", "must be after its start"),
    ],
)
def test_malformed_parameters_get_400_naming_the_parameter(acme_token, params, parameter, words):
    response = get(acme_token, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter
    assert body["detail"].startswith(f"{parameter}: ") and words in body["detail"]


def test_cursors_walk_every_event_once_while_new_events_arrive(acme, alpha, history, acme_token):
    before = list(AuditEvent.objects.filter(organization=acme).newest_first()
                  .values_list("id", flat=True))
    seen, cursor, pages = [], None, 0
    while True:
        params = {"range": "all", "limit": "5"}
        if cursor:
            params["cursor"] = cursor
        body = get(acme_token, **params).json()
        seen += [event["id"] for event in body["events"]]
        # New events arrive between pages: they must not shift what the next page holds.
        record("project.viewed", organization=acme, project=alpha)
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == before
    assert pages == 3  # 13 events in pages of 5: the third page holds the last 3


def test_the_cursor_is_opaque_and_signed(history, acme_token):
    cursor = get(acme_token, range="all", limit="2").json()["next"]
    assert "occurred" not in cursor and str(history[-2].pk) not in cursor[:4]
    assert get(acme_token, range="all", cursor=cursor[:-2] + "xx").status_code == 400


def test_requests_are_rate_limited_per_token_with_retry_after(acme, owner, acme_token, settings):
    settings.AUDITLOG_API_RATE_LIMIT = 3
    assert [get(acme_token).status_code for _ in range(3)] == [200, 200, 200]
    response = get(acme_token)
    assert response.status_code == 429
    assert "at most 3 per 60 seconds" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    other, secret = services.api_token_create(
        organization=acme, name="other", created_by=owner, expires_in_days=None
    )
    assert get({"Authorization": f"Bearer {secret}"}).status_code == 200


def test_reading_notes_last_use_and_one_api_view_event_a_day(acme, acme_token, events):
    get(acme_token)
    get(acme_token)
    acme_token.token.refresh_from_db()
    assert acme_token.token.last_used_at is not None
    (viewed,) = events(acme, action="audit_log.viewed")
    assert viewed.actor_type == ActorType.API and viewed.actor_id == acme_token.token.pk
    assert viewed.actor_label == "API token “SIEM import”"


def test_the_openapi_description_is_served(personas):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    operation = document["paths"]["/api/v1/orgs/{slug}/audit-events"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"severity", "project", "range", "start", "end", "action", "actor", "q",
            "cursor", "limit"} <= names
    assert "EventOut" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["OrganizationToken"]["scheme"] == "bearer"
