"""A schema-driven fuzz run: the API's own OpenAPI parameters, filled by hypothesis, never 5xx."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations import services
from tests.auditlogs.test_filters_fuzz import OFFSET_TIMES

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60
) | st.sampled_from(
    ["", "critical", "info", "all", "7d", "2026-11-27", "2026-11-27T14:00",
     "2026-11-27T14:00+05:00", "9999-12-31", "0001-01-01", "-1", "0", "501", "1e9", "NaN",
     "null", "%00", "' OR 1=1 --"]
)
VALUE = TEXT | st.integers(min_value=-(2**63), max_value=2**63).map(str)


@pytest.fixture(scope="module")
def parameter_names(django_db_blocker):
    with django_db_blocker.unblock():
        document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/orgs/{slug}/audit-events"]["get"]
    return [p["name"] for p in operation["parameters"] if p["in"] == "query"]


def test_the_api_never_answers_with_a_server_error(
    acme, owner, history, parameter_names, settings_
):
    _, secret = services.api_token_create(
        organization=acme, name="fuzz", created_by=owner, expires_in_days=None
    )
    good = {"Authorization": f"Bearer {secret}"}
    client = Client()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        params=st.dictionaries(
            st.sampled_from(parameter_names) | TEXT,
            st.lists(VALUE, min_size=1, max_size=3),
            max_size=6,
        ),
        slug=st.sampled_from(["acme", "globex", "initech", "nope"]) | TEXT,
        headers=st.sampled_from([good, {}, {"Authorization": "Bearer x"}])
        | st.builds(lambda t: {"Authorization": t}, TEXT),
    )
    def run(params, slug, headers):
        slug = slug.replace("/", "") or "acme"
        response = client.get(f"/api/v1/orgs/{slug}/audit-events", params, headers=headers)
        assert response.status_code < 500, (params, slug, response.content[:300])
        if response.status_code != 404 or response["Content-Type"] == "application/json":
            response.json()

    run()


def test_any_window_with_any_offset_is_read_or_refused_by_name(acme, owner, history, settings_):
    """Offsets up to ±23:59 and years 1 to 9999: the window is read in UTC or refused with a
    400 naming start or end, never a server error (PostgreSQL takes offsets below ±16:00)."""
    _, secret = services.api_token_create(
        organization=acme, name="fuzz", created_by=owner, expires_in_days=None
    )
    client = Client(headers={"Authorization": f"Bearer {secret}"})

    @settings(max_examples=100, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(["start", "end"]), OFFSET_TIMES, min_size=1))
    def run(window):
        response = client.get("/api/v1/orgs/acme/audit-events", window)
        assert response.status_code in (200, 400), (window, response.content[:300])
        if response.status_code == 400:
            assert response.json()["parameter"] in window

    run()


@pytest.fixture
def settings_(settings):
    settings.AUDITLOG_API_RATE_LIMIT = 10**9
    return settings
