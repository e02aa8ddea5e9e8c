"""Sign-in throttling, by account and by client address, counted in the shared cache.

Failed sign-ins are counted per e-mail address and per client address in fixed windows of
SIGN_IN_WINDOW_SECONDS (config/ratelimit.py), so the counts hold across every process. Once an
account has SIGN_IN_MAX_FAILURES_PER_ACCOUNT failures in the window, or an address
SIGN_IN_MAX_FAILURES_PER_ADDRESS, further sign-ins for it are refused before any password is
checked (even the right one) until the window ends, with `Retry-After`.

An attempt is counted before its password (or two-factor code) is checked, as a failure until
it proves right (`begin_attempt`, then `give_back` when it was right): counted only after the
check, every attempt already in flight would still see the count before it, so parallel
requests got as many guesses as the server runs at once. The first failure of
a window and the lock-out are what the log records (auditlogs/web/sign_in.py): a flood adds at
most two events per account per window, however many attempts it makes.
"""

import hashlib
import ipaddress
from dataclasses import dataclass

from django.conf import settings

from config import ratelimit


@dataclass(frozen=True)
class Lock:
    """Sign-in is refused for this account or address for `retry_after` more seconds."""

    scope: str  # "account" or "address"
    retry_after: int

    @property
    def message(self) -> str:
        minutes = -(-self.retry_after // 60)
        whose = "this account" if self.scope == "account" else "your network address"
        return (
            f"Too many failed sign-ins for {whose}. Sign-in is paused: try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class Failure:
    """What one more failed sign-in made of the window's counts."""

    account_failures: int
    address_failures: int

    @property
    def first_in_window(self) -> bool:
        return self.account_failures == 1

    @property
    def locks_account(self) -> bool:
        return self.account_failures == settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT

    @property
    def locks_address(self) -> bool:
        return self.address_failures == settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS


def _account(email: str) -> str:
    # Hashed: cache keys have a length limit and the address need not sit in the cache.
    return "sign-in-account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def _address(ip: str) -> str:
    # An IPv6 client is usually given a whole /64 and may take any address in it: count the
    # network, or each new address would be a fresh window.
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped is None:
        ip = str(ipaddress.ip_network(f"{address}/64", strict=False))
    elif address.version == 6:
        ip = str(address.ipv4_mapped)
    return f"sign-in-address:{ip}"


def begin_attempt(email: str, ip: str | None) -> Lock | Failure:
    """Count a sign-in attempt for the account and the address before anything is checked:
    the Lock that refuses it, or the window's counts with it (what it is, should it fail).
    Each attempt gets counts of its own (the cache's increment is atomic), so of many at once
    exactly one is the first of the window and one reaches the limit."""
    account, address = _hit(email, ip)
    lock = _refusal(account, address, this_attempt=1)
    if lock is not None:  # refused unchecked: not a failure of the other's either
        give_back(email, ip)
        return lock
    return _failure(account, address)


def give_back(email: str, ip: str | None) -> None:
    """The attempt begun for them was right: it is not a failure after all."""
    window = settings.SIGN_IN_WINDOW_SECONDS
    ratelimit.unhit(_account(email), window)
    if ip is not None:
        ratelimit.unhit(_address(ip), window)


def lock_for(email: str, ip: str | None) -> Lock | None:
    """Whether sign-in is refused for them now, counting nothing (a sign-in made by code,
    without a request, counts its failure afterwards: note_failure)."""
    window = settings.SIGN_IN_WINDOW_SECONDS
    account = ratelimit.peek(_account(email), window)
    address = ratelimit.peek(_address(ip), window) if ip is not None else None
    return _refusal(account, address, this_attempt=0)


def note_failure(email: str, ip: str | None) -> Failure:
    """Count a failure that no begin_attempt counted."""
    return _failure(*_hit(email, ip))


def _hit(email: str, ip: str | None) -> tuple[ratelimit.WindowCount, ratelimit.WindowCount | None]:
    window = settings.SIGN_IN_WINDOW_SECONDS
    account = ratelimit.hit(_account(email), window)
    return account, ratelimit.hit(_address(ip), window) if ip is not None else None


def _refusal(account, address, *, this_attempt: int) -> Lock | None:
    """The Lock when the failures before this attempt (its counts less `this_attempt`, the
    attempt itself when it is counted already) reached a limit; None otherwise."""
    if account.count - this_attempt >= settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT:
        return Lock("account", account.retry_after)
    if address is not None and (
        address.count - this_attempt >= settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS
    ):
        return Lock("address", address.retry_after)
    return None


def _failure(account, address) -> Failure:
    return Failure(account.count, address.count if address is not None else 0)


def note_success(email: str) -> None:
    """A person who proved who they are starts the window again (their address does not)."""
    ratelimit.forget(_account(email), settings.SIGN_IN_WINDOW_SECONDS)


def window_start():
    """The start of the current window, for the security log's one row per window."""
    return ratelimit.window_start(settings.SIGN_IN_WINDOW_SECONDS)
