import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from auditlogs.models import AuditEvent, Checkpoint
from auditlogs.recording.catalogue import Severity
from auditlogs.storage import partitions
from orgs.models import Membership, Organization, Plan, Role, User
from projects.models import Chatbot, Project


def snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "is_staff", "is_superuser")),
        "orgs": sorted(Organization.objects.values_list("slug", "plan", "timezone")),
        "memberships": sorted(
            Membership.objects.values_list("organization__slug", "user__email", "role")
        ),
        "projects": sorted(Project.objects.values_list("organization__slug", "slug")),
        "chatbots": Chatbot.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def test_seed_demo_creates_the_demo_and_a_second_run_changes_nothing(db, capsys):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    out = capsys.readouterr().out
    assert "admin@acme.test" in out and "auditlogs-demo" in out

    assert first["orgs"] == [("acme", "enterprise", "Europe/Berlin"),
                             ("globex", "free", "America/New_York")]
    assert ("acme", "member@acme.test", "member") in first["memberships"]
    assert User.objects.get(email="ops@auditlogs.test").is_superuser
    assert User.objects.get(email="support@auditlogs.test").is_staff
    assert User.objects.get(email="admin@acme.test").check_password("auditlogs-demo")
    member = Membership.objects.get(user__email="member@acme.test")
    assert [p.name for p in member.projects.all()] == ["Customer Support"]

    acme = AuditEvent.objects.filter(organization__slug="acme")
    assert 1900 <= acme.count() <= 2300
    assert acme.filter(severity=Severity.CRITICAL).exists()
    deleted = acme.get(action="project.deleted")
    assert not Project.objects.filter(pk=deleted.project_id).exists()
    assert acme.filter(project_id=deleted.project_id).count() > 5
    assert "sk-demo" not in str(list(acme.values_list("changes", flat=True)))
    # The demo log is vouched for, so the page shows "Verified through event #N".
    assert Checkpoint.objects.filter(organization__slug="acme").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="month partitions are PostgreSQL's")
def test_seed_demo_history_lands_in_month_partitions_not_the_default(db):
    call_command("seed_demo")
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partitions.DEFAULT_PARTITION}"')
        (in_default,) = cursor.fetchone()
    oldest = AuditEvent.objects.order_by("occurred_at").first().occurred_at
    assert in_default == 0
    assert partitions.month_start(oldest) in partitions.month_partitions()


def test_the_demo_people_sign_in_with_their_password_alone(db, client):
    from orgs import two_factor

    call_command("seed_demo")
    owner = User.objects.get(email="owner@acme.test")
    two_factor.enable(owner, two_factor.pending_device(owner), "not checked")  # refused
    Organization.objects.filter(slug="acme").update(requires_two_factor=True)
    call_command("seed_demo")
    assert not Organization.objects.get(slug="acme").requires_two_factor
    response = client.post("/accounts/login/",
                           {"username": "owner@acme.test", "password": "auditlogs-demo"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/orgs/acme/").status_code == 200



def test_seed_demo_refuses_a_customer_named_like_the_demo(db):
    """A real database: seed_demo would make a superuser with a public password there and turn
    an `acme` customer's two-factor requirement off."""
    customer = Organization.objects.create(
        slug="acme", name="Acme Corporation", plan=Plan.ENTERPRISE, requires_two_factor=True
    )
    owner = User.objects.create_user(email="cto@acme-corp.example", password="long-and-secret")
    Membership.objects.create(user=owner, organization=customer, role=Role.OWNER)
    with pytest.raises(CommandError, match="holds 1 person besides the demo's") as refused:
        call_command("seed_demo")
    assert refused.value.returncode == 1
    customer.refresh_from_db()
    assert customer.requires_two_factor and customer.name == "Acme Corporation"
    assert list(User.objects.values_list("email", "is_superuser")) == [
        ("cto@acme-corp.example", False)
    ]


def test_seed_demo_refuses_a_database_with_another_organization(db):
    Organization.objects.create(slug="initech", name="Initech", plan=Plan.ENTERPRISE)
    with pytest.raises(CommandError, match="holds 1 organization besides the demo's"):
        call_command("seed_demo")
    assert not User.objects.exists() and not AuditEvent.objects.exists()
