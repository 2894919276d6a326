"""Insert-or-update of one synced row, guarded against stale data, in one statement.

`INSERT … ON CONFLICT (zuora_id) DO UPDATE … WHERE` is the same on SQLite and
PostgreSQL. The WHERE clause is the stale-write guard: a row changes only
when the incoming Zuora `updatedDate` is at least as new as the stored one
(equal is applied: Zuora's timestamps have whole seconds, and two changes in
one second must not drop the later).
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection, models


@dataclass(frozen=True)
class Upserted:
    pk: int
    written: bool  # False when the stored row was newer and kept


def upsert_by_zuora_id(model: type[models.Model], values: dict[str, Any]) -> Upserted:
    """Create or update the row with `values["zuora_id"]`, unless it holds newer data."""
    opts = model._meta
    table = connection.ops.quote_name(opts.db_table)
    updated = [opts.get_field(name) for name in values]
    # A new row also gets the model's defaults for the fields the sync does
    # not own (the ORM applies those, not the database).
    defaults = [
        field
        for field in opts.concrete_fields
        if field.name not in values and not field.primary_key
    ]
    fields = updated + defaults
    columns = [connection.ops.quote_name(field.column) for field in fields]
    params = [
        field.get_db_prep_save(
            values[field.name] if field.name in values else field.get_default(), connection
        )
        for field in fields
    ]
    quoted = [connection.ops.quote_name(field.column) for field in updated]
    updates = ", ".join(
        f"{column} = excluded.{column}"
        for field, column in zip(updated, quoted, strict=True)
        if field.name != "zuora_id"
    )
    guard = connection.ops.quote_name(opts.get_field("zuora_updated_at").column)
    pk = connection.ops.quote_name(opts.pk.column)
    placeholders = ", ".join(["%s"] * len(columns))
    # Identifiers come from the model and values are parameters.
    sql = " ".join(
        [
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
            f"ON CONFLICT ({connection.ops.quote_name('zuora_id')}) DO UPDATE SET {updates}",
            f"WHERE {table}.{guard} IS NULL OR excluded.{guard} IS NULL",
            f"OR {table}.{guard} <= excluded.{guard}",
            f"RETURNING {pk}",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is not None:
        return Upserted(pk=row[0], written=True)
    existing = model._default_manager.filter(zuora_id=values["zuora_id"]).values_list(
        "pk", flat=True
    )
    return Upserted(pk=existing.get(), written=False)
