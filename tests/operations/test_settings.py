"""Operations settings: one cache shared by every process (Redis when named, else a table in
the database), and a log format that is checked."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from config.cache import RedisCache
from config.env import cache_from_url
from tests.test_settings_env import run_manage


def test_a_redis_url_selects_redis_with_its_location():
    config = cache_from_url("redis://127.0.0.1:6379/3")
    assert config["BACKEND"] == "config.cache.RedisCache"
    assert config["LOCATION"] == "redis://127.0.0.1:6379/3"


def test_the_redis_cache_makes_one_client_per_connection_pool():
    """Not one per call (nothing is sent here: a client connects on its first command)."""
    redis_cache = RedisCache("redis://127.0.0.1:6379/3", {})
    client = redis_cache._cache.get_client("a")
    assert redis_cache._cache.get_client("b", write=True) is client
    assert client.connection_pool.connection_kwargs["db"] == 3


def test_db_selects_the_database_cache_and_its_table():
    assert cache_from_url("db://") == {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"
    }
    assert cache_from_url("db://shared_cache")["LOCATION"] == "shared_cache"


def test_an_unknown_scheme_is_a_clear_error():
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL must start with"):
        cache_from_url("memcached://127.0.0.1:11211")


def test_without_a_cache_url_the_database_cache_works_after_migrate(db):
    cache.set("greeting", "hello", 30)
    assert cache.get("greeting") == "hello"
    cache.add("counter", 0)
    assert cache.incr("counter") == 1


def test_redis_url_is_read_when_cache_url_is_unset():
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.CACHES['default'])",
        REDIS_URL="redis://127.0.0.1:6379/5", CACHE_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert "RedisCache" in result.stdout and "6379/5" in result.stdout


def test_an_unknown_log_format_is_a_clear_error():
    result = run_manage("check", LOG_FORMAT="xml")
    assert result.returncode != 0 and "LOG_FORMAT must be 'json' or 'text'" in result.stderr
