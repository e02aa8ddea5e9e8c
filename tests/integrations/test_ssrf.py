"""Destination URLs: https on the public internet only, checked at save and at delivery."""

import pytest
from django.urls import reverse

from integrations import ssrf
from integrations.forms import DestinationForm
from integrations.models import Destination
from tests.helpers.clients import signed_in

PRIVATE = ssrf.PRIVATE_OR_RESERVED


def form_errors(url):
    form = DestinationForm({"name": "SIEM", "url": url})
    return form.errors.get("url", [])


@pytest.fixture
def dns(monkeypatch):
    answers = {"siem.example.com": ["93.184.215.14"], "localhost": ["127.0.0.1", "::1"],
               "rebind.example.com": ["93.184.215.14", "192.168.0.10"],
               "metadata.example.com": ["169.254.169.254"]}

    def resolve(host, port):
        if host in answers:
            return answers[host]
        return [host.strip("[]")]  # a literal address resolves to itself

    monkeypatch.setattr(ssrf, "resolve", resolve)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://siem.example.com/hook", "must start with https://"),
        ("ftp://siem.example.com/", "must start with https://"),
        ("siem.example.com/hook", "must start with https://"),
        ("https://", "Enter a valid URL"),
        ("https://user:pw@siem.example.com/", "credentials"),
        ("https://siem.example.com:99999/", "Enter a valid URL"),
        ("https://127.0.0.1/", PRIVATE),
        ("https://localhost:8443/", PRIVATE),
        ("https://[::1]/", PRIVATE),
        ("https://10.1.2.3/", PRIVATE),
        ("https://172.16.0.1/", PRIVATE),
        ("https://192.168.1.1/", PRIVATE),
        ("https://169.254.169.254/latest/meta-data", PRIVATE),
        ("https://metadata.example.com/", PRIVATE),
        ("https://[fe80::1]/", PRIVATE),
        ("https://[::ffff:10.0.0.1]/", PRIVATE),
        ("https://0.0.0.0/", PRIVATE),
        ("https://100.64.0.1/", PRIVATE),
        ("https://240.0.0.1/", PRIVATE),
        ("https://224.0.0.1/", PRIVATE),
        ("https://rebind.example.com/", PRIVATE),
        ("https://[2002:a9fe:a9fe::1]/", PRIVATE),  # 6to4 around 169.254.169.254
        ("https://[2002:7f00:1::1]/", PRIVATE),  # 6to4 around 127.0.0.1
        ("https://[2001:0:a00:1::1]/", PRIVATE),  # Teredo
        ("https://[fec0::1]/", PRIVATE),  # site-local, retired
        ("https://192.88.99.1/", PRIVATE),  # the 6to4 relays' anycast, retired
    ],
)
def test_unsafe_urls_are_refused_when_saved(dns, url, reason):
    (error,) = form_errors(url)
    assert reason in error


def test_the_refusal_does_not_say_which_internal_address_the_host_has(dns):
    (error,) = form_errors("https://rebind.example.com/")
    assert error == f"rebind.example.com resolves to {PRIVATE}."
    assert "192.168" not in error


def test_a_public_https_url_is_accepted(dns):
    assert form_errors("https://siem.example.com/hook?source=acme") == []


def test_unresolvable_hosts_are_refused(monkeypatch):
    def fail(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(ssrf, "resolve", fail)
    (error,) = form_errors("https://nowhere.invalid/")
    assert "could not be resolved" in error


def test_the_loopback_setting_allows_http_and_loopback_only(dns, settings):
    settings.AUDITLOG_WEBHOOK_ALLOW_LOOPBACK = True
    assert form_errors("http://127.0.0.1:8080/hook") == []
    assert form_errors("http://localhost:8080/hook") == []
    assert PRIVATE in form_errors("http://10.0.0.1/")[0]
    assert PRIVATE in form_errors("https://169.254.169.254/")[0]


def test_the_page_refuses_an_unsafe_destination(admin, dns):
    response = signed_in(admin).post(
        reverse("settings_destinations", args=["acme"]),
        {"name": "Internal", "url": "https://192.168.1.1/hook"},
    )
    assert response.status_code == 200
    assert "resolves to a private or reserved address" in response.content.decode()
    assert not Destination.objects.exists()


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("  HTTPS://SIEM.Example.COM/Hook  ", "https://siem.example.com/Hook"),
        ("https://siem.example.com", "https://siem.example.com/"),
        ("https://siem.example.com/a path/ä?q=ü v#part",
         "https://siem.example.com/a%20path/%C3%A4?q=%C3%BC%20v"),
        ("https://siem.example.com/50%/ok%20", "https://siem.example.com/50%25/ok%20"),
        ("https://siem.example.com:8443/h", "https://siem.example.com:8443/h"),
        ("https://bücher.example/h", "https://xn--bcher-kva.example/h"),
    ],
)
def test_urls_are_stored_in_the_one_form_deliveries_send(dns, monkeypatch, url, stored):
    """Whatever a request line cannot carry is percent-encoded, an international host name
    becomes punycode, the fragment (never sent) goes: what is stored is what is sent."""
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.215.14"])
    form = DestinationForm({"name": "SIEM", "url": url})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["url"] == stored
    assert ssrf.normalise(stored) == stored


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://siem.example.com/a\x01b", "control characters"),
        ("https://siem.example.com/a\x7fb", "control characters"),
        ("https://siem.example.com/a\u2028b", "control characters"),
        ("https://siem.example.com/a\u0085b", "control characters"),
        ("https://exa mple.com/", "Enter a valid URL"),
        ("https://exa<mple.com/", "Enter a valid URL"),
        ("https://@siem.example.com/", "credentials"),
        ("https://user@siem.example.com/", "credentials"),
    ],
)
def test_urls_no_request_line_can_carry_are_refused_when_saved(dns, url, reason):
    (error,) = form_errors(url)
    assert reason in error


def test_names_with_control_characters_are_refused(admin, dns):
    client = signed_in(admin)
    bad = "SIEM\r\nBcc: someone@example.com"
    response = client.post(
        reverse("settings_destinations", args=["acme"]),
        {"name": bad, "url": "https://siem.example.com/hook"},
    )
    assert "cannot contain line breaks" in response.content.decode()
    assert not Destination.objects.exists()
