"""The profile page: a person sets their own time zone and Local/UTC; every page follows."""

import pytest

from tests.helpers.clients import signed_in

PROFILE = "/accounts/profile/"


@pytest.mark.parametrize("persona", ["owner", "admin", "member", "outsider", "globex_owner"])
def test_every_person_sets_their_own_time_zone(persona, request):
    person = request.getfixturevalue(persona)
    client = signed_in(person)
    assert client.get(PROFILE).status_code == 200
    response = client.post(PROFILE, {"timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.timezone == "Asia/Tokyo" and not person.times_in_utc
    assert "Times in Asia/Tokyo" in client.get(PROFILE).text


def test_the_log_follows_the_profile(admin):
    client = signed_in(admin)
    client.post(PROFILE, {"timezone": "Asia/Tokyo"})
    assert "Times in Asia/Tokyo" in client.get("/orgs/acme/settings/audit-logs/").text
    client.post(PROFILE, {"timezone": "Asia/Tokyo", "times_in_utc": "on"})
    assert "Times in UTC" in client.get("/orgs/acme/settings/audit-logs/").text
    assert "Times in UTC" in client.get("/orgs/acme/settings/api-tokens/").text


def test_an_unknown_zone_is_refused(admin):
    response = signed_in(admin).post(PROFILE, {"timezone": "Mars/Olympus"})
    assert response.status_code == 200 and "Mars/Olympus" in response.text
    admin.refresh_from_db()
    assert admin.timezone == ""


def test_empty_means_the_organizations_zone(admin):
    client = signed_in(admin)
    client.post(PROFILE, {"timezone": ""})
    assert "Times in Europe/Berlin" in client.get("/orgs/acme/settings/audit-logs/").text


def test_anonymous_people_sign_in_first(client):
    assert client.get(PROFILE)["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/profile/times/", {"times": "utc"}).status_code == 302
