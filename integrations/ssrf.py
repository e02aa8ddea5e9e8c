"""Server-side request forgery guard for webhook destinations.

A destination must be an https URL whose host resolves only to public addresses. The check
runs when the destination is saved and again before every delivery, after DNS resolution; the
connection then goes to the very address that was checked (no second lookup an attacker could
answer differently). `AUDITLOG_WEBHOOK_ALLOW_LOOPBACK` additionally allows http and loopback
receivers, for tests and local development only.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from auditlogs.conf import app_settings

INVALID_URL = "Enter a valid URL such as https://siem.example.com/hook."
PRIVATE_OR_RESERVED = "a private or reserved address, not one on the public internet"


class UnsafeDestination(ValueError):
    """The URL may not receive events; the message says why, for the admin."""


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL, or UnsafeDestination. No DNS."""
    allow_loopback = app_settings.WEBHOOK_ALLOW_LOOPBACK
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeDestination(INVALID_URL) from None
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeDestination("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeDestination(INVALID_URL)
    if parts.username or parts.password:
        raise UnsafeDestination("Put credentials in the secret, not in the URL.")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def safe_address(host: str, port: int) -> str:
    """One checked address of the host to connect to, or UnsafeDestination."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as error:
        raise UnsafeDestination(f"The host {host} could not be resolved ({error}).") from None
    if not addresses:
        raise UnsafeDestination(f"The host {host} could not be resolved.")
    if not all(map(_is_allowed, addresses)):
        # Which internal address it was is not the admin's business (nor an attacker's).
        raise UnsafeDestination(f"{host} resolves to {PRIVATE_OR_RESERVED}.")
    return addresses[0]


def validate(url: str) -> None:
    """The save-time check: the form shows the message."""
    _, host, port, _ = check_url(url)
    safe_address(host, port)


def _is_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return app_settings.WEBHOOK_ALLOW_LOOPBACK
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
