"""Personas shared by every test: an Enterprise organization (Acme) with an owner, an admin
and a member assigned to one of two projects; a free-plan organization (Globex); an outsider
who belongs to another Enterprise organization; and support staff."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.signals import user_logged_in
from django.test import Client

from auditlogs.models import AuditEvent
from auditlogs.web.sign_in import on_logged_in
from orgs.models import Membership, Organization, Plan, Role, User
from projects.models import Chatbot, Project

PASSWORD = "correct-horse-battery"


def make_user(email: str, **extra) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, **extra)


def make_org(slug: str, plan=Plan.ENTERPRISE, timezone="Europe/Berlin") -> Organization:
    return Organization.objects.create(
        name=slug.title(), slug=slug, plan=plan, timezone=timezone
    )


def add_member(org, user, role=Role.MEMBER, projects=()) -> Membership:
    membership = Membership.objects.create(organization=org, user=user, role=role)
    membership.projects.set(projects)
    return membership


def make_project(org, name: str) -> Project:
    return Project.objects.create(organization=org, name=name, slug=Project.unique_slug(org, name))


@dataclass
class World:
    acme: Organization
    alpha: Project
    beta: Project
    bot: Chatbot
    owner: User
    admin: User
    member: User
    member_membership: Membership
    globex: Organization
    globex_owner: User
    globex_project: Project
    initech: Organization
    outsider: User
    initech_project: Project
    staff: User

    def client(self, user) -> Client:
        """A client signed in as `user`, without recording the sign-in, so tests see only
        the events of what they do."""
        client = Client()
        if user is not None:
            user_logged_in.disconnect(on_logged_in)
            try:
                client.force_login(user)
            finally:
                user_logged_in.connect(on_logged_in)
        return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db) -> World:
    acme = make_org("acme")
    alpha, beta = make_project(acme, "Alpha"), make_project(acme, "Beta")
    bot = Chatbot.objects.create(project=alpha, name="Helper", api_key="sk-secret-123")
    owner, admin, member = (
        make_user("owner@acme.test"), make_user("admin@acme.test"), make_user("member@acme.test")
    )
    add_member(acme, owner, Role.OWNER)
    add_member(acme, admin, Role.ADMIN)
    member_membership = add_member(acme, member, Role.MEMBER, [alpha])

    globex = make_org("globex", plan=Plan.FREE, timezone="America/New_York")
    globex_owner = make_user("owner@globex.test")
    add_member(globex, globex_owner, Role.OWNER)
    globex_project = make_project(globex, "Gadget")

    initech = make_org("initech")
    outsider = make_user("outsider@initech.test")
    add_member(initech, outsider, Role.OWNER)
    initech_project = make_project(initech, "Tps")

    staff = make_user("support@auditlogs.test", is_staff=True)
    return World(
        acme, alpha, beta, bot, owner, admin, member, member_membership,
        globex, globex_owner, globex_project, initech, outsider, initech_project, staff,
    )


@pytest.fixture
def events(db):
    """Read the events recorded by the test, newest last."""

    def read(organization=None, **filters):
        queryset = AuditEvent.objects.order_by("organization_id", "sequence")
        if organization is not None:
            queryset = queryset.filter(organization=organization)
        return list(queryset.filter(**filters))

    return read


@pytest.fixture(scope="session", autouse=True)
def record_database_vendor(record_testsuite_property, django_db_blocker):
    """Name the database in the JUnit report, so CI can check the PostgreSQL run was real."""
    from django.db import connection

    record_testsuite_property("database-vendor", connection.vendor)
