from tests.integrations.conftest import receiver  # noqa: F401  (a real webhook receiver)
