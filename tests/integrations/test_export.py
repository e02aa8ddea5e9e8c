"""The export: exactly the filtered set the viewer sees, streamed, verifiable offline."""

import csv
import io
import json
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.web.access import log_viewer_for
from auditlogs.web.filters import AuditEventFilter
from integrations.serializers import FIELDS, event_dict
from tests.helpers.clients import signed_in
from tools import verify_audit_export as verifier


def export_url(organization, fmt, query=""):
    url = reverse("audit_log_export", args=[organization.slug, fmt])
    return f"{url}?{query}" if query else url


def download(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content).decode() if response.streaming else ""
    return response, body


def page_set(user, query: dict) -> list[int]:
    """The ids the Audit Logs page's own filters give this viewer, newest first."""
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for key, values in query.items():
        data.setlist(key, values if isinstance(values, list) else [values])
    viewer = log_viewer_for(user, "acme")
    filters = AuditEventFilter(data, viewer=viewer)
    assert filters.is_valid()
    return list(filters.qs.order_by("-occurred_at", "-id").values_list("id", flat=True))


def ndjson_lines(body):
    return [json.loads(line) for line in body.splitlines()]


@pytest.mark.parametrize(
    "query",
    [
        {"range": "all"},
        {"range": "7d"},
        {"severity": ["critical", "warning"], "range": "30d"},
        {"action": "project.viewed", "range": "all"},
        {"q": "beta", "range": "all"},
        {"actor": "ADMIN@acme.test", "range": "all"},
        {},
    ],
)
def test_it_exports_exactly_the_filtered_page_set_for_admins(admin, acme, history, query):
    from urllib.parse import urlencode

    client = signed_in(admin)
    response, body = download(client, export_url(acme, "ndjson", urlencode(query, doseq=True)))
    assert response.status_code == 200
    lines = ndjson_lines(body)
    header, rows = lines[0]["export"], lines[1:]
    # The export event itself is recorded before the rows are read: it is part of the set
    # whenever the filters include it, as on the page right after.
    assert [row["id"] for row in rows] == page_set(admin, query)
    assert parse_qs(header["filters"]) == {k: v if isinstance(v, list) else [v]
                                           for k, v in query.items()}


def test_members_export_only_their_projects_events(member, acme, alpha, history):
    client = signed_in(member)
    response, body = download(client, export_url(acme, "csv", "range=all"))
    assert response.status_code == 200
    rows = list(csv.DictReader(line for line in body.splitlines() if not line.startswith("#")))
    assert rows, "the member sees Alpha's events"
    assert {row["project_id"] for row in rows} == {str(alpha.pk)}
    assert [int(row["id"]) for row in rows] == page_set(member, {"range": "all"})


