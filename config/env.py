"""Tiny strict readers for settings that come from the environment."""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(text: str) -> bool | None:
    """Yes or no in the words a boolean setting or parameter takes, in any case (blank is no);
    None for anything else."""
    value = text.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = parse_bool(raw)
    if value is None:
        raise ImproperlyConfigured(
            f"{name} must be a boolean such as 'true' or 'false', not {raw!r}"
        )
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def cache_from_url(url: str, key_prefix: str = "auditlogs") -> dict:
    """Django's CACHES entry for a cache URL. Every process of an installation (web servers,
    workers) must share one cache for rate limits and the like, so the choices are shared ones:

        redis://127.0.0.1:6379/0     Redis (or rediss:// with TLS)
        db://                        a table in the database (`django_cache`, or db://<table>)
        locmem://                    this process only: one-process development and tests

    `key_prefix` keeps installations (or test runs) that share one Redis apart.
    """
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        return {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
        }
    if parts.scheme == "db":
        table = (parts.netloc + parts.path).strip("/") or "django_cache"
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}
    if parts.scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(
        f"CACHE_URL must start with redis://, rediss://, db:// or locmem://, not {url!r}"
    )
