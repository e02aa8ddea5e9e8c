"""/metrics: Prometheus text for the operator's Prometheus only (a Bearer token), 404 else."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from integrations import services
from operations import jobs
from tests.helpers.clients import signed_in

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def protected(settings):
    settings.METRICS_BEARER_TOKEN = TOKEN


def scrape(token=TOKEN):
    return Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(response) -> dict:
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_without_the_setting_there_is_nothing_to_find(db, settings):
    settings.METRICS_BEARER_TOKEN = ""
    assert scrape("").status_code == 404
    assert scrape("anything").status_code == 404


def test_a_wrong_or_missing_token_is_a_404(db, protected):
    assert Client().get("/metrics").status_code == 404
    assert scrape("not-the-token").status_code == 404


def test_it_reports_latency_events_delivery_lag_and_verification(
    acme, owner, owner_client, protected
):
    destination = services.destination_create(
        organization=acme, name="SIEM", url="https://siem.example.com/hook",
        secret="s3cret", created_by=owner,
    )
    jobs.sign_checkpoints()
    assert owner_client.get("/orgs/acme/settings/audit-logs/").status_code == 200

    response = scrape()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = samples(response)
    page = ("GET", "audit_log", "200")
    assert any(
        name == "auditlogs_http_request_duration_seconds_count"
        and (dict(labels)["method"], dict(labels)["view"], dict(labels)["status"]) == page
        and value >= 1
        for (name, labels), value in found.items()
    )
    assert found[("auditlogs_events_recorded", ())] >= 2  # destination.created, the page view
    lag = found[("auditlogs_delivery_lag_events",
                 (("destination", str(destination.pk)), ("status", "active")))]
    assert lag >= 2
    assert found[("auditlogs_verification_organizations", (("result", "verified"),))] == 3
    assert found[("auditlogs_verification_organizations", (("result", "broken"),))] == 0
    assert ("auditlogs_newest_checkpoint_age_seconds", ()) in found
    assert any(name == "auditlogs_job_last_finished_timestamp_seconds"
               and dict(labels) == {"job": "sign-checkpoints", "outcome": "succeeded"}
               for name, labels in found)
    assert "s3cret" not in response.content.decode()


@pytest.fixture
def owner_client(owner):
    return signed_in(owner)
