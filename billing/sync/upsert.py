"""Insert-or-update of synced rows, guarded against stale data, in one statement.

`INSERT … ON CONFLICT (zuora_id) DO UPDATE … WHERE` is the same on SQLite and
PostgreSQL. The WHERE clause is the stale-write guard: a row changes only
when the incoming Zuora `updatedDate` is at least as new as the stored one
(equal is applied: Zuora's timestamps have whole seconds, and two changes in
one second must not drop the later).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

# Set when the row is created, never changed by a later sync.
INSERT_ONLY = frozenset({"zuora_id", "created_at"})


@dataclass(frozen=True)
class Upserted:
    pk: int
    written: bool  # False when the stored row was newer and kept


def upsert_many_by_zuora_id(
    model: type[models.Model], rows: Sequence[dict[str, Any]]
) -> dict[str, Upserted]:
    """Upsert many rows (all with the same keys) in one statement; results by Zuora id."""
    if not rows:
        return {}
    # One statement may not touch a row twice: the last value of an id wins.
    by_id = {row["zuora_id"]: row for row in rows}
    opts = model._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    updated = [opts.get_field(name) for name in rows[0]]
    # A new row also gets the model's defaults for the fields the sync does
    # not own (the ORM applies those, not the database).
    defaults = [
        field
        for field in opts.concrete_fields
        if field.name not in rows[0] and not field.primary_key
    ]
    fields = updated + defaults
    default_values = [field.get_default() for field in defaults]
    params: list[Any] = []
    for row in by_id.values():
        values = [row[field.name] for field in updated] + default_values
        params += [
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values, strict=True)
        ]
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    updates = ", ".join(
        f"{quote(field.column)} = excluded.{quote(field.column)}"
        for field in updated
        if field.name not in INSERT_ONLY
    )
    guard = quote(opts.get_field("zuora_updated_at").column)
    zuora_id = quote(opts.get_field("zuora_id").column)
    # Identifiers come from the model and values are parameters.
    sql = " ".join(
        [
            f"INSERT INTO {table} ({columns})",
            f"VALUES {', '.join([placeholders] * len(by_id))}",
            f"ON CONFLICT ({zuora_id}) DO UPDATE SET {updates}",
            f"WHERE {table}.{guard} IS NULL OR excluded.{guard} IS NULL",
            f"OR {table}.{guard} <= excluded.{guard}",
            f"RETURNING {quote(opts.pk.column)}, {zuora_id}",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = {zuora: Upserted(pk=pk, written=True) for pk, zuora in cursor.fetchall()}
    kept = [zuora for zuora in by_id if zuora not in written]
    if kept:
        for pk, zuora in model._default_manager.filter(zuora_id__in=kept).values_list(
            "pk", "zuora_id"
        ):
            written[zuora] = Upserted(pk=pk, written=False)
    return written
