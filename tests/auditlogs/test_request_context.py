"""The recorded client address and request id cannot be chosen by the client."""

import pytest
from django.test import RequestFactory

from auditlogs.recording.context import client_ip, context_from_request

SPOOFED = "6.6.6.6"


def request(remote="198.51.100.7", forwarded=None, request_id=None):
    headers = {}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)


def test_it_uses_the_connection_address_when_no_proxy_is_trusted(settings):
    assert client_ip(request(forwarded=SPOOFED)) == "198.51.100.7"


def test_it_takes_the_entry_our_proxy_appended_not_the_leftmost(settings):
    settings.AUDITLOG_TRUSTED_PROXY_COUNT = 1
    # The client wrote the first entry; our proxy appended the address it saw.
    assert client_ip(request("10.0.0.2", f"{SPOOFED}, 203.0.113.9")) == "203.0.113.9"


def test_it_counts_back_over_two_proxies(settings):
    settings.AUDITLOG_TRUSTED_PROXY_COUNT = 2
    assert client_ip(request("10.0.0.3", f"{SPOOFED}, 203.0.113.9, 10.0.0.2")) == "203.0.113.9"


def test_it_falls_back_to_the_connection_when_the_header_is_short(settings):
    settings.AUDITLOG_TRUSTED_PROXY_COUNT = 2
    assert client_ip(request("10.0.0.3", "203.0.113.9")) == "10.0.0.3"


def test_it_skips_trusted_networks_from_the_right(settings):
    settings.AUDITLOG_TRUSTED_PROXIES = ["10.0.0.0/8"]
    forwarded = f"{SPOOFED}, 203.0.113.9, 10.1.2.3"
    assert client_ip(request("10.0.0.2", forwarded)) == "203.0.113.9"


def test_it_ignores_the_header_from_a_peer_outside_the_trusted_networks(settings):
    settings.AUDITLOG_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request("203.0.113.50", SPOOFED)) == "203.0.113.50"


def test_it_ignores_garbage_entries(settings):
    settings.AUDITLOG_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request("10.0.0.2", "203.0.113.9, not-an-address")) == "203.0.113.9"


@pytest.mark.parametrize(
    "incoming", ["short", "x" * 65, "abc def 1234567890", "../../etc/passwd/xxxxxx", "é" * 20]
)
def test_it_replaces_an_odd_request_id(settings, incoming):
    settings.AUDITLOG_TRUSTED_PROXY_COUNT = 1
    assert context_from_request(request(request_id=incoming)).request_id != incoming


def test_it_keeps_a_sane_request_id_from_our_proxy(settings):
    settings.AUDITLOG_TRUSTED_PROXY_COUNT = 1
    incoming = "3f2c9a1e-7b4d-4e8a-9c1f-0a2b3c4d5e6f"
    assert context_from_request(request(request_id=incoming)).request_id == incoming


def test_it_never_takes_a_request_id_from_the_client_itself():
    incoming = "3f2c9a1e7b4d4e8a9c1f0a2b3c4d5e6f"
    assert context_from_request(request(request_id=incoming)).request_id != incoming


def test_the_middleware_echoes_the_id_it_recorded(client, db):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="client-chosen-id-123456")
    assert response["X-Request-ID"] != "client-chosen-id-123456"
    assert len(response["X-Request-ID"]) == 32
