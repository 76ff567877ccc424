"""The models and the migrated schema agree: every field a model reads is a column."""

from hotspotd.store.db import db
from hotspotd.store.models import ALL_MODELS


def test_every_model_field_is_a_column_of_its_table(store):
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()}
        assert columns, f"no table {table} for {model.__name__}"
        fields = {field.column_name for field in model._meta.sorted_fields}
        assert fields <= columns, f"{table}: {sorted(fields - columns)} missing"
