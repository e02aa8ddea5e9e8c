"""The personas every test meets, as named fixtures:

- Acme (`acme`), an Enterprise organization in Europe/Berlin, with projects `alpha` and `beta`,
  a chatbot `bot` in Alpha, and its `owner`, `admin` and `member` (assigned to Alpha only;
  `member_membership` is that membership);
- Globex (`globex`), a free-plan organization in America/New_York, with `globex_owner` and
  `globex_project`;
- Initech (`initech`), another Enterprise organization, whose owner is Acme's `outsider`, with
  `initech_project`;
- `staff`, support staff of the product.

Asking for any of them sets up the whole cast (the `personas` fixture), in one order, so every
test runs among the same people: "the member does not see Beta" means something only where
Beta exists. Helpers shared by tests live in tests/helpers, never here.
"""

import logging

import pytest
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import Atomic

from auditlogs.models import AuditEvent
from orgs.models import Plan, Role
from tests.helpers.factories import (
    ChatbotFactory,
    MembershipFactory,
    OrganizationFactory,
    ProjectFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def link_in_the_committing_thread(settings):
    """Tests link where they commit: a linker thread's own connection would not see what a
    test's transaction holds. tests/auditlogs/test_background_linker.py turns the thread on."""
    settings.AUDITLOG_LINK_IN_BACKGROUND = False


@pytest.fixture(autouse=True)
def commit_hooks_as_in_autocommit(monkeypatch):
    """Run `transaction.on_commit` hooks where a real deployment would, inside the test's own
    transaction.

    pytest-django wraps each test in atomic blocks of its own (Django marks them
    `_from_testcase`) and rolls them back, so nothing the code does ever commits and its
    on_commit hooks never run. The code relies on them: record() inserts an event unlinked and
    the sequencer links it after commit (auditlogs/recording/sequencer.py). Here the test's
    blocks stand for autocommit: a hook registered while only they are open runs at once (as
    Django does outside a transaction), and a hook registered inside the code's own outermost
    `atomic()` runs when that block exits successfully, and is dropped when it rolls back (as
    Django already drops a rolled-back savepoint's hooks). Tests that need real commits (locks
    held by other connections, threads, processes) use `transaction=True`, where Django's own
    rules apply unchanged."""
    original_on_commit = BaseDatabaseWrapper.on_commit
    original_enter, original_exit = Atomic.__enter__, Atomic.__exit__

    def only_test_blocks(connection) -> bool:
        blocks = connection.atomic_blocks
        return connection.in_atomic_block and bool(blocks) and all(
            block._from_testcase for block in blocks
        )

    def on_commit(self, func, robust=False):
        if not only_test_blocks(self):
            return original_on_commit(self, func, robust)
        return _run_hook(func, robust)

    def enter(self):
        connection = transaction.get_connection(self.using)
        outermost = not self._from_testcase and only_test_blocks(connection)
        original_enter(self)
        if outermost:  # the hooks it will hold are the ones not there yet
            connection.hooks_before_code_block = {
                id(entry): entry for entry in connection.run_on_commit
            }

    def exit(self, exc_type, exc_value, traceback):
        connection = transaction.get_connection(self.using)
        blocks = connection.atomic_blocks
        outermost = (
            len(blocks) > 1 and blocks[-1] is self and not self._from_testcase
            and all(block._from_testcase for block in blocks[:-1])
        )
        if not outermost:
            return original_exit(self, exc_type, exc_value, traceback)
        before = connection.__dict__.pop("hooks_before_code_block", {})
        commits = exc_type is None and not connection.needs_rollback
        try:
            original_exit(self, exc_type, exc_value, traceback)
        except BaseException:
            commits = False
            raise
        finally:
            registered = [entry for entry in connection.run_on_commit if id(entry) not in before]
            connection.run_on_commit = [
                entry for entry in connection.run_on_commit if id(entry) in before
            ]
        if commits:
            for _, func, robust in registered:
                _run_hook(func, robust)
        return False

    monkeypatch.setattr(BaseDatabaseWrapper, "on_commit", on_commit)
    monkeypatch.setattr(Atomic, "__enter__", enter)
    monkeypatch.setattr(Atomic, "__exit__", exit)


def _run_hook(func, robust: bool) -> None:
    if not robust:
        func()
        return
    try:
        func()
    except Exception as error:  # as Django logs a robust hook's failure
        logging.getLogger("django.db.backends.base").error(
            "Error calling %s in on_commit() (%s).", func, error, exc_info=True
        )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def personas(db) -> dict:
    """The whole cast, by fixture name (see the module docstring)."""
    acme = OrganizationFactory(slug="acme")
    alpha = ProjectFactory(organization=acme, name="Alpha")
    beta = ProjectFactory(organization=acme, name="Beta")
    bot = ChatbotFactory(project=alpha, name="Helper", api_key="sk-secret-123")
    owner = UserFactory(email="owner@acme.test")
    admin = UserFactory(email="admin@acme.test")
    member = UserFactory(email="member@acme.test")
    MembershipFactory(organization=acme, user=owner, role=Role.OWNER)
    MembershipFactory(organization=acme, user=admin, role=Role.ADMIN)
    member_membership = MembershipFactory(organization=acme, user=member, projects=[alpha])

    globex = OrganizationFactory(slug="globex", plan=Plan.FREE, timezone="America/New_York")
    globex_owner = UserFactory(email="owner@globex.test")
    MembershipFactory(organization=globex, user=globex_owner, role=Role.OWNER)
    globex_project = ProjectFactory(organization=globex, name="Gadget")

    initech = OrganizationFactory(slug="initech")
    outsider = UserFactory(email="outsider@initech.test")
    MembershipFactory(organization=initech, user=outsider, role=Role.OWNER)
    initech_project = ProjectFactory(organization=initech, name="Tps")

    staff = UserFactory(email="support@auditlogs.test", is_staff=True)
    return {
        "acme": acme, "alpha": alpha, "beta": beta, "bot": bot,
        "owner": owner, "admin": admin, "member": member, "member_membership": member_membership,
        "globex": globex, "globex_owner": globex_owner, "globex_project": globex_project,
        "initech": initech, "outsider": outsider, "initech_project": initech_project,
        "staff": staff,
    }


@pytest.fixture
def acme(personas):
    """The Enterprise organization most tests act in."""
    return personas["acme"]


@pytest.fixture
def alpha(personas):
    """Acme's project Alpha, the member's project."""
    return personas["alpha"]


@pytest.fixture
def beta(personas):
    """Acme's project Beta, not assigned to the member."""
    return personas["beta"]


@pytest.fixture
def bot(personas):
    """The chatbot "Helper" in Alpha, with an API key that must never show."""
    return personas["bot"]


@pytest.fixture
def owner(personas):
    return personas["owner"]


@pytest.fixture
def admin(personas):
    return personas["admin"]


@pytest.fixture
def member(personas):
    """Acme's member, assigned to Alpha."""
    return personas["member"]


@pytest.fixture
def member_membership(personas):
    return personas["member_membership"]


@pytest.fixture
def globex(personas):
    """A free-plan organization (no Audit Logs) in America/New_York."""
    return personas["globex"]


@pytest.fixture
def globex_owner(personas):
    return personas["globex_owner"]


@pytest.fixture
def globex_project(personas):
    return personas["globex_project"]


@pytest.fixture
def initech(personas):
    """Another Enterprise organization, the outsider's."""
    return personas["initech"]


@pytest.fixture
def outsider(personas):
    """Initech's owner: no member of Acme."""
    return personas["outsider"]


@pytest.fixture
def initech_project(personas):
    return personas["initech_project"]


@pytest.fixture
def staff(personas):
    """Support staff of the product (is_staff), member of no organization."""
    return personas["staff"]


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
