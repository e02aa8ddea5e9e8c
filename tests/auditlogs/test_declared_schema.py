"""The audit models declare what each database really has: every index and constraint in their
Meta exists, of the declared kind and over the declared columns, and the database holds no
unique key the models do not declare. (makemigrations --check keeps the migrations in step with
the models; this keeps the models in step with the database the migrations built.)"""

import pytest
from django.apps import apps
from django.db import connection, models

pytestmark = pytest.mark.django_db

MODELS = [m for m in apps.get_app_config("auditlogs").get_models() if m._meta.managed]


def database_constraints(model) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def declared_columns(model, item) -> list[str] | None:
    """The columns of a field-based index or constraint; None for an expression index."""
    if not item.fields:
        return None
    names = [name.removeprefix("-") for name in item.fields]
    if connection.features.supports_covering_indexes:  # non-key columns are listed last
        names += list(getattr(item, "include", None) or ())
    return [model._meta.get_field(name).column for name in names]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_declared_index_and_constraint_exists_as_declared(model):
    found = database_constraints(model)
    for index in model._meta.indexes:
        assert index.name in found, f"{model.__name__}: index {index.name} is missing"
        assert found[index.name]["index"] and not found[index.name]["unique"], index.name
        columns = declared_columns(model, index)
        if columns is not None:
            assert found[index.name]["columns"] == columns, index.name
    for constraint in model._meta.constraints:
        assert isinstance(constraint, models.UniqueConstraint), constraint.name
        assert constraint.name in found, f"{model.__name__}: {constraint.name} is missing"
        assert found[constraint.name]["unique"], f"{constraint.name} is not unique here"
        assert found[constraint.name]["columns"] == declared_columns(model, constraint)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_the_database_has_no_unique_key_the_model_does_not_declare(model):
    declared = [sorted(declared_columns(model, c)) for c in model._meta.constraints]
    declared += [[field.column] for field in model._meta.local_fields if field.unique]
    for name, found in database_constraints(model).items():
        if found["unique"] and not found["primary_key"]:
            assert sorted(found["columns"]) in declared, f"{model.__name__}: {name} is undeclared"
