"""Slow receivers hold up no one: a delivery request gets AUDITLOG_WEBHOOK_TIMEOUT seconds in
all, however its receiver dribbles the answer, and the destinations that keep the worker
waiting do not get every turn of a run while another organization's wait."""

import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from auditlogs import record
from integrations import services, webhooks
from integrations.models import Destination
from operations import jobs
from tests.helpers.events import as_stored

# The ports these tests may listen on (one at a time; a port still busy is skipped).
DRIP_PORTS = range(8640, 8660)
DRIP_INTERVAL = 0.3  # seconds between two bytes: each byte well within any per-read timeout
DRIP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"  # 11 s at that pace


@dataclass
class DripReceiver:
    """Accepts every request and answers 200, one byte every DRIP_INTERVAL seconds."""

    listener: socket.socket
    requests: int = 0
    # Set when a sender hung up before the whole answer was out.
    cut_off: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def serve(self) -> None:
        self.listener.settimeout(0.1)  # to notice `stopped`
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            self.requests += 1
            try:
                for byte in DRIP_ANSWER:
                    connection.sendall(bytes([byte]))
                    time.sleep(DRIP_INTERVAL)
            except OSError:  # the sender closed the connection (a write after it fails)
                self.cut_off.set()


def _listener() -> socket.socket:
    for port in DRIP_PORTS:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port))
        except OSError:
            listener.close()
            continue
        listener.listen()
        return listener
    pytest.fail(f"No free port in {DRIP_PORTS}")


@pytest.fixture
def drip_receiver(settings):
    settings.AUDITLOG_WEBHOOK_ALLOW_LOOPBACK = True
    receiver = DripReceiver(_listener())
    thread = threading.Thread(target=receiver.serve, daemon=True)
    thread.start()
    yield receiver
    receiver.stopped.set()
    thread.join()
    receiver.listener.close()


def make_events(organization, count):
    return as_stored([record("project.viewed", organization=organization)
                      for _ in range(count)])


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout(
    acme, owner, drip_receiver, settings
):
    """Every byte comes well within the timeout, so only a deadline on the whole request ends
    it (before there was one, this delivery took 11 s and counted as a success)."""
    settings.AUDITLOG_WEBHOOK_TIMEOUT = 1
    destination = services.destination_create(
        organization=acme, name="SIEM", url=drip_receiver.url, secret="s3cret-for-tests-only",
        created_by=owner,
    )
    cursor = destination.cursor
    make_events(acme, 1)

    started = time.monotonic()
    assert webhooks.deliver_destination(destination.pk) == 0
    assert time.monotonic() - started < 5  # a generous bound: the answer takes 11 s

    assert drip_receiver.requests == 1
    assert drip_receiver.cut_off.wait(timeout=5)
    destination.refresh_from_db()
    assert destination.status == "failing" and destination.failed_attempts == 1
    assert destination.last_error == "The receiver at 127.0.0.1 took longer than 1 s to answer."
    assert destination.cursor == cursor  # the batch comes again later


def test_slow_destinations_of_one_organization_do_not_starve_another(
    acme, owner, initech, outsider, receiver, settings, monkeypatch
):
    """Initech's admin adds destinations whose names sort first and whose receiver never
    answers in time. A run of the job has time for two such attempts, yet Acme's destination,
    delivered before and sorting last, still gets its turn in it."""
    settings.AUDITLOG_WEBHOOK_TIMEOUT = 1
    settings.AUDITLOG_WEBHOOK_BACKOFF_BASE = 0  # the tarpits are due again at once
    monkeypatch.setattr(jobs, "DELIVERY_RUN_SECONDS", 1.8)
    siem = services.destination_create(
        organization=acme, name="zz SIEM", url=receiver.url.replace("/hook", "/siem"),
        secret="s3cret-for-tests-only", created_by=owner,
    )
    jobs.deliver_webhooks()
    siem.refresh_from_db()
    assert siem.last_delivered_at is not None
    receiver.slow_paths["/tarpit"] = 1.5
    tarpits = [
        services.destination_create(
            organization=initech, name=f"000 tarpit {n}",
            url=receiver.url.replace("/hook", "/tarpit"), secret="s3cret-for-tests-only",
            created_by=outsider,
        )
        for n in range(3)
    ]
    made = make_events(acme, 3)

    jobs.deliver_webhooks()

    siem.refresh_from_db()
    assert siem.cursor == made[-1].sequence
    failed = Destination.objects.filter(pk__in=[t.pk for t in tarpits], status="failing")
    assert 1 <= failed.count() < len(tarpits)  # the run's time was up before the third
