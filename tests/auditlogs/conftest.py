"""Shared by the auditlogs tests: synthetic events and an operator for the admin."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import make_user


def generate(org, count, **options) -> str:
    """`generate_audit_events` for `org` (quiet); returns what it printed."""
    out = StringIO()
    call_command(
        "generate_audit_events", org=org.slug, count=count, stdout=out, stderr=StringIO(),
        **{"days": 30, "seed": 1, **options},
    )
    return out.getvalue()


@pytest.fixture
def ops(world):
    return world.client(make_user("ops@auditlogs.test", is_staff=True, is_superuser=True))
