"""The declaration of the hashed event (auditlogs/recording/event_form.py) is what the model,
the migrated table, the fast canonical form and the writers are checked against."""

import pytest
from django.db import connection

from auditlogs.models import AuditEvent
from auditlogs.recording import chain, event_form
from auditlogs.storage.backends import sqlite
from auditlogs.storage.tables import EVENT_TABLE, LINK_COLUMNS
from integrations.serializers import FIELDS

TABLE_EXTRAS = ("id", "organization_id", "prev_hash", "hash")
# What Django's introspection reads back for each kind's column: SQLite stores an address as
# char(39), and PostgreSQL's smallint has no unsigned flavour (a CHECK keeps it positive).
INTROSPECTED = {
    event_form.Kind.INTEGER: {"BigIntegerField"},
    event_form.Kind.TIME: {"DateTimeField"},
    event_form.Kind.TEXT: {"CharField"},
    event_form.Kind.SEVERITY: {"PositiveSmallIntegerField", "SmallIntegerField"},
    event_form.Kind.OBJECT: {"JSONField"},
    event_form.Kind.ADDRESS: {"GenericIPAddressField", "CharField"},
}


def _nullable(field) -> bool:
    """In the table: as declared, but the link columns are empty until the sequencer links."""
    return field.null or field.name in LINK_COLUMNS


def test_the_model_declares_every_hashed_field_with_its_kind_and_nullability():
    for field in event_form.HASHED:
        model_field = AuditEvent._meta.get_field(field.name)
        assert model_field.get_internal_type() == field.model_field, field.name
        assert model_field.null == _nullable(field), field.name


@pytest.mark.django_db
def test_the_migrated_table_has_the_declared_columns_in_order_with_their_kinds():
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, EVENT_TABLE)
    by_name = {column.name: column for column in columns}
    order = [column.name for column in columns]
    assert set(event_form.NAMES) | set(TABLE_EXTRAS) == set(by_name)
    # SQLite rebuilt the table to make the link columns nullable, putting them last.
    content_order = [name for name in order if name in event_form.BY_NAME
                     and name not in LINK_COLUMNS]
    assert tuple(content_order) == tuple(n for n in event_form.NAMES if n not in LINK_COLUMNS)
    for field in event_form.HASHED:
        column = by_name[field.name]
        assert bool(column.null_ok) == _nullable(field), field.name
        introspected = connection.introspection.get_field_type(column.type_code, column)
        assert introspected in INTROSPECTED[field.kind], (field.name, introspected)


@pytest.mark.django_db
def test_the_link_once_trigger_compares_every_column_but_the_link():
    """SQLite's trigger names the columns a link must leave unchanged (PostgreSQL compares
    whole rows): a column added later and not named there could be changed while linking."""
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, EVENT_TABLE)
    assert sorted(sqlite.EVENT_CONTENT_COLUMNS + LINK_COLUMNS) == sorted(c.name for c in columns)


def test_the_wire_fields_are_the_hashed_ones_with_the_row_id_and_links():
    assert ("id", "organization_id", *event_form.NAMES, "prev_hash", "hash") == FIELDS
    assert chain.HASHED_FIELDS == event_form.NAMES


@pytest.mark.parametrize("form", ["canonical_event", "canonical_rendered"])
def test_a_fast_form_that_forgets_a_field_is_refused(monkeypatch, form):
    honest = getattr(chain, form)

    def forgetful(organization_id, values):
        return honest(organization_id, values).replace(',"user_agent":"ua\\\\"', "")

    monkeypatch.setattr(chain, form, forgetful)
    with pytest.raises(AssertionError, match=f"chain.{form} disagrees with event_form.HASHED"):
        chain.check_against_declaration()
    monkeypatch.setattr(chain, form, honest)
    chain.check_against_declaration()

