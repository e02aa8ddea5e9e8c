import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_sign_in_counts(db):
    """Sign-in throttling counts in the shared cache; each test starts from none."""
    cache.clear()
    yield
    cache.clear()
