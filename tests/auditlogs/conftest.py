"""Shared by the auditlogs tests: an operator for the admin."""

import pytest

from tests.helpers.clients import signed_in
from tests.helpers.factories import UserFactory


@pytest.fixture
def ops(personas):
    return signed_in(UserFactory(email="ops@auditlogs.test", is_staff=True, is_superuser=True))


def verify_in_windows(settings, *, window: int, workers: int = 1) -> None:
    """Every verification from now on walks windows of `window` events and joins them, in this
    process (workers=1: it sees the test's transaction) or in worker processes."""
    settings.AUDITLOG_VERIFY_PARALLEL_FROM = 1
    settings.AUDITLOG_VERIFY_WINDOW = window
    settings.AUDITLOG_VERIFY_WORKERS = workers


@pytest.fixture(params=["one batch after the other", "in windows"])
def verifier(request, settings):
    """Runs a test with each way the verifier walks a chain; a tamper test must pass in both."""
    if request.param == "in windows":
        verify_in_windows(settings, window=3)
    return request.param
