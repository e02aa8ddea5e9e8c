"""Shared by the auditlogs tests: an operator for the admin."""

import pytest

from tests.helpers.clients import signed_in
from tests.helpers.factories import UserFactory


@pytest.fixture
def ops(personas):
    return signed_in(UserFactory(email="ops@auditlogs.test", is_staff=True, is_superuser=True))
