"""Sign-in by e-mail, sign-out, and the events they leave in each of the person's organizations."""

from django.conf import settings
from django.test import Client

from auditlogs.recording.catalogue import Severity
from orgs.models import SecurityLogEntry, User
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
    # Nobody proved who they are: the log does not show the person as the actor.
    assert event.actor_id is None and event.actor_label == "unknown (tried admin@acme.test)"
    assert event.metadata["failures"] == 1
    assert "wrong" not in str(event.metadata) and "password" not in str(event.metadata)


def test_an_unknown_address_goes_to_the_operators_security_log(personas, events, client):
    for _ in range(3):
        assert sign_in(client, "nobody@acme.test").status_code == 200
    assert events(action="user.login_failed") == []
    (entry,) = SecurityLogEntry.objects.all()
    assert (entry.kind, entry.attempted_email, entry.attempts) == (
        "sign_in_failed", "nobody@acme.test", 3)
    assert entry.ip == "127.0.0.1"


def test_a_person_in_no_organization_goes_to_the_security_log(db, events, client):
    UserFactory(email="lonely@example.test")
    sign_in(client, "lonely@example.test", "wrong")
    assert SecurityLogEntry.objects.get().attempted_email == "lonely@example.test"
    assert events() == []


def test_thirty_wrong_passwords_add_two_events_then_a_clear_refusal(acme, events, client):
    statuses = [sign_in(client, "owner@acme.test", f"guess-{n}").status_code for n in range(30)]
    limit = settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT
    assert statuses == [200] * limit + [429] * (30 - limit)
    failed, locked = events(acme)
    assert (failed.action, failed.metadata["failures"]) == ("user.login_failed", 1)
    assert (locked.action, locked.severity) == ("user.login_locked", Severity.WARNING)
    assert locked.metadata["failures"] == limit
    assert locked.actor_label == "unknown (tried owner@acme.test)" and locked.actor_id is None
    # Even the right password waits for the window to end.
    refused = sign_in(client, "owner@acme.test")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.SIGN_IN_WINDOW_SECONDS
    assert "Too many failed sign-ins for this account" in refused.text
    assert "try again in" in refused.text
    assert len(events(acme)) == 2


def test_one_address_trying_many_accounts_is_stopped(acme, events, client, settings):
    settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS = 4
    for n in range(4):
        assert sign_in(client, f"person{n}@example.test").status_code == 200
    refused = sign_in(client, "member@acme.test")
    assert refused.status_code == 429 and "your network address" in refused.text
    assert refused["Retry-After"]
    assert SecurityLogEntry.objects.filter(kind="address_locked", ip="127.0.0.1").exists()
    assert events(acme) == []


def test_a_successful_sign_in_starts_the_account_window_again(acme, events, client):
    for _ in range(settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT - 1):
        sign_in(client, "admin@acme.test", "wrong")
    assert sign_in(client, "admin@acme.test").status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT - 1):
        assert sign_in(client, "admin@acme.test", "wrong").status_code == 200
    assert events(acme, action="user.login_locked") == []


def test_the_admin_sign_in_page_is_the_product_sign_in(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_operators_read_the_security_log_in_the_admin(personas, client):
    sign_in(client, "nobody@acme.test")
    ops = UserFactory(email="ops@auditlogs.test", is_staff=True, is_superuser=True)
    client.force_login(ops)
    response = client.get("/admin/orgs/securitylogentry/")
    assert response.status_code == 200 and "nobody@acme.test" in response.text


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


def test_a_look_alike_address_is_not_the_account_and_not_a_way_around_its_lock(
    acme, admin, events, client
):
    """PostgreSQL's case-insensitive match takes "admın" (dotless i) for "admin": a fresh
    window for the look-alike must not be a way to go on guessing the admin's password."""
    look_alike = "admın@acme.test"
    limit = settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT
    for n in range(limit):
        sign_in(client, "admin@acme.test", f"guess-{n}")
    response = sign_in(client, look_alike)
    assert response.status_code != 302 and "_auth_user_id" not in client.session
    assert events(acme, action="user.logged_in") == []


def test_an_ipv6_client_cannot_step_around_the_address_limit_within_its_network(
    acme, client, settings
):
    """An IPv6 client holds a whole /64: each address in it is the same client."""
    settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS = 4
    for n in range(4):
        client.post("/accounts/login/", {"username": f"person{n}@example.test",
                                         "password": "x"}, REMOTE_ADDR=f"2001:db8:1:2::{n + 1}")
    refused = client.post("/accounts/login/", {"username": "member@acme.test",
                                               "password": PASSWORD},
                          REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert refused.status_code == 429 and "your network address" in refused.text
    elsewhere = client.post("/accounts/login/", {"username": "member@acme.test",
                                                 "password": PASSWORD},
                            REMOTE_ADDR="2001:db8:1:3::1")
    assert elsewhere.status_code == 302


def test_sign_ins_made_at_the_same_time_get_no_more_guesses_than_one_after_the_other(
    acme, events, client, monkeypatch
):
    """Twenty wrong passwords sent at once: each attempt's password is checked while the others
    are in flight (here: the others are sent from inside the first's check). Counted only
    after the check, every one of them saw a count of 0 and had its password checked."""
    limit = settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT
    checked = []
    real_check = User.check_password

    def check_while_the_others_arrive(user, password):
        checked.append(password)
        if len(checked) == 1:
            statuses.extend(sign_in(Client(), "admin@acme.test", f"guess {n}").status_code
                            for n in range(2, 21))
        return real_check(user, password)

    statuses = []
    monkeypatch.setattr(User, "check_password", check_while_the_others_arrive)
    statuses.append(sign_in(client, "admin@acme.test", "guess 1").status_code)
    assert len(checked) == limit
    assert statuses.count(429) == 20 - limit
    assert len(events(acme, action="user.login_failed")) == 1
    assert len(events(acme, action="user.login_locked")) == 1


def test_a_right_password_is_not_counted_as_a_failure(acme, client, settings):
    settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS = 3
    for _ in range(5):
        assert sign_in(Client(), "admin@acme.test").status_code == 302
    assert sign_in(client, "member@acme.test", "wrong").status_code == 200  # not 429
