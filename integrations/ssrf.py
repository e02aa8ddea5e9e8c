"""Server-side request forgery guard for webhook destinations.

A destination must be an https URL whose host resolves only to public addresses. The check
runs when the destination is saved and again before every delivery, after DNS resolution; the
connection then goes to the very address that was checked (no second lookup an attacker could
answer differently). `AUDITLOG_WEBHOOK_ALLOW_LOOPBACK` additionally allows http and loopback
receivers, for tests and local development only.
"""

import ipaddress
import re
import socket
from urllib.parse import quote, urlsplit, urlunsplit

from auditlogs.conf import app_settings

INVALID_URL = "Enter a valid URL such as https://siem.example.com/hook."
PRIVATE_OR_RESERVED = "a private or reserved address, not one on the public internet"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class UnsafeDestination(ValueError):
    """The URL may not receive events; the message says why, for the admin."""


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def normalise(url: str) -> str:
    """The one form of a destination URL, stored at save and sent at delivery, or
    UnsafeDestination: the host in lower-case ASCII (an international name as punycode),
    the path and query percent-encoded where an HTTP request line could not carry them
    (spaces, non-ASCII, a stray %), no fragment. Control characters and credentials are
    refused rather than encoded: they are never what an admin meant."""
    url = url.strip()
    if _CONTROL.search(url):
        raise UnsafeDestination("The URL must not contain line breaks, tabs or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination(INVALID_URL) from None
    schemes = ("https", "http") if app_settings.WEBHOOK_ALLOW_LOOPBACK else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeDestination("The URL must start with https://.")
    if "@" in parts.netloc:
        raise UnsafeDestination("Put credentials in the secret, not in the URL.")
    host = _ascii_host(parts.hostname or "")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit(
        (parts.scheme, netloc, _encoded(parts.path or "/"), _encoded(parts.query), "")
    )


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL, or UnsafeDestination. No DNS."""
    parts = urlsplit(normalise(url))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _ascii_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeDestination(INVALID_URL) from None
    if not _HOST_NAME.fullmatch(ascii_host):
        raise UnsafeDestination(INVALID_URL)
    return ascii_host


def _encoded(text: str) -> str:
    text = _STRAY_PERCENT.sub("%25", text)
    return quote(text, safe="/?:@!$&'()*+,;=-._~%[]")


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


def validate(url: str) -> str:
    """The save-time check (the form shows the message); the URL to store."""
    _, host, port, _ = check_url(url)
    safe_address(host, port)
    return normalise(url)


# Ranges Python's `is_global` lets through (3.11) that no receiver needs: 6to4 (2002::/16) and
# Teredo (2001::/32) wrap an IPv4 address, private ones included (2002:a9fe:a9fe:: is
# 169.254.169.254), and site-local fec0::/10 and the 6to4 relays' 192.88.99.0/24 are retired.
_RETIRED_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    "2002::/16", "2001::/32", "fec0::/10", "192.88.99.0/24",
))


def _is_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return app_settings.WEBHOOK_ALLOW_LOOPBACK
    if any(ip in network for network in _RETIRED_NETWORKS):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