def test_csv_starts_with_its_header_row_and_names_the_filters_beside_it(owner, acme, history):
    client = signed_in(owner)
    response, body = download(client, export_url(acme, "csv", "severity=critical&range=30d"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = body.splitlines()
    assert lines[0].split(",") == list(FIELDS)
    assert not any(line.startswith("#") for line in lines)
    assert response["X-Audit-Export-Filters"] == "severity=critical&range=30d"
    assert response["X-Audit-Export-Exported-At"].startswith("20")
    assert response["X-Audit-Export-From"].startswith("20")
    manifest_url = reverse("audit_log_export_manifest", args=["acme"])
    assert response["Link"] == f'<{manifest_url}?severity=critical&range=30d>; rel="describedby"'


def test_rows_carry_utc_times_sequences_and_hashes_that_verify_offline(
    owner, acme, history, tmp_path
):
    client = signed_in(owner)
    for fmt in ("csv", "ndjson"):
        _, body = download(client, export_url(acme, fmt, "range=all"))
        path = tmp_path / f"export.{fmt}"
        path.write_text(body, encoding="utf-8")
        events, checkpoint = verifier.read_filtered_export(str(path))
        assert len(events) == AuditEvent.objects.filter(organization=acme).count()
        assert all(e["occurred_at"].endswith("Z") and "T" in e["occurred_at"] for e in events)
        assert verifier.filtered_export_problems(events, checkpoint) == []
        assert verifier.main([str(path)]) == 0


def test_a_tampered_export_does_not_verify(owner, acme, history, tmp_path):
    _, body = download(signed_in(owner), export_url(acme, "ndjson", "range=all"))
    lines = ndjson_lines(body)
    lines[3]["actor_label"] = "someone-else@acme.test"
    path = tmp_path / "tampered.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    problems = verifier.filtered_export_problems(*verifier.read_filtered_export(str(path)))
    assert problems == [f"sequence {lines[3]['sequence']}: the hash does not match the row"]
    assert verifier.main([str(path)]) == 1


def test_a_row_from_another_organization_does_not_verify(owner, acme, globex, history, tmp_path):
    _, body = download(signed_in(owner), export_url(acme, "ndjson", "range=all"))
    lines = ndjson_lines(body)
    other = record("organization.updated", organization=globex)  # its own hash matches
    other.refresh_from_db()
    lines.insert(4, event_dict(tuple(getattr(other, field) for field in FIELDS)))
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    problems = verifier.filtered_export_problems(*verifier.read_filtered_export(str(path)))
    assert any("a row of organization" in p for p in problems), problems


def test_exporting_is_recorded_with_the_filters(admin, acme, history, events):
    client = signed_in(admin)
    download(client, export_url(acme, "csv", "severity=critical&range=all"))
    (event,) = events(acme, action="audit_log.exported")
    assert event.actor_label == "admin@acme.test"
    assert event.metadata["format"] == "csv"
    assert event.metadata["query"] == "severity=critical&range=all"


def test_invalid_filters_give_400_naming_them_and_record_nothing(admin, acme, history, events):
    client = signed_in(admin)
    response = client.get(export_url(acme, "csv", "severity=loud&start=yesterday"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "Severity:" in text and "“loud” is not a severity" in text
    assert "From:" in text
    assert events(acme, action="audit_log.exported") == []


def test_members_may_not_export_another_project_by_filter(member, acme, beta, history):
    response = signed_in(member).get(export_url(acme, "csv", f"project={beta.pk}"))
    assert response.status_code == 400


def test_outsiders_get_404_and_free_plans_403(outsider, acme, globex_owner, owner):
    assert signed_in(outsider).get(export_url(acme, "csv")).status_code == 404
    anonymous = signed_in(None).get(export_url(acme, "csv"))
    assert anonymous.status_code == 302
    url = reverse("audit_log_export", args=["globex", "csv"])
    assert signed_in(globex_owner).get(url).status_code == 403
    assert signed_in(owner).get(export_url(acme, "xlsx")).status_code == 404


def test_the_page_offers_export_links_with_the_current_filters(admin, acme, history):
    client = signed_in(admin)
    response = client.get(reverse("audit_log", args=["acme"]) + "?severity=critical&range=30d")
    html = response.content.decode()
    assert "Export CSV" in html and "Export NDJSON" in html
    assert export_url(acme, "csv") + "?severity=critical&amp;range=30d" in html


def test_the_export_is_streamed(owner, acme, history):
    response = signed_in(owner).get(export_url(acme, "ndjson", "range=all"))
    assert response.streaming
    pieces = iter(response.streaming_content)
    assert json.loads(next(pieces))["export"]["organization"] == "acme"
    # Read to the end rather than response.close(): the test client then finishes the request
    # without closing the test's database connection (PostgreSQL's teardown still needs it).
    assert sum(1 for _ in pieces) >= 1


def test_csv_round_trips_awkward_text(owner, acme, history):
    _, body = download(signed_in(owner), export_url(acme, "csv", "range=all"))
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {json.loads(r["metadata"]).get("note") for r in rows} >= {
        "ünïcode, \"quotes\", commas"
    }


def test_backslashes_newlines_and_tabs_survive_both_formats(acme, owner, tmp_path):
    from auditlogs import record

    record("organization.updated", organization=acme, target=acme,
           changes={"name": ["C:\\temp\\new", "line\nbreak\ttab \"q\" \\\\"]},
           metadata={"path": "\\\\server\\share", "emoji": "🔒"})
    client = signed_in(owner)
    for fmt in ("csv", "ndjson"):
        _, body = download(client, export_url(acme, fmt, "range=all"))
        path = tmp_path / f"export.{fmt}"
        path.write_text(body, encoding="utf-8")
        events, checkpoint = verifier.read_filtered_export(str(path))
        assert verifier.filtered_export_problems(events, checkpoint) == []
        (updated,) = [e for e in events if e["action"] == "organization.updated"]
        assert updated["changes"]["name"][1] == "line\nbreak\ttab \"q\" \\\\"
        assert updated["metadata"] == {"path": "\\\\server\\share", "emoji": "🔒"}


def test_exports_end_with_the_newest_signed_checkpoint(acme, owner, history, tmp_path):
    from auditlogs.integrity.checkpointing import checkpoint

    signed, _ = checkpoint(acme)
    client = signed_in(owner)
    manifest = tmp_path / "export.manifest.json"
    response = client.get(reverse("audit_log_export_manifest", args=["acme"]) + "?range=all")
    manifest.write_bytes(response.content)
    assert json.loads(response.content)["export"]["filters"] == "range=all"
    for fmt, extra in (("csv", ["--manifest", str(manifest)]), ("ndjson", [])):
        _, body = download(client, export_url(acme, fmt, "range=all"))
        path = tmp_path / f"export.{fmt}"
        path.write_text(body, encoding="utf-8")
        events, trailer = verifier.read_filtered_export(str(path), extra[1] if extra else None)
        assert trailer["sequence"] == signed.sequence == history[-1].sequence
        assert trailer["head_hash"] == history[-1].hash and trailer["public_key"]
        assert verifier.filtered_export_problems(events, trailer) == []
        assert verifier.main([str(path), "--public-key", trailer["public_key"], *extra]) == 0
        forged = dict(trailer, head_hash="0" * 64)
        assert "the checkpoint's signature does not verify" in (
            verifier.filtered_export_problems(events, forged))


def test_without_a_checkpoint_exports_end_after_their_rows(owner, acme, history):
    _, body = download(signed_in(owner), export_url(acme, "ndjson", "range=all"))
    assert "checkpoint" not in ndjson_lines(body)[-1]


def test_support_staff_with_access_export_and_are_recorded_as_staff(staff, acme, history, events):
    from datetime import timedelta

    from django.utils import timezone

    from auditlogs.models import SupportAccess

    client = signed_in(staff)
    assert client.get(export_url(acme, "csv")).status_code == 404  # no access yet
    SupportAccess.objects.create(user=staff, organization=acme, reason="ticket 42",
                                 expires_at=timezone.now() + timedelta(minutes=30))
    response, _ = download(client, export_url(acme, "csv", "range=all"))
    assert response.status_code == 200
    (exported,) = events(acme, action="audit_log.exported")
    assert exported.actor_type == "staff" and exported.actor_label == "support@auditlogs.test"


def test_the_manifest_follows_the_export_rules(owner, member, outsider, globex_owner, history):
    url = reverse("audit_log_export_manifest", args=["acme"])
    assert signed_in(outsider).get(url).status_code == 404
    assert signed_in(owner).get(url + "?severity=loud").status_code == 400
    free = reverse("audit_log_export_manifest", args=["globex"])
    assert signed_in(globex_owner).get(free).status_code == 403
    response = signed_in(member).get(url)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert "attachment" in response["Content-Disposition"]


def test_what_the_url_carries_besides_the_filters_never_blocks_the_export(
    acme, owner, history, events
):
    """The export's event names the filters once each, not every parameter as often as sent:
    its metadata stays far below the cap however long the URL."""
    query = "&".join(["severity=critical"] * 400 + [f"junk{n}={'x' * 50}" for n in range(200)])
    response, body = download(signed_in(owner), export_url(acme, "csv", query + "&range=all"))
    assert response.status_code == 200
    (event,) = events(action="audit_log.exported")
    assert event.metadata["query"] == "severity=critical&range=all"
