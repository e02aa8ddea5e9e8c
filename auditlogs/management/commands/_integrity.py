"""Helpers shared by the integrity commands (a leading underscore: not a command itself)."""

import sys
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from auditlogs.integrity import signing
from orgs.models import Organization


def require_signing_key() -> None:
    """Commands that sign stop at once, with the reason, where no private key is configured."""
    try:
        signing.signing_key()
    except ImproperlyConfigured as error:
        raise CommandError(str(error), returncode=1) from None


def organizations(slug: str | None):
    """The organization named by --org, or every organization, in id order."""
    if slug:
        found = list(Organization.objects.filter(slug=slug))
        if not found:
            raise CommandError(f"No organization with the slug {slug!r}.")
        return found
    return Organization.objects.order_by("id").iterator()


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most five times a second."""

    def __init__(self, label: str, stream=None, enabled: bool = True):
        self.label, self.stream, self.enabled = label, stream or sys.stderr, enabled
        self.started = self.drawn = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.drawn < 0.2:
            return
        self.drawn = now
        rate = done / max(now - self.started, 1e-9)
        share = min(done / total, 1.0) if total else 1.0
        bar = "#" * int(share * 30)
        self.stream.write(
            f"\r{self.label} [{bar:<30}] {share:6.1%} {done:,}/{total:,} events {rate:,.0f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.drawn != self.started:
            self.stream.write("\n")
            self.stream.flush()
