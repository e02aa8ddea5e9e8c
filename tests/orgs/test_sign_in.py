"""Sign-in by e-mail, sign-out, and the events they leave in each of the person's organizations."""

from auditlogs.recording.catalogue import Severity
from tests.helpers.factories import PASSWORD, MembershipFactory, UserFactory


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_it_signs_in_by_email_in_any_case_and_records_it_in_each_organization(
    globex, admin, acme, events, client
):
    MembershipFactory(organization=globex, user=admin)
    response = sign_in(client, "Admin@ACME.test")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").url == "/orgs/acme/"
    for org in (acme, globex):
        (event,) = events(org, action="user.logged_in")
        assert event.actor_label == "admin@acme.test" and event.actor_id == admin.pk
        assert event.severity == Severity.INFO
        assert event.ip == "127.0.0.1" and event.request_id


def test_a_wrong_password_is_refused_and_recorded_as_a_warning(acme, events, client):
    response = sign_in(client, "admin@acme.test", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct email and password" in response.text
    (event,) = events(acme, action="user.login_failed")
    assert event.severity == Severity.WARNING
    assert event.actor_id is None and event.actor_label == "admin@acme.test"
    assert "wrong" not in str(event.metadata) and "password" not in str(event.metadata)


def test_an_unknown_address_is_refused_and_recorded_nowhere(personas, events, client):
    response = sign_in(client, "nobody@acme.test")
    assert response.status_code == 200
    assert events(action="user.login_failed") == []


def test_sign_out_is_recorded(acme, events, client):
    sign_in(client, "member@acme.test")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    (event,) = events(acme, action="user.logged_out")
    assert event.actor_label == "member@acme.test"
    assert client.get("/orgs/acme/").status_code == 302


def test_hostile_sign_in_input_is_a_form_error(personas, events, client):
    for email in ["", "<script>alert(1)</script>", "a" * 5000]:
        response = sign_in(client, email, "")
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.text
    assert events(action="user.logged_in") == []


def test_a_person_without_organization_is_told_so(db, client):
    UserFactory(email="lonely@example.test")
    sign_in(client, "lonely@example.test")
    response = client.get("/")
    assert response.status_code == 200 and "not in an organization yet" in response.text
