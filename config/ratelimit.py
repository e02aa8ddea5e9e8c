"""Counters in fixed time windows, kept in the shared cache so that every process of an
installation (each web server worker) counts together: the API's per-token limit and the
sign-in throttle both count here. With Redis, `add` and `incr` are atomic across processes."""

import contextlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache


@dataclass(frozen=True)
class WindowCount:
    count: int
    retry_after: int  # seconds until this window ends and the count starts again

    def over(self, limit: int) -> bool:
        return self.count > limit


def _window(name: str, window: int) -> tuple[str, int]:
    now = time.time()
    start = int(now // window) * window
    return f"limits:{name}:{start}", max(1, math.ceil(start + window - now))


def window_start(window: int) -> datetime:
    """When the current window of `window` seconds began."""
    return datetime.fromtimestamp(int(time.time() // window) * window, tz=UTC)


def hit(name: str, window: int) -> WindowCount:
    """Count one more in `name`'s current window of `window` seconds."""
    key, retry_after = _window(name, window)
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return WindowCount(count, retry_after)


def unhit(name: str, window: int) -> None:
    """Take back one `hit` of the current window (none when the window has ended meanwhile)."""
    with contextlib.suppress(ValueError):  # expired, or the window turned: nothing to take back
        cache.decr(_window(name, window)[0])


def peek(name: str, window: int) -> WindowCount:
    """The current window's count, without adding to it."""
    key, retry_after = _window(name, window)
    return WindowCount(cache.get(key, 0), retry_after)


def forget(name: str, window: int) -> None:
    cache.delete(_window(name, window)[0])
